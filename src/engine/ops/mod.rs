//! Operations on the engine, one module per kind of object: what the apply
//! executor calls to create, start, stop, remove and wait. Each takes the
//! [`Engine`](super::Engine) and plain data (a canonical spec, labels built by
//! the caller) and returns a one-line [`EngineError`] on failure; none of them
//! decides anything (the plan did that).
//!
//! Failures berth detects itself (a build step failed, a container turned
//! unhealthy, no registry to pull from) are [`EngineError::Failed`]: the
//! engine answered fine, the outcome is the failure.

pub mod container;
pub mod context_tar;
pub mod image;
pub mod network;
pub mod swarm;
pub mod volume;

use std::collections::{BTreeMap, HashMap};

use super::EngineError;

/// A failure berth detected: "failed to {doing}: {message}".
pub(crate) fn failed(doing: impl Into<String>, message: impl Into<String>) -> EngineError {
    EngineError::Failed {
        doing: doing.into(),
        message: message.into(),
    }
}

/// Labels from the spec (`labels:`) merged with the caller's (which win).
pub(crate) fn merged_labels(
    spec_labels: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> HashMap<String, String> {
    spec_labels
        .iter()
        .chain(labels)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The labels a project's network or volume carries: compose's project
/// label and `com.docker.compose.network=<key>` (or `.volume`), plus berth's
/// address, spec hash and lineage.
pub fn owner_labels(
    project: &str,
    resource: &crate::resource::desired::Resource,
    lineage: &str,
) -> BTreeMap<String, String> {
    use crate::resource::labels as l;
    let kind_label = match resource.address.kind {
        crate::resource::Kind::Volume => l::VOLUME,
        _ => l::NETWORK,
    };
    BTreeMap::from([
        (l::PROJECT.to_string(), project.to_string()),
        (kind_label.to_string(), resource.address.name.clone()),
        (
            l::VERSION.to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        (l::ADDRESS.to_string(), resource.address.to_string()),
        (l::SPEC_HASH.to_string(), resource.spec_hash.clone()),
        (l::LINEAGE.to_string(), lineage.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_labels_win_over_the_specs() {
        let spec = BTreeMap::from([("a".to_string(), "1".to_string()), ("b".into(), "2".into())]);
        let ours = BTreeMap::from([("b".to_string(), "berth".to_string())]);
        let merged = merged_labels(&spec, &ours);
        assert_eq!(merged["a"], "1");
        assert_eq!(merged["b"], "berth");
    }
}
