//! One integration test binary, a module per feature (as ripgrep and just do).

mod common;
mod conformance;
