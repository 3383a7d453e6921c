//! Plans: what apply will do to each resource, and why.
//!
//! [`diff()`] is a pure function of the desired resources, the state and what the
//! engine shows. Actions ([`Action`]) decide what apply does; reasons
//! ([`Reason`]) only explain the plan to a reviewer and are never used to make
//! decisions during apply (as in Terraform's `ActionReason`).

mod attributes;
mod diff;
mod mode;
mod reason;
pub mod rollout;
pub mod saved;
pub mod sensitive;

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use serde_json::Value;

pub use attributes::{AttributeChange, changed_attributes};
pub use diff::{DiffInput, diff};
pub use mode::Mode;
pub use reason::{Drift, OrphanKind, Reason};

use crate::resource::context::json_sha256;
use crate::resource::{Address, SpecJson};

/// Version of the internal plan form stored in saved plan files (the public
/// JSON form has its own version, `render::json::FORMAT_VERSION`).
pub const FORMAT_VERSION: u32 = 1;

/// What apply does to one resource. Explicit values so adding one shifts none.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    #[default]
    NoOp = 0,
    Create = 1,
    /// Changed in place: the engine's update call, starting a stopped
    /// container, renaming, or recording an adopted object in the state.
    Update = 2,
    /// Removed and created again.
    Replace = 3,
    Delete = 4,
    /// External: observed only, never created or removed.
    Read = 5,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Read => "read",
        }
    }
}

/// One thing an `update` does in place, in the order apply does them. The
/// diff decides them; apply carries them out and never reads the reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InPlace {
    /// Rename the container to its desired name (`berth state mv`, `docker rename`).
    Rename,
    /// Send the desired restart policy and limits (`docker update`).
    EngineUpdate,
    /// Stop it and start it again (a dependency with `restart: true` was replaced).
    Restart,
    /// Start it: it is stopped (or was created and never started).
    Start,
    /// Refresh-only: the state forgets it (it is gone from the engine).
    Forget,
    /// Refresh-only: the state records the object found under its name (`id`).
    Rebind,
    /// Swarm: update the service in place with the version index it was
    /// planned against; its tasks stay (replicas, labels, update settings).
    ServiceUpdate,
    /// Swarm: update the service in place, its tasks replaced as its
    /// `update_config` says (the task template or its endpoints changed,
    /// or its tasks are not converged).
    ServiceRedeploy,
}

/// One resource in the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// With `update`: what is done in place, in order (none: only recorded
    /// in the state, as for an adopted object).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<InPlace>,
    pub reasons: Vec<Reason>,
    /// Name on the engine.
    pub name: String,
    /// The engine's ID of the existing object, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The spec applied last (from state), sensitive values masked.
    pub before: Option<Arc<Value>>,
    /// The spec to apply, sensitive values masked (shared with the desired
    /// resource when nothing needed masking: large plans hold one copy).
    pub after: Option<SpecJson>,
    /// The hash of the full (unmasked) spec to apply. Never serialised: with
    /// the masked spec beside it, it would let a reader test guesses of a
    /// masked secret offline.
    #[serde(skip)]
    pub after_hash: Option<String>,
    /// Deleting or replacing it loses data (named volumes).
    pub data_loss: bool,
    /// What a security reviewer should look at (privileged, host namespaces, ...).
    pub security: Vec<String>,
    /// A replaced container: how the new one takes over (order, batches,
    /// gate, what a failure does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<rollout::Rollout>,
    /// A Swarm service's version index as observed: apply's update names
    /// it, so a change made in between is refused rather than overwritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl Change {
    /// A replacement rolled out as `deploy.update_config` says (gated, in
    /// batches), rather than torn down and created as `docker compose up` does.
    pub fn is_rolled(&self) -> bool {
        self.action == Action::Replace
            && self
                .rollout
                .as_ref()
                .is_some_and(|r| r.gate != rollout::Gate::None)
    }
}

/// An object carrying the project's label that neither state nor the file knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Orphan {
    pub kind: String,
    pub name: String,
    pub id: String,
}

/// A container an interrupted rollout left under a temporary name
/// (`<name>-berth-next`, `<name>-berth-prev`): apply removes it first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leftover {
    pub address: Address,
    pub name: String,
    pub id: String,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub project: String,
    /// Whether the engine was observed (`--refresh=false` skips it).
    pub refreshed: bool,
    pub changes: Vec<Change>,
    /// Labelled with the project but unknown; deleted only with `--remove-orphans`.
    pub orphans: Vec<Orphan>,
    /// Left over by an interrupted rollout; apply removes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<Leftover>,
    /// Problems that make the plan impossible to apply, one line each.
    pub errors: Vec<String>,
}

/// Counts for the summary line, as Terraform prints them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.destroy += 1,
                Action::NoOp | Action::Read => {}
            }
        }
        s
    }

    /// Whether apply would change anything.
    pub fn has_changes(&self) -> bool {
        !self.leftovers.is_empty()
            || self
                .changes
                .iter()
                .any(|c| !matches!(c.action, Action::NoOp | Action::Read))
    }

    /// sha256 over the plan's JSON: what a saved plan promises to do.
    pub fn hash(&self) -> String {
        json_sha256(self)
    }
}

#[cfg(test)]
mod tests;
