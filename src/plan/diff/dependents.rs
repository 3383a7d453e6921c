//! What a replaced container does to the containers that lean on it: those
//! in its namespaces or with its volumes are replaced with it, those with
//! `depends_on: {restart: true}` are restarted.
//!
//! Separate because it runs over the whole list of decided changes, after
//! each container was diffed on its own.

use std::collections::BTreeMap;

use super::Differ;
use crate::plan::reason::Reason;
use crate::plan::{Action, Change, InPlace};
use crate::resource::{Address, Kind};

impl Differ<'_> {
    /// The containers that lean on a recreated one: in its namespaces or
    /// with its volumes, replaced with it; with `depends_on: {x: {restart:
    /// true}}`, restarted with it (an update, unless it changes anyway).
    pub(super) fn follow_replacements(&self, changes: &mut [Change]) {
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
                if leans_on(c, &r.shares_with, &recreated) {
                    c.action = Action::Replace;
                    c.ops.clear();
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
            if leans_on(c, &r.restart_with, &recreated) {
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

/// Whether `c`, kept so far (a no-op or an update), depends through `deps`
/// on a recreated container; each such dependency becomes one of its reasons.
fn leans_on(c: &mut Change, deps: &[Address], recreated: &BTreeMap<Address, Action>) -> bool {
    if !matches!(c.action, Action::NoOp | Action::Update) {
        return false;
    }
    let mut leans = false;
    for dep in deps {
        if let Some(&action) = recreated.get(dep) {
            c.reasons.push(Reason::Dependency {
                on: dep.clone(),
                action,
            });
            leans = true;
        }
    }
    leans
}
