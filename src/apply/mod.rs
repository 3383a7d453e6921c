//! Apply: turn a plan into steps and run them against the engine, recording
//! the state after every finished step.

pub mod driver;
pub mod executor;
pub mod steps;
