//! After decoding, what Compose does to every project: drop the services of
//! inactive profiles, attach services to the `default` network, and keep only
//! the top-level resources services use.

use std::collections::BTreeSet;

use super::LoadOptions;
use crate::compose::interpolate::Vars;
use crate::compose::model::{Network, Project};

/// Drop services none of whose profiles is active (`--profile`, `COMPOSE_PROFILES`, `*` for all).
pub(super) fn apply_profiles(project: &mut Project, opts: &LoadOptions, vars: &Vars) {
    // like Compose, without --profile the list is COMPOSE_PROFILES split on commas,
    // empty names included: a service in the profile `''` is active then
    let active: Vec<String> = if opts.profiles.is_empty() {
        let listed = vars.get("COMPOSE_PROFILES").unwrap_or_default();
        listed.split(',').map(|s| s.trim().to_string()).collect()
    } else {
        opts.profiles.clone()
    };
    let all = active.iter().any(|p| p == "*");
    let disabled: Vec<String> = project
        .services
        .iter()
        .filter(|(name, s)| {
            !s.profiles.is_empty()
                && !all
                && !s.profiles.iter().any(|p| active.contains(p))
                && !opts.services.contains(name)
        })
        .map(|(n, _)| n.clone())
        .collect();
    for name in &disabled {
        project.services.remove(name);
    }
    project.disabled_services = disabled;
}

/// Compose attaches services that name no network to `default`, and creates it.
pub(super) fn add_default_network(project: &mut Project) {
    let mut needs_default = false;
    for s in project.services.values_mut() {
        if s.networks.is_empty() && s.network_mode.is_none() {
            s.networks.insert("default".into(), None);
        }
        needs_default |= s.networks.contains_key("default");
    }
    if needs_default && !project.networks.contains_key("default") {
        project.networks.insert(
            "default".into(),
            Network {
                name: format!("{}_default", project.name),
                ..Default::default()
            },
        );
    }
}

/// Like Compose, keep only the networks, volumes, configs and secrets that services use.
pub(super) fn drop_unused(project: &mut Project) {
    let mut nets = BTreeSet::new();
    let mut vols = BTreeSet::new();
    let mut configs = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    for s in project.services.values() {
        nets.extend(s.networks.keys().cloned());
        for m in &s.volumes {
            if let Some(src) = &m.source {
                vols.insert(src.clone());
            }
        }
        configs.extend(s.configs.iter().map(|c| c.source.clone()));
        secrets.extend(s.secrets.iter().map(|c| c.source.clone()));
    }
    project.networks.retain(|k, _| nets.contains(k));
    project.volumes.retain(|k, _| vols.contains(k));
    project.configs.retain(|k, _| configs.contains(k));
    project.secrets.retain(|k, _| secrets.contains(k));
}
