//! The project-wide names a container's spec refers to ([`Names`]), and the
//! references resolved through them: `service:NAME` modes and `volumes_from`.
//!
//! Separate so that the expected view depends on a narrow trait, not on the
//! whole [`Project`]: the project implements it, and a caller that knows the
//! names another way can too.

use crate::compose::model::Project;

/// The project-wide names a container's spec refers to: networks, volumes,
/// other services' containers, config and secret files.
pub trait Names {
    /// The project's name.
    fn project(&self) -> &str;
    /// The engine name of network `key`.
    fn network(&self, key: &str) -> String;
    /// The engine name of volume `key`.
    fn volume(&self, key: &str) -> String;
    /// The container names of `service`, replica 1 first.
    fn containers(&self, service: &str) -> Vec<String>;
    /// The host file of config (`secret == false`) or secret `name`, when file-based.
    fn file(&self, secret: bool, name: &str) -> Option<String>;
    /// The text of config or secret `name` given by `content:` or `environment:`.
    fn inline(&self, secret: bool, name: &str) -> Option<String>;
}

impl Names for Project {
    fn project(&self) -> &str {
        &self.name
    }

    fn network(&self, key: &str) -> String {
        self.networks
            .get(key)
            .map_or_else(|| format!("{}_{key}", self.name), |n| n.name.clone())
    }

    fn volume(&self, key: &str) -> String {
        self.volumes
            .get(key)
            .map_or_else(|| key.to_string(), |v| v.name.clone())
    }

    fn containers(&self, service: &str) -> Vec<String> {
        self.services
            .get(service)
            .map(|s| {
                (1..=s.replicas().max(1))
                    .map(|n| crate::resource::desired::container_name(&self.name, s, n))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn file(&self, secret: bool, name: &str) -> Option<String> {
        let objects = if secret { &self.secrets } else { &self.configs };
        objects.get(name).and_then(|o| o.file.clone())
    }

    fn inline(&self, secret: bool, name: &str) -> Option<String> {
        let objects = if secret { &self.secrets } else { &self.configs };
        let o = objects.get(name)?;
        if o.file.is_some() || o.external {
            return None;
        }
        // `environment:`'s variable as the loader read it (shell, then env
        // files), the same text resolve hashes
        o.content.clone().or_else(|| o.environment_value.clone())
    }
}

/// `service:NAME` → `container:<NAME's first container>`; other modes as written.
pub(super) fn resolve_mode(mode: &str, names: &dyn Names) -> String {
    match mode.strip_prefix("service:") {
        Some(service) => match names.containers(service).first() {
            Some(c) => format!("container:{c}"),
            None => mode.to_string(),
        },
        None => mode.to_string(),
    }
}

/// `volumes_from`: `SERVICE[:MODE]` → its first container; `container:NAME[:MODE]` → `NAME[:MODE]`.
pub(super) fn volumes_from(v: &str, names: &dyn Names) -> String {
    if let Some(rest) = v.strip_prefix("container:") {
        return rest.to_string();
    }
    let (service, mode) = match v.split_once(':') {
        Some((s, m)) => (s, Some(m)),
        None => (v, None),
    };
    let container = names
        .containers(service)
        .into_iter()
        .next()
        .unwrap_or_else(|| service.to_string());
    match mode {
        Some(m) => format!("{container}:{m}"),
        None => container,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::resource::expected::{expected, spec_of};

    #[test]
    fn service_references_resolve_to_the_dependency_container() {
        let (project, spec) = spec_of(
            "services:\n  db:\n    image: demo\n  app:\n    image: demo\n    ipc: service:db\n    pid: service:db\n    network_mode: service:db\n    volumes_from: [db, 'container:other:ro']\n",
            "container.app[1]",
        );
        let e = expected(&spec, "app", &project, &BTreeMap::new(), &[]);
        let h = e.body.host_config.as_ref().unwrap();
        assert_eq!(h.ipc_mode.as_deref(), Some("container:demo-db-1"));
        assert_eq!(h.pid_mode.as_deref(), Some("container:demo-db-1"));
        assert_eq!(h.network_mode.as_deref(), Some("container:demo-db-1"));
        assert_eq!(
            h.volumes_from.as_deref(),
            Some(&["demo-db-1".to_string(), "other:ro".into()][..])
        );
        assert!(e.networks.is_empty());
    }
}
