//! Why a resource is in the plan. Typed, with stable snake_case names in JSON.
//!
//! Separate from actions: reasons explain a plan to a reviewer and are what
//! the renderers read; apply never decides anything from them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Action;
use crate::resource::Address;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// Not in the state and not on the engine.
    New,
    /// The configuration changed since the last apply: one attribute.
    Config {
        path: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        old: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        new: Option<Value>,
    },
    /// The engine differs from what was applied.
    Drift(Drift),
    /// Replaced because something it uses is created or replaced.
    Dependency { on: Address, action: Action },
    /// Found on the engine with our labels but missing from the state (a crash
    /// between create and the state write): recorded, not duplicated.
    Adopted { id: String, matches: bool },
    /// In the state but no longer asked for, or labelled but unknown.
    Orphan { why: OrphanKind },
    /// Fewer replicas asked for: the highest numbers go.
    ScaledDown { service: String, replicas: u32 },
    /// An external resource that does not exist.
    ExternalMissing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Drift {
    /// It was created, but the engine no longer has it.
    Missing,
    /// The container is not running.
    NotRunning {
        state: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        exit_code: Option<i64>,
    },
    /// Its healthcheck fails.
    Unhealthy,
    /// The image reference now points at another image than the container runs.
    ImageChanged {
        reference: String,
        running: String,
        current: String,
    },
    /// An attribute changed with `docker update`, `docker rename`, `docker network connect`...
    Attribute {
        path: String,
        applied: Value,
        observed: Value,
    },
    /// The object on the engine is another one than the state recorded.
    Replaced { recorded: String, found: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrphanKind {
    /// Removed from the compose files.
    RemovedFromFile,
    /// Carries the project's label but neither the state nor the files know it.
    NotInState,
}
