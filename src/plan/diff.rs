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
use super::{Action, Change, FORMAT_VERSION, InPlace, Mode, Orphan, Plan};
use crate::observed::{Observed, ObservedContainer};
use crate::resource::desired::DEPENDENCIES_KEY;
use crate::resource::expected::{updatable, without_updatable};
use crate::resource::{Address, ContainerSpec, Desired, Kind, Resource, Spec, labels};
use crate::state::{State, StateResource};

/// What the diff reads.
#[derive(Clone, Copy)]
pub struct DiffInput<'a> {
    /// What the plan is for (the desired resources are the files' in
    /// `Converge`, the state's in `RefreshOnly`, none of the targeted ones in
    /// `Destroy`).
    pub mode: Mode,
    pub desired: &'a Desired,
    pub state: &'a State,
    /// `None` with `--refresh=false`: configuration changes only, no drift.
    pub observed: Option<&'a Observed>,
    /// Delete objects labelled with the project that nobody knows.
    pub remove_orphans: bool,
    /// `--target` services (empty: all); deletions are limited to them.
    pub targets: &'a [String],
}

/// What drift found on one container, and the smallest repair.
#[derive(Default)]
struct ContainerDrift {
    action: Action,
    ops: BTreeSet<InPlace>,
    drifts: Vec<Drift>,
}

impl ContainerDrift {
    fn push(&mut self, action: Action, op: Option<InPlace>, drift: Drift) {
        self.action = self.action.max(action);
        self.ops.extend(op);
        self.drifts.push(drift);
    }
}

/// Refresh-only changes touch the state alone: what is gone is forgotten,
/// what was found under another ID is recorded under it.
fn refresh_operations(changes: &mut [Change]) {
    for c in changes {
        c.ops.clear();
        for r in &c.reasons {
            match r {
                Reason::Drift(Drift::Missing) => c.ops.push(InPlace::Forget),
                Reason::Drift(Drift::Replaced { .. }) => c.ops.push(InPlace::Rebind),
                _ => {}
            }
        }
    }
}

/// A published port: host IP, host port, container port, protocol.
type PortKey = (String, String, u32, String);

/// The published ports a spec asks for; `None` with a port range (the engine
/// picks from it at start, so what it shows cannot be compared).
fn expected_ports(spec: &ContainerSpec) -> Option<BTreeSet<PortKey>> {
    let mut out = BTreeSet::new();
    for p in &spec.service.ports {
        let published = p.published.clone().unwrap_or_default();
        if published.contains('-') {
            return None;
        }
        out.insert((
            p.host_ip.clone().unwrap_or_default(),
            published,
            p.target,
            p.protocol.clone(),
        ));
    }
    Some(out)
}

fn show_ports(ports: &BTreeSet<PortKey>) -> Vec<String> {
    ports
        .iter()
        .map(|(ip, host, target, proto)| {
            let ip = if ip.is_empty() {
                String::new()
            } else {
                format!("{ip}:")
            };
            format!("{ip}{host}:{target}/{proto}")
        })
        .collect()
}

/// What an update in place does to go from `old` to `new`, when nothing else
/// changed (rename, the engine's update call); `None` when it takes a new
/// container.
fn in_place(old: &ContainerSpec, new: &ContainerSpec) -> Option<Vec<InPlace>> {
    if settled(old) != settled(new) {
        return None;
    }
    let mut ops = Vec::new();
    if old.name != new.name {
        ops.push(InPlace::Rename);
    }
    let (from, to) = (updatable(old), updatable(new));
    if from != to {
        if !from.can_update_to(&to) {
            return None;
        }
        ops.push(InPlace::EngineUpdate);
    }
    Some(ops)
}

/// A spec without what can change in place: the name and what `docker update` changes.
fn settled(spec: &ContainerSpec) -> ContainerSpec {
    let mut s = without_updatable(spec);
    s.name = String::new();
    // what it uses, by hash: a service renamed with `berth state mv` uses the
    // same image under another address
    s.uses = s.uses.values().map(|h| (h.clone(), h.clone())).collect();
    s
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
    let by_mode = input
        .mode
        .desired(input.desired, input.state, input.targets);
    let effective;
    let (input, mode_errors) = match &by_mode {
        Some((desired, errors)) => {
            effective = DiffInput { desired, ..*input };
            (&effective, errors.clone())
        }
        None => (input, Vec::new()),
    };
    let mut d = Differ {
        input,
        engine: input.observed.map(Engine::new),
        actions: BTreeMap::new(),
        errors: mode_errors,
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
    if input.mode == Mode::RefreshOnly {
        refresh_operations(&mut changes);
    }
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
        ops: Vec::new(),
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
        let built = r.typed().image().is_some_and(|i| i.build.is_some());
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
        if st.is_none() && found.is_none() {
            // new: the typed spec is not needed (nor read, for thousands of them)
            return new_change(r, None, Action::Create, vec![Reason::New], None);
        }
        let Some(desired) = r.typed().container() else {
            // resolve gives every container a container spec
            return new_change(r, st, Action::Replace, vec![], None);
        };
        let Some(st) = st else {
            return match found {
                Some(c) => self.adopt(r, desired, c),
                None => new_change(r, None, Action::Create, vec![Reason::New], None),
            };
        };
        // a record that does not read as a container spec is replaced: its reasons still show
        let applied = match st.typed(Kind::Container) {
            Ok(Spec::Container(a)) => Some(a),
            _ => None,
        };

        let mut reasons = config_reasons(&st.spec, &r.spec, &[DEPENDENCIES_KEY]);
        let mut ops = BTreeSet::new();
        let mut action = if reasons.is_empty() {
            Action::NoOp
        } else {
            match applied.as_deref().and_then(|a| in_place(a, desired)) {
                Some(in_place) => {
                    ops.extend(in_place);
                    Action::Update
                }
                None => Action::Replace,
            }
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
                    if c.id != st.id {
                        reasons.push(Reason::Drift(Drift::Replaced {
                            recorded: st.id.clone(),
                            found: c.id.clone(),
                        }));
                        action = Action::Replace;
                    }
                    if c.name != r.engine_name && c.name != st.name {
                        reasons.push(Reason::Drift(Drift::Attribute {
                            path: "name".into(),
                            applied: json!(st.name),
                            observed: json!(c.name),
                        }));
                        ops.insert(InPlace::Rename);
                        action = action.max(Action::Update);
                    }
                    // what the engine must hold is what was applied (the desired
                    // spec stands in for a record that does not read)
                    let against = applied.as_deref().unwrap_or(desired);
                    let drift = self.container_drift(against, desired, c);
                    reasons.extend(drift.drifts.into_iter().map(Reason::Drift));
                    ops.extend(drift.ops);
                    action = action.max(drift.action);
                }
            }
        }
        let id = found.map(|c| c.id.clone()).or_else(|| Some(st.id.clone()));
        let mut change = new_change(r, Some(st), action, reasons, id);
        if action == Action::Update {
            change.ops = ops.into_iter().collect();
        }
        change
    }

    /// A container carrying our labels that the state does not know (a crash
    /// between create and the state write): recorded, not duplicated, when it
    /// is the one the files ask for and complete; replaced otherwise.
    fn adopt(&self, r: &Resource, desired: &ContainerSpec, c: &ObservedContainer) -> Change {
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
        let mut ops = BTreeSet::new();
        if matches {
            // an apply killed between create and connect leaves it on some
            // networks only: the same checks as for an applied container
            let drift = self.container_drift(desired, desired, c);
            reasons.extend(drift.drifts.into_iter().map(Reason::Drift));
            ops.extend(drift.ops);
            action = action.max(drift.action);
        }
        let mut change = new_change(r, None, action, reasons, Some(c.id.clone()));
        if action == Action::Update {
            change.ops = ops.into_iter().collect();
        }
        change
    }

    /// How the container on the engine differs from `applied`'s expected view,
    /// and what repairs it: in place where the engine allows (start, `docker
    /// update` to `desired`'s attributes), else a replacement.
    fn container_drift(
        &self,
        applied: &ContainerSpec,
        desired: &ContainerSpec,
        c: &ObservedContainer,
    ) -> ContainerDrift {
        let mut out = ContainerDrift::default();
        let attribute = |path: &str, applied: Value, observed: Value| Drift::Attribute {
            path: path.to_string(),
            applied,
            observed,
        };
        if c.state != "running" {
            out.push(
                Action::Update,
                Some(InPlace::Start),
                Drift::NotRunning {
                    state: c.state.clone(),
                    exit_code: c.exit_code,
                },
            );
        } else if c.health.as_deref() == Some("unhealthy") {
            out.push(Action::Replace, None, Drift::Unhealthy);
        }
        let engine = self
            .engine
            .as_ref()
            .expect("drift is computed only when refreshed");
        if let Some(current) = engine.observed.images.get(&applied.image)
            && *current != c.image_id
            && !c.image_id.is_empty()
        {
            out.push(
                Action::Replace,
                None,
                Drift::ImageChanged {
                    reference: applied.image.clone(),
                    running: c.image_id.clone(),
                    current: current.clone(),
                },
            );
        }
        let expected = updatable(applied);
        let differences = expected.differences(&c.updatable);
        if !differences.is_empty() {
            let repair = if c.updatable.can_update_to(&updatable(desired)) {
                Action::Update
            } else {
                Action::Replace
            };
            for (path, applied, observed) in differences {
                out.push(
                    repair,
                    Some(InPlace::EngineUpdate),
                    attribute(path, json!(applied), json!(observed)),
                );
            }
        }
        // no network_mode and no networks: the engine's default, nothing to compare
        if applied.service.network_mode.is_none() && !applied.service.networks.is_empty() {
            let expected: BTreeSet<String> = applied
                .service
                .networks
                .keys()
                .map(|k| {
                    self.input
                        .desired
                        .resources
                        .get(&Address::network(k))
                        .map(|n| n.engine_name.clone())
                        .unwrap_or_else(|| format!("{}_{k}", self.input.desired.project))
                })
                .collect();
            let seen: BTreeSet<String> = c.networks.keys().cloned().collect();
            if expected != seen {
                out.push(
                    Action::Replace,
                    None,
                    attribute("networks", json!(expected), json!(seen)),
                );
            }
        }
        for (k, v) in &applied.service.labels {
            let have = c.labels.get(k).map(|s| json!(s)).unwrap_or(Value::Null);
            if have != json!(v) {
                out.push(
                    Action::Replace,
                    None,
                    attribute(&format!("labels.{k}"), json!(v), have),
                );
            }
        }
        if let Some(expected) = expected_ports(applied) {
            let seen: BTreeSet<PortKey> = c
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
                out.push(
                    Action::Replace,
                    None,
                    attribute(
                        "ports",
                        json!(show_ports(&expected)),
                        json!(show_ports(&seen)),
                    ),
                );
            }
        }
        out
    }

    fn in_scope(&self, a: &Address) -> bool {
        self.input.targets.is_empty()
            || a.service()
                .is_some_and(|s| self.input.targets.iter().any(|t| t == s))
    }

    /// `depends_on: {x: {restart: true}}`: a container whose dependency is
    /// replaced is restarted with it (an update, unless it changes anyway).
    fn restarts(&self, changes: &mut [Change]) {
        let recreates = |c: &Change| {
            c.address.kind == Kind::Container
                && (c.action == Action::Replace
                    || (c.action == Action::Create && self.input.state.get(&c.address).is_some()))
        };
        let mut recreated: BTreeMap<Address, Action> = changes
            .iter()
            .filter(|c| recreates(c))
            .map(|c| (c.address.clone(), c.action))
            .collect();
        // a container in another's namespace (`network_mode`, `ipc`, `pid:
        // service:x`) or with its volumes (`volumes_from`) is replaced with it,
        // which may replace the containers in its own namespaces in turn
        let mut grew = !recreated.is_empty();
        while grew {
            grew = false;
            for c in changes.iter_mut() {
                let Some(r) = self.input.desired.resources.get(&c.address) else {
                    continue;
                };
                if !matches!(c.action, Action::NoOp | Action::Update) {
                    continue;
                }
                for dep in &r.shares_with {
                    if let Some(&action) = recreated.get(dep) {
                        c.reasons.push(Reason::Dependency {
                            on: dep.clone(),
                            action,
                        });
                        c.action = Action::Replace;
                        c.ops.clear();
                    }
                }
                if c.action == Action::Replace {
                    recreated.insert(c.address.clone(), Action::Replace);
                    grew = true;
                }
            }
        }
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
                    if !c.ops.contains(&InPlace::Restart) {
                        // a restart starts it too
                        c.ops.retain(|op| *op != InPlace::Start);
                        c.ops.push(InPlace::Restart);
                    }
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
                ops: Vec::new(),
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
                    ops: Vec::new(),
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
