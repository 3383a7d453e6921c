//! Resolving a project: the options checked, the services selected (targets
//! and their dependencies), the networks and volumes they use, then every
//! service's image and containers, in parallel and in address order. Apart
//! from [`super::image`] and [`super::container`], which say what one
//! service's resources are, because this is about order and sharing work.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::container::{container_resource, file_hashes};
use super::image::{ContextKey, context_hashes, image_resource};
use super::{Desired, ResolveError, ResolveOptions, Resource, resource};
use crate::compose::model::{MountType, Project, Service};
use crate::resource::address::Address;
use crate::resource::spec::Spec;

/// Resolve the project into desired resources.
pub fn resolve(p: &Project, opts: &ResolveOptions) -> Result<Desired, ResolveError> {
    let (out, selected) = shared_resources(p, opts)?;
    let services: Vec<&Service> = selected.names.iter().map(|n| &*p.services[n]).collect();
    service_resources(p, opts, out, &selected, services)
}

/// [`resolve`], taking the selected services out of the project: each is
/// freed as soon as its resources exist, so the model and all the specs are
/// never held at once (`plan` needs only the resources afterwards).
pub fn resolve_taking_services(
    p: &mut Project,
    opts: &ResolveOptions,
) -> Result<Desired, ResolveError> {
    let (out, selected) = shared_resources(p, opts)?;
    let mut services = std::mem::take(&mut p.services);
    services.retain(|name, _| selected.names.contains(name));
    // one part per thread, split where the tree splits: no copy of the services
    let mut parts = Vec::new();
    let threads = crate::par::threads_for(services.len());
    let per_part = services.len().div_ceil(threads);
    while services.len() > per_part {
        let Some(at) = services.keys().nth(per_part).cloned() else {
            break;
        };
        let rest = services.split_off(&at);
        parts.push(services);
        services = rest;
    }
    parts.push(services);
    let mut out = out;
    let shared = &out;
    let per_part = crate::par::parts(parts, |part| {
        part.into_values()
            .map(|s| one_service(p, opts, &selected, shared, &s))
            .collect::<Vec<_>>()
    });
    add_in_order(&mut out, crate::par::concat(per_part))?;
    Ok(out)
}

/// What every service's resources are resolved against.
pub(super) struct Selected {
    /// The services to resolve (`--target`s and their dependencies, else all).
    pub(super) names: BTreeSet<String>,
    /// Containers per selected service, `--scale` applied.
    pub(super) replicas: BTreeMap<String, u32>,
    /// Build context and the Dockerfile in it → the context's content hash,
    /// or why it could not be read.
    pub(super) contexts: HashMap<ContextKey, Result<String, String>>,
}

/// Check the options, select the services, and resolve the networks and
/// volumes they use.
pub(super) fn shared_resources(
    p: &Project,
    opts: &ResolveOptions,
) -> Result<(Desired, Selected), ResolveError> {
    let known = || p.services.keys().cloned().collect::<Vec<_>>().join(", ");
    for (flag, names) in [
        ("scale", opts.scale.keys().cloned().collect::<Vec<_>>()),
        ("target", opts.targets.clone()),
    ] {
        if let Some(name) = names.iter().find(|n| !p.services.contains_key(*n)) {
            return Err(ResolveError::UnknownService {
                flag,
                name: name.clone(),
                known: known(),
            });
        }
    }
    let services = selected_services(p, &opts.targets);
    let mut out = Desired {
        project: p.name.clone(),
        resources: BTreeMap::new(),
        seal: opts.seal.clone(),
        context_skip: opts.context_skip.clone(),
    };

    // borrowed names: thousands of services name the same few networks
    let mut used_networks: BTreeSet<&str> = BTreeSet::new();
    let mut used_volumes: BTreeSet<&str> = BTreeSet::new();
    for name in &services {
        let s = &p.services[name];
        used_networks.extend(s.networks.keys().map(String::as_str));
        used_volumes.extend(
            s.volumes
                .iter()
                .filter(|m| m.kind == MountType::Volume)
                .filter_map(|m| m.source.as_deref()),
        );
    }
    for (key, net) in p
        .networks
        .iter()
        .filter(|(k, _)| used_networks.contains(k.as_str()))
    {
        let r = resource(
            Address::network(key),
            net.name.clone(),
            Spec::Network(Arc::new(net.clone())),
            vec![],
            net.external,
            None,
        );
        out.resources.insert(r.address.clone(), r);
    }
    for (key, vol) in p
        .volumes
        .iter()
        .filter(|(k, _)| used_volumes.contains(k.as_str()))
    {
        let r = resource(
            Address::volume(key),
            vol.name.clone(),
            Spec::Volume(Arc::new(vol.clone())),
            vec![],
            vol.external,
            None,
        );
        out.resources.insert(r.address.clone(), r);
    }

    let replicas = services
        .iter()
        .map(|name| {
            let n = opts.scale.get(name).copied();
            (
                name.clone(),
                n.unwrap_or_else(|| p.services[name].replicas()),
            )
        })
        .collect();
    let contexts = context_hashes(
        p,
        &services,
        &opts.context_skip,
        opts.context_cache.as_deref(),
    );
    let selected = Selected {
        names: services,
        replicas,
        contexts,
    };
    Ok((out, selected))
}

/// Every service's image and containers, added to `out`. They depend only on
/// the networks and volumes already in `out`, so services resolve in
/// parallel (results in order); each service is dropped once resolved.
fn service_resources<S: Borrow<Service> + Send>(
    p: &Project,
    opts: &ResolveOptions,
    mut out: Desired,
    selected: &Selected,
    services: Vec<S>,
) -> Result<Desired, ResolveError> {
    let shared = &out;
    let per_service = crate::par::map_owned(services, |s| {
        one_service(p, opts, selected, shared, s.borrow())
    });
    add_in_order(&mut out, per_service)?;
    Ok(out)
}

/// Add every service's resources (or fail with the first service's error).
/// Networks and volumes, then images, then containers, each in service order,
/// is the address order: the map is built in one pass instead of by 10,000
/// inserts that each search it.
fn add_in_order(
    out: &mut Desired,
    per_service: Vec<Result<(Resource, Vec<Resource>), ResolveError>>,
) -> Result<(), ResolveError> {
    let mut images = Vec::with_capacity(per_service.len());
    let mut containers = Vec::with_capacity(per_service.len());
    for resolved in per_service {
        let (image, of_service) = resolved?;
        images.push(image);
        containers.extend(of_service);
    }
    let shared = std::mem::take(&mut out.resources);
    out.resources = shared
        .into_values()
        .chain(images)
        .chain(containers)
        .map(|r| (r.address.clone(), r))
        .collect();
    Ok(())
}

/// One service's image and containers.
fn one_service(
    p: &Project,
    opts: &ResolveOptions,
    selected: &Selected,
    shared: &Desired,
    s: &Service,
) -> Result<(Resource, Vec<Resource>), ResolveError> {
    let seal = opts.seal.as_deref();
    let image = image_resource(p, s, &selected.contexts, &opts.context_skip, seal)?;
    let files = file_hashes(p, s)?;
    let replicas = selected.replicas.get(&s.name).copied().unwrap_or(0);
    let containers = (1..=replicas)
        .map(|n| container_resource(p, s, n, &image, &files, shared, &selected.replicas))
        .collect();
    Ok((image, containers))
}

/// The targeted services and everything they depend on (all services without targets).
fn selected_services(p: &Project, targets: &[String]) -> BTreeSet<String> {
    if targets.is_empty() {
        return p.services.keys().cloned().collect();
    }
    let mut selected = BTreeSet::new();
    let mut todo: Vec<String> = targets.to_vec();
    while let Some(name) = todo.pop() {
        if !selected.insert(name.clone()) {
            continue;
        }
        if let Some(s) = p.services.get(&name) {
            todo.extend(
                s.depends_on
                    .keys()
                    .filter(|d| p.services.contains_key(*d))
                    .cloned(),
            );
        }
    }
    selected
}
