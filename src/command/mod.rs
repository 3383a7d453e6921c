//! The commands that work on state and the engine: each reads its flags,
//! runs the pipeline (load → resolve → state → observe → diff) and prints.

pub mod apply;
pub mod import;
pub mod plan;
pub mod show;
pub mod state;
