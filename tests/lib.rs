//! One integration test binary, a module per feature (as ripgrep and just do).

mod apply;
mod cli;
mod common;
mod conformance;
mod context_cache;
mod corrupt;
mod dockerignore;
mod drift;
mod engine;
mod engine_conformance;
mod engine_ops;
mod faults;
mod import;
mod invalid;
mod layers;
mod plan;
mod realworld;
mod remote;
mod rollback;
mod rollout;
mod secrets;
mod state;
mod state_commands;
mod swarm;
