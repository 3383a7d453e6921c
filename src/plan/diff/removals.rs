//! What goes: state entries the files no longer ask for (within `--target`),
//! and orphans, objects labelled with the project that nobody knows (deleted
//! only with `--remove-orphans`).
//!
//! Separate because these start from the state and the engine, not from a
//! desired resource.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use super::Differ;
use super::engine::container_address;
use crate::plan::reason::{Drift, OrphanKind, Reason};
use crate::plan::sensitive::mask;
use crate::plan::{Action, Change, Orphan};
use crate::resource::{Address, Kind};

impl Differ<'_> {
    /// Whether `--target` (none: every service) covers `a`.
    fn in_scope(&self, a: &Address) -> bool {
        self.input.targets.is_empty()
            || a.service()
                .is_some_and(|s| self.input.targets.iter().any(|t| t == s))
    }

    /// State entries no longer desired.
    pub(super) fn deletions(&self) -> Vec<Change> {
        let desired = &self.input.desired.resources;
        let mut out = Vec::new();
        for (address, st) in &self.input.state.resources {
            if desired.contains_key(address) || !self.in_scope(address) {
                continue;
            }
            // a service scaled down keeps its other containers
            let replicas = desired
                .keys()
                .filter(|a| a.kind == Kind::Container && a.name == address.name)
                .count() as u32;
            let mut reasons = vec![if address.kind == Kind::Container && replicas > 0 {
                Reason::ScaledDown {
                    service: address.name.clone(),
                    replicas,
                }
            } else {
                Reason::Orphan {
                    why: OrphanKind::RemovedFromFile,
                }
            }];
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
            out.push(deletion(
                address.clone(),
                &st.name,
                &st.id,
                Some(Arc::new(mask(&st.spec))),
                reasons,
            ));
        }
        out
    }

    /// Labelled with the project, unknown to state and files.
    pub(super) fn orphans(&self) -> (Vec<Orphan>, Vec<Change>) {
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
                deletes.push(deletion(
                    address,
                    &c.name,
                    &c.id,
                    None,
                    vec![Reason::Orphan {
                        why: OrphanKind::NotInState,
                    }],
                ));
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

/// Delete the object `name` (`id`) at `address`; `before` is its masked
/// record, when the state has one. Deleting a volume loses its data.
fn deletion(
    address: Address,
    name: &str,
    id: &str,
    before: Option<Arc<Value>>,
    reasons: Vec<Reason>,
) -> Change {
    Change {
        data_loss: address.kind == Kind::Volume,
        address,
        action: Action::Delete,
        ops: Vec::new(),
        reasons,
        name: name.to_string(),
        id: Some(id.to_string()),
        before,
        after: None,
        after_hash: None,
        security: vec![],
    }
}
