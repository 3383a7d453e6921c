//! The diff: `(Desired, State, Observed) -> Plan`, a pure function.
//!
//! For every desired resource it compares the spec recorded at the last apply
//! with the desired one (configuration changes, attribute by attribute) and
//! what the engine shows with what was applied (drift), then picks the
//! smallest correct action. Resources in the state that are no longer desired
//! are deleted; objects carrying the project's label that nobody knows are
//! orphans.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};

use super::attributes::changed_attributes;
use super::reason::{Drift, OrphanKind, Reason};
use super::sensitive::{MASK, is_sensitive_path, mask, mask_shared, security_flags};
use super::{Action, Change, FORMAT_VERSION, Orphan, Plan};
use crate::engine::{Observed, ObservedContainer};
use crate::resource::desired::DEPENDENCIES_KEY;
use crate::resource::{Address, Desired, Kind, Resource, labels};
use crate::state::{State, StateResource};

/// What the diff reads.
pub struct DiffInput<'a> {
    pub desired: &'a Desired,
    pub state: &'a State,
    /// `None` with `--refresh=false`: configuration changes only, no drift.
    pub observed: Option<&'a Observed>,
    /// Delete objects labelled with the project that nobody knows.
    pub remove_orphans: bool,
    /// `--target` services (empty: all); deletions are limited to them.
    pub targets: &'a [String],
}

/// Attributes the engine can change on a running container (`docker update`).
const IN_PLACE: &[&str] = &[
    "restart",
    "mem_limit",
    "cpus",
    "deploy.resources",
    "deploy.restart_policy",
    // a service renamed with `berth state mv` keeps its container: renamed in place
    "name",
];

fn in_place(path: &str) -> bool {
    IN_PLACE.iter().any(|p| {
        path == *p || path.starts_with(&format!("{p}.")) || path.starts_with(&format!("{p}["))
    })
}

/// The engine's view, indexed for lookups.
struct Engine<'a> {
    observed: &'a Observed,
    containers_by_address: HashMap<Address, &'a ObservedContainer>,
    containers_by_id: HashMap<&'a str, &'a ObservedContainer>,
}

/// A container's address from its labels: berth's, else compose's service and number.
fn container_address(c: &ObservedContainer) -> Option<Address> {
    if let Some(a) = c.labels.get(labels::ADDRESS).and_then(|a| a.parse().ok()) {
        return Some(a);
    }
    let service = c.labels.get(labels::SERVICE)?;
    let n = c.labels.get(labels::CONTAINER_NUMBER)?.parse().ok()?;
    Some(Address::container(service, n))
}

impl<'a> Engine<'a> {
    fn new(observed: &'a Observed) -> Self {
        let mut by_address = HashMap::new();
        for c in &observed.containers {
            if c.labels.get(labels::ONEOFF).is_some_and(|v| v == "True") {
                continue;
            }
            if let Some(a) = container_address(c) {
                by_address.entry(a).or_insert(c);
            }
        }
        Engine {
            observed,
            containers_by_address: by_address,
            containers_by_id: observed
                .containers
                .iter()
                .map(|c| (c.id.as_str(), c))
                .collect(),
        }
    }

    fn network(&self, name: &str) -> Option<(&'a str, &'a BTreeMap<String, String>)> {
        self.observed
            .networks
            .iter()
            .find(|n| n.name == name)
            .map(|n| (n.id.as_str(), &n.labels))
    }

    fn volume(&self, name: &str) -> Option<(&'a str, &'a BTreeMap<String, String>)> {
        self.observed
            .volumes
            .iter()
            .find(|v| v.name == name)
            .map(|v| (v.name.as_str(), &v.labels))
    }
}

struct Differ<'a> {
    input: &'a DiffInput<'a>,
    engine: Option<Engine<'a>>,
    /// Actions decided so far for networks, volumes and images, for
    /// containers' dependency reasons.
    actions: BTreeMap<Address, Action>,
    errors: Vec<String>,
}

/// Compute the plan.
pub fn diff(input: &DiffInput) -> Plan {
    let mut d = Differ {
        input,
        engine: input.observed.map(Engine::new),
        actions: BTreeMap::new(),
        errors: Vec::new(),
    };
    let mut changes = Vec::with_capacity(input.desired.resources.len());
    // networks, volumes and images before containers: the address order is the
    // creation order, and a container's action depends on theirs
    let by_kind = |kind: Kind| -> Vec<&Resource> {
        input
            .desired
            .resources
            .values()
            .filter(|r| r.address.kind == kind)
            .collect()
    };
    for r in input.desired.resources.values() {
        if matches!(r.address.kind, Kind::Network | Kind::Volume) {
            let change = d.object(r, input.state.get(&r.address));
            d.record(change, &mut changes);
        }
    }
    // images (and then containers) depend only on what was decided before
    // them: thousands of them are diffed in parallel, in order
    for kind in [Kind::Image, Kind::Container] {
        let resources = by_kind(kind);
        let decided = crate::par::map(&resources, |r| {
            let st = input.state.get(&r.address);
            match kind {
                Kind::Image => d.image(r, st),
                _ => d.container(r, st),
            }
        });
        for change in decided {
            d.record(change, &mut changes);
        }
    }
    d.restarts(&mut changes);
    changes.extend(d.deletions());
    let (orphans, orphan_deletes) = d.orphans();
    changes.extend(orphan_deletes);
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    Plan {
        format_version: FORMAT_VERSION,
        project: input.desired.project.clone(),
        refreshed: input.observed.is_some(),
        changes,
        orphans,
        errors: d.errors,
    }
}

fn new_change(
    r: &Resource,
    st: Option<&StateResource>,
    action: Action,
    reasons: Vec<Reason>,
    id: Option<String>,
) -> Change {
    let before = st.map(|s| Arc::new(mask(&s.spec)));
    let after = Some(mask_shared(&r.spec));
    let security = if matches!(action, Action::NoOp | Action::Read) {
        vec![]
    } else {
        security_flags(st.map(|s| &s.spec), &r.spec)
    };
    Change {
        address: r.address.clone(),
        action,
        reasons,
        name: r.engine_name.clone(),
        id,
        before,
        after,
        after_hash: Some(r.spec_hash.clone()),
        data_loss: r.address.kind == Kind::Volume && action == Action::Replace,
        security,
    }
}

/// Configuration reasons, sensitive values masked.
fn config_reasons(old: &Value, new: &Value, skip: &[&str]) -> Vec<Reason> {
    changed_attributes(old, new, skip)
        .into_iter()
        .map(|c| {
            let hide = |v: Option<Value>| {
                if is_sensitive_path(&c.path) {
                    v.map(|_| Value::String(MASK.into()))
                } else {
                    v
                }
            };
            Reason::Config {
                old: hide(c.old),
                new: hide(c.new),
                path: c.path,
            }
        })
        .collect()
}

impl Differ<'_> {
    /// Keep a decided change, and its action for the resources that depend on
    /// it (only containers do, and only on networks, volumes and images: the
    /// actions of thousands of containers are not kept).
    fn record(&mut self, change: Change, changes: &mut Vec<Change>) {
        if change.address.kind != Kind::Container {
            self.actions.insert(change.address.clone(), change.action);
        }
        changes.push(change);
    }

    fn refreshed(&self) -> bool {
        self.engine.is_some()
    }

    fn belongs_to_us(&self, found: &BTreeMap<String, String>) -> bool {
        found.get(labels::PROJECT).map(String::as_str) == Some(self.input.desired.project.as_str())
    }

    /// Networks and volumes: immutable, so any change is a replacement.
    fn object(&mut self, r: &Resource, st: Option<&StateResource>) -> Change {
        let kind = r.address.kind.as_str();
        let found = self.engine.as_ref().and_then(|e| match r.address.kind {
            Kind::Network => e.network(&r.engine_name),
            _ => e.volume(&r.engine_name),
        });
        if r.external {
            let mut reasons = vec![];
            if self.refreshed() && found.is_none() {
                reasons.push(Reason::ExternalMissing);
                self.errors.push(format!(
                    "external {kind} `{}` does not exist; create it first (`docker {kind} create {}`) or drop `external: true`",
                    r.engine_name, r.engine_name
                ));
            }
            return new_change(r, st, Action::Read, reasons, found.map(|f| f.0.to_string()));
        }
        let Some(st) = st else {
            return match found {
                Some((id, found_labels)) if self.belongs_to_us(found_labels) => new_change(
                    r,
                    None,
                    Action::Update,
                    vec![Reason::Adopted {
                        id: id.to_string(),
                        matches: true,
                    }],
                    Some(id.to_string()),
                ),
                Some(_) => {
                    self.errors.push(format!(
                        "a {kind} named `{}` already exists and does not belong to project `{}`; remove it, or declare it `external: true` to use it",
                        r.engine_name, self.input.desired.project
                    ));
                    new_change(r, None, Action::Create, vec![Reason::New], None)
                }
                None => new_change(r, None, Action::Create, vec![Reason::New], None),
            };
        };
        let mut reasons = config_reasons(&st.spec, &r.spec, &[]);
        let mut action = if reasons.is_empty() {
            Action::NoOp
        } else {
            Action::Replace
        };
        if self.refreshed() {
            match found {
                None => {
                    reasons.insert(0, Reason::Drift(Drift::Missing));
                    action = Action::Create;
                }
                Some((id, _)) if r.address.kind == Kind::Network && id != st.id => {
                    reasons.push(Reason::Drift(Drift::Replaced {
                        recorded: st.id.clone(),
                        found: id.to_string(),
                    }));
                    action = action.max(Action::Update);
                }
                Some(_) => {}
            }
        }
        let id = found
            .map(|f| f.0.to_string())
            .or_else(|| Some(st.id.clone()));
        new_change(r, Some(st), action, reasons, id)
    }

    fn image(&self, r: &Resource, st: Option<&StateResource>) -> Change {
        let built = r.spec.get("build").is_some();
        let current = self
            .engine
            .as_ref()
            .and_then(|e| e.observed.images.get(&r.engine_name).cloned());
        let Some(st) = st else {
            return match (&current, built) {
                // a local image that nobody built for us: record what it is
                (Some(id), false) => new_change(
                    r,
                    None,
                    Action::Update,
                    vec![Reason::Adopted {
                        id: id.clone(),
                        matches: true,
                    }],
                    Some(id.clone()),
                ),
                _ => new_change(r, None, Action::Create, vec![Reason::New], None),
            };
        };
        let mut reasons = config_reasons(&st.spec, &r.spec, &[]);
        let mut action = if reasons.is_empty() {
            Action::NoOp
        } else if built {
            Action::Replace
        } else {
            Action::Update
        };
        if self.refreshed() {
            match &current {
                None => {
                    reasons.insert(0, Reason::Drift(Drift::Missing));
                    action = Action::Create;
                }
                Some(id) if *id != st.id => {
                    reasons.push(Reason::Drift(Drift::ImageChanged {
                        reference: r.engine_name.clone(),
                        running: st.id.clone(),
                        current: id.clone(),
                    }));
                    // rebuilding restores what the files say; a pulled tag is recorded as it is now
                    action = action.max(if built {
                        Action::Replace
                    } else {
                        Action::Update
                    });
                }
                Some(_) => {}
            }
        }
        new_change(
            r,
            Some(st),
            action,
            reasons,
            current.or_else(|| Some(st.id.clone())),
        )
    }

    fn container(&self, r: &Resource, st: Option<&StateResource>) -> Change {
        let engine = self.engine.as_ref();
        let found = engine.and_then(|e| {
            st.and_then(|s| e.containers_by_id.get(s.id.as_str()).copied())
                .or_else(|| e.containers_by_address.get(&r.address).copied())
        });
        let Some(st) = st else {
            return match found {
                Some(c) => {
                    // our labels, unknown to the state: a crash between create and the state write
                    let matches = c.labels.get(labels::SPEC_HASH) == Some(&r.spec_hash);
                    let mut reasons = vec![Reason::Adopted {
                        id: c.id.clone(),
                        matches,
                    }];
                    let mut action = if matches {
                        Action::Update
                    } else {
                        Action::Replace
                    };
                    if matches && c.state != "running" {
                        reasons.push(Reason::Drift(Drift::NotRunning {
                            state: c.state.clone(),
                            exit_code: c.exit_code,
                        }));
                        action = Action::Update;
                    }
                    // the same create request, but what follows create may be
                    // missing: on API < 1.44 a crash between create and the
                    // connects leaves it on its first network only
                    if matches && let Some(drift) = self.network_drift(&r.spec, c) {
                        reasons.push(Reason::Drift(drift));
                        action = Action::Replace;
                    }
                    new_change(r, None, action, reasons, Some(c.id.clone()))
                }
                None => new_change(r, None, Action::Create, vec![Reason::New], None),
            };
        };

        let mut reasons = config_reasons(&st.spec, &r.spec, &[DEPENDENCIES_KEY]);
        let mut action = if reasons.is_empty() {
            Action::NoOp
        } else if reasons
            .iter()
            .all(|x| matches!(x, Reason::Config { path, .. } if in_place(path)))
        {
            Action::Update
        } else {
            Action::Replace
        };
        for dep in &r.depends_on {
            if dep.kind == Kind::Container {
                continue;
            }
            let dep_action = self.actions.get(dep).copied().unwrap_or(Action::NoOp);
            let recreated = dep_action == Action::Replace
                || (dep_action == Action::Create && self.input.state.get(dep).is_some());
            if recreated {
                reasons.push(Reason::Dependency {
                    on: dep.clone(),
                    action: dep_action,
                });
                action = Action::Replace;
            }
        }
        if action == Action::NoOp && st.spec_hash != r.spec_hash {
            // only what it uses changed, and that was already applied: say what
            reasons.extend(config_reasons(&st.spec, &r.spec, &[]));
            action = Action::Replace;
        }
        if self.refreshed() {
            match found {
                None => {
                    reasons.insert(0, Reason::Drift(Drift::Missing));
                    action = Action::Create;
                }
                Some(c) => {
                    let (drift_action, drifts) = self.container_drift(r, st, c);
                    reasons.extend(drifts.into_iter().map(Reason::Drift));
                    action = action.max(drift_action);
                }
            }
        }
        let id = found.map(|c| c.id.clone()).or_else(|| Some(st.id.clone()));
        new_change(r, Some(st), action, reasons, id)
    }

    /// How the running container differs from what was applied.
    fn container_drift(
        &self,
        r: &Resource,
        st: &StateResource,
        c: &ObservedContainer,
    ) -> (Action, Vec<Drift>) {
        let mut action = Action::NoOp;
        let mut drifts = Vec::new();
        let applied = &st.spec;
        let mut push = |a: Action, d: Drift| {
            action = action.max(a);
            drifts.push(d);
        };
        if c.id != st.id {
            push(
                Action::Replace,
                Drift::Replaced {
                    recorded: st.id.clone(),
                    found: c.id.clone(),
                },
            );
        }
        if c.state != "running" {
            push(
                Action::Update,
                Drift::NotRunning {
                    state: c.state.clone(),
                    exit_code: c.exit_code,
                },
            );
        } else if c.health.as_deref() == Some("unhealthy") {
            push(Action::Replace, Drift::Unhealthy);
        }
        let engine = self
            .engine
            .as_ref()
            .expect("drift is computed only when refreshed");
        let reference = applied
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(current) = engine.observed.images.get(reference)
            && *current != c.image_id
            && !c.image_id.is_empty()
        {
            push(
                Action::Replace,
                Drift::ImageChanged {
                    reference: reference.to_string(),
                    running: c.image_id.clone(),
                    current: current.clone(),
                },
            );
        }
        let attribute = |path: &str, applied: Value, observed: Value| Drift::Attribute {
            path: path.to_string(),
            applied,
            observed,
        };
        let restart = applied
            .get("restart")
            .and_then(Value::as_str)
            .unwrap_or("no");
        if restart != c.restart_policy {
            push(
                Action::Update,
                attribute("restart", json!(restart), json!(c.restart_policy)),
            );
        }
        let memory = applied
            .get("mem_limit")
            .or_else(|| applied.pointer("/deploy/resources/limits/memory"))
            .and_then(Value::as_str)
            .and_then(|m| m.parse::<i64>().ok())
            .unwrap_or(0);
        // the engine's update call cannot lift a limit back to "unlimited" (0 means
        // "leave as is" there): going back to no limit takes a new container
        let lift = |applied: i64| {
            if applied == 0 {
                Action::Replace
            } else {
                Action::Update
            }
        };
        if memory != c.memory {
            push(
                lift(memory),
                attribute("mem_limit", json!(memory), json!(c.memory)),
            );
        }
        let cpus = applied
            .get("cpus")
            .or_else(|| applied.pointer("/deploy/resources/limits/cpus"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let nano = (cpus * 1e9).round() as i64;
        if nano != c.nano_cpus {
            push(
                lift(nano),
                attribute("cpus", json!(cpus), json!(c.nano_cpus as f64 / 1e9)),
            );
        }
        if c.name != r.engine_name && c.name != st.name {
            push(
                Action::Update,
                attribute("name", json!(st.name), json!(c.name)),
            );
        }
        if let Some(drift) = self.network_drift(applied, c) {
            push(Action::Replace, drift);
        }
        if let Some(wanted) = applied.get("labels").and_then(Value::as_object) {
            for (k, v) in wanted {
                let have = c.labels.get(k).map(|s| json!(s)).unwrap_or(Value::Null);
                if have != *v {
                    push(
                        Action::Replace,
                        attribute(&format!("labels.{k}"), v.clone(), have),
                    );
                }
            }
        }
        let ports = |spec: &Value| -> Option<BTreeSet<(String, String, u32, String)>> {
            let mut out = BTreeSet::new();
            for p in spec
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let published = p.get("published").and_then(Value::as_str).unwrap_or("");
                if published.contains('-') {
                    return None; // ranges are bound by the engine at start
                }
                out.insert((
                    p.get("host_ip")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    published.to_string(),
                    p.get("target").and_then(Value::as_u64).unwrap_or(0) as u32,
                    p.get("protocol")
                        .and_then(Value::as_str)
                        .unwrap_or("tcp")
                        .to_string(),
                ));
            }
            Some(out)
        };
        if let Some(expected) = ports(applied) {
            let seen: BTreeSet<(String, String, u32, String)> = c
                .ports
                .iter()
                .map(|p| {
                    (
                        p.host_ip.clone(),
                        p.host_port.clone(),
                        p.container_port,
                        p.protocol.clone(),
                    )
                })
                .collect();
            if expected != seen {
                let show = |s: &BTreeSet<(String, String, u32, String)>| -> Vec<String> {
                    s.iter()
                        .map(|(ip, host, target, proto)| {
                            let ip = if ip.is_empty() {
                                String::new()
                            } else {
                                format!("{ip}:")
                            };
                            format!("{ip}{host}:{target}/{proto}")
                        })
                        .collect()
                };
                push(
                    Action::Replace,
                    attribute("ports", json!(show(&expected)), json!(show(&seen))),
                );
            }
        }
        (action, drifts)
    }

    /// The networks the container is on, when they are not the ones `spec`
    /// puts it on (`network_mode` aside).
    fn network_drift(&self, spec: &Value, c: &ObservedContainer) -> Option<Drift> {
        if spec.get("network_mode").is_some() {
            return None;
        }
        let expected: BTreeSet<String> = spec
            .get("networks")
            .and_then(Value::as_object)
            .map(|nets| {
                nets.keys()
                    .map(|k| {
                        self.input
                            .desired
                            .resources
                            .get(&Address::network(k))
                            .map(|n| n.engine_name.clone())
                            .unwrap_or_else(|| format!("{}_{k}", self.input.desired.project))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let seen: BTreeSet<String> = c.networks.keys().cloned().collect();
        (expected != seen).then(|| Drift::Attribute {
            path: "networks".to_string(),
            applied: json!(expected),
            observed: json!(seen),
        })
    }

    fn in_scope(&self, a: &Address) -> bool {
        self.input.targets.is_empty()
            || a.service()
                .is_some_and(|s| self.input.targets.iter().any(|t| t == s))
    }

    /// `depends_on: {x: {restart: true}}`: a container whose dependency is
    /// replaced is restarted with it (an update, unless it changes anyway).
    fn restarts(&self, changes: &mut [Change]) {
        let recreated: BTreeMap<Address, Action> = changes
            .iter()
            .filter(|c| c.address.kind == Kind::Container)
            .filter(|c| {
                c.action == Action::Replace
                    || (c.action == Action::Create && self.input.state.get(&c.address).is_some())
            })
            .map(|c| (c.address.clone(), c.action))
            .collect();
        if recreated.is_empty() {
            return;
        }
        for c in changes.iter_mut() {
            let Some(r) = self.input.desired.resources.get(&c.address) else {
                continue;
            };
            if !matches!(c.action, Action::NoOp | Action::Update) {
                continue;
            }
            for dep in &r.restart_with {
                if let Some(&action) = recreated.get(dep) {
                    c.reasons.push(Reason::Dependency {
                        on: dep.clone(),
                        action,
                    });
                    c.action = Action::Update;
                }
            }
        }
    }

    /// State entries no longer desired.
    fn deletions(&self) -> Vec<Change> {
        let desired = &self.input.desired.resources;
        let mut out = Vec::new();
        for (address, st) in &self.input.state.resources {
            if desired.contains_key(address) || !self.in_scope(address) {
                continue;
            }
            let mut reasons = Vec::new();
            let still_wanted = address.kind == Kind::Container
                && desired
                    .keys()
                    .any(|a| a.kind == Kind::Container && a.name == address.name);
            if still_wanted {
                let replicas = desired
                    .keys()
                    .filter(|a| a.kind == Kind::Container && a.name == address.name)
                    .count() as u32;
                reasons.push(Reason::ScaledDown {
                    service: address.name.clone(),
                    replicas,
                });
            } else {
                reasons.push(Reason::Orphan {
                    why: OrphanKind::RemovedFromFile,
                });
            }
            if let Some(e) = &self.engine {
                let exists = match address.kind {
                    Kind::Container => e.containers_by_id.contains_key(st.id.as_str()),
                    Kind::Network => e.network(&st.name).is_some(),
                    Kind::Volume => e.volume(&st.name).is_some(),
                    Kind::Image => e.observed.images.contains_key(&st.name),
                };
                if !exists {
                    reasons.push(Reason::Drift(Drift::Missing));
                }
            }
            out.push(Change {
                address: address.clone(),
                action: Action::Delete,
                reasons,
                name: st.name.clone(),
                id: Some(st.id.clone()),
                before: Some(Arc::new(mask(&st.spec))),
                after: None,
                after_hash: None,
                data_loss: address.kind == Kind::Volume,
                security: vec![],
            });
        }
        out
    }

    /// Labelled with the project, unknown to state and files.
    fn orphans(&self) -> (Vec<Orphan>, Vec<Change>) {
        let Some(e) = &self.engine else {
            return (vec![], vec![]);
        };
        let state = &self.input.state.resources;
        let desired = &self.input.desired.resources;
        let known_ids: BTreeSet<&str> = state.values().map(|s| s.id.as_str()).collect();
        let mut orphans = Vec::new();
        let mut deletes = Vec::new();
        for c in &e.observed.containers {
            if !self.belongs_to_us(&c.labels) || known_ids.contains(c.id.as_str()) {
                continue;
            }
            let address = container_address(c);
            if address
                .as_ref()
                .is_some_and(|a| desired.contains_key(a) || state.contains_key(a))
            {
                continue;
            }
            orphans.push(Orphan {
                kind: "container".into(),
                name: c.name.clone(),
                id: c.id.clone(),
            });
            if self.input.remove_orphans
                && let Some(address) = address
            {
                deletes.push(Change {
                    address,
                    action: Action::Delete,
                    reasons: vec![Reason::Orphan {
                        why: OrphanKind::NotInState,
                    }],
                    name: c.name.clone(),
                    id: Some(c.id.clone()),
                    before: None,
                    after: None,
                    after_hash: None,
                    data_loss: false,
                    security: vec![],
                });
            }
        }
        let known_names: BTreeSet<&str> = desired
            .values()
            .map(|r| r.engine_name.as_str())
            .chain(state.values().map(|s| s.name.as_str()))
            .collect();
        for n in &e.observed.networks {
            if self.belongs_to_us(&n.labels) && !known_names.contains(n.name.as_str()) {
                orphans.push(Orphan {
                    kind: "network".into(),
                    name: n.name.clone(),
                    id: n.id.clone(),
                });
            }
        }
        (orphans, deletes)
    }
}
