//! The plan's stable JSON form, documented in `docs/plan-json.md`.
//!
//! These types are the contract with machines and change only with
//! [`FORMAT_VERSION`]; the internal [`Plan`] may change shape freely. Every
//! field is always present (`null` when it has no value) except where the
//! documentation says otherwise; names are snake_case, enum values stable
//! strings.

use serde::Serialize;
use serde_json::Value;

use crate::plan::{self, Action, Change, Drift, OrphanKind, Plan, Reason};

/// Version of this JSON document. Adding a field keeps it; renaming,
/// removing or changing the meaning of one bumps it.
pub const FORMAT_VERSION: u32 = 1;

/// The plan as pretty-printed JSON, ending with a newline.
pub fn json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(&JsonPlan::from(plan)).expect("plans serialise");
    s.push('\n');
    s
}

#[derive(Debug, Serialize)]
pub struct JsonPlan {
    pub format_version: u32,
    pub project: String,
    /// [`Plan::hash`]: what a saved plan promises to do.
    pub plan_hash: String,
    pub refreshed: bool,
    pub has_changes: bool,
    pub summary: JsonSummary,
    /// Every resource, no-ops included, in plan order.
    pub resource_changes: Vec<JsonResourceChange>,
    pub orphans: Vec<JsonOrphan>,
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct JsonSummary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
}

#[derive(Debug, Serialize)]
pub struct JsonResourceChange {
    pub address: String,
    /// `network`, `volume`, `image` or `container`.
    pub kind: &'static str,
    /// Name on the engine.
    pub name: String,
    pub action: JsonAction,
    /// With `update`: what is done in place, in order (`rename`,
    /// `engine-update`, `restart`, `start`); empty otherwise.
    pub operations: Vec<crate::plan::InPlace>,
    /// The engine's full ID of the existing object, or null.
    pub id: Option<String>,
    pub reasons: Vec<JsonReason>,
    /// The spec applied last (null when none), sensitive values masked.
    pub before: Option<std::sync::Arc<Value>>,
    /// The spec to apply (null when deleted), sensitive values masked.
    pub after: Option<std::sync::Arc<Value>>,
    pub data_loss: bool,
    pub security: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JsonAction {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
    Read,
}

impl From<Action> for JsonAction {
    fn from(a: Action) -> Self {
        match a {
            Action::NoOp => JsonAction::NoOp,
            Action::Create => JsonAction::Create,
            Action::Update => JsonAction::Update,
            Action::Replace => JsonAction::Replace,
            Action::Delete => JsonAction::Delete,
            Action::Read => JsonAction::Read,
        }
    }
}

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

#[derive(Debug, Serialize)]
pub struct JsonOrphan {
    pub kind: String,
    pub name: String,
    pub id: String,
}

impl From<&Plan> for JsonPlan {
    fn from(p: &Plan) -> Self {
        let s = p.summary();
        JsonPlan {
            format_version: FORMAT_VERSION,
            project: p.project.clone(),
            plan_hash: p.hash(),
            refreshed: p.refreshed,
            has_changes: p.has_changes(),
            summary: JsonSummary {
                add: s.add,
                change: s.change,
                replace: s.replace,
                destroy: s.destroy,
            },
            resource_changes: p.changes.iter().map(JsonResourceChange::from).collect(),
            orphans: p.orphans.iter().map(JsonOrphan::from).collect(),
            errors: p.errors.clone(),
        }
    }
}

impl From<&Change> for JsonResourceChange {
    fn from(c: &Change) -> Self {
        JsonResourceChange {
            address: c.address.to_string(),
            kind: c.address.kind.as_str(),
            name: c.name.clone(),
            action: c.action.into(),
            operations: c.ops.clone(),
            id: c.id.clone(),
            reasons: c.reasons.iter().map(JsonReason::from).collect(),
            before: c.before.clone(),
            after: c.after.clone(),
            data_loss: c.data_loss,
            security: c.security.clone(),
        }
    }
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

impl From<&plan::Orphan> for JsonOrphan {
    fn from(o: &plan::Orphan) -> Self {
        JsonOrphan {
            kind: o.kind.clone(),
            name: o.name.clone(),
            id: o.id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::{everything, example, id, unchanged, with_secret};
    use serde_json::json;

    fn parse(plan: &Plan) -> Value {
        let text = json(plan);
        assert!(text.ends_with("}\n"));
        serde_json::from_str(&text).expect("the output is JSON")
    }

    #[test]
    fn the_example_plan() {
        let plan = example();
        let web_before = json!({
            "image": "web:latest", "name": "web", "number": 1,
            "networks": {"service-network": {}},
            "ports": [{"mode": "ingress", "target": 5000, "published": "5000", "protocol": "tcp"}],
        });
        let web_after = json!({
            "image": "web:latest", "name": "web", "number": 1,
            "networks": {"service-network": {}, "back": {}},
            "ports": [{"mode": "ingress", "target": 5000, "published": "8080", "protocol": "tcp"}],
        });
        let redis = json!({
            "image": "getting-started-redis", "name": "redis", "number": 1,
            "networks": {"service-network": {}},
        });
        let unchanged = |address: &str, kind: &str, name: &str, id_prefix: &str, spec: Value| {
            json!({
                "address": address, "kind": kind, "name": name, "action": "no-op",
                "operations": [], "id": id(id_prefix), "reasons": [], "before": spec, "after": spec,
                "data_loss": false, "security": [],
            })
        };
        assert_eq!(
            parse(&plan),
            json!({
                "format_version": 1,
                "project": "getting-started",
                "plan_hash": plan.hash(),
                "refreshed": true,
                "has_changes": true,
                "summary": {"add": 1, "change": 1, "replace": 1, "destroy": 0},
                "resource_changes": [
                    {
                        "address": "network.back", "kind": "network",
                        "name": "getting-started_back", "action": "create", "operations": [], "id": null,
                        "reasons": [{"kind": "new"}],
                        "before": null,
                        "after": {"driver": "bridge", "name": "getting-started_back"},
                        "data_loss": false, "security": [],
                    },
                    unchanged("network.service-network", "network", "service-network", "7d1f",
                        json!({"driver": "bridge", "name": "service-network"})),
                    unchanged("image.redis", "image", "getting-started-redis", "5e0a",
                        json!({"reference": "getting-started-redis"})),
                    unchanged("image.web", "image", "web:latest", "c47b",
                        json!({"reference": "web:latest"})),
                    {
                        "address": "container.redis[1]", "kind": "container", "name": "redis",
                        "action": "update", "operations": ["start"], "id": id("9a8b7c6d5e4f"),
                        "reasons": [
                            {"kind": "drift", "what": "not_running", "state": "exited", "exit_code": 0},
                        ],
                        "before": redis, "after": redis,
                        "data_loss": false, "security": [],
                    },
                    {
                        "address": "container.web[1]", "kind": "container", "name": "web",
                        "action": "replace", "operations": [], "id": id("1b2c3d4e5f60"),
                        "reasons": [
                            {"kind": "config", "path": "networks.back", "change": "added", "new": {}},
                            {"kind": "config", "path": "ports[0].published", "change": "modified",
                             "old": "5000", "new": "8080"},
                        ],
                        "before": web_before, "after": web_after,
                        "data_loss": false,
                        "security": ["publishes port 8080:5000 on all interfaces"],
                    },
                ],
                "orphans": [],
                "errors": [],
            })
        );
    }

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

    #[test]
    fn the_example_in_the_docs_is_what_json_prints() {
        let doc = include_str!("../../docs/plan-json.md");
        let start = doc
            .find("```json\n")
            .expect("docs/plan-json.md has a JSON example")
            + 8;
        let len = doc[start..]
            .find("```\n")
            .expect("the JSON example is closed");
        let mut documented: Value = serde_json::from_str(&doc[start..start + len]).unwrap();
        let mut printed = parse(&example());
        // the hash follows the internal plan's serialisation; the doc need not
        documented["plan_hash"] = Value::Null;
        printed["plan_hash"] = Value::Null;
        assert_eq!(documented, printed);
    }

    #[test]
    fn no_changes_still_lists_every_resource() {
        let plan = unchanged();
        let out = parse(&plan);
        assert_eq!(out["has_changes"], false);
        assert_eq!(
            out["summary"],
            json!({"add": 0, "change": 0, "replace": 0, "destroy": 0})
        );
        let actions: Vec<&Value> = out["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["action"])
            .collect();
        assert_eq!(actions, [&json!("no-op"), &json!("no-op")]);
        assert_eq!(out["plan_hash"], plan.hash());
    }

    #[test]
    fn sensitive_values_stay_masked() {
        let plan = with_secret();
        let text = json(&plan);
        assert!(!text.contains("hunter2"), "{text}");
        let out: Value = serde_json::from_str(&text).unwrap();
        let c = &out["resource_changes"][0];
        assert_eq!(c["after"]["environment"]["DB_PASSWORD"], "(sensitive)");
        assert_eq!(c["after"]["environment"]["MODE"], "prod");
        assert_eq!(c["reasons"][0]["new"], "(sensitive)");
    }
}
