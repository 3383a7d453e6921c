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

use super::{Differ, adopted, config_reasons, created, new_change};
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
            // `HealthCheck`: the engine writes it `Healthcheck`, which
            // bollard's model does not read; a change by hand is not seen
            for (k, v) in a
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "SecretName" | "ConfigName" | "HealthCheck"))
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

/// The address of a stack's service from its engine name (`<stack>_<service>`).
pub(super) fn service_address(stack: &str, name: &str) -> Option<Address> {
    let service = name.strip_prefix(stack)?.strip_prefix('_')?;
    (!service.is_empty()).then(|| Address::swarm(Kind::Service, service))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::{Observed, ObservedObject};
    use crate::plan::{DiffInput, Mode, Plan, diff};
    use crate::resource::{Desired, ResolveOptions};
    use crate::state::{State, StateResource};
    use serde_json::json;
    use std::collections::BTreeMap;

    const STACK: &str = "services:\n  web:\n    image: web:1\n    ports: [\"8080:80\"]\n    configs: [site]\n    deploy: {replicas: 2}\nconfigs:\n  site:\n    content: hello\n";

    fn desired(yaml: &str) -> Desired {
        let p = crate::compose::project_from_yaml(yaml, "shop");
        crate::resource::desired::resolve_swarm(&p, &ResolveOptions::default()).unwrap()
    }

    fn applied(d: &Desired) -> State {
        let mut state = State::new("shop");
        for r in d.resources.values() {
            let id = match r.address.kind {
                Kind::Image => "sha256:1".to_string(),
                _ => format!("id-{}", r.address),
            };
            state.insert(r.address.clone(), StateResource::recorded(r, id));
        }
        state
    }

    /// The engine as `d` left it, with what the engine adds to a spec.
    fn engine(d: &Desired) -> Observed {
        let mut o = Observed::default();
        let ns = || BTreeMap::from([(NAMESPACE.to_string(), "shop".to_string())]);
        for r in d.resources.values() {
            match r.address.kind {
                Kind::Network => o.networks.push(crate::observed::ObservedNetwork {
                    id: format!("id-{}", r.address),
                    name: r.engine_name.clone(),
                    labels: ns(),
                    driver: "overlay".into(),
                    ..Default::default()
                }),
                Kind::Image => {
                    o.images.insert(r.engine_name.clone(), "sha256:1".into());
                }
                Kind::Config => o.configs.push(ObservedObject {
                    id: format!("id-{}", r.address),
                    name: r.engine_name.clone(),
                    labels: ns(),
                }),
                Kind::Service => {
                    let mut spec = r.spec.value()["service"].clone();
                    spec["TaskTemplate"]["ForceUpdate"] = json!(0);
                    spec["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigID"] = json!("x");
                    o.services.push(ObservedService {
                        id: format!("id-{}", r.address),
                        name: r.engine_name.clone(),
                        version: 7,
                        labels: ns(),
                        spec,
                        running: 2,
                        desired: 2,
                        ..Default::default()
                    });
                }
                _ => {}
            }
        }
        o
    }

    fn plan(d: &Desired, state: &State, observed: &Observed) -> Plan {
        diff(&DiffInput {
            mode: Mode::Converge,
            desired: d,
            state,
            observed: Some(observed),
            remove_orphans: false,
            targets: &[],
        })
    }

    fn change<'a>(p: &'a Plan, a: &str) -> &'a Change {
        p.changes
            .iter()
            .find(|c| c.address.to_string() == a)
            .unwrap_or_else(|| panic!("{a} not in the plan"))
    }

    #[test]
    fn a_stack_as_applied_plans_nothing() {
        let d = desired(STACK);
        let p = plan(&d, &applied(&d), &engine(&d));
        assert!(!p.has_changes(), "{:#?}", p.changes);
    }

    #[test]
    fn a_scale_by_hand_is_drift_repaired_in_place_keeping_the_tasks() {
        let d = desired(STACK);
        let mut o = engine(&d);
        o.services[0].spec["Mode"]["Replicated"]["Replicas"] = json!(5);
        o.services[0].desired = 5;
        let p = plan(&d, &applied(&d), &o);
        let web = change(&p, "service.web");
        assert_eq!(web.action, Action::Update);
        assert_eq!(web.ops, vec![InPlace::ServiceUpdate]);
        assert_eq!(web.version, Some(7));
        assert_eq!(
            web.reasons,
            vec![Reason::Drift(Drift::Attribute {
                path: "service.Mode.Replicated.Replicas".into(),
                applied: json!(2),
                observed: json!(5),
            })]
        );
    }

    #[test]
    fn a_new_port_updates_the_service_in_place_replacing_its_tasks() {
        let d = desired(STACK);
        let state = applied(&d);
        let changed = desired(&STACK.replace("8080:80", "8081:80"));
        let p = plan(&changed, &state, &engine(&d));
        let web = change(&p, "service.web");
        assert_eq!(web.action, Action::Update);
        assert_eq!(web.ops, vec![InPlace::ServiceRedeploy]);
        assert!(web.reasons.iter().any(|r| matches!(r,
            Reason::Config { path, .. } if path == "service.EndpointSpec.Ports[0].PublishedPort")));
    }

    #[test]
    fn tasks_that_do_not_run_are_drift_with_their_error() {
        let d = desired(STACK);
        let mut o = engine(&d);
        o.services[0].running = 0;
        o.services[0].problem = Some("task: non-zero exit (1)".into());
        let p = plan(&d, &applied(&d), &o);
        let web = change(&p, "service.web");
        assert_eq!(web.ops, vec![InPlace::ServiceRedeploy]);
        assert_eq!(
            web.reasons,
            vec![Reason::Drift(Drift::NotRunning {
                state: "0 of 2 tasks running: task: non-zero exit (1)".into(),
                exit_code: None,
            })]
        );
    }

    #[test]
    fn a_new_config_replaces_the_old_one_and_moves_the_service_to_it() {
        let d = desired(STACK);
        let state = applied(&d);
        let changed = desired(&STACK.replace("content: hello", "content: bye"));
        let p = plan(&changed, &state, &engine(&d));
        assert_eq!(change(&p, "config.site").action, Action::Replace);
        let web = change(&p, "service.web");
        assert_eq!(web.action, Action::Update);
        assert!(web.reasons.contains(&Reason::Dependency {
            on: Address::swarm(Kind::Config, "site"),
            action: Action::Replace,
        }));
    }

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
