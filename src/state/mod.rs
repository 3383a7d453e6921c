//! State: what berth applied, kept between commands in `state/<project>.json`.
//!
//! This module owns the state file and everything about keeping it safe:
//!
//! - [`State`] and [`StateResource`] (here): the applied resources by address,
//!   with the `lineage` fixed at creation and the `serial` that grows on every
//!   write, so that a saved plan can tell whether state moved under it;
//! - `format` ([`FORMAT_VERSION`]): the on-disk JSON layout, read by version
//!   first so that a newer file is refused and older formats can be migrated;
//! - `file` ([`StateStore`], [`default_path`]): loading, and atomic saving with
//!   a backup of the previous version;
//! - `lock` ([`lock()`], [`LockGuard`], [`Holder`]): the OS file lock held for a
//!   whole command that may write state;
//! - `key` ([`key::load`], [`State::seal_with`]): the key that seals
//!   sensitive values, kept out of the state, and sealing old records;
//! - `history` ([`Deploy`]): the deploys kept for `berth rollback`;
//! - `timestamp` ([`format_rfc3339`]): RFC 3339 UTC times for the lock holder
//!   and the history;
//! - `error` ([`StateError`]): one-line errors that name the file and say what
//!   to do.
//!
//! `state/README.md` documents the file format with an example.

mod error;
mod file;
mod format;
mod history;
pub mod key;
mod lock;
mod timestamp;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::observed::EngineIdentity;
use crate::resource::Address;
use crate::resource::spec::{Spec, SpecError};

pub use error::StateError;
pub use file::{StateStore, default_path};
pub use format::FORMAT_VERSION;
#[cfg(test)]
pub(crate) use format::{decode, encode};
pub use history::{Deploy, DeployedContainer, keep_repository, kept_references};
pub use lock::{Holder, LockGuard, lock, lock_path};
pub use timestamp::format_rfc3339;

/// Everything berth applied for one project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The layout of the file this state was read from or will be written as.
    /// Always [`FORMAT_VERSION`] in memory: older formats are migrated on load.
    pub format_version: u32,
    /// A UUID v4 fixed when the state is created and never changed, so that
    /// two states of the same project from different origins are told apart.
    pub lineage: String,
    /// Grows by one on every save; a saved plan records it to detect staleness.
    pub serial: u64,
    /// The version of the berth that last wrote this state.
    pub berth_version: String,
    /// The Compose project this state belongs to.
    pub project: String,
    /// The engine the resources were applied to (format 3; `None` until a
    /// berth that records it applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineIdentity>,
    /// What the resources were applied with: the plain engine (not
    /// written) or Docker Swarm. A state of one backend is never planned
    /// with the other.
    #[serde(default, skip_serializing_if = "is_docker")]
    pub backend: crate::compose::BackendKind,
    /// The ID of the key the sensitive values are sealed with (format 4;
    /// the key itself is never in the state: see [`key`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_with: Option<String>,
    /// The last rollout that did not go as planned (a gate not passed, a
    /// watch that rolled back), for whoever looks next (`state pull`,
    /// `state history`). Only what berth itself saw: no log line, which may
    /// hold anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failed_rollout: Option<FailedRollout>,
    /// The applied resources, written with address strings as keys, sorted.
    pub resources: BTreeMap<Address, StateResource>,
    /// The last deploys (format 5), oldest first: what each apply that
    /// changed containers left running, for `berth rollback`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Deploy>,
}

fn is_docker(b: &crate::compose::BackendKind) -> bool {
    *b == crate::compose::BackendKind::Docker
}

/// A rollout that failed: when, which containers, what became of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRollout {
    /// RFC 3339 UTC.
    pub time: String,
    /// The containers whose new version failed (its gate, or the watch).
    pub failed: Vec<Address>,
    /// What was done about it: `the old containers kept serving`, `rolled
    /// back 2 containers`, ...
    pub outcome: String,
}

/// One resource as it was applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateResource {
    /// The engine's ID: container or network ID, volume name, image ID.
    pub id: String,
    /// The engine's name: container name, network name, volume name, image tag.
    pub name: String,
    /// sha256 (lowercase hex) of the canonical spec below.
    pub spec_hash: String,
    /// The full canonical spec that was applied, so plan can say what changed.
    pub spec: serde_json::Value,
}

impl StateResource {
    /// The recorded spec as the typed spec of `kind` (the kind of its address).
    pub fn typed(&self, kind: crate::resource::Kind) -> Result<Spec, SpecError> {
        Spec::from_json(kind, &self.spec)
    }

    /// What the state records for a desired resource applied as engine object `id`.
    pub fn recorded(r: &crate::resource::Resource, id: impl Into<String>) -> StateResource {
        StateResource {
            id: id.into(),
            name: r.engine_name.clone(),
            spec_hash: r.spec_hash.clone(),
            // sensitive values sealed: no file berth writes holds one
            spec: (**r.recorded()).clone(),
        }
    }
}

impl State {
    /// An empty state for `project`: a new lineage, serial 0, no resources.
    pub fn new(project: &str) -> State {
        State {
            format_version: FORMAT_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            berth_version: env!("CARGO_PKG_VERSION").to_string(),
            project: project.to_string(),
            engine: None,
            backend: Default::default(),
            sealed_with: None,
            last_failed_rollout: None,
            resources: BTreeMap::new(),
            history: Vec::new(),
        }
    }

    /// The applied resource at `address`, if any.
    pub fn get(&self, address: &Address) -> Option<&StateResource> {
        self.resources.get(address)
    }

    /// Records `resource` as applied at `address`, returning what was there.
    pub fn insert(&mut self, address: Address, resource: StateResource) -> Option<StateResource> {
        self.resources.insert(address, resource)
    }

    /// Forgets the resource at `address` (it was deleted), returning it.
    pub fn remove(&mut self, address: &Address) -> Option<StateResource> {
        self.resources.remove(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_state_is_empty_at_serial_zero_with_a_uuid_lineage() {
        let state = State::new("demo");
        assert_eq!(state.format_version, FORMAT_VERSION);
        assert_eq!(state.serial, 0);
        assert_eq!(state.project, "demo");
        assert_eq!(state.berth_version, env!("CARGO_PKG_VERSION"));
        assert!(state.resources.is_empty());
        let lineage = uuid::Uuid::parse_str(&state.lineage).expect("lineage is a uuid");
        assert_eq!(lineage.get_version_num(), 4);
        assert_ne!(State::new("demo").lineage, state.lineage);
    }

    #[test]
    fn resources_are_found_by_address() {
        let mut state = State::new("demo");
        let web = Address::container("web", 1);
        let resource = StateResource {
            id: "c0ffee".into(),
            name: "demo-web-1".into(),
            spec_hash: "ab".into(),
            spec: serde_json::json!({"image": "web:latest"}),
        };
        assert_eq!(state.insert(web.clone(), resource.clone()), None);
        assert_eq!(state.get(&web), Some(&resource));
        assert_eq!(state.get(&Address::container("web", 2)), None);
        assert_eq!(state.remove(&web), Some(resource));
        assert_eq!(state.get(&web), None);
    }
}
