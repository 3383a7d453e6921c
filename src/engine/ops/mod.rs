//! Operations on the engine, one module per kind of object: what the apply
//! executor calls to create, start, stop, remove and wait. Each takes the
//! [`Engine`](super::Engine) and plain data (a canonical spec, labels built by
//! the caller) and returns a one-line [`EngineError`] on failure; none of them
//! decides anything (the plan did that).
//!
//! Failures berth detects itself (a build step failed, a container turned
//! unhealthy, no registry to pull from) are reported as
//! [`EngineError::Api`] with [`status`](EngineError::Api) [`DETECTED`]: no HTTP
//! status, the message says what happened.

pub mod container;
pub mod context_tar;
pub mod image;
pub mod network;
pub mod volume;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::EngineError;
use crate::compose::units::Duration;

/// The `status` of an [`EngineError::Api`] berth raised itself (the engine
/// answered fine, but the outcome is a failure: a build error, an unhealthy
/// container, an image that cannot be pulled).
pub const DETECTED: u16 = 0;

/// A failure berth detected: "failed to {doing}: {message}".
pub(crate) fn failed(doing: impl Into<String>, message: impl Into<String>) -> EngineError {
    EngineError::Api {
        doing: doing.into(),
        status: DETECTED,
        message: message.into(),
    }
}

/// A Go duration string (`"1m30s"`) or a number of nanoseconds, in nanoseconds.
pub(crate) fn duration_ns(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => Duration::parse(s).ok().map(|d| d.0),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// A size as Compose prints it (`"52428800"`) or a number, in bytes.
pub(crate) fn bytes(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

/// A JSON object of strings as a map; other values print as JSON text, null
/// values are left out.
pub(crate) fn string_map(v: &Value) -> HashMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), text(v)))
                .collect()
        })
        .unwrap_or_default()
}

/// A JSON list of strings (other values as JSON text); `None` when absent or null.
pub(crate) fn string_list(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|a| a.iter().map(text).collect())
}

/// A scalar as text: strings without quotes, numbers and booleans as written.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Labels from the spec (`labels:`) merged with the caller's (which win).
pub(crate) fn merged_labels(
    spec_labels: &Value,
    labels: &BTreeMap<String, String>,
) -> HashMap<String, String> {
    let mut out = string_map(spec_labels);
    out.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// The owner labels every network and volume of a project carries:
/// compose's project label and `kind_label=<key>` (`com.docker.compose.network`
/// or `.volume`), plus berth's address, spec hash and lineage.
pub(crate) fn owner_labels(
    project: &str,
    kind_label: &str,
    key: &str,
    resource: &crate::resource::desired::Resource,
    lineage: &str,
) -> BTreeMap<String, String> {
    use crate::resource::labels as l;
    BTreeMap::from([
        (l::PROJECT.to_string(), project.to_string()),
        (kind_label.to_string(), key.to_string()),
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
    use serde_json::json;

    #[test]
    fn durations_sizes_and_maps_from_specs() {
        assert_eq!(duration_ns(&json!("1m30s")), Some(90_000_000_000));
        assert_eq!(duration_ns(&json!("500ms")), Some(500_000_000));
        assert_eq!(bytes(&json!("52428800")), Some(52_428_800));
        let m = string_map(&json!({"A": "1", "B": 2, "C": null}));
        assert_eq!(m.len(), 2);
        assert_eq!(m["B"], "2");
    }
}
