//! What a project asks of a Docker Swarm: one service per Compose service,
//! and configs and secrets as Swarm objects, in the shape `docker stack
//! deploy` gives them (its names and its labels), so `docker stack ls/ps/rm`
//! work on a berth stack and a stack made by `docker stack deploy` is
//! adopted as it is.
//!
//! Separate from the plain engine's specs: a Swarm service is one object
//! for all its replicas, updated in place by the engine, and its spec is
//! the engine's own `ServiceSpec` ([`convert`] builds it from the Compose
//! service, following docker/cli's `cli/compose/convert`).

pub mod convert;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The label `docker stack deploy` puts on every object of a stack.
pub const NAMESPACE: &str = "com.docker.stack.namespace";
/// The label holding a service's image as the compose file writes it.
pub const IMAGE: &str = "com.docker.stack.image";

/// A Swarm service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// The engine's service spec as berth sends it, less what only apply
    /// knows: the image is the reference (apply pins the image ID it
    /// built or found), and config and secret references carry their
    /// names, not their IDs.
    pub service: bollard::models::ServiceSpec,
    /// The image reference it runs (the image resource's engine name).
    pub image: String,
    /// The spec hashes of the image, networks, configs and secrets it uses,
    /// by address: a new secret content changes the service.
    #[serde(default)]
    pub uses: BTreeMap<String, String>,
}

/// A config or secret: immutable on Swarm, so a new content is a new
/// object under a new name (`<name>-<hash>`), the services move to it and
/// the old one goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileObjectSpec {
    /// The engine name: the compose name and the content's hash.
    pub name: String,
    /// The compose name (`name:`, else `<project>_<key>`), which is the
    /// engine name `docker stack deploy` gives it.
    pub compose_name: String,
    /// sha256 of the content (sealed in the state for secrets).
    pub content: String,
    /// Where the content comes from: `file:PATH`, `environment:VAR` or
    /// `content` (read again at apply; never recorded).
    pub source: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The engine name of a config or secret of content `hash`: the compose
/// name with the hash's first 10 hex digits, as careful `docker stack
/// deploy` users name them by hand.
pub fn object_name(name: &str, hash: &str) -> String {
    let short = hash.strip_prefix("hmac-sha256:").unwrap_or(hash);
    format!("{name}-{}", &short[..short.len().min(10)])
}
