//! The plan's stable JSON form, documented in `docs/plan-json.md`.
//!
//! These types are the contract with machines and change only with
//! [`FORMAT_VERSION`]; the internal [`Plan`] may change shape freely. Every
//! field is always present (`null` when it has no value) except where the
//! documentation says otherwise; names are snake_case, enum values stable
//! strings.
//!
//! This module holds the document's shape (plan, summary, resource changes,
//! orphans); the reasons a resource is in it are in `reasons`.

mod reasons;

use serde::Serialize;
use serde_json::Value;

use crate::plan::{self, Action, Change, Plan};
pub use reasons::{JsonAttributeChange, JsonDrift, JsonOrphanKind, JsonReason};

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
    /// Containers an interrupted rollout left under a temporary name; apply
    /// removes them first.
    pub leftovers: Vec<JsonLeftover>,
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct JsonLeftover {
    pub address: String,
    pub name: String,
    pub id: String,
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
    pub after: Option<crate::resource::SpecJson>,
    pub data_loss: bool,
    pub security: Vec<String>,
    /// A replaced container: how the new one takes over (`order`,
    /// `parallelism`, `gate`, `on_failure`, ...); null otherwise.
    pub rollout: Option<crate::plan::rollout::Rollout>,
    /// A Swarm service's version index as observed, which apply's update
    /// names (absent for everything else).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
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
            leftovers: p
                .leftovers
                .iter()
                .map(|l| JsonLeftover {
                    address: l.address.to_string(),
                    name: l.name.clone(),
                    id: l.id.clone(),
                })
                .collect(),
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
            rollout: c.rollout.clone(),
            version: c.version,
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

/// The JSON `json` prints for `plan`, parsed back.
#[cfg(test)]
fn parse(plan: &Plan) -> Value {
    let text = json(plan);
    assert!(text.ends_with("}\n"));
    serde_json::from_str(&text).expect("the output is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::{example, id, unchanged, with_secret};
    use serde_json::json;

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
                "data_loss": false, "security": [], "rollout": null,
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
                        "data_loss": false, "security": [], "rollout": null,
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
                        "data_loss": false, "security": [], "rollout": null,
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
                        "rollout": {
                            "order": "stop-first", "parallelism": 0, "delay_ms": 0,
                            "gate": {"kind": "none"}, "on_failure": "pause", "rollback_order": "stop-first",
                            "max_failure_ratio": 0.0,
                        },
                    },
                ],
                "orphans": [],
                "leftovers": [],
                "errors": [],
            })
        );
    }

    #[test]
    fn the_example_in_the_docs_is_what_json_prints() {
        let doc = include_str!("../../../docs/plan-json.md");
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
