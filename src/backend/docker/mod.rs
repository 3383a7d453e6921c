//! The Docker backend: a project's resources as containers, networks,
//! volumes and images on one Docker engine, through its API (bollard). It
//! owns the [`Session`] (the connection, made in the background while the
//! files load, shared by plan and apply) and the [`EngineDriver`].

mod driver;

use std::sync::Arc;

pub use driver::EngineDriver;
pub(in crate::backend) use driver::obtain_image;

use super::{Backend, Job, Record, Watched};
use crate::apply::executor::{Event, Report, execute};
use crate::engine::{Engine, EngineError, Lookup, Selection, Session};
use crate::observed::{EngineIdentity, Observed, ObservedContainer};
use crate::plan::{Action, Plan};
use crate::resource::{Desired, Kind};
use crate::state::State;

/// The Docker engine the flags and environment name (`--host`,
/// `--context`, `DOCKER_HOST`, docker contexts, else the default socket).
pub struct Docker {
    session: Session,
    /// The engine's identity, asked once (beside the first observation).
    identity: Option<EngineIdentity>,
    /// The driver of the last [`Backend::execute`]: [`Backend::watch`]
    /// goes on with its rollouts.
    last_driver: Option<Arc<EngineDriver>>,
}

impl Docker {
    /// Start connecting in the background. Fails only when the OS refuses
    /// the runtime's threads.
    pub fn start(selection: Selection) -> std::io::Result<Docker> {
        Ok(Docker {
            session: Session::start(selection)?,
            identity: None,
            last_driver: None,
        })
    }

    /// The engine, once connected.
    pub(in crate::backend) fn engine(&mut self) -> Result<Engine, EngineError> {
        self.session.engine()
    }

    /// The engine's identity, read by another backend beside its own
    /// observation (not asked again).
    pub(in crate::backend) fn remember_identity(&mut self, identity: EngineIdentity) {
        self.identity = Some(identity);
    }

    /// Run `future` on the session's runtime.
    pub(in crate::backend) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.session.block_on(future)
    }
}

impl Backend for Docker {
    fn observe(&mut self, desired: &Desired, state: &State) -> Result<Observed, EngineError> {
        let names = |kind: Kind| -> Vec<String> {
            desired
                .resources
                .values()
                .filter(|r| r.address.kind == kind)
                .map(|r| r.engine_name.clone())
                .collect()
        };
        let containers = super::looked_up(desired, state, Kind::Container);
        let (networks, volumes, images) = (
            names(Kind::Network),
            names(Kind::Volume),
            names(Kind::Image),
        );
        let lookup = Lookup {
            containers: &containers,
            networks: &networks,
            volumes: &volumes,
            images: &images,
        };
        let engine = self.engine()?;
        // who the engine is costs no extra time: asked beside the lists
        let (observed, identity) = self.session.block_on(async {
            tokio::join!(engine.observe(&desired.project, &lookup), engine.identity())
        });
        self.identity = Some(identity?);
        observed
    }

    fn remote_host(&mut self) -> Option<String> {
        self.engine().ok()?.endpoint().remote_host()
    }

    fn identity(&mut self) -> Result<EngineIdentity, EngineError> {
        if let Some(identity) = &self.identity {
            return Ok(identity.clone());
        }
        let engine = self.engine()?;
        let identity = self.session.block_on(engine.identity())?;
        self.identity = Some(identity.clone());
        Ok(identity)
    }

    fn container(&mut self, id: &str) -> Result<Option<ObservedContainer>, EngineError> {
        let engine = self.engine()?;
        self.session.block_on(engine.inspect(id))
    }

    /// `mac_address` needs API 1.44 (bollard's create request no longer
    /// carries the container-wide MAC address older engines read).
    fn limits(&mut self, plan: &Plan, desired: &Desired) -> Result<Vec<String>, EngineError> {
        if self.engine()?.api_at_least(1, 44) {
            return Ok(Vec::new());
        }
        Ok(plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Replace))
            .filter_map(|c| desired.resources.get(&c.address))
            .filter(|r| {
                r.typed()
                    .container()
                    .is_some_and(|c| c.service.mac_address.is_some())
            })
            .map(|r| {
                format!(
                    "`{}` sets `mac_address`, which berth can apply only on engines with API 1.44 or later (Docker 25); this engine is older: remove it, or upgrade the engine",
                    r.address
                )
            })
            .collect())
    }

    fn kept_images(
        &mut self,
        repository: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, EngineError> {
        let engine = self.engine()?;
        self.session
            .block_on(crate::engine::ops::image::references(&engine, repository))
    }

    fn keep_images(
        &mut self,
        repository: &str,
        wanted: &std::collections::BTreeMap<String, String>,
    ) -> Result<Vec<String>, EngineError> {
        use crate::engine::ops::image;
        use futures_util::{StreamExt, TryStreamExt, stream};
        // one tag per image and deploy: at most this many at once
        const AT_ONCE: usize = 16;
        let engine = self.engine()?;
        self.session.block_on(async {
            let present = image::references(&engine, repository).await?;
            let engine = &engine;
            stream::iter(wanted.iter().filter(|(r, id)| present.get(*r) != Some(*id)))
                .map(|(reference, id)| image::tag(engine, id, reference))
                .buffer_unordered(AT_ONCE)
                .try_collect::<Vec<()>>()
                .await?;
            let removed: Vec<String> = present
                .keys()
                .filter(|r| !wanted.contains_key(*r))
                .cloned()
                .collect();
            // one at a time: two references of one image removed at once
            // would race to remove the image with the last of them
            for reference in &removed {
                image::untag(engine, reference).await?;
            }
            Ok(removed)
        })
    }

    fn execute(
        &mut self,
        job: Job<'_>,
        record: &mut Record<'_>,
        event: &mut dyn FnMut(Event),
    ) -> Result<Report<EngineError>, EngineError> {
        let engine = self.engine()?;
        let watch = job.watch;
        let mut driver = EngineDriver::new(
            engine,
            job.project,
            job.desired,
            job.plan,
            job.lineage,
            job.previous,
        );
        if job.anonymous_volumes {
            driver = driver.removing_anonymous_volumes();
        }
        if watch {
            driver = driver.watching();
        }
        let driver = Arc::new(driver);
        self.last_driver = Some(driver.clone());
        Ok(self
            .session
            .block_on(execute(driver, job.steps, job.parallelism, record, event)))
    }

    fn watch(
        &mut self,
        duration: std::time::Duration,
        record: &mut Record<'_>,
    ) -> Result<Watched, EngineError> {
        let Some(driver) = self.last_driver.clone() else {
            return Ok(Watched::Nothing);
        };
        let (watched, outcomes) = self.session.block_on(driver.watch(duration));
        for (step, outcome) in outcomes {
            record(&step, outcome).map_err(|e| {
                crate::engine::ops::failed("record the rollback in the state", e.to_string())
            })?;
        }
        Ok(watched)
    }
}
