//! berth: Terraform-style plan/apply for Docker Compose projects.
//!
//! The crate is a pipeline (see `docs/DESIGN.md`): `compose` loads the
//! files into a typed, canonical [`compose::Project`]; later stages diff it
//! against state and the engine.

pub mod apply;
pub mod backend;
pub mod cli;
pub mod command;
pub mod compose;
pub mod engine;
pub mod error;
pub mod memory;
pub mod observed;
pub mod output;
pub mod par;
pub mod paths;
pub mod pipeline;
pub mod plan;
pub mod render;
pub mod resource;
pub mod state;
pub mod timing;
pub mod utf8;
