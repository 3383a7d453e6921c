//! The Swarm backend's driver: each step on a manager's engine. Networks
//! are overlay networks and volumes carry the stack's label; images are
//! built or found as on the plain engine and services run them by ID (so a
//! rebuilt image under the same tag updates the service: moby#31518);
//! configs and secrets are created under their content's name; services
//! are created, or updated naming the version index the plan observed, and
//! apply waits until their tasks run (Swarm's own rolling update, as the
//! service's `update_config` says).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::models::ServiceSpec;

use crate::apply::Outcome;
use crate::apply::executor::Driver;
use crate::apply::steps::{Step, StepKind};
use crate::compose::model::Project;
use crate::engine::ops::{self, network, swarm, volume};
use crate::engine::{Engine, EngineError};
use crate::plan::{Action, Change, InPlace};
use crate::resource::swarm::NAMESPACE;
use crate::resource::{Address, Kind, Resource};
use crate::state::StateResource;

use super::super::Job;
use super::super::docker::obtain_image;

/// The longest apply waits for one service's tasks to run the new spec,
/// beyond what its `update_config` (delay and monitor per batch) takes.
const CONVERGE_WAIT: Duration = Duration::from_secs(180);

/// How long the tasks of a removed service may take to go (their
/// containers hold the networks the stack removes next).
const TASKS_GONE_WAIT: Duration = Duration::from_secs(60);

pub struct SwarmDriver {
    engine: Engine,
    project: Project,
    resources: BTreeMap<Address, Resource>,
    changes: BTreeMap<Address, Change>,
    context_skip: Vec<std::path::PathBuf>,
    /// What the services refer to, filled as objects are made: an image's
    /// ID by address; a config's or secret's (ID, engine name) by the name
    /// the desired service spec uses.
    images: Mutex<BTreeMap<Address, String>>,
    objects: Mutex<BTreeMap<String, (String, String)>>,
}

impl SwarmDriver {
    pub fn new(engine: Engine, job: &Job<'_>) -> SwarmDriver {
        let changes: BTreeMap<Address, Change> = job
            .plan
            .changes
            .iter()
            .map(|c| (c.address.clone(), c.clone()))
            .collect();
        let mut images = BTreeMap::new();
        let mut objects = BTreeMap::new();
        for c in changes.values() {
            let Some(id) = &c.id else { continue };
            match c.address.kind {
                Kind::Image => {
                    images.insert(c.address.clone(), id.clone());
                }
                Kind::Config | Kind::Secret => {
                    if let Some(r) = job.desired.resources.get(&c.address) {
                        objects.insert(r.engine_name.clone(), (id.clone(), c.name.clone()));
                    }
                }
                _ => {}
            }
        }
        SwarmDriver {
            engine,
            project: job.project.clone(),
            resources: job.desired.resources.clone(),
            changes,
            context_skip: job.desired.context_skip.clone(),
            images: Mutex::new(images),
            objects: Mutex::new(objects),
        }
    }

    fn resource(&self, a: &Address) -> Result<&Resource, EngineError> {
        self.resources.get(a).ok_or_else(|| {
            ops::failed(
                format!("apply {a}"),
                "it is not in the desired resources (a bug in berth, please report it)",
            )
        })
    }

    fn labels(&self, own: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut labels = own.clone();
        labels.insert(NAMESPACE.into(), self.project.name.clone());
        labels
    }

    async fn build(&self, r: &Resource) -> Result<Outcome, EngineError> {
        let engine = &self.engine;
        let id = match r.address.kind {
            Kind::Network => {
                let spec = r.typed().network().ok_or_else(|| not_its_kind(r))?;
                network::create(engine, &r.engine_name, spec, &self.labels(&BTreeMap::new()))
                    .await?
            }
            Kind::Volume => {
                let spec = r.typed().volume().ok_or_else(|| not_its_kind(r))?;
                volume::create(engine, &r.engine_name, spec, &self.labels(&BTreeMap::new())).await?
            }
            Kind::Image => {
                let id = obtain_image(engine, r, &self.project.name, &self.context_skip).await?;
                self.images
                    .lock()
                    .expect("not poisoned")
                    .insert(r.address.clone(), id.clone());
                id
            }
            Kind::Config | Kind::Secret => {
                let spec = r.typed().object().ok_or_else(|| not_its_kind(r))?;
                let data = self.content(r)?;
                let secret = r.address.kind == Kind::Secret;
                let id = swarm::create_object(
                    engine,
                    secret,
                    &r.engine_name,
                    &self.labels(&spec.labels),
                    &data,
                )
                .await?;
                self.objects
                    .lock()
                    .expect("not poisoned")
                    .insert(r.engine_name.clone(), (id.clone(), r.engine_name.clone()));
                id
            }
            Kind::Service => {
                let spec = self.service_spec(r)?;
                let id = swarm::create_service(engine, spec).await?;
                self.converge(r, &id, &BTreeSet::new()).await?;
                id
            }
            Kind::Container => return Err(not_its_kind(r)),
        };
        Ok(Outcome::Put(
            r.address.clone(),
            StateResource::recorded(r, id),
        ))
    }

    /// The content of a config or secret, read again from where the file
    /// says (never from the state, which holds only its hash).
    fn content(&self, r: &Resource) -> Result<Vec<u8>, EngineError> {
        let objects = if r.address.kind == Kind::Config {
            &self.project.configs
        } else {
            &self.project.secrets
        };
        let what = format!("read {} `{}`", r.address.kind.as_str(), r.address.name);
        let obj = objects
            .get(&r.address.name)
            .ok_or_else(|| ops::failed(&what, "it is not in the compose file"))?;
        if let Some(f) = &obj.file {
            return std::fs::read(f)
                .map_err(|e| ops::failed(&what, format!("{f}: {}", crate::paths::io_reason(&e))));
        }
        if let Some(c) = &obj.content {
            return Ok(c.clone().into_bytes());
        }
        if obj.environment.is_some() {
            return Ok(obj
                .environment_value
                .clone()
                .unwrap_or_default()
                .into_bytes());
        }
        Err(ops::failed(
            &what,
            "it has no `file`, `content` or `environment`",
        ))
    }

    /// The desired service spec, with what only apply knows: the image ID
    /// the tag names now, and the configs' and secrets' IDs.
    fn service_spec(&self, r: &Resource) -> Result<ServiceSpec, EngineError> {
        let typed = r.typed().service().ok_or_else(|| not_its_kind(r))?;
        let mut spec = typed.service.clone();
        let image = self
            .images
            .lock()
            .expect("not poisoned")
            .get(&Address::image(&r.address.name))
            .cloned();
        let objects = self.objects.lock().expect("not poisoned").clone();
        let missing = |name: &str| {
            ops::failed(
                format!("create service `{}`", r.engine_name),
                format!("`{name}` was not created first (a bug in berth, please report it)"),
            )
        };
        if let Some(c) = spec
            .task_template
            .as_mut()
            .and_then(|t| t.container_spec.as_mut())
        {
            if let Some(id) = image {
                c.image = Some(id);
            }
            for s in c.secrets.iter_mut().flatten() {
                let name = s.secret_name.clone().unwrap_or_default();
                let (id, actual) = objects.get(&name).ok_or_else(|| missing(&name))?;
                s.secret_id = Some(id.clone());
                s.secret_name = Some(actual.clone());
            }
            for s in c.configs.iter_mut().flatten() {
                let name = s.config_name.clone().unwrap_or_default();
                let (id, actual) = objects.get(&name).ok_or_else(|| missing(&name))?;
                s.config_id = Some(id.clone());
                s.config_name = Some(actual.clone());
            }
        }
        Ok(spec)
    }

    async fn update(&self, step: &Step, ops: &[InPlace]) -> Result<Outcome, EngineError> {
        let r = self.resource(&step.address)?;
        let change = self.changes.get(&step.address);
        let planned_id = change.and_then(|c| c.id.clone());
        if r.address.kind != Kind::Service || ops.is_empty() {
            // adopted: only recorded
            let id = planned_id.unwrap_or_default();
            return Ok(Outcome::Put(
                r.address.clone(),
                StateResource::recorded(r, id),
            ));
        }
        let id = planned_id.unwrap_or_else(|| r.engine_name.clone());
        let doing = format!("update service `{}`", r.engine_name);
        let Some(swarm::ServiceNow {
            version,
            spec: current,
            ..
        }) = swarm::inspect_service(&self.engine, &id).await?
        else {
            return Err(ops::failed(
                doing,
                "it is gone from the engine since the plan: run `berth plan` again",
            ));
        };
        if let Some(planned) = change.and_then(|c| c.version)
            && planned != version
        {
            return Err(ops::failed(
                doing,
                format!(
                    "it was changed on the engine since the plan (version {planned}, now {version}): nothing was overwritten; run `berth plan` again to see the change"
                ),
            ));
        }
        let mut spec = self.service_spec(r)?;
        if ops.contains(&InPlace::ServiceRedeploy)
            && let Some(t) = spec.task_template.as_mut()
        {
            // tasks are replaced even when only their state drifted
            let forced = current
                .task_template
                .as_ref()
                .and_then(|t| t.force_update)
                .unwrap_or(0);
            t.force_update = Some(forced + 1);
        }
        // a redeploy waits for new tasks; an update that keeps them, for
        // as many as are wanted
        let before: BTreeSet<String> = if ops.contains(&InPlace::ServiceRedeploy) {
            swarm::running_tasks(&self.engine, &id)
                .await?
                .into_iter()
                .map(|(task, _)| task)
                .collect()
        } else {
            BTreeSet::new()
        };
        swarm::update_service(&self.engine, &id, version, spec).await?;
        self.converge(r, &id, &before).await?;
        Ok(Outcome::Put(
            r.address.clone(),
            StateResource::recorded(r, id),
        ))
    }

    /// Wait until service `id` runs as many tasks as it wants (tasks
    /// started after `before` was taken, when its tasks are replaced); fail
    /// with the tasks' error when Swarm paused or rolled back the update,
    /// or when it takes too long.
    async fn converge(
        &self,
        r: &Resource,
        id: &str,
        before: &BTreeSet<String>,
    ) -> Result<(), EngineError> {
        let budget = CONVERGE_WAIT + update_time(r);
        let started = Instant::now();
        let doing = format!("wait for service `{}` to converge", r.engine_name);
        let mut pause = Duration::from_millis(200);
        // why Swarm rolls back, seen while it does (its final message says
        // only that it completed)
        let mut why: Option<String> = None;
        loop {
            let Some(swarm::ServiceNow { seen, updating, .. }) =
                swarm::inspect_service(&self.engine, id).await?
            else {
                return Err(ops::failed(doing, "it was removed while starting"));
            };
            // a rollback under way is waited out: when apply returns, the
            // old version runs again (or Swarm says why it does not)
            let ended = match seen.update.as_deref() {
                // said once the old version's tasks are scheduled: wait
                // until they run
                Some("rollback_completed")
                    if seen.running >= seen.desired || started.elapsed() > budget =>
                {
                    Some("Swarm rolled the update back")
                }
                Some("paused") => Some("Swarm paused the rolling update"),
                Some("rollback_paused") => Some("Swarm paused rolling the update back"),
                _ => None,
            };
            let rolling_back = matches!(
                seen.update.as_deref(),
                Some("rollback_started" | "rollback_completed")
            );
            if (rolling_back || ended.is_some()) && why.is_none() {
                why = self.why(id, &seen).await?;
            }
            if let Some(what) = ended {
                return Err(ops::failed(
                    doing,
                    format!(
                        "{what} ({} of {} tasks running){}",
                        seen.running,
                        seen.desired,
                        because(&why)
                    ),
                ));
            }
            let tasks = swarm::running_tasks(&self.engine, id).await?;
            let fresh = tasks
                .iter()
                .filter(|(task, running)| *running && !before.contains(task))
                .count() as u64;
            if fresh >= seen.desired && !updating && !rolling_back {
                return Ok(());
            }
            if started.elapsed() > budget {
                let why = self.why(id, &seen).await?;
                return Err(ops::failed(
                    doing,
                    format!(
                        "not converged after {} s: {fresh} of {} tasks running the new spec{}",
                        budget.as_secs(),
                        seen.desired,
                        because(&why)
                    ),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Why service `id` does not run as wanted: the newest failed task's
    /// error, else what the engine said of its update.
    async fn why(
        &self,
        id: &str,
        seen: &crate::observed::ObservedService,
    ) -> Result<Option<String>, EngineError> {
        Ok(swarm::task_problem(&self.engine, id)
            .await?
            .or_else(|| seen.problem.clone()))
    }

    async fn teardown(
        &self,
        step: &Step,
        id: Option<&str>,
        name: &str,
    ) -> Result<Outcome, EngineError> {
        let engine = &self.engine;
        let target = id.unwrap_or(name);
        let address = &step.address;
        match address.kind {
            Kind::Service => {
                swarm::remove_service(engine, target).await?;
                tasks_gone(engine, target).await?;
            }
            Kind::Config | Kind::Secret => {
                swarm::remove_object(engine, address.kind == Kind::Secret, target).await?;
                // a replaced object: the new one is recorded already
                if self
                    .changes
                    .get(address)
                    .is_some_and(|c| c.action == Action::Replace)
                {
                    return Ok(Outcome::Started);
                }
            }
            Kind::Network => network::remove(engine, target).await?,
            Kind::Volume => volume::remove(engine, name).await?,
            Kind::Image => {}
            Kind::Container => {
                return Err(ops::failed(
                    format!("remove {address}"),
                    "a container in a Swarm stack's state (a bug in berth, please report it)",
                ));
            }
        }
        Ok(Outcome::Forget(address.clone()))
    }
}

impl Driver for SwarmDriver {
    type Outcome = Outcome;
    type Error = EngineError;

    async fn run(self: Arc<Self>, step: Step) -> Result<Outcome, EngineError> {
        match &step.kind {
            StepKind::Build => {
                let r = self.resource(&step.address)?.clone();
                self.build(&r).await
            }
            StepKind::Update { ops } => self.update(&step, ops).await,
            StepKind::Teardown { id, name } => self.teardown(&step, id.as_deref(), name).await,
            StepKind::Start | StepKind::Sweep { .. } => Ok(Outcome::Started),
            StepKind::Roll { .. } => Err(ops::failed(
                format!("roll out {}", step.address),
                "Swarm rolls services out itself (a bug in berth, please report it)",
            )),
        }
    }
}

/// `: <why>`, or nothing.
fn because(why: &Option<String>) -> String {
    why.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
}

/// How long Swarm's own rolling update of `r` may take: per batch of
/// `parallelism` tasks, its delay and monitor.
fn update_time(r: &Resource) -> Duration {
    let Some(s) = r.typed().service() else {
        return Duration::ZERO;
    };
    let replicas = s
        .service
        .mode
        .as_ref()
        .and_then(|m| m.replicated.as_ref())
        .and_then(|r| r.replicas)
        .unwrap_or(1)
        .max(1) as u64;
    let Some(u) = &s.service.update_config else {
        return Duration::ZERO;
    };
    let parallelism = u.parallelism.unwrap_or(1).max(1) as u64;
    let batches = replicas.div_ceil(parallelism);
    let per_batch =
        u.delay.unwrap_or(0).max(0) as u64 + u.monitor.unwrap_or(5_000_000_000).max(0) as u64;
    Duration::from_nanos(per_batch.saturating_mul(batches))
}

/// Wait until the containers of a removed service's tasks are gone (they
/// hold the networks the stack removes next), at most [`TASKS_GONE_WAIT`]:
/// the network's removal retries, and says what still holds it.
async fn tasks_gone(engine: &Engine, id: &str) -> Result<(), EngineError> {
    let started = Instant::now();
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("com.docker.swarm.service.id={id}")],
    )]);
    loop {
        let left = engine
            .docker()
            .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..Default::default()
            }))
            .await
            .map_err(|e| engine.error(&format!("list the containers of service {id}"), e))?;
        if left.is_empty() || started.elapsed() > TASKS_GONE_WAIT {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn not_its_kind(r: &Resource) -> EngineError {
    ops::failed(
        format!("apply {}", r.address),
        "its spec is not of its kind (a bug in berth, please report it)",
    )
}
