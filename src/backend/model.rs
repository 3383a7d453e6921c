//! A model-based test of the core: random projects, states and engines; the
//! plan of each carried out on an in-memory engine the way the Docker driver
//! carries it out; then the properties every apply must keep.
//!
//! Generated: desired projects (compose YAML through the real loader and
//! resolve: images, environment, ports, networks, volumes, replicas,
//! `depends_on`, `container_name`, restart policies, limits, shared network
//! namespaces), a state and engine made by applying an earlier project on
//! the model, then disturbed (records lost or stale, containers removed,
//! stopped, renamed or changed by hand, networks removed, image tags moved,
//! orphans), beside resources of other projects and unlabelled ones.
//!
//! Asserted, for converge and destroy plans: the plan applies (every step
//! succeeds on the model); (a) a second plan has nothing to do; (b) nothing
//! outside the project is touched; (c) nothing is duplicated (one container
//! per address, one object per name); (d) a named volume goes only through
//! a change marked data loss (`--allow-data-loss`), or `destroy --volumes`.
//!
//! It lives in `backend` because it plays a backend: it takes the real
//! steps (`apply::steps`), the real labels (`engine::ops`), the real
//! expected view (`resource::expected`) and the real reading of an inspect
//! (`engine::observe`), and models only the engine between them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{
    ContainerConfig, ContainerInspectResponse, ContainerState, ContainerStateStatusEnum,
    MountPoint, MountType, NetworkSettings,
};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::apply::Outcome;
use crate::apply::steps::{StepKind, steps};
use crate::compose::model::Project;
use crate::engine::container_from_inspect;
use crate::engine::ops::{container::container_labels, owner_labels};
use crate::observed::{Observed, ObservedNetwork, ObservedVolume};
use crate::plan::{Action, Change, DiffInput, InPlace, Mode, Plan, diff};
use crate::resource::expected::{self, Updatable};
use crate::resource::{Address, Desired, Kind, ResolveOptions, Resource, labels, resolve};
use crate::state::{State, StateResource};

const PROJECT: &str = "demo";

// ---------------------------------------------------------------- the engine

/// The engine, in memory: containers as their inspect (what observation
/// reads), networks and volumes as listed, local image tags.
#[derive(Debug, Clone, Default, PartialEq)]
struct ModelEngine {
    containers: BTreeMap<String, ContainerInspectResponse>,
    networks: BTreeMap<String, ObservedNetwork>,
    volumes: BTreeMap<String, ObservedVolume>,
    images: BTreeMap<String, String>,
    next_id: u64,
}

fn name_of(c: &ContainerInspectResponse) -> &str {
    c.name
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches('/')
}

fn labels_of(c: &ContainerInspectResponse) -> HashMap<String, String> {
    c.config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default()
}

fn is_ours(labels: &HashMap<String, String>) -> bool {
    labels.get(labels::PROJECT).map(String::as_str) == Some(PROJECT)
}

fn set_status(c: &mut ContainerInspectResponse, status: ContainerStateStatusEnum) {
    c.state = Some(ContainerState {
        status: Some(status),
        exit_code: Some(if status == ContainerStateStatusEnum::EXITED {
            137
        } else {
            0
        }),
        ..Default::default()
    });
}

impl ModelEngine {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:0>15}", self.next_id)
    }

    /// What `Engine::observe` returns for the project, looking up what
    /// `desired` names (as the Docker backend's `observe`).
    fn observe(&self, desired: &Desired, state: &State) -> Observed {
        let names = |kind: Kind| -> BTreeSet<&str> {
            desired
                .resources
                .values()
                .filter(|r| r.address.kind == kind)
                .map(|r| r.engine_name.as_str())
                .collect()
        };
        // the containers looked up by name: desired and recorded
        let mut looked_up = names(Kind::Container);
        looked_up.extend(
            state
                .resources
                .iter()
                .filter(|(a, _)| a.kind == Kind::Container)
                .map(|(_, r)| r.name.as_str()),
        );
        let mut containers: Vec<_> = self
            .containers
            .values()
            .filter(|c| is_ours(&labels_of(c)))
            .map(|c| container_from_inspect(c.clone()))
            .collect();
        containers.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        let (networks, volumes) = (names(Kind::Network), names(Kind::Volume));
        let ours =
            |l: &BTreeMap<String, String>| l.get(labels::PROJECT).is_some_and(|p| p == PROJECT);
        let mut nets: Vec<ObservedNetwork> = self
            .networks
            .values()
            .filter(|n| ours(&n.labels) || networks.contains(n.name.as_str()))
            .cloned()
            .collect();
        nets.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Observed {
            containers,
            networks: nets,
            volumes: self
                .volumes
                .values()
                .filter(|v| ours(&v.labels) || volumes.contains(v.name.as_str()))
                .cloned()
                .collect(),
            taken: self
                .containers
                .values()
                .filter(|c| !is_ours(&labels_of(c)))
                .map(|c| (name_of(c).to_string(), c.id.clone().unwrap_or_default()))
                .filter(|(n, _)| looked_up.contains(n.as_str()))
                .collect(),
            images: names(Kind::Image)
                .into_iter()
                .filter_map(|i| Some((i.to_string(), self.images.get(i)?.clone())))
                .collect(),
            ..Observed::default()
        }
    }

    /// A container by ID or name, as the engine resolves either.
    fn find(&self, id_or_name: &str) -> Option<String> {
        if self.containers.contains_key(id_or_name) {
            return Some(id_or_name.to_string());
        }
        self.containers
            .iter()
            .find(|(_, c)| name_of(c) == id_or_name)
            .map(|(id, _)| id.clone())
    }

    fn remove_container(&mut self, id_or_name: &str) {
        if let Some(id) = self.find(id_or_name) {
            self.containers.remove(&id);
        }
    }

    fn network_in_use(&self, id: &str) -> bool {
        self.containers.values().any(|c| {
            c.network_settings
                .as_ref()
                .and_then(|s| s.networks.as_ref())
                .is_some_and(|n| n.values().any(|e| e.network_id.as_deref() == Some(id)))
        })
    }

    fn volume_in_use(&self, name: &str) -> bool {
        self.containers.values().any(|c| {
            c.mounts
                .iter()
                .flatten()
                .any(|m| m.name.as_deref() == Some(name))
        })
    }

    /// Start: every network it is on must still exist.
    fn start(&mut self, id: &str) -> Result<(), String> {
        let c = self
            .containers
            .get(id)
            .ok_or_else(|| format!("no container `{id}` to start"))?;
        let networks = c
            .network_settings
            .as_ref()
            .and_then(|s| s.networks.clone())
            .unwrap_or_default();
        for (name, e) in networks {
            let nid = e.network_id.unwrap_or_default();
            if !self.networks.contains_key(&nid) {
                return Err(format!("start `{id}`: network `{name}` ({nid}) not found"));
            }
        }
        set_status(
            self.containers.get_mut(id).unwrap(),
            ContainerStateStatusEnum::RUNNING,
        );
        Ok(())
    }

    /// Create a container from the expected view (all networks at create,
    /// as on API 1.44 and later); the name must be free.
    fn create(
        &mut self,
        name: &str,
        view: &expected::Expected,
        image_id: String,
    ) -> Result<String, String> {
        if self.find(name).is_some() {
            return Err(format!("create `{name}`: the name is in use"));
        }
        let mut endpoints = HashMap::new();
        for (network, endpoint) in &view.networks {
            let Some(n) = self.networks.values().find(|n| &n.name == network) else {
                return Err(format!("create `{name}`: network `{network}` not found"));
            };
            let mut e = endpoint.clone();
            e.network_id = Some(n.id.clone());
            endpoints.insert(network.clone(), e);
        }
        let id = self.id("c");
        let body = &view.body;
        let mut c = ContainerInspectResponse {
            id: Some(id.clone()),
            name: Some(format!("/{name}")),
            image: Some(image_id),
            config: Some(ContainerConfig {
                image: body.image.clone(),
                labels: body.labels.clone(),
                env: body.env.clone(),
                ..Default::default()
            }),
            host_config: body.host_config.clone(),
            network_settings: Some(NetworkSettings {
                networks: Some(endpoints),
                ..Default::default()
            }),
            ..Default::default()
        };
        // the engine lists the named volumes it mounts (from binds and mounts)
        let h = c.host_config.clone().unwrap_or_default();
        let binds = h.binds.iter().flatten().filter_map(|b| {
            let source = b.split(':').next()?;
            (!source.starts_with('/')).then(|| source.to_string())
        });
        let mounts = h.mounts.iter().flatten().filter_map(|m| {
            (m.typ == Some(MountType::VOLUME))
                .then(|| m.source.clone())
                .flatten()
        });
        c.mounts = Some(
            binds
                .chain(mounts)
                .map(|name| MountPoint {
                    typ: Some("volume".into()),
                    name: Some(name),
                    ..Default::default()
                })
                .collect(),
        );
        // the engine's default: swap as large as the memory limit
        if let Some(h) = c.host_config.as_mut()
            && let Some(memory) = h.memory.filter(|m| *m > 0)
            && h.memory_swap.unwrap_or(0) == 0
        {
            h.memory_swap = Some(2 * memory);
        }
        set_status(&mut c, ContainerStateStatusEnum::CREATED);
        self.containers.insert(id.clone(), c);
        Ok(id)
    }

    /// `docker update` with `to` (as `container::update_in_place` sends it).
    fn update(&mut self, id: &str, to: &Updatable) -> Result<(), String> {
        let c = self
            .containers
            .get_mut(id)
            .ok_or_else(|| format!("no container `{id}` to update"))?;
        let h = c.host_config.get_or_insert_with(Default::default);
        h.restart_policy = Some(to.restart_policy());
        h.memory = Some(to.memory);
        h.memory_reservation = Some(to.memory_reservation);
        if to.memory_swap != 0 {
            h.memory_swap = Some(to.memory_swap);
        }
        h.nano_cpus = Some(to.nano_cpus);
        h.cpu_shares = Some(to.cpu_shares);
        h.cpu_period = Some(to.cpu_period);
        h.cpu_quota = Some(to.cpu_quota);
        if !to.cpuset_cpus.is_empty() {
            h.cpuset_cpus = Some(to.cpuset_cpus.clone());
        }
        if to.pids_limit != 0 {
            h.pids_limit = Some(to.pids_limit);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- apply

/// How an apply ran on the model.
struct Applied {
    /// Volumes removed, by name.
    volumes_removed: BTreeSet<String>,
}

/// Carry out `plan` on `engine` and record it in `state`, step by step as
/// the executor orders them and as the Docker driver does each.
fn apply(
    engine: &mut ModelEngine,
    state: &mut State,
    project: &Project,
    desired: &Desired,
    plan: &Plan,
) -> Result<Applied, String> {
    let all = steps(plan, desired);
    let changes: BTreeMap<&Address, &Change> =
        plan.changes.iter().map(|c| (&c.address, c)).collect();
    let lineage = state.lineage.clone();
    let mut done = vec![false; all.len()];
    let mut out = Applied {
        volumes_removed: BTreeSet::new(),
    };
    while let Some(i) = (0..all.len()).find(|&i| !done[i] && all[i].after.iter().all(|&j| done[j]))
    {
        let step = &all[i];
        let r = desired.resources.get(&step.address);
        let outcome = match (&step.kind, r) {
            (StepKind::Teardown { id, name }, _) => {
                let target = id.as_deref().unwrap_or(name);
                match step.address.kind {
                    Kind::Container => engine.remove_container(target),
                    Kind::Network => {
                        let found = engine
                            .networks
                            .values()
                            .find(|n| n.id == target || n.name == target)
                            .map(|n| n.id.clone());
                        if let Some(nid) = found {
                            if engine.network_in_use(&nid) {
                                return Err(format!("remove network `{name}`: active endpoints"));
                            }
                            engine.networks.remove(&nid);
                        }
                    }
                    Kind::Volume => {
                        if engine.volume_in_use(name) {
                            return Err(format!("remove volume `{name}`: in use"));
                        }
                        if engine.volumes.remove(name).is_some() {
                            out.volumes_removed.insert(name.clone());
                        }
                    }
                    Kind::Image => {}
                    Kind::Config | Kind::Secret | Kind::Service => {
                        return Err(format!(
                            "{}: the model plays the plain engine",
                            step.address
                        ));
                    }
                }
                Outcome::Forget(step.address.clone())
            }
            (StepKind::Sweep { id }, _) => {
                engine.remove_container(id);
                Outcome::Started
            }
            (_, None) => Outcome::Forget(step.address.clone()),
            (StepKind::Build, Some(r)) => {
                let id = build(engine, project, &lineage, r)?;
                Outcome::Put(r.address.clone(), StateResource::recorded(r, id))
            }
            // a rollout that passes its gate ends as a plain replacement:
            // the old container gone, the new one running under its name
            (StepKind::Roll { id, name, .. }, Some(r)) => {
                engine.remove_container(id.as_deref().unwrap_or(name));
                let new = build(engine, project, &lineage, r)?;
                engine.start(&new)?;
                Outcome::Put(r.address.clone(), StateResource::recorded(r, new))
            }
            (StepKind::Start, Some(r)) => {
                let id = engine
                    .find(&r.engine_name)
                    .ok_or_else(|| format!("start `{}`: no such container", r.engine_name))?;
                engine.start(&id)?;
                Outcome::Started
            }
            (StepKind::Update { ops }, Some(r)) => {
                let mut id = changes
                    .get(&r.address)
                    .and_then(|c| c.id.clone())
                    .unwrap_or_else(|| r.engine_name.clone());
                if r.address.kind == Kind::Network
                    && let Some(n) = engine.networks.values().find(|n| n.name == r.engine_name)
                {
                    id = n.id.clone();
                }
                for op in ops {
                    let cid = engine
                        .find(&id)
                        .ok_or_else(|| format!("update `{}`: no container `{id}`", r.address));
                    match op {
                        InPlace::Rename => {
                            let cid = cid?;
                            if engine.find(&r.engine_name).is_some_and(|o| o != cid) {
                                return Err(format!("rename to `{}`: in use", r.engine_name));
                            }
                            engine.containers.get_mut(&cid).unwrap().name =
                                Some(format!("/{}", r.engine_name));
                        }
                        InPlace::EngineUpdate => {
                            let spec = r.typed().container().unwrap();
                            engine.update(&cid?, &expected::updatable(spec))?;
                        }
                        InPlace::Restart | InPlace::Start => engine.start(&cid?)?,
                        InPlace::Forget | InPlace::Rebind => {}
                        InPlace::ServiceUpdate | InPlace::ServiceRedeploy => {
                            return Err(format!(
                                "{}: a Swarm update on the plain engine",
                                r.address
                            ));
                        }
                    }
                }
                Outcome::Put(r.address.clone(), StateResource::recorded(r, id))
            }
        };
        outcome.apply_to(state);
        done[i] = true;
    }
    if let Some(i) = (0..all.len()).find(|&i| !done[i]) {
        return Err(format!("steps wait on each other: {:?}", all[i]));
    }
    state.serial += 1;
    Ok(out)
}

/// What the Docker driver's build does for `r`; the ID recorded.
fn build(
    engine: &mut ModelEngine,
    project: &Project,
    lineage: &str,
    r: &Resource,
) -> Result<String, String> {
    let labels = |r: &Resource| owner_labels(PROJECT, r, lineage);
    match r.address.kind {
        Kind::Network => {
            // `network::settle`: the one of that name already there is kept
            if let Some(n) = engine.networks.values().find(|n| n.name == r.engine_name) {
                return Ok(n.id.clone());
            }
            let id = engine.id("n");
            engine.networks.insert(
                id.clone(),
                ObservedNetwork {
                    id: id.clone(),
                    name: r.engine_name.clone(),
                    labels: labels(r),
                    driver: "bridge".into(),
                    ..Default::default()
                },
            );
            Ok(id)
        }
        Kind::Volume => {
            // the engine answers a create with the volume of that name, when there is one
            let name = r.engine_name.clone();
            engine
                .volumes
                .entry(name.clone())
                .or_insert_with(|| ObservedVolume {
                    name: name.clone(),
                    labels: labels(r),
                    driver: "local".into(),
                });
            Ok(name)
        }
        Kind::Image => {
            let reference = &r.engine_name;
            let id = engine
                .images
                .entry(reference.clone())
                .or_insert_with(|| registry(reference));
            Ok(id.clone())
        }
        Kind::Container => {
            let spec = r.typed().container().unwrap();
            let image_id = engine.images.get(&spec.image).cloned().unwrap_or_default();
            let labels = container_labels(project, r, &image_id, lineage);
            let files = expected::file_mounts(spec, project);
            let service = r.address.service().unwrap_or_default();
            let view = expected::expected(spec, service, project, &labels, &files);
            // `create_container` removes a leftover of the same name first
            engine.remove_container(&r.engine_name);
            engine.create(&r.engine_name, &view, image_id)
        }
        Kind::Config | Kind::Secret | Kind::Service => {
            Err(format!("{}: the model plays the plain engine", r.address))
        }
    }
}

/// What a pull of `reference` gets.
fn registry(reference: &str) -> String {
    format!("sha256:registry-{reference}")
}

// ---------------------------------------------------------------- generation

const SERVICES: [&str; 4] = ["web", "api", "db", "cache"];
const IMAGES: [&str; 3] = ["app:1", "app:2", "store:latest"];
const RESTARTS: [&str; 3] = ["always", "unless-stopped", "no"];

/// One service of a generated project.
#[derive(Debug, Clone)]
struct Svc {
    image: usize,
    env: Option<u8>,
    port: Option<u8>,
    /// Subset of front, back, shared (external).
    networks: u8,
    volume: Option<bool>,
    replicas: u32,
    /// Subset of the services before it; bit 4: restart with them.
    depends: u8,
    restart: Option<usize>,
    mem: Option<u8>,
    label: Option<u8>,
    /// `container_name` (with one replica).
    named: Option<u8>,
    /// `network_mode: service:X` for the first service it depends on.
    shares: bool,
}

/// A generated compose file.
#[derive(Debug, Clone)]
struct Files {
    services: [Option<Svc>; 4],
    back_internal: bool,
    data_labelled: bool,
}

fn svc() -> impl Strategy<Value = Svc> {
    (
        (
            0..IMAGES.len(),
            prop::option::of(0u8..2),
            prop::option::of(0u8..2),
            0u8..8,
        ),
        (prop::option::of(any::<bool>()), 1u32..=3, 0u8..32),
        (
            prop::option::of(0..RESTARTS.len()),
            prop::option::of(0u8..2),
            prop::option::of(0u8..2),
            prop::option::weighted(0.2, 0u8..2),
            prop::bool::weighted(0.15),
        ),
    )
        .prop_map(
            |((image, env, port, networks), (volume, replicas, depends), rest)| {
                let (restart, mem, label, named, shares) = rest;
                Svc {
                    image,
                    env,
                    port,
                    networks,
                    volume,
                    replicas,
                    depends,
                    restart,
                    mem,
                    label,
                    named,
                    shares,
                }
            },
        )
}

fn files() -> impl Strategy<Value = Files> {
    (
        [
            prop::option::weighted(0.8, svc()),
            prop::option::weighted(0.7, svc()),
            prop::option::weighted(0.6, svc()),
            prop::option::weighted(0.5, svc()),
        ],
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(services, back_internal, data_labelled)| Files {
            services,
            back_internal,
            data_labelled,
        })
}

impl Files {
    /// The compose file.
    fn yaml(&self) -> String {
        let mut y = String::from("services:\n");
        let present: Vec<usize> = (0..4).filter(|&i| self.services[i].is_some()).collect();
        if present.is_empty() {
            y = "services: {}\n".into();
        }
        for &i in &present {
            let s = self.services[i].as_ref().unwrap();
            let deps: Vec<usize> = present
                .iter()
                .copied()
                .filter(|&j| j < i && s.depends & (1 << j) != 0)
                .collect();
            y += &format!("  {}:\n    image: {}\n", SERVICES[i], IMAGES[s.image]);
            if let Some(e) = s.env {
                y += &format!(
                    "    environment: {{MODE: m{e}, SERVICE: {}}}\n",
                    SERVICES[i]
                );
            }
            let shared = s.shares && !deps.is_empty();
            if shared {
                y += &format!("    network_mode: \"service:{}\"\n", SERVICES[deps[0]]);
            } else {
                if let Some(p) = s.port {
                    // an ephemeral host port: replicas do not collide
                    y += &format!("    ports: [\"127.0.0.1::{}\"]\n", 80 + u32::from(p));
                }
                let nets: Vec<&str> = ["front", "back", "shared"]
                    .into_iter()
                    .enumerate()
                    .filter(|(b, _)| s.networks & (1 << b) != 0)
                    .map(|(_, n)| n)
                    .collect();
                if !nets.is_empty() {
                    y += &format!("    networks: [{}]\n", nets.join(", "));
                }
            }
            if let Some(v) = s.volume {
                let v = if v { "data" } else { "cache" };
                y += &format!("    volumes: [\"{v}:/{v}\"]\n");
            }
            match s.named {
                Some(n) => y += &format!("    container_name: {}-box{n}\n", SERVICES[i]),
                None if s.replicas > 1 => {
                    y += &format!("    deploy: {{replicas: {}}}\n", s.replicas)
                }
                None => {}
            }
            if let Some(r) = s.restart {
                y += &format!("    restart: {}\n", RESTARTS[r]);
            }
            if let Some(m) = s.mem {
                y += &format!("    mem_limit: {}m\n", 64 << m);
            }
            if let Some(l) = s.label {
                y += &format!("    labels: {{tier: t{l}}}\n");
            }
            if !deps.is_empty() {
                y += "    depends_on:\n";
                for j in deps {
                    let restart = s.depends & 16 != 0;
                    y += &format!(
                        "      {}: {{condition: service_started, restart: {restart}}}\n",
                        SERVICES[j]
                    );
                }
            }
        }
        y += "networks:\n  front: {}\n";
        y += &format!("  back: {{internal: {}}}\n", self.back_internal);
        y += "  shared: {external: true, name: shared-net}\n";
        y += "volumes:\n  cache: {}\n";
        if self.data_labelled {
            y += "  data: {labels: {kept: \"yes\"}}\n";
        } else {
            y += "  data: {}\n";
        }
        y
    }
}

fn load(files: &Files) -> (Project, Desired) {
    let project = crate::compose::project_from_yaml(&files.yaml(), PROJECT);
    let desired = resolve(&project, &ResolveOptions::default()).unwrap();
    (project, desired)
}

/// What happens to the state and the engine after the earlier apply.
#[derive(Debug, Clone)]
enum Poke {
    /// `docker rm -f` of one of the project's containers.
    RemoveContainer(Index),
    /// It stopped (or was never started).
    Stop(Index, bool),
    /// `docker update --restart` by hand.
    Restart(Index),
    /// `docker network disconnect` by hand.
    Disconnect(Index),
    /// `docker rename` by hand.
    Rename(Index),
    /// The network is removed (its containers stopped first).
    RemoveNetwork(Index),
    /// A volume no container uses is removed.
    RemoveVolume(Index),
    /// The tag now names another image (`docker pull` of a newer one).
    MoveImage(Index),
    /// A container of the project that nobody knows (an old service, a replica scaled away).
    Orphan(Index, u32),
    /// Someone else's container holds the name one of ours will take
    /// (`container_name: redis`, and a `redis` run by hand or by another project).
    Squatter(Index, bool),
    /// The state lost a record (a crash between create and the state write).
    Forget(Index),
    /// The record is an older one (a state restored from a backup): another
    /// spec, and for a container another (gone) container.
    Stale(Index),
}

fn poke() -> impl Strategy<Value = Poke> {
    prop_oneof![
        any::<Index>().prop_map(Poke::RemoveContainer),
        (any::<Index>(), any::<bool>()).prop_map(|(i, b)| Poke::Stop(i, b)),
        any::<Index>().prop_map(Poke::Restart),
        any::<Index>().prop_map(Poke::Disconnect),
        any::<Index>().prop_map(Poke::Rename),
        any::<Index>().prop_map(Poke::RemoveNetwork),
        any::<Index>().prop_map(Poke::RemoveVolume),
        any::<Index>().prop_map(Poke::MoveImage),
        (any::<Index>(), 4u32..6).prop_map(|(i, n)| Poke::Orphan(i, n)),
        (any::<Index>(), any::<bool>()).prop_map(|(i, b)| Poke::Squatter(i, b)),
        any::<Index>().prop_map(Poke::Forget),
        any::<Index>().prop_map(Poke::Stale),
    ]
}

/// What the plan is for.
#[derive(Debug, Clone, Copy)]
enum Intent {
    Converge { remove_orphans: bool },
    Destroy { volumes: bool },
}

#[derive(Debug, Clone)]
struct Case {
    /// Applied before (none: an empty state and engine).
    earlier: Option<Files>,
    pokes: Vec<Poke>,
    files: Files,
    plan: Intent,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::option::weighted(0.8, files()),
        prop::collection::vec(poke(), 0..5),
        files(),
        prop_oneof![
            4 => any::<bool>().prop_map(|remove_orphans| Intent::Converge { remove_orphans }),
            1 => any::<bool>().prop_map(|volumes| Intent::Destroy { volumes }),
        ],
    )
        .prop_map(|(earlier, pokes, files, plan)| Case {
            earlier,
            pokes,
            files,
            plan,
        })
}

/// What other projects and people hold on the same engine.
fn neighbours(engine: &mut ModelEngine) {
    engine.images.extend(
        IMAGES
            .iter()
            .map(|i| (i.to_string(), format!("sha256:local-{i}"))),
    );
    let other = |kind: &str, key: &str| {
        BTreeMap::from([
            (labels::PROJECT.to_string(), "other".to_string()),
            (kind.to_string(), key.to_string()),
        ])
    };
    for (id, name, labels) in [
        ("n-other", "other_back", other(labels::NETWORK, "back")),
        ("n-shared", "shared-net", BTreeMap::new()),
    ] {
        engine.networks.insert(
            id.into(),
            ObservedNetwork {
                id: id.into(),
                name: name.into(),
                labels,
                driver: "bridge".into(),
                ..Default::default()
            },
        );
    }
    for (name, labels) in [
        ("other_data", other(labels::VOLUME, "data")),
        ("stray-data", BTreeMap::new()),
    ] {
        engine.volumes.insert(
            name.into(),
            ObservedVolume {
                name: name.into(),
                labels,
                driver: "local".into(),
            },
        );
    }
    // another project's web (same service, same address) and a container of nobody's
    let mut labels: HashMap<String, String> = other(labels::SERVICE, "web").into_iter().collect();
    labels.insert(labels::CONTAINER_NUMBER.into(), "1".into());
    labels.insert(labels::ADDRESS.into(), "container.web[1]".into());
    labels.insert(labels::ONEOFF.into(), "False".into());
    for (id, name, labels) in [
        ("c-other", "other-web-1", Some(labels)),
        ("c-stray", "stray", None),
    ] {
        let mut c = ContainerInspectResponse {
            id: Some(id.into()),
            name: Some(format!("/{name}")),
            image: Some("sha256:local-app:1".into()),
            config: Some(ContainerConfig {
                image: Some("app:1".into()),
                labels,
                ..Default::default()
            }),
            ..Default::default()
        };
        set_status(&mut c, ContainerStateStatusEnum::RUNNING);
        engine.containers.insert(id.into(), c);
    }
}

/// What is on the engine and not the project's.
type Foreign = (
    Vec<ContainerInspectResponse>,
    Vec<ObservedNetwork>,
    Vec<ObservedVolume>,
);

/// Everything on the engine that is not the project's.
fn foreign(engine: &ModelEngine) -> Foreign {
    let ours =
        |l: &BTreeMap<String, String>| l.get(labels::PROJECT).map(String::as_str) == Some(PROJECT);
    (
        engine
            .containers
            .values()
            .filter(|c| !is_ours(&labels_of(c)))
            .cloned()
            .collect(),
        engine
            .networks
            .values()
            .filter(|n| !ours(&n.labels))
            .cloned()
            .collect(),
        engine
            .volumes
            .values()
            .filter(|v| !ours(&v.labels))
            .cloned()
            .collect(),
    )
}

fn pick<'a, T>(items: &'a [T], i: &Index) -> Option<&'a T> {
    (!items.is_empty()).then(|| i.get(items))
}

/// Disturb the state and the engine as `p` says.
fn disturb(engine: &mut ModelEngine, state: &mut State, other: &Desired, p: &Poke) {
    let ours: Vec<String> = engine
        .containers
        .iter()
        .filter(|(_, c)| is_ours(&labels_of(c)))
        .map(|(id, _)| id.clone())
        .collect();
    let container = |i: &Index| pick(&ours, i).cloned();
    match p {
        Poke::RemoveContainer(i) => {
            if let Some(id) = container(i) {
                engine.containers.remove(&id);
            }
        }
        Poke::Stop(i, exited) => {
            if let Some(id) = container(i) {
                let status = if *exited {
                    ContainerStateStatusEnum::EXITED
                } else {
                    ContainerStateStatusEnum::CREATED
                };
                set_status(engine.containers.get_mut(&id).unwrap(), status);
            }
        }
        Poke::Restart(i) => {
            if let Some(id) = container(i) {
                let h = engine
                    .containers
                    .get_mut(&id)
                    .unwrap()
                    .host_config
                    .get_or_insert_with(Default::default);
                h.restart_policy = Some(expected::restart_policy("on-failure:3"));
            }
        }
        Poke::Disconnect(i) => {
            if let Some(id) = container(i) {
                let c = engine.containers.get_mut(&id).unwrap();
                if let Some(n) = c
                    .network_settings
                    .as_mut()
                    .and_then(|s| s.networks.as_mut())
                    && let Some(first) = n.keys().min().cloned()
                {
                    n.remove(&first);
                }
            }
        }
        Poke::Rename(i) => {
            if let Some(id) = container(i) {
                let c = engine.containers.get_mut(&id).unwrap();
                c.name = Some(format!("/renamed-{id}"));
            }
        }
        Poke::RemoveNetwork(i) => {
            let ids: Vec<String> = engine
                .networks
                .values()
                .filter(|n| n.labels.get(labels::PROJECT).map(String::as_str) == Some(PROJECT))
                .map(|n| n.id.clone())
                .collect();
            if let Some(nid) = pick(&ids, i).cloned() {
                // `docker network rm` needs its containers stopped (they keep the endpoint)
                for c in engine.containers.values_mut() {
                    let on = c
                        .network_settings
                        .as_ref()
                        .and_then(|s| s.networks.as_ref())
                        .is_some_and(|n| n.values().any(|e| e.network_id.as_deref() == Some(&nid)));
                    if on {
                        set_status(c, ContainerStateStatusEnum::EXITED);
                    }
                }
                engine.networks.remove(&nid);
            }
        }
        Poke::RemoveVolume(i) => {
            let names: Vec<String> = engine
                .volumes
                .values()
                .filter(|v| v.labels.get(labels::PROJECT).map(String::as_str) == Some(PROJECT))
                .map(|v| v.name.clone())
                .filter(|v| !engine.volume_in_use(v))
                .collect();
            if let Some(v) = pick(&names, i).cloned() {
                engine.volumes.remove(&v);
            }
        }
        Poke::MoveImage(i) => {
            if let Some(image) = pick(&IMAGES, i) {
                engine
                    .images
                    .insert(image.to_string(), format!("sha256:newer-{image}"));
            }
        }
        Poke::Orphan(i, n) => {
            let service = pick(&SERVICES, i).unwrap();
            let mut labels: HashMap<String, String> = [
                (labels::PROJECT, PROJECT.to_string()),
                (labels::SERVICE, service.to_string()),
                (labels::CONTAINER_NUMBER, n.to_string()),
                (labels::ONEOFF, "False".to_string()),
                (labels::ADDRESS, format!("container.{service}[{n}]")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            labels.insert("left".into(), "behind".into());
            let name = format!("{PROJECT}-{service}-{n}");
            if engine.find(&name).is_none() {
                let id = engine.id("c");
                let mut c = ContainerInspectResponse {
                    id: Some(id.clone()),
                    name: Some(format!("/{name}")),
                    image: Some("sha256:local-app:1".into()),
                    config: Some(ContainerConfig {
                        image: Some("app:1".into()),
                        labels: Some(labels),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                set_status(&mut c, ContainerStateStatusEnum::RUNNING);
                engine.containers.insert(id, c);
            }
        }
        Poke::Squatter(i, labelled) => {
            let names: Vec<&str> = other
                .resources
                .values()
                .filter(|r| r.address.kind == Kind::Container)
                .map(|r| r.engine_name.as_str())
                .filter(|n| engine.find(n).is_none())
                .collect();
            if let Some(name) = pick(&names, i) {
                let labels = labelled
                    .then(|| HashMap::from([(labels::PROJECT.to_string(), "other".to_string())]));
                let id = engine.id("s");
                let mut c = ContainerInspectResponse {
                    id: Some(id.clone()),
                    name: Some(format!("/{name}")),
                    image: Some("sha256:local-app:1".into()),
                    config: Some(ContainerConfig {
                        image: Some("app:1".into()),
                        labels,
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                set_status(&mut c, ContainerStateStatusEnum::RUNNING);
                engine.containers.insert(id, c);
            }
        }
        Poke::Forget(i) => {
            let addresses: Vec<Address> = state.resources.keys().cloned().collect();
            if let Some(a) = pick(&addresses, i) {
                state.remove(a);
            }
        }
        Poke::Stale(i) => {
            // the record holds what another version of the files asked for
            let addresses: Vec<Address> = state
                .resources
                .keys()
                .filter(|a| other.resources.contains_key(a))
                .cloned()
                .collect();
            if let Some(a) = pick(&addresses, i) {
                let r = &other.resources[a];
                let st = state.resources.get_mut(a).unwrap();
                st.spec = (**r.spec.value()).clone();
                st.spec_hash = r.spec_hash.clone();
                if a.kind == Kind::Container {
                    // a container is recorded with the spec it was created
                    // from: another spec came with another container
                    st.id = format!("c-gone-{}", st.id);
                }
            }
        }
    }
}

fn plan_for(
    mode: Mode,
    desired: &Desired,
    state: &State,
    observed: &Observed,
    remove_orphans: bool,
) -> Plan {
    diff(&DiffInput {
        mode,
        desired,
        state,
        observed: Some(observed),
        remove_orphans,
        targets: &[],
    })
}

/// One generated case through plan, apply and the properties.
fn check(case: &Case) -> Result<(), TestCaseError> {
    let (project, desired) = load(&case.files);
    let mut engine = ModelEngine::default();
    neighbours(&mut engine);
    let mut state = State::new(PROJECT);
    if let Some(earlier) = &case.earlier {
        let (p, d) = load(earlier);
        let plan = plan_for(
            Mode::Converge,
            &d,
            &state,
            &engine.observe(&d, &state),
            false,
        );
        prop_assert!(plan.errors.is_empty(), "earlier plan: {:?}", plan.errors);
        apply(&mut engine, &mut state, &p, &d, &plan).map_err(TestCaseError::fail)?;
        for poke in &case.pokes {
            disturb(&mut engine, &mut state, &desired, poke);
        }
    }
    let before = foreign(&engine);
    let volumes_before: BTreeSet<String> = engine.volumes.keys().cloned().collect();

    let (mode, remove_orphans) = match case.plan {
        Intent::Converge { remove_orphans } => (Mode::Converge, remove_orphans),
        Intent::Destroy { .. } => (Mode::Destroy, true),
    };
    let mut plan = plan_for(
        mode,
        &desired,
        &state,
        &engine.observe(&desired, &state),
        remove_orphans,
    );
    if !plan.errors.is_empty() {
        // apply refuses the plan: a network or volume still in use, a name taken
        for e in &plan.errors {
            prop_assert!(
                e.contains("cannot be") || e.contains("does not belong to project"),
                "plan error: {}",
                e
            );
        }
        return Ok(());
    }
    let mut target = desired.clone();
    if let Intent::Destroy { volumes } = case.plan {
        // what `berth destroy` keeps of the plan, and of the desired resources
        plan.changes.retain(|c| {
            c.action == Action::Delete
                && c.address.kind != Kind::Image
                && (c.address.kind != Kind::Volume || volumes)
        });
        target.resources.clear();
    }
    let applied = apply(&mut engine, &mut state, &project, &target, &plan).map_err(|e| {
        TestCaseError::fail(format!("apply failed: {e}\nplan: {:#?}", summary(&plan)))
    })?;

    // (a) a second plan has nothing left to do
    let mut again = plan_for(
        mode,
        &desired,
        &state,
        &engine.observe(&desired, &state),
        remove_orphans,
    );
    if let Intent::Destroy { volumes } = case.plan {
        again.changes.retain(|c| {
            c.action == Action::Delete
                && c.address.kind != Kind::Image
                && (c.address.kind != Kind::Volume || volumes)
        });
    }
    prop_assert!(
        again.errors.is_empty(),
        "second plan errors: {:?}",
        again.errors
    );
    prop_assert!(
        !again.has_changes(),
        "second plan is not empty: {:#?}\nafter the first: {:#?}",
        summary(&again),
        summary(&plan)
    );

    // (b) nothing outside the project is touched
    let after = foreign(&engine);
    let names =
        |f: &Foreign| -> Vec<String> { f.0.iter().map(|c| name_of(c).to_string()).collect() };
    prop_assert!(
        after == before,
        "something not ours changed: containers {:?} -> {:?}",
        names(&before),
        names(&after)
    );

    // (c) nothing is duplicated
    let mut addresses = BTreeSet::new();
    let mut names = BTreeSet::new();
    for c in engine.containers.values() {
        prop_assert!(
            names.insert(name_of(c).to_string()),
            "two containers named {}",
            name_of(c)
        );
        let l = labels_of(c);
        if is_ours(&l)
            && let Some(a) = l.get(labels::ADDRESS)
        {
            prop_assert!(addresses.insert(a.clone()), "two containers at {a}");
        }
    }
    let mut network_names = BTreeSet::new();
    for n in engine.networks.values() {
        prop_assert!(
            network_names.insert(&n.name),
            "two networks named {}",
            n.name
        );
    }

    // (d) named volumes go only through a change marked data loss, or destroy --volumes
    let gone: BTreeSet<&String> = volumes_before
        .iter()
        .filter(|v| !engine.volumes.contains_key(*v))
        .collect();
    for v in &gone {
        let marked = plan
            .changes
            .iter()
            .any(|c| c.address.kind == Kind::Volume && &c.name == *v && c.data_loss);
        prop_assert!(marked, "volume {v} removed without a data-loss change");
        prop_assert!(applied.volumes_removed.contains(*v));
        if let Intent::Destroy { volumes } = case.plan {
            prop_assert!(volumes, "destroy without --volumes removed volume {v}");
        }
    }
    Ok(())
}

/// `address action [ops] reasons` per change, for failure messages.
fn summary(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| {
            format!(
                "{} {} {:?} {:?}",
                c.address,
                c.action.as_str(),
                c.ops,
                c.reasons
            )
        })
        .collect()
}

/// Cases in CI (on 2 cores, well under 30 s); `PROPTEST_CASES` asks for more.
const CASES: u32 = 512;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        // a failure is reported with its shrunk case; none is saved to a file
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_plan_applied_leaves_nothing_to_do_and_touches_only_the_project(case in case()) {
        check(&case)?;
    }
}
