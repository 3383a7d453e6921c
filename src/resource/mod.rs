//! Desired resources: what the loaded project asks the engine to hold.
//!
//! Every network, volume, image and container gets an [`Address`], an engine
//! name, a canonical spec (JSON with sorted keys) and the sha256 of that spec.
//! A container's spec includes the spec hashes of the image, networks and
//! volumes it uses (under `uses`), so a change to any of them changes the
//! container's hash; built images include their build context's content hash.

pub mod address;
pub mod canonical;
pub mod context;
pub mod context_cache;
pub mod context_v1;
pub mod desired;
pub mod dockerignore;
pub mod expected;
pub mod labels;
pub mod sensitive;
pub mod spec;
pub mod spec_json;
pub mod swarm;

pub use address::{Address, Kind};
pub use desired::{Desired, ResolveError, ResolveOptions, Resource, resolve};
pub use spec::{ContainerSpec, ImageSpec, Spec};
pub use spec_json::SpecJson;
