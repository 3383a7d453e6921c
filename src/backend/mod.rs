//! The seam between the pipeline and what runs the containers. Plan and
//! apply see a [`Backend`]: it observes what is there as plain
//! [`Observed`] data (the diff reads nothing else), says what it cannot do of
//! a plan before anything changes, and carries out steps through a
//! [`Driver`](crate::apply::executor::Driver) that the backend-neutral
//! executor schedules. Separate so a second backend (Docker Swarm: services
//! instead of containers) and other transports to an engine (ssh, TLS,
//! contexts: below this seam, in `engine::connect`) plug in without touching
//! the diff, the executor or the commands. `docs/design-notes.md` sketches
//! how Swarm fits.
//!
//! One backend today: [`docker::Docker`], the Docker engine's API.

pub mod docker;
#[cfg(test)]
mod model;
pub mod swarm;

use crate::apply::Outcome;
use crate::apply::executor::{Event, Report};
use crate::apply::steps::Step;
use crate::compose::model::Project;
use crate::engine::EngineError;
use crate::observed::{Observed, ObservedContainer};
use crate::plan::Plan;
use crate::resource::Desired;
use crate::state::{State, StateError};

/// Which engine to reach (`--host`, `--context`), as the engine resolves it.
pub use crate::engine::Selection;

/// One apply's worth of work for [`Backend::execute`].
pub struct Job<'a> {
    pub project: &'a Project,
    pub desired: &'a Desired,
    pub plan: &'a Plan,
    /// The state's lineage, labelled on what is created.
    pub lineage: &'a str,
    pub steps: Vec<Step>,
    pub parallelism: usize,
    /// Removing a container removes its anonymous volumes (`destroy --volumes`).
    pub anonymous_volumes: bool,
    /// `apply --watch`: keep the old containers of every rollout until
    /// [`Backend::watch`] is over.
    pub watch: bool,
    /// The state's records of the containers a rollout replaces, recorded
    /// again when it rolls back to them.
    pub previous: std::collections::BTreeMap<crate::resource::Address, crate::state::StateResource>,
}

/// Called once per finished step, in completion order: record its outcome
/// (and save the state); an error fails the step.
pub type Record<'a> = dyn FnMut(&Step, Outcome) -> Result<(), StateError> + 'a;

/// What runs a project's resources. Every method talks to the engine; every
/// error is the engine's, one line a person can act on.
pub trait Backend {
    /// What the engine holds for the desired resources, and for the
    /// containers the state records.
    fn observe(&mut self, desired: &Desired, state: &State) -> Result<Observed, EngineError>;

    /// One container by name or ID (`berth import ADDRESS ID`); `None` when
    /// the engine has no such container.
    fn container(&mut self, id: &str) -> Result<Option<ObservedContainer>, EngineError>;

    /// What this engine cannot do of the plan, one problem per line, found
    /// before anything changes (an attribute the engine's API is too old for).
    fn limits(&mut self, plan: &Plan, desired: &Desired) -> Result<Vec<String>, EngineError>;

    /// Which engine this is (its ID, name and the address it was reached
    /// at), recorded in the state so that a plan against another engine is
    /// refused.
    fn identity(&mut self) -> Result<crate::observed::EngineIdentity, EngineError>;

    /// The name of the machine the engine runs on when it is not this one
    /// (published ports are reached there, not at localhost).
    fn remote_host(&mut self) -> Option<String>;

    /// The references of `repository` (`berth-keep/<project>`: what keeps
    /// the images of recorded deploys from pruning) and the image ID each
    /// names.
    fn kept_images(
        &mut self,
        repository: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, EngineError>;

    /// Make the references of `repository` exactly `wanted` (reference ->
    /// image ID): tag what is missing or names another image, remove the
    /// rest (an image nothing else names goes with its last reference).
    /// Returns the references removed.
    fn keep_images(
        &mut self,
        repository: &str,
        wanted: &std::collections::BTreeMap<String, String>,
    ) -> Result<Vec<String>, EngineError>;

    /// Carry out the steps, at most `job.parallelism` at once; `event`
    /// reports progress. Fails only when the engine cannot be reached at
    /// all; a failing step is in the report.
    fn execute(
        &mut self,
        job: Job<'_>,
        record: &mut Record<'_>,
        event: &mut dyn FnMut(Event),
    ) -> Result<Report<EngineError>, EngineError>;

    /// After [`Backend::execute`] of a job with `watch`: watch the
    /// containers its rollouts replaced for `duration`; when one turns
    /// unhealthy, restarts or exits, put every rollout back to the old
    /// containers (recorded through `record`).
    fn watch(
        &mut self,
        duration: std::time::Duration,
        record: &mut Record<'_>,
    ) -> Result<Watched, EngineError>;
}

/// How [`Backend::watch`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// The apply rolled nothing out.
    Nothing,
    /// This many replaced containers stayed healthy; the old ones are gone.
    Held(usize),
    /// `problem` was seen; `back` containers run their old version again.
    RolledBack { problem: String, back: usize },
}

/// The engine names of the `kind` resources the files ask for and the
/// state records, sorted, once each: what an observation looks up by name.
fn looked_up(desired: &Desired, state: &State, kind: crate::resource::Kind) -> Vec<String> {
    let mut names: Vec<String> = desired
        .resources
        .values()
        .filter(|r| r.address.kind == kind)
        .map(|r| r.engine_name.clone())
        .chain(
            state
                .resources
                .iter()
                .filter(|(a, _)| a.kind == kind)
                .map(|(_, r)| r.name.clone()),
        )
        .collect();
    names.sort();
    names.dedup();
    names
}
