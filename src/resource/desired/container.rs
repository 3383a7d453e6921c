//! A service's container resources: one per replica, each spec written
//! straight from the service, with the spec hashes of the image, networks
//! and volumes it uses and the content hashes of the files it takes in, so
//! a change to any of them changes the container's hash.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Desired, ResolveError, Resource, resource_from_spec};
use crate::compose::model::{MountType, Project, Service};
use crate::resource::address::Address;
use crate::resource::canonical::{self, Skip};
use crate::resource::spec_json::SpecJson;

/// A container's spec as [`crate::resource::ContainerSpec`] writes it, the
/// service borrowed: its `name` and `image` written after the service's own
/// take their place (as a JSON map given a key twice keeps the last).
#[derive(Serialize)]
struct ContainerText<'a> {
    #[serde(flatten)]
    service: &'a Service,
    name: &'a str,
    image: &'a str,
    number: u32,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    files: &'a BTreeMap<String, String>,
    uses: &'a BTreeMap<String, String>,
}

/// The service's attributes that do not shape the container itself.
const NOT_OF_THE_CONTAINER: Skip = &[
    &["build"],
    &["profiles"],
    &["scale"],
    &["depends_on"],
    &["container_name"],
    &["pull_policy"],
    &["deploy", "replicas"],
];

/// The container's engine name: `container_name`, else `<project>-<service>-<n>`.
pub fn container_name(project: &str, s: &Service, n: u32) -> String {
    s.container_name
        .clone()
        .unwrap_or_else(|| format!("{project}-{}-{n}", s.name))
}

/// Content hashes of the files a service takes in: file-based configs and secrets.
/// (env_file contents are already in `environment`.) Compose hashes only their
/// paths (docker/compose#11900); berth plans a replacement when a file changes.
pub(super) fn file_hashes(
    p: &Project,
    s: &Service,
) -> Result<BTreeMap<String, String>, ResolveError> {
    let mut out = BTreeMap::new();
    let mounts = s
        .configs
        .iter()
        .map(|m| ("config", m, &p.configs))
        .chain(s.secrets.iter().map(|m| ("secret", m, &p.secrets)));
    for (kind, m, objects) in mounts {
        let Some(obj) = objects.get(&m.source) else {
            continue;
        };
        let bytes = if let Some(f) = &obj.file {
            std::fs::read(f).map_err(|e| ResolveError::Unreadable {
                what: if kind == "config" {
                    "config file"
                } else {
                    "secret file"
                },
                path: f.clone(),
                detail: crate::paths::io_reason(&e),
            })?
        } else if let Some(c) = &obj.content {
            c.clone().into_bytes()
        } else if obj.environment.is_some() {
            obj.environment_value
                .clone()
                .unwrap_or_default()
                .into_bytes()
        } else {
            continue;
        };
        out.insert(
            format!("{kind}.{}", m.source),
            hex::encode(Sha256::digest(&bytes)),
        );
    }
    Ok(out)
}

pub(super) fn container_resource(
    p: &Project,
    s: &Service,
    n: u32,
    image: &Resource,
    files: &BTreeMap<String, String>,
    so_far: &Desired,
    replicas: &BTreeMap<String, u32>,
) -> Resource {
    let name = container_name(&p.name, s, n);
    let mut depends_on = vec![image.address.clone()];
    let mut uses = BTreeMap::new();
    uses.insert(image.address.to_string(), image.spec_hash.clone());
    for net in s.networks.keys() {
        let a = Address::network(net);
        if let Some(r) = so_far.resources.get(&a) {
            uses.insert(a.to_string(), r.spec_hash.clone());
            depends_on.push(a);
        }
    }
    for m in s.volumes.iter().filter(|m| m.kind == MountType::Volume) {
        let Some(src) = &m.source else { continue };
        let a = Address::volume(src);
        if let Some(r) = so_far.resources.get(&a) {
            uses.insert(a.to_string(), r.spec_hash.clone());
            depends_on.push(a);
        }
    }
    // the canonical text of its ContainerSpec, written straight from the
    // service (a typed copy of every service, or a JSON value of it, would
    // be built only to be written out)
    let text = canonical::write(
        &ContainerText {
            service: s,
            name: &name,
            image: &image.engine_name,
            number: n,
            files,
            uses: &uses,
        },
        NOT_OF_THE_CONTAINER,
    );
    // containers of the services it depends on come first (all their replicas)
    let mut restart_with = Vec::new();
    for (dep, d) in &s.depends_on {
        let count = replicas.get(dep.as_str()).copied().unwrap_or(0);
        let containers = (1..=count).map(|i| Address::container(dep, i));
        if d.restart {
            restart_with.extend(containers.clone());
        }
        depends_on.extend(containers);
    }
    depends_on.sort();
    depends_on.dedup();
    let mut r = resource_from_spec(
        Address::container(&s.name, n),
        name,
        SpecJson::from(text),
        depends_on,
        false,
        so_far.seal.as_deref(),
    );
    r.restart_with = restart_with;
    r.shares_with = shared_services(s)
        .into_iter()
        .filter(|dep| replicas.get(dep.as_str()).copied().unwrap_or(0) > 0)
        .map(|dep| Address::container(&dep, 1))
        .collect();
    r
}

/// The services whose first container this service's containers share a
/// namespace with, or take volumes from.
fn shared_services(s: &Service) -> Vec<String> {
    let modes = [&s.network_mode, &s.ipc, &s.pid];
    let mut out: Vec<String> = modes
        .into_iter()
        .filter_map(|m| m.as_deref()?.strip_prefix("service:").map(str::to_string))
        .collect();
    out.extend(
        s.volumes_from
            .iter()
            .filter(|v| !v.starts_with("container:"))
            .map(|v| v.split(':').next().unwrap_or_default().to_string()),
    );
    out.sort();
    out.dedup();
    out
}
