//! The Swarm backend: a project as a stack on a Docker Swarm manager, the
//! way `docker stack deploy` makes it (services `<project>_<service>`,
//! overlay networks, configs and secrets, the stack's namespace label), so
//! `docker stack ls/ps/services/rm` work on it. It reaches the engine
//! through the same [`Docker`] session as the plain backend (any transport:
//! socket, TCP+TLS, ssh, contexts), and builds images there the same way;
//! services, configs and secrets are its own ([`driver::SwarmDriver`]).

mod driver;

use std::collections::BTreeMap;
use std::sync::Arc;

use super::docker::Docker;
use super::{Backend, Job, Record, Watched};
use crate::apply::executor::{Event, Report, execute};
use crate::engine::ops::swarm;
use crate::engine::{EngineError, Lookup};
use crate::observed::{EngineIdentity, Observed, ObservedContainer};
use crate::plan::Plan;
use crate::resource::{Desired, Kind};
use crate::state::State;

/// A Docker Swarm, through a manager node's engine.
pub struct Swarm {
    docker: Docker,
}

impl Swarm {
    /// The Swarm the engine `docker` reaches is a manager of.
    pub fn new(docker: Docker) -> Swarm {
        Swarm { docker }
    }

    /// The engine, refused (one line, what to do) when it is not a manager.
    fn manager(&mut self) -> Result<crate::engine::Engine, EngineError> {
        let engine = self.docker.engine()?;
        let (identity, manager) = self.docker.block_on(swarm::manager_info(&engine))?;
        if !manager {
            return Err(not_a_manager(&engine));
        }
        self.docker.remember_identity(identity);
        Ok(engine)
    }
}

/// Why berth cannot plan a stack on this engine, and what to do.
fn not_a_manager(engine: &crate::engine::Engine) -> EngineError {
    crate::engine::ops::failed(
        "use Docker Swarm (--backend swarm)",
        format!(
            "the engine at {} is not a Swarm manager: run `docker swarm init` there (a one-node swarm), or reach a manager node (-H, --context)",
            engine.endpoint().host
        ),
    )
}

impl Backend for Swarm {
    fn observe(&mut self, desired: &Desired, state: &State) -> Result<Observed, EngineError> {
        let engine = self.docker.engine()?;
        let names = |kind: Kind| super::looked_up(desired, state, kind);
        let (networks, volumes, images) = (
            names(Kind::Network),
            names(Kind::Volume),
            names(Kind::Image),
        );
        let lookup = Lookup {
            containers: &[],
            networks: &networks,
            volumes: &volumes,
            images: &images,
        };
        let project = desired.project.as_str();
        // one round trip: who the engine is, the plain objects, the stack's
        let (info, observed, stack) = self.docker.block_on(async {
            tokio::join!(
                swarm::manager_info(&engine),
                engine.observe(project, &lookup),
                swarm::observe(&engine, project),
            )
        });
        let (identity, manager) = info?;
        if !manager {
            return Err(not_a_manager(&engine));
        }
        self.docker.remember_identity(identity);
        let mut observed = observed?;
        let (mut services, configs, secrets) = stack?;
        // the stack's overlay networks carry its namespace label, not the
        // compose project's: they were asked for by name above
        let ids: BTreeMap<String, String> = observed
            .networks
            .iter()
            .map(|n| (n.id.clone(), n.name.clone()))
            .collect();
        swarm::name_references(&mut services, &ids, &observed.images);
        observed.services = services;
        observed.configs = configs;
        observed.secrets = secrets;
        // task containers are the engine's business, not the plan's
        observed.containers.clear();
        observed.taken.clear();
        Ok(observed)
    }

    fn container(&mut self, _id: &str) -> Result<Option<ObservedContainer>, EngineError> {
        Ok(None)
    }

    fn limits(&mut self, _plan: &Plan, _desired: &Desired) -> Result<Vec<String>, EngineError> {
        Ok(Vec::new())
    }

    fn identity(&mut self) -> Result<EngineIdentity, EngineError> {
        self.docker.identity()
    }

    fn remote_host(&mut self) -> Option<String> {
        self.docker.remote_host()
    }

    fn kept_images(&mut self, repository: &str) -> Result<BTreeMap<String, String>, EngineError> {
        self.docker.kept_images(repository)
    }

    fn keep_images(
        &mut self,
        repository: &str,
        wanted: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, EngineError> {
        self.docker.keep_images(repository, wanted)
    }

    fn execute(
        &mut self,
        job: Job<'_>,
        record: &mut Record<'_>,
        event: &mut dyn FnMut(Event),
    ) -> Result<Report<EngineError>, EngineError> {
        let engine = self.manager()?;
        let driver = Arc::new(driver::SwarmDriver::new(engine, &job));
        Ok(self
            .docker
            .block_on(execute(driver, job.steps, job.parallelism, record, event)))
    }

    fn watch(
        &mut self,
        _duration: std::time::Duration,
        _record: &mut Record<'_>,
    ) -> Result<Watched, EngineError> {
        // Swarm watches its own rollouts (`update_config.monitor`,
        // `failure_action: rollback`): apply waited for them to converge
        Ok(Watched::Nothing)
    }
}
