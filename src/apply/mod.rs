//! Apply: turn a plan into ordered steps and run them through a backend's
//! driver, recording the state after every finished step. Backend-neutral:
//! the Docker engine's driver is `backend::docker`.

pub mod executor;
mod outcome;
pub mod steps;

pub use outcome::Outcome;
