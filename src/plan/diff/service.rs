//! Swarm services, configs and secrets (the Swarm backend).
//!
//! A service is one object for all its replicas, and Swarm changes it in
//! place: a changed spec is an update (naming the version index observed,
//! so a change made in between is refused), never a replacement. Whether
//! the update replaces the tasks (a new task template or endpoints) or
//! keeps them (replicas, labels, update settings) is said in the plan.
//! Drift is the engine's spec differing from what was applied (a `docker
//! service update` or `scale` by hand) and tasks that are not running.
//!
//! Configs and secrets are immutable on Swarm: a new content is a new
//! object under a new name, created before the services move to it and
//! removed after (see `apply::steps`).

use serde_json::Value;

use super::{Differ, config_reasons, created, new_change};
use crate::observed::ObservedService;
use crate::plan::reason::{Drift, Reason};
use crate::plan::sensitive::mask_env_list;
use crate::plan::{Action, Change, InPlace};
use crate::resource::swarm::NAMESPACE;
use crate::resource::{Address, Kind, Resource};
use crate::state::StateResource;

impl Differ<'_> {
    /// A config or secret: kept, created, or (new content) replaced.
    pub(super) fn swarm_object(&mut self, r: &Resource, st: Option<&StateResource>) -> Change {
        let kind = r.address.kind;
        let found = self.engine.as_ref().and_then(|e| {
            e.swarm_object(kind, st.map(|s| s.id.as_str()), &r.engine_name)
                .or_else(|| st.and_then(|s| e.swarm_object(kind, None, &s.name)))
        });
        if r.external {
            let mut reasons = vec![];
            if self.refreshed() && found.is_none() {
                reasons.push(Reason::ExternalMissing);
                self.errors.push(format!(
                    "external {} `{}` does not exist; create it first (`docker {} create {} FILE`) or drop `external: true`",
                    kind.as_str(),
                    r.engine_name,
                    kind.as_str(),
                    r.engine_name
                ));
            }
            return new_change(r, st, Action::Read, reasons, found.map(|f| f.id.clone()));
        }
        let Some(st) = st else {
            return match found {
                Some(o) if o.labels.get(NAMESPACE) == Some(&self.input.desired.project) => {
                    adopted(r, &o.id)
                }
                Some(_) => {
                    self.errors.push(format!(
                        "a {} named `{}` already exists and is not part of stack `{}`; remove it, or declare it `external: true` to use it",
                        kind.as_str(),
                        r.engine_name,
                        self.input.desired.project
                    ));
                    created(r)
                }
                None => created(r),
            };
        };
        // the name follows the content: the content is the reason
        let mut reasons = config_reasons(&st.spec, r.recorded(), &["name"]);
        let mut action = if reasons.is_empty() {
            Action::NoOp
        } else {
            Action::Replace
        };
        if self.refreshed() && found.is_none() {
            reasons.insert(0, Reason::Drift(Drift::Missing));
            action = Action::Create;
        }
        let id = found.map(|f| f.id.clone()).or_else(|| Some(st.id.clone()));
        let mut change = new_change(r, Some(st), action, reasons, id);
        if action == Action::NoOp {
            // what the services use is the object recorded, under its own name
            change.name = st.name.clone();
        }
        change
    }

    /// A Swarm service: created, kept, or updated in place.
    pub(super) fn service(&self, r: &Resource, st: Option<&StateResource>) -> Change {
        let found = self.engine.as_ref().and_then(|e| e.service(&r.engine_name));
        let Some(st) = st else {
            return match found {
                // ours, but the state lost it (a crash before the save): recorded
                Some(s) if s.labels.get(NAMESPACE) == Some(&self.input.desired.project) => {
                    let mut c = self.service_against(r, r.recorded(), s);
                    c.reasons.insert(
                        0,
                        Reason::Adopted {
                            id: s.id.clone(),
                            matches: c.ops.is_empty(),
                        },
                    );
                    c.action = Action::Update;
                    c
                }
                _ => created(r),
            };
        };
        let mut reasons = config_reasons(&st.spec, r.recorded(), &[]);
        let mut redeploy = reasons.iter().any(|reason| match reason {
            Reason::Config { path, .. } => restarts_tasks(path),
            _ => false,
        });
        // what it uses was replaced or rebuilt: its tasks must move to it
        for (used, action) in &self.actions {
            let moves = match used.kind {
                // a rebuilt image, or a tag that now names another one
                Kind::Image => matches!(action, Action::Replace | Action::Update),
                Kind::Config | Kind::Secret => *action == Action::Replace,
                _ => false,
            };
            if moves && r.depends_on.contains(used) {
                reasons.push(Reason::Dependency {
                    on: used.clone(),
                    action: *action,
                });
                redeploy = true;
            }
        }
        let mut change = new_change(r, Some(st), Action::NoOp, reasons, Some(st.id.clone()));
        if self.refreshed() {
            match found {
                None => {
                    change.reasons.insert(0, Reason::Drift(Drift::Missing));
                    change.action = Action::Create;
                    change.id = None;
                    return change;
                }
                Some(s) => {
                    let observed = self.service_against(r, &st.spec, s);
                    change.reasons.extend(observed.reasons);
                    redeploy |= observed.ops.contains(&InPlace::ServiceRedeploy);
                    change.id = Some(s.id.clone());
                    change.version = Some(s.version);
                }
            }
        }
        if !change.reasons.is_empty() {
            change.action = Action::Update;
            change.ops = vec![if redeploy {
                InPlace::ServiceRedeploy
            } else {
                InPlace::ServiceUpdate
            }];
        }
        change
    }

    /// Drift of service `found` from the spec `applied` (the state's, or
    /// the desired one for a service the state lost): its reasons, and the
    /// operation that repairs them in `ops` (none when it matches).
    fn service_against(&self, r: &Resource, applied: &Value, found: &ObservedService) -> Change {
        let mut reasons = Vec::new();
        let mut redeploy = false;
        let empty = Value::Null;
        let applied_spec = applied.get("service").unwrap_or(&empty);
        let mut seen = std::borrow::Cow::Borrowed(&found.spec);
        if let Some(key) = &self.input.desired.seal {
            crate::resource::sensitive::seal_service_env(seen.to_mut(), key);
        }
        for (path, applied, observed) in drifted("service", applied_spec, &seen) {
            redeploy |= restarts_tasks(&path);
            // the engine shows the values berth sealed: neither is shown
            let (applied, observed) = if path == super::SERVICE_ENV_PATH {
                let hide = |v: Value| mask_env_list(&v).unwrap_or(v);
                (hide(applied), hide(observed))
            } else {
                (applied, observed)
            };
            reasons.push(Reason::Drift(Drift::Attribute {
                path,
                applied,
                observed,
            }));
        }
        // tasks still starting after a hand-made scale are that drift, not another
        let scaled = reasons.iter().any(|r| {
            matches!(r, Reason::Drift(Drift::Attribute { path, .. }) if path == "service.Mode.Replicated.Replicas")
        });
        if (found.running < found.desired && !scaled) || found.update.is_some() {
            let mut state = format!("{} of {} tasks running", found.running, found.desired);
            if let Some(u) = &found.update {
                state.push_str(&format!(", update {u}"));
            }
            if let Some(p) = &found.problem {
                state.push_str(&format!(": {p}"));
            }
            reasons.push(Reason::Drift(Drift::NotRunning {
                state,
                exit_code: None,
            }));
            redeploy = true;
        }
        let mut c = new_change(r, None, Action::Update, reasons, Some(found.id.clone()));
        c.version = Some(found.version);
        if !c.reasons.is_empty() {
            c.ops = vec![if redeploy {
                InPlace::ServiceRedeploy
            } else {
                InPlace::ServiceUpdate
            }];
        }
        c
    }
}

/// Whether a change at `path` (of a recorded service spec) replaces the
/// service's tasks: everything but its replicas, labels and update and
/// rollback settings does.
fn restarts_tasks(path: &str) -> bool {
    let keeps = [
        "service.Mode.Replicated.Replicas",
        "service.Labels",
        "service.UpdateConfig",
        "service.RollbackConfig",
        "service.Name",
    ];
    !keeps
        .iter()
        .any(|k| path == *k || path.starts_with(&format!("{k}.")))
}

/// Where `observed` differs from `applied`, read as what was applied: a
/// key berth did not set is the engine's default, not drift; lists are
/// compared item by item when their lengths agree, else whole.
fn drifted(path: &str, applied: &Value, observed: &Value) -> Vec<(String, Value, Value)> {
    let mut out = Vec::new();
    walk(path, applied, observed, &mut out);
    out
}

fn walk(path: &str, applied: &Value, observed: &Value, out: &mut Vec<(String, Value, Value)>) {
    match (applied, observed) {
        (Value::Object(a), Value::Object(o)) => {
            // which object a reference names follows from its content
            // (the service's `uses`), not its name: a stack made by `docker
            // stack deploy` names them without berth's content hash
            for (k, v) in a
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "SecretName" | "ConfigName"))
            {
                walk(
                    &format!("{path}.{k}"),
                    v,
                    o.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(o)) if a.len() == o.len() => {
            for (i, (a, o)) in a.iter().zip(o).enumerate() {
                walk(&format!("{path}[{i}]"), a, o, out);
            }
        }
        (Value::Number(a), Value::Number(o)) if a.as_f64() == o.as_f64() => {}
        // an empty list or map set is what the engine leaves out
        (Value::Array(a), Value::Null) if a.is_empty() => {}
        (Value::Object(a), Value::Null) if a.is_empty() => {}
        (a, o) if a == o => {}
        (a, o) => out.push((path.to_string(), a.clone(), o.clone())),
    }
}

/// A config, secret or service found under its name with the stack's label
/// that the state does not record: recorded as it is.
fn adopted(r: &Resource, id: &str) -> Change {
    let reasons = vec![Reason::Adopted {
        id: id.to_string(),
        matches: true,
    }];
    new_change(r, None, Action::Update, reasons, Some(id.to_string()))
}

/// The address of a stack's service from its engine name (`<stack>_<service>`).
pub(super) fn service_address(stack: &str, name: &str) -> Option<Address> {
    let service = name.strip_prefix(stack)?.strip_prefix('_')?;
    (!service.is_empty()).then(|| Address::swarm(Kind::Service, service))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_the_engine_adds_is_not_drift_but_what_it_changed_is() {
        let applied = json!({"Mode": {"Replicated": {"Replicas": 3}}, "Labels": {"a": "1"}, "TaskTemplate": {"ContainerSpec": {"Env": []}}});
        let observed = json!({"Mode": {"Replicated": {"Replicas": 1}}, "Labels": {"a": "1", "extra": "x"}, "TaskTemplate": {"ContainerSpec": {"Isolation": "default"}, "ForceUpdate": 0}});
        let d = drifted("service", &applied, &observed);
        assert_eq!(
            d,
            vec![(
                "service.Mode.Replicated.Replicas".to_string(),
                json!(3),
                json!(1)
            )]
        );
        assert!(!restarts_tasks("service.Mode.Replicated.Replicas"));
        assert!(restarts_tasks(
            "service.EndpointSpec.Ports[0].PublishedPort"
        ));
        assert!(restarts_tasks("service.TaskTemplate.ContainerSpec.Env"));
        assert!(!restarts_tasks("service.UpdateConfig.Parallelism"));
    }

    #[test]
    fn a_service_address_is_read_from_its_stack_name() {
        assert_eq!(
            service_address("shop", "shop_web"),
            Some(Address::swarm(Kind::Service, "web"))
        );
        assert_eq!(service_address("shop", "shopping_web"), None);
        assert_eq!(service_address("shop", "shop_"), None);
    }
}
