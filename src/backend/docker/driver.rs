//! The Docker backend's driver: carries out each step on the engine through
//! `engine::ops` (create, connect, copy in, start, wait for dependencies,
//! update in place, tear down). What it returns is what the state records.
//! It decides nothing: the plan chose the steps, the executor orders them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::apply::Outcome;
use crate::apply::executor::Driver;
use crate::apply::steps::{Step, StepKind};
use crate::compose::model::{Condition, Project};
use crate::engine::ops::{self, container, image, network, volume};
use crate::engine::{Engine, EngineError};
use crate::plan::{Change, InPlace, Plan};
use crate::resource::expected;
use crate::resource::spec::{NetworkSpec, Spec, VolumeSpec};
use crate::resource::{Address, ContainerSpec, Desired, Kind, Resource};
use crate::state::StateResource;

mod rollout;

/// How long a container create waits for a leftover of its name to become
/// removable (see [`EngineDriver::create_container`]).
const LEFTOVER_WAIT: Duration = Duration::from_secs(15);

/// How long a `service_completed_successfully` dependency (a migration, a
/// seed job) may run before its dependents give up waiting.
const COMPLETION_WAIT: Duration = Duration::from_secs(30 * 60);

/// How long a dependency may take to turn healthy when its healthcheck says
/// nothing usable (start period + retries × (interval + timeout) otherwise).
const DEFAULT_HEALTH_WAIT: Duration = Duration::from_secs(120);

/// Beyond a healthcheck's own budget: the engine runs the first check only
/// after one interval, and polling adds a little.
const HEALTH_SLACK: Duration = Duration::from_secs(5);

pub struct EngineDriver {
    engine: Engine,
    project: Project,
    resources: BTreeMap<Address, Resource>,
    changes: BTreeMap<Address, Change>,
    lineage: String,
    /// Removing a container removes its anonymous volumes (`destroy --volumes`).
    anonymous_volumes: bool,
    rollouts: rollout::Rollouts,
    /// Left out of the build contexts sent (the state directory).
    context_skip: Vec<std::path::PathBuf>,
}

impl EngineDriver {
    pub fn new(
        engine: Engine,
        project: &Project,
        desired: &Desired,
        plan: &Plan,
        lineage: &str,
        previous: BTreeMap<Address, StateResource>,
    ) -> Self {
        let rolled = plan
            .changes
            .iter()
            .filter(|c| c.is_rolled())
            .map(|c| c.address.clone());
        EngineDriver {
            rollouts: rollout::Rollouts::new(rolled, previous),
            context_skip: desired.context_skip.clone(),
            engine,
            project: project.clone(),
            resources: desired.resources.clone(),
            changes: plan
                .changes
                .iter()
                .map(|c| (c.address.clone(), c.clone()))
                .collect(),
            lineage: lineage.to_string(),
            anonymous_volumes: false,
        }
    }

    /// `apply --watch`: keep every rollout's old containers until
    /// [`EngineDriver::watch`] is over.
    pub fn watching(mut self) -> Self {
        self.rollouts.watching = true;
        self
    }

    /// Remove containers' anonymous volumes with them (`destroy --volumes`).
    pub fn removing_anonymous_volumes(mut self) -> Self {
        self.anonymous_volumes = true;
        self
    }

    fn engine(&self) -> &Engine {
        &self.engine
    }

    fn recorded(&self, r: &Resource, id: String) -> Outcome {
        Outcome::Put(r.address.clone(), StateResource::recorded(r, id))
    }

    async fn teardown(
        &self,
        address: &Address,
        id: Option<&str>,
        name: &str,
    ) -> Result<Outcome, EngineError> {
        let engine = self.engine();
        let target = id.unwrap_or(name);
        match address.kind {
            Kind::Container => {
                self.stop_as_applied(address, target).await?;
                container::remove_with(engine, target, true, self.anonymous_volumes).await?;
            }
            Kind::Network => network::remove(engine, target).await?,
            Kind::Volume => volume::remove(engine, name).await?,
            // images stay on the engine (as `docker compose down` leaves them): only forgotten
            Kind::Image => {}
            Kind::Config | Kind::Secret | Kind::Service => return Err(swarm_only(address)),
        }
        Ok(Outcome::Forget(address.clone()))
    }

    /// Stop the container at `address` (`target`: its ID or name) as it was
    /// applied: with its stop signal and grace period. One already gone is fine.
    async fn stop_as_applied(&self, address: &Address, target: &str) -> Result<(), EngineError> {
        let before = self
            .changes
            .get(address)
            .and_then(|c| c.before.as_deref())
            .and_then(|b| Spec::from_json(Kind::Container, b).ok());
        let applied = before
            .as_ref()
            .and_then(Spec::container)
            .map(|c| &c.service);
        let signal = applied.and_then(|s| s.stop_signal.clone());
        let grace = applied
            .and_then(|s| s.stop_grace_period)
            .map(|d| Duration::from_nanos(d.0.max(0) as u64));
        match container::stop(self.engine(), target, signal.as_deref(), grace).await {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }

    async fn build(&self, r: &Resource) -> Result<Outcome, EngineError> {
        let engine = self.engine();
        let project = &self.project.name;
        match r.address.kind {
            Kind::Network => {
                let labels = ops::owner_labels(project, r, &self.lineage);
                let created =
                    network::create(engine, &r.engine_name, network_spec(r)?, &labels).await;
                // a duplicate made by a racing create (an apply killed mid-flight) is removed
                let id = match (created, network::settle(engine, &r.engine_name).await?) {
                    (_, Some(kept)) => kept,
                    (Err(e), None) => return Err(e),
                    (Ok(id), None) => id,
                };
                Ok(self.recorded(r, id))
            }
            Kind::Volume => {
                let labels = ops::owner_labels(project, r, &self.lineage);
                let id = volume::create(engine, &r.engine_name, volume_spec(r)?, &labels).await?;
                Ok(self.recorded(r, id))
            }
            Kind::Image => {
                let id = self.image(r).await?;
                Ok(self.recorded(r, id))
            }
            Kind::Container => {
                // recorded as soon as the engine returns the ID; `Start` starts it
                let id = self.create(r, &r.engine_name).await?;
                Ok(self.recorded(r, id))
            }
            Kind::Config | Kind::Secret | Kind::Service => Err(swarm_only(&r.address)),
        }
    }

    /// Create the container `r` under `name` (its own, or a rollout's
    /// temporary one) with the files it takes in copied into it.
    async fn create(&self, r: &Resource, name: &str) -> Result<String, EngineError> {
        let engine = self.engine();
        let spec = container_spec(r)?;
        let image_id = image::inspect_id(engine, &spec.image)
            .await?
            .unwrap_or_default();
        let labels = container::container_labels(&self.project, r, &image_id, &self.lineage);
        let files = expected::file_mounts(spec, &self.project);
        let service = r.address.service().unwrap_or_default();
        let view = expected::expected(spec, service, &self.project, &labels, &files);
        let platform = spec.service.platform.as_deref();
        let id = self.create_container(name, platform, &view).await?;
        for file in expected::injected_files(spec, &self.project) {
            if let Err(e) = container::copy_in(engine, &id, &file).await {
                let _ = container::remove(engine, &id, true).await;
                return Err(e);
            }
        }
        Ok(id)
    }

    /// Create the container, replacing a leftover of the same name: ours, from
    /// a crash before the state write. A create sent by an apply killed
    /// mid-flight can even land after this apply planned: the engine holds
    /// the name before it lists the container or can remove it, so a name
    /// conflict is retried, with backoff, for up to [`LEFTOVER_WAIT`].
    async fn create_container(
        &self,
        name: &str,
        platform: Option<&str>,
        view: &expected::Expected,
    ) -> Result<String, EngineError> {
        let engine = self.engine();
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let _ = container::remove(engine, name, true).await;
            match container::create(engine, name, platform, view).await {
                Err(e) if e.is_conflict() && started.elapsed() + pause < LEFTOVER_WAIT => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                created => return created,
            }
        }
    }

    async fn image(&self, r: &Resource) -> Result<String, EngineError> {
        obtain_image(self.engine(), r, &self.project.name, &self.context_skip).await
    }

    /// `depends_on` conditions: started is ordering only (the executor did it);
    /// healthy waits for the healthcheck; completed waits for exit code 0.
    async fn wait_for_dependencies(&self, r: &Resource) -> Result<(), EngineError> {
        let Some(service) = r
            .address
            .service()
            .and_then(|s| self.project.services.get(s))
        else {
            return Ok(());
        };
        for (dep, d) in &service.depends_on {
            let containers: Vec<&Resource> = self
                .resources
                .values()
                .filter(|x| x.address.kind == Kind::Container && x.address.name == *dep)
                .collect();
            for c in containers {
                match d.condition {
                    Condition::ServiceStarted => {}
                    Condition::ServiceHealthy => {
                        let timeout = health_budget(c.typed().container());
                        container::wait_healthy(self.engine(), &c.engine_name, timeout).await?;
                    }
                    Condition::ServiceCompletedSuccessfully => {
                        let code =
                            container::wait_exit(self.engine(), &c.engine_name, COMPLETION_WAIT)
                                .await?;
                        if code != 0 {
                            return Err(ops::failed(
                                format!("start `{}`", r.engine_name),
                                format!(
                                    "its dependency `{}` exited with code {code}, not 0",
                                    c.engine_name
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Start a created container when its dependencies allow.
    async fn start(&self, r: &Resource) -> Result<Outcome, EngineError> {
        self.wait_for_dependencies(r).await?;
        container::start(self.engine(), &r.engine_name).await?;
        Ok(Outcome::Started)
    }

    /// Carry out an update in place: the plan's operations, in order.
    async fn update(&self, r: &Resource, ops: &[InPlace]) -> Result<Outcome, EngineError> {
        let engine = self.engine();
        let change = self.changes.get(&r.address);
        let id = change
            .and_then(|c| c.id.clone())
            .unwrap_or_else(|| r.engine_name.clone());
        if r.address.kind == Kind::Network
            && let Some(kept) = network::settle(engine, &r.engine_name).await?
        {
            return Ok(self.recorded(r, kept));
        }
        for op in ops {
            match op {
                InPlace::Rename => container::rename(engine, &id, &r.engine_name).await?,
                InPlace::EngineUpdate => {
                    let to = expected::updatable(container_spec(r)?);
                    container::update_in_place(engine, &id, &to).await?;
                }
                InPlace::Restart => {
                    let signal = container_spec(r)?.service.stop_signal.as_deref();
                    container::stop(engine, &id, signal, None).await?;
                    self.wait_for_dependencies(r).await?;
                    container::start(engine, &id).await?;
                }
                InPlace::Start => {
                    self.wait_for_dependencies(r).await?;
                    container::start(engine, &id).await?;
                }
                // the state alone (`apply --refresh-only`): nothing on the engine
                InPlace::Forget | InPlace::Rebind => {}
                InPlace::ServiceUpdate | InPlace::ServiceRedeploy => {
                    return Err(swarm_only(&r.address));
                }
            }
        }
        Ok(self.recorded(r, id))
    }
}

/// A resource whose typed spec is not of its address's kind: resolve never
/// makes one, so this is a bug to report, not a panic.
fn not_its_kind(r: &Resource) -> EngineError {
    ops::failed(
        format!("apply `{}`", r.address),
        "its spec is not of its kind (a bug in berth: please report it)",
    )
}

fn container_spec(r: &Resource) -> Result<&ContainerSpec, EngineError> {
    r.typed().container().ok_or_else(|| not_its_kind(r))
}

fn network_spec(r: &Resource) -> Result<&NetworkSpec, EngineError> {
    r.typed().network().ok_or_else(|| not_its_kind(r))
}

fn volume_spec(r: &Resource) -> Result<&VolumeSpec, EngineError> {
    r.typed().volume().ok_or_else(|| not_its_kind(r))
}

/// How long a `service_healthy` dependency may take to turn healthy: its
/// healthcheck's own budget (see [`crate::plan::rollout::health_budget`])
/// and a little slack, or [`DEFAULT_HEALTH_WAIT`] when it has none.
fn health_budget(spec: Option<&ContainerSpec>) -> Duration {
    crate::plan::rollout::health_budget(spec.and_then(|s| s.service.healthcheck.as_deref()))
        .map_or(DEFAULT_HEALTH_WAIT, |budget| budget + HEALTH_SLACK)
}

impl Driver for EngineDriver {
    type Outcome = Outcome;
    type Error = EngineError;

    async fn run(self: Arc<Self>, step: Step) -> Result<Outcome, EngineError> {
        match &step.kind {
            StepKind::Teardown { id, name } => {
                self.teardown(&step.address, id.as_deref(), name).await
            }
            StepKind::Build => match self.resources.get(&step.address) {
                Some(r) => self.build(r).await,
                None => Ok(Outcome::Forget(step.address.clone())),
            },
            StepKind::Start => match self.resources.get(&step.address) {
                Some(r) => self.start(r).await,
                None => Ok(Outcome::Forget(step.address.clone())),
            },
            StepKind::Update { ops } => match self.resources.get(&step.address) {
                Some(r) => self.update(r, ops).await,
                None => Ok(Outcome::Forget(step.address.clone())),
            },
            StepKind::Sweep { id } => {
                container::remove(self.engine(), id, true).await?;
                Ok(Outcome::Started)
            }
            StepKind::Roll { id, name, pause_ms } => match self.resources.get(&step.address) {
                Some(r) => {
                    let old = id.as_deref().or(Some(name.as_str()));
                    self.roll(r, old, Duration::from_millis(*pause_ms)).await
                }
                None => Ok(Outcome::Forget(step.address.clone())),
            },
        }
    }

    fn salvage(&self, step: &Step) -> Option<Outcome> {
        self.rollouts.salvage(&step.address)
    }

    fn halts(&self, step: &Step) -> bool {
        self.rollouts.halts(&step.address)
    }
}

/// A Swarm object in a plain engine's plan: the pipeline plans Swarm
/// objects only for the Swarm backend, so this is a bug.
fn swarm_only(address: &Address) -> EngineError {
    EngineError::Failed {
        doing: format!("apply {address}"),
        message: "a Swarm object reached the plain Docker engine's driver (a bug in berth, please report it)".into(),
    }
}

/// The image of resource `r` on the engine: built from its context (the
/// project's label on it, `skip` left out of the context sent), or found,
/// or pulled as its pull policy says; its ID.
pub(in crate::backend) async fn obtain_image(
    engine: &Engine,
    r: &Resource,
    project: &str,
    skip: &[std::path::PathBuf],
) -> Result<String, EngineError> {
    let reference = &r.engine_name;
    let spec = r.typed().image().ok_or_else(|| not_its_kind(r))?;
    let policy = spec.pull_policy.as_deref().unwrap_or("missing");
    if let Some(build) = &spec.build {
        let labels = BTreeMap::from([(
            crate::resource::labels::PROJECT.to_string(),
            project.to_string(),
        )]);
        return image::build(engine, reference, build, &labels, skip, |_| {}).await;
    }
    let existing = image::inspect_id(engine, reference).await?;
    match (existing, policy) {
        (Some(id), "missing" | "if_not_present" | "never" | "build") => Ok(id),
        (None, "never") => Err(ops::failed(
            format!("use image `{reference}`"),
            "it is not on the engine and pull_policy is `never`: build or load it first",
        )),
        _ => image::pull(engine, reference).await,
    }
}
