//! How services depend on each other: `depends_on` as written, and the
//! dependencies Compose infers from links, shared namespaces and `volumes_from`.
//! Separate because the loader adds the implicit ones after decoding, once every
//! service name is known.

use std::collections::BTreeMap;

use super::ctx::{Ctx, KnownKeys, join};
use crate::compose::diagnostic::suggest;
use crate::compose::model::*;
use crate::compose::node::{Node, Value};

/// Linking to another service, sharing one of its namespaces (`network_mode`,
/// `ipc`, `pid`, `uts`: `service:x`) or its volumes makes it a dependency,
/// recorded as Compose records it: restarted with it, except for `volumes_from`.
/// An explicit `depends_on` entry wins; among implicit ones, the first found.
pub fn implicit_dependencies(s: &mut Service, exists: impl Fn(&str) -> bool) {
    let mut deps: Vec<(String, bool)> = Vec::new();
    for link in &s.links {
        deps.push((link.split(':').next().unwrap_or_default().to_string(), true));
    }
    let namespaces = [
        s.network_mode.as_deref(),
        s.ipc.as_deref(),
        s.pid.as_deref(),
        s.uts.as_deref(),
    ];
    for mode in namespaces.into_iter().flatten() {
        if let Some(other) = mode.strip_prefix("service:") {
            deps.push((other.to_string(), true));
        }
    }
    for from in &s.volumes_from {
        if !from.starts_with("container:") {
            deps.push((
                from.split(':').next().unwrap_or_default().to_string(),
                false,
            ));
        }
    }
    for (dep, restart) in deps.into_iter().filter(|(d, _)| exists(d)) {
        s.depends_on.entry(dep).or_insert(Dependency {
            condition: Condition::ServiceStarted,
            restart,
            required: true,
        });
    }
}

pub(super) fn depends_on(ctx: &mut Ctx, n: &Node, path: &str) -> BTreeMap<String, Dependency> {
    let default = Dependency {
        condition: Condition::ServiceStarted,
        restart: false,
        required: true,
    };
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Seq(_) => {
            for name in ctx.strings(n, path, false) {
                out.insert(name, default.clone());
            }
        }
        Value::Map(entries) => {
            for e in entries {
                let p = join(path, &e.key.name);
                let mut d = default.clone();
                if let Some(fields) = ctx.map(&e.value, &p) {
                    const KEYS: &[&str] = &["condition", "restart", "required"];
                    fields!(ctx, fields, &p, KEYS, |key, v, kp| {
                        match key {
                            "condition" => match ctx.read::<String>(v, &kp).as_deref() {
                                Some("service_started") => d.condition = Condition::ServiceStarted,
                                Some("service_healthy") => d.condition = Condition::ServiceHealthy,
                                Some("service_completed_successfully") => {
                                    d.condition = Condition::ServiceCompletedSuccessfully
                                }
                                Some(other) => {
                                    let msg = format!("unknown condition `{other}`");
                                    let options = [
                                        "service_started",
                                        "service_healthy",
                                        "service_completed_successfully",
                                    ];
                                    let hint = match suggest(other, options) {
                                        Some(s) => format!("did you mean `{s}`?"),
                                        None => format!("use one of {}", options.join(", ")),
                                    };
                                    ctx.err_hint(v, &kp, msg, hint);
                                }
                                None => {}
                            },
                            "restart" => d.restart = ctx.read::<bool>(v, &kp).unwrap_or(false),
                            "required" => d.required = ctx.read::<bool>(v, &kp).unwrap_or(true),
                            _ => {}
                        }
                    });
                }
                out.insert(e.key.name.clone(), d);
            }
        }
        Value::Null => {}
        _ => ctx.expected(n, path, "a list of services or a mapping"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implicit_dependencies_restart_with_their_service_except_volumes_from() {
        let mut s = Service {
            ipc: Some("service:shared".into()),
            pid: Some("service:pid".into()),
            volumes_from: vec!["shared".into(), "vols:ro".into()],
            uts: Some("service:gone".into()),
            ..Default::default()
        };
        implicit_dependencies(&mut s, |name| name != "gone");
        let restart: Vec<(&str, bool)> = s
            .depends_on
            .iter()
            .map(|(name, d)| (name.as_str(), d.restart))
            .collect();
        // `shared` is both an ipc namespace and volumes_from: the namespace is looked at first
        assert_eq!(restart, [("pid", true), ("shared", true), ("vols", false)]);
        assert!(s.depends_on.values().all(|d| d.required));
    }
}
