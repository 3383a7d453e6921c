//! From the canonical project to the desired resources: engine names, canonical
//! specs and their hashes, and the dependency graph as plain data.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::address::Address;
use super::context::{context_hash, dockerfile_in_context, json_sha256};
use super::spec::{BuildSpec, ImageSpec, Spec};
use crate::compose::model::{MountType, Project, Service};

/// One resource berth manages (or, when `external`, only reads).
#[derive(Debug, Clone)]
pub struct Resource {
    pub address: Address,
    /// The name on the engine (`proj-web-1`, `proj_default`, `web:latest`).
    pub engine_name: String,
    /// Canonical spec: every attribute that matters to the engine, keys sorted
    /// (the JSON of `typed`).
    pub spec: std::sync::Arc<Value>,
    /// The typed spec (what create, drift, update and import read), read from
    /// `spec` when first asked for: a plan of thousands of new containers
    /// never needs it, and holding it beside the JSON doubled their memory.
    typed: std::sync::OnceLock<Spec>,
    /// sha256 (hex) of the spec's JSON text.
    pub spec_hash: String,
    /// Resources that must exist first.
    pub depends_on: Vec<Address>,
    /// Declared `external: true`: observed, never created or removed.
    pub external: bool,
    /// Containers whose replacement restarts this one (`depends_on: {x: {restart: true}}`).
    pub restart_with: Vec<Address>,
    /// Containers whose namespaces or volumes this one uses (`network_mode`,
    /// `ipc`, `pid`: `service:x`; `volumes_from: [x]`): replacing one of
    /// them replaces this one.
    pub shares_with: Vec<Address>,
}

impl PartialEq for Resource {
    fn eq(&self, other: &Self) -> bool {
        // the typed spec is the JSON read back: equal JSON, equal specs
        self.address == other.address
            && self.engine_name == other.engine_name
            && self.spec == other.spec
            && self.spec_hash == other.spec_hash
            && self.depends_on == other.depends_on
            && self.external == other.external
            && self.restart_with == other.restart_with
            && self.shares_with == other.shares_with
    }
}

impl Resource {
    /// A resource from a spec already read as its typed spec (a state record).
    pub fn with_typed(
        address: Address,
        engine_name: String,
        spec: Value,
        typed: Spec,
        spec_hash: String,
    ) -> Resource {
        Resource {
            address,
            engine_name,
            spec: std::sync::Arc::new(spec),
            typed: std::sync::OnceLock::from(typed),
            spec_hash,
            depends_on: Vec::new(),
            external: false,
            restart_with: Vec::new(),
            shares_with: Vec::new(),
        }
    }

    /// The typed spec of this resource's kind.
    pub fn typed(&self) -> &Spec {
        self.typed.get_or_init(|| {
            // resolve wrote `spec` from the typed spec, and reading it back is
            // tested on every fixture (resource::spec tests): failing here is a bug
            Spec::from_json(self.address.kind, &self.spec)
                .unwrap_or_else(|e| panic!("berth bug: {} does not read back: {e}", self.address))
        })
    }
}

/// Everything the project asks for, by address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    pub project: String,
    pub resources: BTreeMap<Address, Resource>,
}

/// Command-line adjustments: `--scale svc=N` and `--target svc`.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    pub scale: BTreeMap<String, u32>,
    pub targets: Vec<String>,
    /// Directories left out of build-context hashes (the state directory).
    pub context_skip: Vec<std::path::PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("--{flag} names unknown service `{name}`; services: {known}")]
    UnknownService {
        flag: &'static str,
        name: String,
        known: String,
    },
    #[error("cannot read {what} `{path}`: {detail}")]
    Unreadable {
        what: &'static str,
        path: String,
        detail: String,
    },
}

/// The key under which a container spec keeps the hashes of what it uses.
pub const DEPENDENCIES_KEY: &str = "uses";

/// Order object keys recursively so equal specs serialise to equal text.
pub fn canonical(v: Value) -> Value {
    // serde_json's map (without its `preserve_order` feature) is a BTreeMap, so
    // keys are already sorted and rebuilding every map would be a pure copy;
    // the check keeps specs canonical should the map type ever change
    if is_canonical(&v) {
        return v;
    }
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Whether every object in `v` has its keys in order.
fn is_canonical(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.keys().is_sorted() && m.values().all(is_canonical),
        Value::Array(a) => a.iter().all(is_canonical),
        _ => true,
    }
}

/// sha256 of a canonical spec's JSON text.
pub fn spec_hash(spec: &Value) -> String {
    json_sha256(spec)
}

fn resource(
    address: Address,
    engine_name: String,
    typed: Spec,
    depends_on: Vec<Address>,
    external: bool,
) -> Resource {
    let r = resource_from_json(address, engine_name, typed.to_json(), depends_on, external);
    let _ = r.typed.set(typed);
    r
}

/// A resource from its spec's JSON (its typed spec is read when asked for).
fn resource_from_json(
    address: Address,
    engine_name: String,
    spec: Value,
    depends_on: Vec<Address>,
    external: bool,
) -> Resource {
    let spec = canonical(spec);
    let spec_hash = spec_hash(&spec);
    Resource {
        address,
        engine_name,
        spec: std::sync::Arc::new(spec),
        typed: std::sync::OnceLock::new(),
        spec_hash,
        depends_on,
        external,
        restart_with: Vec::new(),
        shares_with: Vec::new(),
    }
}

/// The tag berth builds a service's image under: `image:` if set, else `<project>-<service>`.
pub fn image_reference(project: &str, s: &Service) -> String {
    s.image
        .clone()
        .unwrap_or_else(|| format!("{project}-{}", s.name))
}

/// The container's engine name: `container_name`, else `<project>-<service>-<n>`.
pub fn container_name(project: &str, s: &Service, n: u32) -> String {
    s.container_name
        .clone()
        .unwrap_or_else(|| format!("{project}-{}-{n}", s.name))
}

/// Resolve the project into desired resources.
pub fn resolve(p: &Project, opts: &ResolveOptions) -> Result<Desired, ResolveError> {
    let (out, selected) = shared_resources(p, opts)?;
    let services: Vec<&Service> = selected.names.iter().map(|n| &p.services[n]).collect();
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
    add_in_order(&mut out, per_part.into_iter().flatten().collect())?;
    Ok(out)
}

/// What every service's resources are resolved against.
struct Selected {
    /// The services to resolve (`--target`s and their dependencies, else all).
    names: BTreeSet<String>,
    /// Containers per selected service, `--scale` applied.
    replicas: BTreeMap<String, u32>,
    /// Build context and the Dockerfile in it → the context's content hash,
    /// or why it could not be read.
    contexts: HashMap<ContextKey, Result<String, String>>,
}

/// Check the options, select the services, and resolve the networks and
/// volumes they use.
fn shared_resources(
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
    let contexts = context_hashes(p, &services, &opts.context_skip);
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
    let image = image_resource(p, s, &selected.contexts, &opts.context_skip)?;
    let files = file_hashes(p, s)?;
    let replicas = selected.replicas.get(&s.name).copied().unwrap_or(0);
    let containers = (1..=replicas)
        .map(|n| container_resource(p, s, n, &image, &files, shared, &selected.replicas))
        .collect();
    Ok((image, containers))
}

/// A build context as `docker build` sends it: its directory, and the
/// Dockerfile inside it that the build reads (always sent, see
/// [`super::context::context_files`]).
type ContextKey = (String, Option<String>);

fn context_key(b: &crate::compose::model::Build) -> ContextKey {
    let dockerfile = match b.dockerfile_inline {
        Some(_) => None,
        None => dockerfile_in_context(Path::new(&b.context), b.dockerfile.as_deref()),
    };
    (b.context.clone(), dockerfile)
}

fn hash_context(
    (context, dockerfile): &ContextKey,
    skip: &[std::path::PathBuf],
) -> Result<String, String> {
    context_hash(Path::new(context), dockerfile.as_deref(), skip).map_err(|e| e.to_string())
}

/// The content hash of every build context the services use, each hashed
/// once (or why it could not be read).
fn context_hashes(
    p: &Project,
    services: &BTreeSet<String>,
    skip: &[std::path::PathBuf],
) -> HashMap<ContextKey, Result<String, String>> {
    let mut out = HashMap::new();
    for name in services {
        if let Some(b) = &p.services[name].build {
            let key = context_key(b);
            if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(key) {
                let hash = hash_context(slot.key(), skip);
                slot.insert(hash);
            }
        }
    }
    out
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

fn image_resource(
    p: &Project,
    s: &Service,
    contexts: &HashMap<ContextKey, Result<String, String>>,
    skip: &[std::path::PathBuf],
) -> Result<Resource, ResolveError> {
    let reference = image_reference(&p.name, s);
    let build = match &s.build {
        None => None,
        Some(b) => {
            let key = context_key(b);
            let hash = match contexts.get(&key) {
                Some(hashed) => hashed.clone(),
                // not hashed up front: only when called for a service resolve() did not select
                None => hash_context(&key, skip),
            }
            .map_err(|detail| ResolveError::Unreadable {
                what: "build context",
                path: b.context.clone(),
                detail,
            })?;
            let dockerfile_content = match (&b.dockerfile_inline, &b.dockerfile) {
                (Some(inline), _) => Some(inline.clone()),
                (None, Some(f)) => std::fs::read_to_string(Path::new(&b.context).join(f)).ok(),
                (None, None) => None,
            };
            Some(BuildSpec {
                context: b.context.clone(),
                context_hash: hash,
                dockerfile: b.dockerfile.clone(),
                dockerfile_content,
                args: b.args.clone(),
                target: b.target.clone(),
                labels: b.labels.clone(),
                network: b.network.clone(),
            })
        }
    };
    let spec = ImageSpec {
        reference: reference.clone(),
        pull_policy: s.pull_policy.clone(),
        build,
    };
    Ok(resource(
        Address::image(&s.name),
        reference,
        Spec::Image(Arc::new(spec)),
        vec![],
        false,
    ))
}

/// Content hashes of the files a service takes in: file-based configs and secrets.
/// (env_file contents are already in `environment`.) Compose hashes only their
/// paths (docker/compose#11900); berth plans a replacement when a file changes.
fn file_hashes(p: &Project, s: &Service) -> Result<BTreeMap<String, String>, ResolveError> {
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
        out.insert(format!("{kind}.{}", m.source), hex::encode(Sha256::digest(&bytes)));
    }
    Ok(out)
}

fn container_resource(
    p: &Project,
    s: &Service,
    n: u32,
    image: &Resource,
    files: &BTreeMap<String, String>,
    so_far: &Desired,
    replicas: &BTreeMap<String, u32>,
) -> Resource {
    // the JSON of its ContainerSpec, written straight from the service (a
    // typed copy of every service would be built only to be serialised):
    // what does not shape the container itself goes
    let mut spec = match serde_json::to_value(s).expect("the model serialises") {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    for key in [
        "build",
        "profiles",
        "scale",
        "depends_on",
        "container_name",
        "pull_policy",
        "image",
    ] {
        spec.remove(key);
    }
    if let Some(Value::Object(deploy)) = spec.get_mut("deploy") {
        deploy.remove("replicas");
    }
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
    spec.insert("name".into(), Value::String(name.clone()));
    spec.insert("image".into(), Value::String(image.engine_name.clone()));
    spec.insert("number".into(), Value::from(n));
    if !files.is_empty() {
        spec.insert(
            "files".into(),
            serde_json::to_value(files).expect("strings serialise"),
        );
    }
    spec.insert(
        "uses".into(),
        serde_json::to_value(&uses).expect("strings serialise"),
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
    let mut r = resource_from_json(
        Address::container(&s.name, n),
        name,
        Value::Object(spec),
        depends_on,
        false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{LoadOptions, load};

    fn project(dir: &Path, yaml: &str) -> Project {
        std::fs::write(dir.join("compose.yaml"), yaml).unwrap();
        load(LoadOptions {
            working_dir: dir.to_path_buf(),
            project_name: Some("demo".into()),
            ..Default::default()
        })
        .unwrap()
        .project
    }

    const STACK: &str = "services:\n  web:\n    build: ./web\n    ports: [\"5000:5000\"]\n    depends_on: [redis]\n    networks: [back]\n  redis:\n    image: redis:alpine\n    networks: [back]\n    volumes: [\"data:/data\"]\nnetworks:\n  back: {}\nvolumes:\n  data: {}\n";

    fn stack() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("web")).unwrap();
        std::fs::write(d.path().join("web/Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(d.path().join("web/app"), "v1").unwrap();
        d
    }

    fn addresses(d: &Desired) -> Vec<String> {
        d.resources.keys().map(ToString::to_string).collect()
    }

    #[test]
    fn every_resource_gets_an_address_and_an_engine_name() {
        let d = stack();
        let desired = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
        assert_eq!(
            addresses(&desired),
            [
                "network.back",
                "volume.data",
                "image.redis",
                "image.web",
                "container.redis[1]",
                "container.web[1]"
            ]
        );
        let names: Vec<&str> = desired
            .resources
            .values()
            .map(|r| r.engine_name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "demo_back",
                "demo_data",
                "redis:alpine",
                "demo-web",
                "demo-redis-1",
                "demo-web-1"
            ]
        );
    }

    #[test]
    fn containers_depend_on_their_image_networks_volumes_and_dependencies() {
        let d = stack();
        let desired = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
        let deps = |a: &str| -> Vec<String> {
            desired.resources[&a.parse().unwrap()]
                .depends_on
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            deps("container.web[1]"),
            ["network.back", "image.web", "container.redis[1]"]
        );
        assert_eq!(
            deps("container.redis[1]"),
            ["network.back", "volume.data", "image.redis"]
        );
    }

    #[test]
    fn scale_and_targets() {
        let d = stack();
        let p = project(d.path(), STACK);
        let opts = ResolveOptions {
            scale: BTreeMap::from([("redis".to_string(), 3)]),
            targets: vec!["redis".into()],
            ..Default::default()
        };
        let desired = resolve(&p, &opts).unwrap();
        assert_eq!(
            addresses(&desired),
            [
                "network.back",
                "volume.data",
                "image.redis",
                "container.redis[1]",
                "container.redis[2]",
                "container.redis[3]"
            ]
        );
        let bad = ResolveOptions {
            targets: vec!["nope".into()],
            ..Default::default()
        };
        assert!(
            resolve(&p, &bad)
                .unwrap_err()
                .to_string()
                .contains("--target names unknown service `nope`")
        );
    }

    #[test]
    fn taking_the_services_resolves_the_same() {
        let d = stack();
        let p = project(d.path(), STACK);
        for targets in [vec![], vec!["redis".to_string()]] {
            let opts = ResolveOptions {
                scale: BTreeMap::from([("redis".to_string(), 2)]),
                targets,
                ..Default::default()
            };
            let mut taken = p.clone();
            let desired = resolve_taking_services(&mut taken, &opts).unwrap();
            assert_eq!(desired, resolve(&p, &opts).unwrap());
        }
    }

    #[test]
    fn a_code_change_changes_the_image_and_the_container_that_runs_it() {
        let d = stack();
        let before = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
        std::fs::write(d.path().join("web/app"), "v2").unwrap();
        let after = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
        let hash = |d: &Desired, a: &str| d.resources[&a.parse().unwrap()].spec_hash.clone();
        assert_ne!(hash(&before, "image.web"), hash(&after, "image.web"));
        assert_ne!(
            hash(&before, "container.web[1]"),
            hash(&after, "container.web[1]")
        );
        assert_eq!(
            hash(&before, "container.redis[1]"),
            hash(&after, "container.redis[1]")
        );
    }

    #[test]
    fn specs_are_canonical_and_hashes_stable() {
        let d = stack();
        let a = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
        let b = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
        assert_eq!(a, b);
        let web = &a.resources[&"container.web[1]".parse().unwrap()];
        let keys: Vec<&String> = web.spec.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(web.spec["ports"][0]["published"], "5000");
        assert_eq!(web.spec["name"], "demo-web-1");
    }
}
