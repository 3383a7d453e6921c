//! One container: its configuration changes (in place or a new container),
//! the replaced networks, volumes and images it depends on, drift on the
//! engine, and adoption of a container the state lost.
//!
//! Separate because the container is the one resource with in-place
//! operations and drift beyond "missing" or "replaced".

use std::collections::BTreeSet;

use serde_json::json;

use super::in_place::in_place;
use super::{Differ, config_reasons, created, new_change};
use crate::observed::ObservedContainer;
use crate::plan::reason::{Drift, Reason};
use crate::plan::{Action, Change, InPlace, Mode};
use crate::resource::desired::DEPENDENCIES_KEY;
use crate::resource::{ContainerSpec, Kind, Resource, Spec, labels};
use crate::state::StateResource;

impl Differ<'_> {
    /// A desired container against its record and the engine: created, kept,
    /// updated in place or replaced, with every reason.
    pub(super) fn container(&self, r: &Resource, st: Option<&StateResource>) -> Change {
        let engine = self.engine.as_ref();
        let found = engine.and_then(|e| {
            st.and_then(|s| e.containers_by_id.get(s.id.as_str()).copied())
                .or_else(|| e.containers_by_address.get(&r.address).copied())
        });
        if st.is_none() && found.is_none() {
            // new: the typed spec is not needed (nor read, for thousands of them)
            return created(r);
        }
        let Some(desired) = r.typed().container() else {
            // resolve gives every container a container spec
            return new_change(r, st, Action::Replace, vec![], None);
        };
        let Some(st) = st else {
            return match found {
                Some(c) => self.adopt(r, desired, c),
                None => created(r),
            };
        };
        // a record that does not read as a container spec is replaced: its reasons still show
        let applied = match st.typed(Kind::Container) {
            Ok(Spec::Container(a)) => Some(a),
            _ => None,
        };

        let mut reasons = config_reasons(&st.spec, r.recorded(), &[DEPENDENCIES_KEY]);
        let mut ops = BTreeSet::new();
        let mut action = if reasons.is_empty() {
            Action::NoOp
        } else {
            // the record's sensitive values are sealed: compare it with the
            // desired spec as it would be recorded
            let as_recorded =
                r.sealed
                    .as_ref()
                    .and_then(|s| match Spec::from_json(Kind::Container, s) {
                        Ok(Spec::Container(c)) => Some(c),
                        _ => None,
                    });
            let desired_recorded = as_recorded.as_deref().unwrap_or(desired);
            match applied
                .as_deref()
                .and_then(|a| in_place(a, desired_recorded))
            {
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
            reasons.extend(config_reasons(&st.spec, r.recorded(), &[]));
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
        with_ops(new_change(r, Some(st), action, reasons, id), ops)
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
        with_ops(
            new_change(r, None, action, reasons, Some(c.id.clone())),
            ops,
        )
    }
}

impl Differ<'_> {
    /// Containers the plan creates, or renames, under a name that another
    /// project's container (or nobody's) holds: apply would remove that one
    /// to make room (as it removes a leftover of ours), so the plan refuses,
    /// as Docker Compose's name conflict does.
    pub(super) fn names_taken(&self, changes: &[Change]) -> Vec<String> {
        let Some(e) = &self.engine else {
            return Vec::new();
        };
        if self.input.mode == Mode::RefreshOnly {
            return Vec::new();
        }
        changes
            .iter()
            .filter(|c| c.address.kind == Kind::Container)
            .filter(|c| {
                matches!(c.action, Action::Create | Action::Replace)
                    || c.ops.contains(&InPlace::Rename)
            })
            .filter_map(|c| Some((c, e.observed.taken.get(&c.name)?)))
            .map(|(c, id)| {
                format!(
                    "a container named `{}` (ID {}) already exists and does not belong to project `{}`; remove or rename it, or give `{}` another `container_name`",
                    c.name,
                    id.get(..12).unwrap_or(id),
                    self.input.desired.project,
                    c.address.name
                )
            })
            .collect()
    }
}

/// `change` doing `ops` in place, when it is an update (no other action has any).
fn with_ops(mut change: Change, ops: BTreeSet<InPlace>) -> Change {
    if change.action == Action::Update {
        change.ops = ops.into_iter().collect();
    }
    change
}
