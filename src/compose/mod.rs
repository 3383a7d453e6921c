//! The Compose Specification: files in, one canonical [`Project`] out.
pub mod diagnostic;
pub mod node;
pub mod source;
pub mod yaml;
pub mod dotenv;
pub mod interpolate;
