//! The engine's view as the diff reads it: containers indexed by address
//! (from their labels) and by ID, networks and volumes by name.
//!
//! Separate because every comparison asks it the same questions, and the
//! label rules for finding a container's address belong in one place.

use std::collections::{BTreeMap, HashMap};

use crate::observed::{Observed, ObservedContainer, ObservedObject, ObservedService};
use crate::resource::{Address, labels};

/// The engine's view, indexed for lookups.
pub(super) struct Engine<'a> {
    pub(super) observed: &'a Observed,
    pub(super) containers_by_address: HashMap<Address, &'a ObservedContainer>,
    pub(super) containers_by_id: HashMap<&'a str, &'a ObservedContainer>,
}

/// A container's address from its labels: berth's, else compose's service and number.
pub(super) fn container_address(c: &ObservedContainer) -> Option<Address> {
    if let Some(a) = c.labels.get(labels::ADDRESS).and_then(|a| a.parse().ok()) {
        return Some(a);
    }
    let service = c.labels.get(labels::SERVICE)?;
    let n = c.labels.get(labels::CONTAINER_NUMBER)?.parse().ok()?;
    Some(Address::container(service, n))
}

impl<'a> Engine<'a> {
    pub(super) fn new(observed: &'a Observed) -> Self {
        let mut by_address = HashMap::new();
        for c in &observed.containers {
            if c.labels.get(labels::ONEOFF).is_some_and(|v| v == "True")
                || labels::is_rollout_temporary(&c.name)
            {
                continue;
            }
            if let Some(a) = container_address(c) {
                by_address.entry(a).or_insert(c);
            }
        }
        Engine {
            observed,
            containers_by_address: by_address,
            // a rollout's temporary container is never the one a record
            // means: an interrupted rollout's leftover (see `leftovers`)
            containers_by_id: observed
                .containers
                .iter()
                .filter(|c| !labels::is_rollout_temporary(&c.name))
                .map(|c| (c.id.as_str(), c))
                .collect(),
        }
    }

    pub(super) fn network(&self, name: &str) -> Option<(&'a str, &'a BTreeMap<String, String>)> {
        self.observed
            .networks
            .iter()
            .find(|n| n.name == name)
            .map(|n| (n.id.as_str(), &n.labels))
    }

    pub(super) fn volume(&self, name: &str) -> Option<(&'a str, &'a BTreeMap<String, String>)> {
        self.observed
            .volumes
            .iter()
            .find(|v| v.name == name)
            .map(|v| (v.name.as_str(), &v.labels))
    }

    pub(super) fn service(&self, name: &str) -> Option<&'a ObservedService> {
        self.observed.services.iter().find(|s| s.name == name)
    }

    /// A config or secret (by `kind`) by its ID, else its name.
    pub(super) fn swarm_object(
        &self,
        kind: crate::resource::Kind,
        id: Option<&str>,
        name: &str,
    ) -> Option<&'a ObservedObject> {
        let list = match kind {
            crate::resource::Kind::Config => &self.observed.configs,
            _ => &self.observed.secrets,
        };
        id.and_then(|id| list.iter().find(|o| o.id == id))
            .or_else(|| list.iter().find(|o| o.name == name))
    }
}
