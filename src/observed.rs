//! What the engine holds for a project: plain data for the diff, read once
//! per plan by [`Engine::observe`](crate::engine::Engine::observe).
//!
//! Every list is sorted (containers, networks and volumes by name; ports and
//! aliases in order), so two observations of the same engine compare equal
//! and render the same.

use std::collections::BTreeMap;

use crate::resource::expected::Updatable;

/// Everything observed for one project.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Containers carrying the project label, in every state; by name.
    pub containers: Vec<ObservedContainer>,
    /// Networks carrying the project label, plus those asked for by name; by
    /// name (then ID: the engine allows two networks of one name).
    pub networks: Vec<ObservedNetwork>,
    /// Volumes carrying the project label, plus those asked for by name; by name.
    pub volumes: Vec<ObservedVolume>,
    /// Image reference as written (e.g. "web:latest") -> local image ID
    /// ("sha256:..."). A reference with no local image is absent.
    pub images: BTreeMap<String, String>,
    /// Containers under a name the plan looks up that carry another
    /// project's label or none: name -> ID. Creating one of ours under that
    /// name would remove it (a leftover of ours is removed first), so the
    /// plan refuses instead, as Docker Compose's name conflict does.
    pub taken: BTreeMap<String, String>,
    /// Swarm services carrying the stack's label, plus those asked for by
    /// name (the Swarm backend); by name.
    pub services: Vec<ObservedService>,
    /// Swarm configs and secrets carrying the stack's label, plus those
    /// asked for by name or recorded (the Swarm backend); by name.
    pub configs: Vec<ObservedObject>,
    pub secrets: Vec<ObservedObject>,
}

/// One Swarm service, from the service list and its tasks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedService {
    pub id: String,
    pub name: String,
    /// The version index an update must name (a concurrent change bumps it).
    pub version: u64,
    pub labels: BTreeMap<String, String>,
    /// The service's spec as the engine holds it (the API's JSON), the
    /// image reference put back in place of the image ID berth pinned
    /// when that ID is what the reference names now.
    pub spec: serde_json::Value,
    /// Tasks running, and tasks the service wants running.
    pub running: u64,
    pub desired: u64,
    /// The error of the newest task that failed since the service last
    /// converged, when tasks are short.
    pub problem: Option<String>,
    /// `UpdateStatus.State` when an update did not complete (paused,
    /// rollback_completed, ...).
    pub update: Option<String>,
}

/// One Swarm config or secret.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedObject {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// One container, from its inspect.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedContainer {
    pub id: String,
    /// Without the leading '/'.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// created|running|paused|restarting|removing|exited|dead.
    pub state: String,
    /// The last exit code, only when the state is exited or dead (the engine
    /// reports 0 for containers that never stopped).
    pub exit_code: Option<i64>,
    /// starting|healthy|unhealthy when the container has a healthcheck.
    pub health: Option<String>,
    /// The image the container runs ("sha256:...").
    pub image_id: String,
    /// Config.Image as created (the reference, e.g. "web:latest").
    pub image: String,
    /// What `docker update` can change (restart policy, limits), as the
    /// engine reports it.
    pub updatable: Updatable,
    /// Network NAME -> aliases on it, sorted. The short container ID that
    /// engines before API 1.45 add as an alias of their own is left out, so
    /// what is here is what was asked for at create or connect.
    pub networks: BTreeMap<String, Vec<String>>,
    /// Published ports as configured (HostConfig.PortBindings), sorted; an
    /// ephemeral host port ("127.0.0.1::80") has an empty `host_port`.
    pub ports: Vec<ObservedPort>,
    /// The named volumes it mounts (the inspect's `Mounts` of type volume),
    /// sorted: the engine refuses to remove a volume any container mounts.
    pub volumes: Vec<String>,
}

/// One published port binding.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedPort {
    /// "" = all interfaces.
    pub host_ip: String,
    /// "" = chosen by the engine at start.
    pub host_port: String,
    pub container_port: u32,
    /// tcp|udp|sctp.
    pub protocol: String,
}

/// One network, from the network list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedNetwork {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
}

/// One volume, from the volume list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedVolume {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub driver: String,
}

/// Which engine this is (what a state records it was applied to): its ID (`docker info`), its name (the
/// host's name) and the address it was reached at, so that a plan against
/// another engine is refused rather than planning to recreate everything
/// there (the classic accident: production's state applied to staging).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineIdentity {
    /// The engine's ID, stable for the life of its data root.
    pub id: String,
    /// The engine's host name.
    pub name: String,
    /// Its data root (`DockerRootDir`): two engines on one host can share
    /// an ID (Docker 20.10 derives it from `/etc/docker/key.json`, which a
    /// cloned machine also shares), never a data root.
    #[serde(default)]
    pub root: String,
    /// The address berth reached it at, as the user wrote it.
    pub endpoint: String,
}

impl EngineIdentity {
    /// Whether `other` is the same engine: the same ID and data root (a
    /// record without a data root, from before it was recorded, by its ID).
    pub fn same_engine(&self, other: &EngineIdentity) -> bool {
        self.id == other.id
            && (self.root == other.root || self.root.is_empty() || other.root.is_empty())
    }
}

impl std::fmt::Display for EngineIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` (ID {}, data root {}) at {}",
            self.name, self.id, self.root, self.endpoint
        )
    }
}

#[cfg(test)]
mod engine_identity_tests {
    use super::EngineIdentity;

    fn engine(id: &str, root: &str) -> EngineIdentity {
        EngineIdentity {
            id: id.into(),
            name: "vm".into(),
            root: root.into(),
            endpoint: "unix:///var/run/docker.sock".into(),
        }
    }

    #[test]
    fn an_engine_is_its_id_and_data_root() {
        let main = engine("A", "/var/lib/docker");
        assert!(main.same_engine(&engine("A", "/var/lib/docker")));
        // two engines of one host share an ID on Docker 20.10
        assert!(!main.same_engine(&engine("A", "/tmp/d2/data")));
        assert!(!main.same_engine(&engine("B", "/var/lib/docker")));
        // a record from before the data root was recorded
        assert!(engine("A", "").same_engine(&main));
        assert!(!engine("B", "").same_engine(&main));
    }
}
