//! What a plan must not show, and what a security reviewer must see.
//!
//! Sensitive: an environment variable or build argument whose name contains,
//! case-insensitively, `PASSWORD`, `PASSWD`, `PASS`, `SECRET`, `TOKEN`, `KEY`,
//! `CREDENTIAL`, `AUTH` or `PRIVATE`, and the content hashes of secrets. Their
//! values show as `(sensitive)` in every format; a change to them still shows
//! that the attribute changed.
//!
//! Security-relevant: privileged mode, the host's network, PID or IPC namespace,
//! the Docker socket mounted, added capabilities, and a port newly published on
//! all interfaces.

use serde_json::Value;

use crate::resource::SpecJson;

pub const MASK: &str = "(sensitive)";

pub use crate::resource::sensitive::is_sensitive_name;

/// Whether the attribute at `path` (e.g. `environment.DB_PASSWORD`) is sensitive.
pub fn is_sensitive_path(path: &str) -> bool {
    let mut parts = path.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("environment"), Some(name), None) => is_sensitive_name(name),
        (Some("build"), Some("args"), Some(name)) => is_sensitive_name(name),
        (Some("files"), Some(kind), _) => kind == "secret",
        _ => false,
    }
}

/// The top-level keys of a spec that masking and [`security_flags`] read:
/// a spec held as text is read only that far for them (see
/// [`SpecJson::top_level`]).
pub const READS: &[&str] = &[
    // where sensitive values sit
    "build",
    "environment",
    "files",
    "service",
    // what a security reviewer sees
    "cap_add",
    "ipc",
    "network_mode",
    "pid",
    "ports",
    "privileged",
    "volumes",
];

/// The spec with sensitive values masked, sharing it when nothing needs
/// masking; `view` holds at least its top-level [`READS`] keys.
pub fn mask_shared(spec: &SpecJson, view: &Value) -> SpecJson {
    // most specs hold nothing sensitive: look before copying
    if needs_mask(view) {
        SpecJson::from(mask(spec.value()))
    } else {
        spec.clone()
    }
}

/// A Swarm service's `K=V` environment list with sensitive values masked
/// (`None`: nothing to mask).
pub fn mask_env_list(list: &Value) -> Option<Value> {
    crate::resource::sensitive::rewrite_env_list(list, |v| v != MASK, |_| MASK.into())
}

/// Whether [`mask`] would change anything in `spec`.
fn needs_mask(spec: &Value) -> bool {
    if spec
        .pointer(crate::resource::sensitive::SERVICE_ENV)
        .and_then(mask_env_list)
        .is_some()
    {
        return true;
    }
    let masked = |v: &Value| v == MASK;
    let sensitive_entries = |m: Option<&Value>| {
        m.and_then(Value::as_object).is_some_and(|m| {
            m.iter()
                .any(|(k, v)| !v.is_null() && !masked(v) && is_sensitive_name(k))
        })
    };
    let secret_files = spec
        .get("files")
        .and_then(Value::as_object)
        .is_some_and(|m| {
            m.iter()
                .any(|(k, v)| k.starts_with("secret.") && !masked(v))
        });
    sensitive_entries(spec.get("environment"))
        || sensitive_entries(spec.pointer("/build/args"))
        || secret_files
}

/// A copy of a spec with sensitive values replaced by [`MASK`].
pub fn mask(spec: &Value) -> Value {
    let mut out = spec.clone();
    if let Some(list) = out.pointer_mut(crate::resource::sensitive::SERVICE_ENV)
        && let Some(masked) = mask_env_list(list)
    {
        *list = masked;
    }
    if let Some(Value::Object(env)) = out.get_mut("environment") {
        for (k, v) in env.iter_mut() {
            if is_sensitive_name(k) && !v.is_null() {
                *v = Value::String(MASK.into());
            }
        }
    }
    if let Some(Value::Object(args)) = out.pointer_mut("/build/args") {
        for (k, v) in args.iter_mut() {
            if is_sensitive_name(k) && !v.is_null() {
                *v = Value::String(MASK.into());
            }
        }
    }
    if let Some(Value::Object(files)) = out.get_mut("files") {
        for (k, v) in files.iter_mut() {
            if k.starts_with("secret.") {
                *v = Value::String(MASK.into());
            }
        }
    }
    out
}

fn published_on_all_interfaces(spec: &Value) -> Vec<String> {
    spec.get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("published").is_some())
        .filter(|p| {
            matches!(
                p.get("host_ip").and_then(Value::as_str),
                None | Some("0.0.0.0") | Some("::") | Some("")
            )
        })
        .map(|p| {
            format!(
                "{}:{}",
                p.get("published").and_then(Value::as_str).unwrap_or(""),
                p.get("target").map(ToString::to_string).unwrap_or_default()
            )
        })
        .collect()
}

/// What changes from `before` to `after` that a security reviewer should look at.
pub fn security_flags(before: Option<&Value>, after: &Value) -> Vec<String> {
    let mut flags = Vec::new();
    fn get<'a>(v: Option<&'a Value>, k: &str) -> Option<&'a Value> {
        v.and_then(|v| v.get(k))
    }
    let newly =
        |k: &str, val: &Value| get(Some(after), k) == Some(val) && get(before, k) != Some(val);
    if newly("privileged", &Value::Bool(true)) {
        flags.push("runs privileged".to_string());
    }
    for (key, what) in [
        ("network_mode", "network"),
        ("pid", "PID namespace"),
        ("ipc", "IPC namespace"),
    ] {
        if get(Some(after), key).and_then(Value::as_str) == Some("host")
            && get(before, key).and_then(Value::as_str) != Some("host")
        {
            flags.push(format!("uses the host's {what}"));
        }
    }
    let socket = |v: Option<&Value>| {
        v.and_then(|v| v.get("volumes"))
            .and_then(Value::as_array)
            .is_some_and(|mounts| {
                mounts.iter().any(|m| {
                    matches!(
                        m.get("source").and_then(Value::as_str),
                        Some("/var/run/docker.sock") | Some("/run/docker.sock")
                    )
                })
            })
    };
    if socket(Some(after)) && !socket(before) {
        flags.push("mounts the Docker socket (full control of the engine)".to_string());
    }
    let caps = |v: Option<&Value>| -> Vec<String> {
        v.and_then(|v| v.get("cap_add"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let old_caps = caps(before);
    let added: Vec<String> = caps(Some(after))
        .into_iter()
        .filter(|c| !old_caps.contains(c))
        .collect();
    if !added.is_empty() {
        flags.push(format!("adds capabilities {}", added.join(", ")));
    }
    let old_ports = before.map(published_on_all_interfaces).unwrap_or_default();
    for p in published_on_all_interfaces(after) {
        if !old_ports.contains(&p) {
            flags.push(format!("publishes port {p} on all interfaces"));
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_that_look_like_secrets() {
        for n in [
            "DB_PASSWORD",
            "api_key",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "PGPASS",
            "AUTH_HEADER",
        ] {
            assert!(is_sensitive_name(n), "{n}");
        }
        for n in ["PORT", "LOG_LEVEL", "HOSTNAME"] {
            assert!(!is_sensitive_name(n), "{n}");
        }
    }

    #[test]
    fn masking_keeps_the_keys_and_hides_the_values() {
        let spec = json!({"environment": {"DB_PASSWORD": "hunter2", "MODE": "prod", "TOKEN": null},
                          "build": {"args": {"NPM_TOKEN": "x"}}, "files": {"secret.db": "abc", "config.site": "def"}});
        let m = mask(&spec);
        assert_eq!(m["environment"]["DB_PASSWORD"], MASK);
        assert_eq!(m["environment"]["MODE"], "prod");
        assert_eq!(m["environment"]["TOKEN"], Value::Null);
        assert_eq!(m["build"]["args"]["NPM_TOKEN"], MASK);
        assert_eq!(m["files"]["secret.db"], MASK);
        assert_eq!(m["files"]["config.site"], "def");
    }

    #[test]
    fn a_spec_is_shared_exactly_when_masking_changes_nothing() {
        for spec in [
            json!({"environment": {"MODE": "prod", "TOKEN": null}, "files": {"config.a": "x"}}),
            json!({"environment": {"DB_PASSWORD": MASK}, "files": {"secret.db": MASK}}),
            json!({"environment": {"DB_PASSWORD": "hunter2"}}),
            json!({"build": {"args": {"NPM_TOKEN": "x"}}}),
            json!({"files": {"secret.db": "abc"}}),
            json!({"build": "not an object", "environment": ["A=1"]}),
        ] {
            // held as text, it is read only as far as masking looks
            let text = SpecJson::from(crate::resource::canonical::write(&spec, &[]));
            for held in [SpecJson::from(spec.clone()), text] {
                let shared = mask_shared(&held, &held.top_level(READS));
                assert_eq!(shared, mask(&spec));
                assert_eq!(shared.ptr_eq(&held), mask(&spec) == spec, "{spec}");
            }
        }
    }

    /// Masking and the security flags read a spec's [`READS`] keys only: on
    /// every fixture project's specs, that view gives what the whole spec
    /// gives (and it holds every key sealing reads, too).
    #[test]
    fn the_read_keys_are_all_that_masking_and_flags_look_at() {
        for key in crate::resource::sensitive::HOLDERS {
            assert!(READS.contains(key), "{key}");
        }
        let mut checked = 0;
        for (_, _, desired) in crate::resource::desired::fixtures::resolved_fixtures() {
            for r in desired.resources.values() {
                let view = r.spec.top_level(READS);
                let whole = r.spec.value();
                assert_eq!(needs_mask(&view), needs_mask(whole), "{}", r.address);
                assert_eq!(
                    security_flags(None, &view),
                    security_flags(None, whole),
                    "{}",
                    r.address
                );
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} specs checked");
    }

    #[test]
    fn security_flags_only_what_is_new() {
        let before = json!({"ports": [{"published": "80", "target": 80, "host_ip": "127.0.0.1"}], "cap_add": ["NET_ADMIN"]});
        let after = json!({"privileged": true, "network_mode": "host", "cap_add": ["NET_ADMIN", "SYS_ADMIN"],
                           "volumes": [{"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock"}],
                           "ports": [{"published": "80", "target": 80, "host_ip": "127.0.0.1"}, {"published": "8080", "target": 80}]});
        assert_eq!(
            security_flags(Some(&before), &after),
            [
                "runs privileged",
                "uses the host's network",
                "mounts the Docker socket (full control of the engine)",
                "adds capabilities SYS_ADMIN",
                "publishes port 8080:80 on all interfaces"
            ]
        );
        assert!(security_flags(Some(&after), &after).is_empty());
    }
}
