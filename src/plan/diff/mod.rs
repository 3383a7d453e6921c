//! The diff: `(Desired, State, Observed) -> Plan`, a pure function.
//!
//! For every desired resource it compares the spec recorded at the last apply
//! with the desired one (configuration changes, attribute by attribute) and
//! what the engine shows with what was applied (drift), then picks the
//! smallest correct action. Resources in the state that are no longer desired
//! are deleted; objects carrying the project's label that nobody knows are
//! orphans.
//!
//! This module holds the pipeline ([`diff`]) and what every step shares; each
//! step is a module of its own: [`objects`] (networks, volumes, images),
//! [`container`] (with [`in_place`] and [`drift`]), [`dependents`] and
//! [`removals`], over the indexed [`engine`] view.

mod container;
mod dependents;
mod drift;
mod engine;
mod in_place;
mod objects;
mod removals;
mod service;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::attributes::changed_attributes;
use super::reason::{Drift, Reason};
use super::sensitive::{
    MASK, READS, is_sensitive_path, mask, mask_env_list, mask_shared, security_flags,
};

/// A Swarm service's environment, as attribute paths name it.
const SERVICE_ENV_PATH: &str = "service.TaskTemplate.ContainerSpec.Env";
use super::{Action, Change, FORMAT_VERSION, InPlace, Mode, Plan};
use crate::observed::Observed;
use crate::resource::{Address, Desired, Kind, Resource, labels};
use crate::state::{State, StateResource};
use engine::Engine;

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

/// One diff under way: what it reads, the engine indexed, and what it has
/// decided so far.
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
    for r in input.desired.resources.values() {
        if matches!(r.address.kind, Kind::Config | Kind::Secret) {
            let change = d.swarm_object(r, input.state.get(&r.address));
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
    // Swarm services, after the images, configs and secrets they use
    for r in by_kind(Kind::Service) {
        let change = d.service(r, input.state.get(&r.address));
        d.record(change, &mut changes);
    }
    d.follow_replacements(&mut changes);
    rollouts(&mut changes, input.desired);
    if input.mode == Mode::RefreshOnly {
        refresh_operations(&mut changes);
    }
    changes.extend(d.deletions());
    let (orphans, orphan_deletes) = d.orphans();
    changes.extend(orphan_deletes);
    let leftovers = d.leftovers();
    let problems = [
        d.objects_in_use(&changes, &leftovers),
        d.names_taken(&changes),
    ];
    d.errors.extend(problems.into_iter().flatten());
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    Plan {
        format_version: FORMAT_VERSION,
        project: input.desired.project.clone(),
        refreshed: input.observed.is_some(),
        changes,
        orphans,
        leftovers,
        errors: d.errors,
    }
}

/// How every replaced container is rolled out (see [`super::rollout`]).
fn rollouts(changes: &mut [Change], desired: &crate::resource::Desired) {
    let replaced: std::collections::BTreeSet<Address> = changes
        .iter()
        .filter(|c| c.action == Action::Replace && c.address.kind != Kind::Container)
        .map(|c| c.address.clone())
        .collect();
    for c in changes.iter_mut() {
        if c.action != Action::Replace || c.address.kind != Kind::Container {
            continue;
        }
        let Some(r) = desired.resources.get(&c.address) else {
            continue;
        };
        let Some(spec) = r.typed().container() else {
            continue;
        };
        let dependency = r
            .depends_on
            .iter()
            .find(|d| matches!(d.kind, Kind::Network | Kind::Volume) && replaced.contains(*d))
            .map(|d| d.to_string());
        c.rollout = Some(super::rollout::rollout(spec, dependency.as_deref()));
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

fn new_change(
    r: &Resource,
    st: Option<&StateResource>,
    action: Action,
    reasons: Vec<Reason>,
    id: Option<String>,
) -> Change {
    let before = st.map(|s| Arc::new(mask(&s.spec)));
    // what masking and the security flags read, without reading a spec
    // held as text any further
    let view = r.spec.top_level(READS);
    let after = Some(mask_shared(&r.spec, &view));
    let security = if matches!(action, Action::NoOp | Action::Read) {
        vec![]
    } else {
        security_flags(st.map(|s| &s.spec), &view)
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
        rollout: None,
        version: None,
    }
}

/// An object on the engine under its name, ours, that the state does not
/// record (a crash before the state was saved; a local image): recorded as
/// it is.
fn adopted(r: &Resource, id: &str) -> Change {
    let reasons = vec![Reason::Adopted {
        id: id.to_string(),
        matches: true,
    }];
    new_change(r, None, Action::Update, reasons, Some(id.to_string()))
}

/// A resource the state does not record and the engine does not hold.
fn created(r: &Resource) -> Change {
    new_change(r, None, Action::Create, vec![Reason::New], None)
}

/// Configuration reasons, sensitive values masked.
fn config_reasons(old: &Value, new: &Value, skip: &[&str]) -> Vec<Reason> {
    changed_attributes(old, new, skip)
        .into_iter()
        .map(|c| {
            let hide = |v: Option<Value>| {
                if c.path == SERVICE_ENV_PATH {
                    v.map(|v| mask_env_list(&v).unwrap_or(v))
                } else if is_sensitive_path(&c.path) {
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

    /// Whether the engine was observed (not with `--refresh=false`).
    fn refreshed(&self) -> bool {
        self.engine.is_some()
    }

    /// Whether labels `found` on the engine name this project.
    fn belongs_to_us(&self, found: &BTreeMap<String, String>) -> bool {
        let project = Some(self.input.desired.project.as_str());
        found.get(labels::PROJECT).map(String::as_str) == project
            || found
                .get(crate::resource::swarm::NAMESPACE)
                .map(String::as_str)
                == project
    }
}
