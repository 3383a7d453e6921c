//! The expected view of a container: from its [`ContainerSpec`] to what the
//! engine must hold, as `docker compose up` would create it.
//!
//! One place decides it, and everything that touches a container reads it:
//! create sends [`Expected::body`] (and connects [`Expected::networks`]),
//! drift compares what the engine reports with [`Updatable`] and the other
//! parts, in-place updates send [`Updatable`], and import compares with it.
//! So what berth creates is, by construction, what it expects to observe.
//!
//! The mapping follows docker/compose's `getCreateConfigs` (pkg/compose/create.go):
//! restart policy from `restart` or `deploy.restart_policy` (which wins),
//! limits from the short keys or `deploy.resources`, aliases, links,
//! `service:` references resolved to the dependency's container.
//!
//! One module a part: `create` assembles [`Expected`] from `updatable` (what
//! `docker update` changes), `networks` (attach order and endpoints),
//! `mounts`, `files` (configs and secrets) and `names` (the project-wide
//! names a spec refers to, [`Names`]).
//!
//! [`ContainerSpec`]: crate::resource::spec::ContainerSpec

mod create;
mod files;
mod mounts;
mod names;
mod networks;
mod updatable;

pub use create::{Expected, expected};
pub use files::{Injected, file_mounts, injected_files};
pub use names::Names;
pub use networks::Attachment;
pub use updatable::{
    Updatable, restart_policy, restart_text, updatable, with_updatable, without_updatable,
};

#[cfg(test)]
use crate::{compose::model::Project, resource::spec::ContainerSpec};

/// The project `yaml` loads as (named `demo`) and the spec of its container
/// at `address`: what the tests beside each part start from.
#[cfg(test)]
fn spec_of(yaml: &str, address: &str) -> (Project, ContainerSpec) {
    use crate::resource::desired::{ResolveOptions, resolve};

    let project = crate::compose::project_from_yaml(yaml, "demo");
    let desired = resolve(&project, &ResolveOptions::default()).unwrap();
    let r = &desired.resources[&address.parse().unwrap()];
    let spec = r.typed().container().unwrap().clone();
    (project, spec)
}
