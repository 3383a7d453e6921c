//! Why a resource is in the plan, in the JSON form: [`JsonReason`] and
//! [`JsonDrift`], one stable `kind` (and `what`) name for every
//! [`Reason`] and [`Drift`].
//!
//! Separate from the document's shape because it is the vocabulary that
//! grows: a new reason in the plan is a new variant here and a new line in
//! `docs/plan-json.md`.

use serde::Serialize;
use serde_json::Value;

use super::JsonAction;
use crate::plan::{Drift, OrphanKind, Reason};

/// How a configuration attribute changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonAttributeChange {
    Added,
    Removed,
    Modified,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JsonReason {
    New,
    Config {
        path: String,
        change: JsonAttributeChange,
        /// Absent when the attribute is added.
        #[serde(skip_serializing_if = "Option::is_none")]
        old: Option<Value>,
        /// Absent when the attribute is removed.
        #[serde(skip_serializing_if = "Option::is_none")]
        new: Option<Value>,
    },
    Drift(JsonDrift),
    Dependency {
        on: String,
        action: JsonAction,
    },
    Adopted {
        id: String,
        matches: bool,
    },
    Orphan {
        why: JsonOrphanKind,
    },
    ScaledDown {
        service: String,
        replicas: u32,
    },
    ExternalMissing,
}

#[derive(Debug, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum JsonDrift {
    Missing,
    NotRunning {
        state: String,
        exit_code: Option<i64>,
    },
    Unhealthy,
    ImageChanged {
        reference: String,
        running: String,
        current: String,
    },
    Attribute {
        path: String,
        applied: Value,
        observed: Value,
    },
    Replaced {
        recorded: String,
        found: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonOrphanKind {
    RemovedFromFile,
    NotInState,
}

impl From<&Reason> for JsonReason {
    fn from(r: &Reason) -> Self {
        match r {
            Reason::New => JsonReason::New,
            Reason::Config { path, old, new } => JsonReason::Config {
                path: path.clone(),
                change: match (old, new) {
                    (None, Some(_)) => JsonAttributeChange::Added,
                    (Some(_), None) => JsonAttributeChange::Removed,
                    _ => JsonAttributeChange::Modified,
                },
                old: old.clone(),
                new: new.clone(),
            },
            Reason::Drift(d) => JsonReason::Drift(d.into()),
            Reason::Dependency { on, action } => JsonReason::Dependency {
                on: on.to_string(),
                action: (*action).into(),
            },
            Reason::Adopted { id, matches } => JsonReason::Adopted {
                id: id.clone(),
                matches: *matches,
            },
            Reason::Orphan { why: kind } => JsonReason::Orphan {
                why: match kind {
                    OrphanKind::RemovedFromFile => JsonOrphanKind::RemovedFromFile,
                    OrphanKind::NotInState => JsonOrphanKind::NotInState,
                },
            },
            Reason::ScaledDown { service, replicas } => JsonReason::ScaledDown {
                service: service.clone(),
                replicas: *replicas,
            },
            Reason::ExternalMissing => JsonReason::ExternalMissing,
        }
    }
}

impl From<&Drift> for JsonDrift {
    fn from(d: &Drift) -> Self {
        match d {
            Drift::Missing => JsonDrift::Missing,
            Drift::NotRunning { state, exit_code } => JsonDrift::NotRunning {
                state: state.clone(),
                exit_code: *exit_code,
            },
            Drift::Unhealthy => JsonDrift::Unhealthy,
            Drift::ImageChanged {
                reference,
                running,
                current,
            } => JsonDrift::ImageChanged {
                reference: reference.clone(),
                running: running.clone(),
                current: current.clone(),
            },
            Drift::Attribute {
                path,
                applied,
                observed,
            } => JsonDrift::Attribute {
                path: path.clone(),
                applied: applied.clone(),
                observed: observed.clone(),
            },
            Drift::Replaced { recorded, found } => JsonDrift::Replaced {
                recorded: recorded.clone(),
                found: found.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::render::fixtures::{everything, id};
    use crate::render::json::parse;

    #[test]
    fn every_reason_kind_has_a_stable_name() {
        let out = parse(&everything());
        let reasons: Vec<(&str, &str, &Value)> = out["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["address"].as_str().unwrap(),
                    c["action"].as_str().unwrap(),
                    &c["reasons"],
                )
            })
            .collect();
        let dockerfile = |port: u32, cmd: &str| {
            format!(
                "FROM scratch\nCOPY berth-demo /berth-demo\nEXPOSE {port}\nENTRYPOINT [\"/berth-demo\"]\n{cmd}"
            )
        };
        let expected = [
            ("network.back", "create", json!([{"kind": "new"}])),
            (
                "network.front",
                "replace",
                json!([
                    {"kind": "config", "path": "internal", "change": "modified", "old": false, "new": true},
                ]),
            ),
            ("network.default", "no-op", json!([])),
            (
                "network.shared",
                "read",
                json!([{"kind": "external_missing"}]),
            ),
            ("network.outside", "read", json!([])),
            (
                "volume.data",
                "replace",
                json!([
                    {"kind": "config", "path": "driver", "change": "modified", "old": "local", "new": "nfs"},
                ]),
            ),
            (
                "volume.old",
                "delete",
                json!([{"kind": "orphan", "why": "removed_from_file"}]),
            ),
            (
                "image.web",
                "replace",
                json!([
                    {"kind": "config", "path": "build.dockerfile_content", "change": "modified",
                     "old": dockerfile(5000, ""), "new": dockerfile(8080, "CMD [\"serve\"]\n")},
                    {"kind": "drift", "what": "image_changed", "reference": "demo-web",
                     "running": "sha256:1234567890abcdef1234", "current": "sha256:abcdef1234567890abcd"},
                ]),
            ),
            (
                "image.redis",
                "update",
                json!([
                    {"kind": "adopted", "id": "sha256:77aa88bb99cc00dd", "matches": true},
                ]),
            ),
            (
                "container.web[1]",
                "replace",
                json!([
                    {"kind": "config", "path": "ports[0].published", "change": "modified", "old": "5000", "new": "8080"},
                    {"kind": "config", "path": "environment.DB_PASSWORD", "change": "modified",
                     "old": "(sensitive)", "new": "(sensitive)"},
                    {"kind": "config", "path": "environment.MODE", "change": "added", "new": "prod"},
                    {"kind": "config", "path": "cap_add", "change": "removed", "old": ["NET_ADMIN"]},
                    {"kind": "config", "path": "command", "change": "modified",
                     "old": ["sh", "-c", "echo start\nexec serve"], "new": ["sh", "-c", "echo start\nmigrate\nexec serve"]},
                    {"kind": "dependency", "on": "network.front", "action": "replace"},
                ]),
            ),
            (
                "container.web[2]",
                "create",
                json!([{"kind": "drift", "what": "missing"}]),
            ),
            (
                "container.web[3]",
                "delete",
                json!([
                    {"kind": "scaled_down", "service": "web", "replicas": 2},
                    {"kind": "drift", "what": "missing"},
                ]),
            ),
            (
                "container.db[1]",
                "update",
                json!([
                    {"kind": "drift", "what": "not_running", "state": "exited", "exit_code": 137},
                    {"kind": "drift", "what": "attribute", "path": "restart", "applied": "always", "observed": "no"},
                    {"kind": "config", "path": "mem_limit", "change": "modified", "old": "256m", "new": "512m"},
                ]),
            ),
            (
                "container.api[1]",
                "replace",
                json!([
                    {"kind": "drift", "what": "unhealthy"},
                    {"kind": "drift", "what": "replaced", "recorded": id("aa11bb22cc33"), "found": id("dd44ee55ff66")},
                    {"kind": "dependency", "on": "network.back", "action": "create"},
                ]),
            ),
            (
                "container.worker[1]",
                "update",
                json!([
                    {"kind": "adopted", "id": id("c0ffee000001"), "matches": true},
                    {"kind": "drift", "what": "not_running", "state": "created", "exit_code": null},
                ]),
            ),
            (
                "container.worker[2]",
                "replace",
                json!([
                    {"kind": "adopted", "id": id("c0ffee000002"), "matches": false},
                ]),
            ),
            ("container.cache[1]", "no-op", json!([])),
            (
                "container.ghost[1]",
                "delete",
                json!([{"kind": "orphan", "why": "not_in_state"}]),
            ),
        ];
        let expected: Vec<(&str, &str, &Value)> =
            expected.iter().map(|(a, b, c)| (*a, *b, c)).collect();
        assert_eq!(reasons, expected);
        assert_eq!(
            out["orphans"],
            json!([
                {"kind": "container", "name": "demo-legacy-1", "id": id("beef00000001")},
                {"kind": "network", "name": "demo_legacy", "id": id("beef00000002")},
            ])
        );
        assert_eq!(
            out["errors"],
            json!(["external network `shared` does not exist; create it first"])
        );
        assert_eq!(
            out["summary"],
            json!({"add": 2, "change": 3, "replace": 6, "destroy": 3})
        );
        assert_eq!(out["resource_changes"][4]["kind"], "network");
        assert_eq!(out["resource_changes"][6]["data_loss"], true);
        assert_eq!(
            out["resource_changes"][9]["security"],
            json!(["runs privileged"])
        );
    }
}
