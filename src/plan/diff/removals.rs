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
use crate::observed::ObservedContainer;
use crate::plan::reason::{Drift, OrphanKind, Reason};
use crate::plan::sensitive::mask;
use crate::plan::{Action, Change, Leftover, Mode, Orphan};
use crate::resource::{Address, Kind, labels};

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
            let mut id = st.id.as_str();
            if let Some(e) = &self.engine {
                let exists = match address.kind {
                    Kind::Container => match e.containers_by_id.get(st.id.as_str()) {
                        Some(_) => true,
                        // the recorded one is gone, but the engine holds
                        // another at this address (a state restored from
                        // a backup): that one goes
                        None => match e.containers_by_address.get(address) {
                            Some(found) => {
                                reasons.push(Reason::Drift(Drift::Replaced {
                                    recorded: st.id.clone(),
                                    found: found.id.clone(),
                                }));
                                id = found.id.as_str();
                                true
                            }
                            None => false,
                        },
                    },
                    Kind::Network => e.network(&st.name).is_some(),
                    Kind::Volume => e.volume(&st.name).is_some(),
                    Kind::Image => e.observed.images.contains_key(&st.name),
                    Kind::Service => e.service(&st.name).is_some(),
                    Kind::Config | Kind::Secret => e
                        .swarm_object(address.kind, Some(st.id.as_str()), &st.name)
                        .is_some(),
                };
                if !exists {
                    reasons.push(Reason::Drift(Drift::Missing));
                }
            }
            out.push(deletion(
                address.clone(),
                &st.name,
                id,
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
            if !self.belongs_to_us(&c.labels)
                || known_ids.contains(c.id.as_str())
                || labels::is_rollout_temporary(&c.name)
            {
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
        // Swarm: services, configs and secrets of the stack nobody knows
        for sv in &e.observed.services {
            if !self.belongs_to_us(&sv.labels)
                || known_ids.contains(sv.id.as_str())
                || known_names.contains(sv.name.as_str())
            {
                continue;
            }
            orphans.push(Orphan {
                kind: "service".into(),
                name: sv.name.clone(),
                id: sv.id.clone(),
            });
            if self.input.remove_orphans
                && let Some(address) =
                    super::service::service_address(&self.input.desired.project, &sv.name)
                && !state.contains_key(&address)
            {
                deletes.push(deletion(
                    address,
                    &sv.name,
                    &sv.id,
                    None,
                    vec![Reason::Orphan {
                        why: OrphanKind::NotInState,
                    }],
                ));
            }
        }
        for (kind, list) in [
            ("config", &e.observed.configs),
            ("secret", &e.observed.secrets),
        ] {
            for o in list {
                if self.belongs_to_us(&o.labels)
                    && !known_ids.contains(o.id.as_str())
                    && !known_names.contains(o.name.as_str())
                {
                    orphans.push(Orphan {
                        kind: kind.into(),
                        name: o.name.clone(),
                        id: o.id.clone(),
                    });
                }
            }
        }
        (orphans, deletes)
    }

    /// Containers of the project an interrupted rollout left under a
    /// temporary name: apply removes them before anything else.
    pub(super) fn leftovers(&self) -> Vec<Leftover> {
        let Some(e) = &self.engine else {
            return Vec::new();
        };
        if self.input.mode == Mode::RefreshOnly {
            return Vec::new();
        }
        e.observed
            .containers
            .iter()
            .filter(|c| self.belongs_to_us(&c.labels) && labels::is_rollout_temporary(&c.name))
            .filter_map(|c| {
                Some(Leftover {
                    address: container_address(c)?,
                    name: c.name.trim_start_matches('/').to_string(),
                    id: c.id.clone(),
                })
            })
            .collect()
    }

    /// Networks and volumes the plan removes (deleted or replaced) that a
    /// container it keeps is still on or mounts: an orphan left without
    /// `--remove-orphans`, or one connected by hand. The engine refuses to
    /// remove a network with endpoints or a volume in use, so such a plan
    /// would fail halfway, after its other removals; it is an error instead.
    pub(super) fn objects_in_use(&self, changes: &[Change], leftovers: &[Leftover]) -> Vec<String> {
        let Some(e) = &self.engine else {
            return Vec::new();
        };
        if self.input.mode == Mode::RefreshOnly {
            return Vec::new();
        }
        let removed = |c: &&Change| matches!(c.action, Action::Delete | Action::Replace);
        let torn_down: BTreeSet<&str> = changes
            .iter()
            .filter(removed)
            .filter(|c| c.address.kind == Kind::Container)
            .filter_map(|c| c.id.as_deref())
            .chain(leftovers.iter().map(|l| l.id.as_str()))
            .collect();
        let mut errors = Vec::new();
        for object in changes.iter().filter(removed) {
            let uses = |c: &ObservedContainer| match object.address.kind {
                Kind::Network => c.networks.contains_key(&object.name),
                Kind::Volume => c.volumes.contains(&object.name),
                _ => false,
            };
            let users: Vec<String> = e
                .observed
                .containers
                .iter()
                .filter(|c| !torn_down.contains(c.id.as_str()) && uses(c))
                .map(|c| format!("`{}`", c.name))
                .collect();
            if users.is_empty() {
                continue;
            }
            let one = users.len() == 1;
            errors.push(format!(
                "{} `{}` cannot be {}d: {} {} {} it {} not part of this plan (orphans stay without `--remove-orphans`); remove {} first",
                object.address.kind.as_str(),
                object.name,
                object.action.as_str(),
                if one { "container" } else { "containers" },
                users.join(", "),
                if object.address.kind == Kind::Network { "on" } else { "using" },
                if one { "is" } else { "are" },
                if one { "it" } else { "them" },
            ));
        }
        errors
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
        rollout: None,
        version: None,
    }
}
