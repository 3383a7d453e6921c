//! The plan pipeline every command that plans runs, top to bottom:
//! load the files → resolve the desired resources → lock and read the state
//! → observe the engine (through the [`Backend`]) → diff. A command builds a
//! [`PlanRequest`] from its flags, calls [`plan`], and prints or applies the
//! [`Planned`] it gets back. Separate from the commands so they stay thin,
//! and from `plan` (the pure diff) because this is where files, state and
//! the engine meet.

mod inputs;
mod load;
mod rollback;

use std::sync::Arc;
use std::time::Duration;

pub use inputs::input_hashes;
pub use load::{Source, load, load_applicable, state_path};
pub use rollback::rollback_desired;

use crate::backend::docker::Docker;
use crate::backend::swarm::Swarm;
use crate::backend::{Backend, Selection};
use crate::compose::BackendKind;
use crate::compose::Loaded;
use crate::error::Error;
use crate::observed::{EngineIdentity, Observed};
use crate::plan::{DiffInput, Mode, Plan, diff};
use crate::resource::desired::resolve_taking_services;
use crate::resource::{Desired, ResolveOptions, resolve};
use crate::state::{LockGuard, State, StateError, StateStore};

/// The state lock: taken unless `--lock=false`, waiting up to `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct LockRequest {
    pub enabled: bool,
    pub timeout: Duration,
}

/// What to plan, from a command's flags.
pub struct PlanRequest<'a> {
    pub source: &'a Source,
    /// The command, as the lock note names its holder (`berth apply`).
    pub command: &'static str,
    pub mode: Mode,
    pub options: ResolveOptions,
    /// Observe the engine (`--refresh=false`: plan from the state alone).
    pub refresh: bool,
    pub remove_orphans: bool,
    pub lock: LockRequest,
    /// Free the compose model once the resources are resolved (`berth
    /// plan`, which needs nothing else of it); apply keeps it for the driver.
    pub release_model: bool,
}

/// Everything a plan was computed from; apply continues from here.
pub struct Planned {
    pub loaded: Loaded,
    pub desired: Desired,
    pub store: StateStore,
    pub state: State,
    /// Whether the state file existed (a fresh state has serial 0).
    pub state_exists: bool,
    pub plan: Plan,
    /// Held until the command ends.
    pub lock: Option<LockGuard>,
    /// What the engine showed (`None` with `--refresh=false`).
    pub observed: Option<Observed>,
    /// The backend the plan observed through (`None` with `--refresh=false`),
    /// for apply to go on with.
    backend: Option<Box<dyn Backend>>,
    /// Which engine (`--host`, `--context`), for a backend made later.
    engine: Selection,
    /// `--move-engine`: the state may move to the engine reached now.
    move_engine: bool,
    /// The engine the state was recorded on, when `--move-engine` moved it
    /// to this one (apply then saves the state even with nothing to do).
    pub engine_moved: Option<EngineIdentity>,
    pub options: ResolveOptions,
}

impl Planned {
    /// The backend the plan observed through, or (`--refresh=false`) a new
    /// one, checked to be the state's engine.
    pub fn take_backend(&mut self) -> Result<Box<dyn Backend>, Error> {
        match self.backend.take() {
            Some(b) => Ok(b),
            None => {
                let mut b = connect(&self.engine, self.loaded.backend)?;
                let moved = check_engine(
                    &mut *b,
                    &mut self.state,
                    self.store.path(),
                    self.move_engine,
                )?;
                self.engine_moved = self.engine_moved.take().or(moved);
                Ok(b)
            }
        }
    }
}

/// The backend for this project: the Docker engine `selection` and the
/// environment name (`--host`, `--context`, `DOCKER_HOST`, the current
/// docker context, else the default socket), connecting in the background
/// from now on.
pub fn connect(selection: &Selection, kind: BackendKind) -> Result<Box<dyn Backend>, Error> {
    Ok(backend(start(selection)?, kind))
}

/// Start connecting to the engine (before the files say which backend).
fn start(selection: &Selection) -> Result<Docker, Error> {
    Docker::start(selection.clone()).map_err(|e| Error::io("start the async runtime", e))
}

/// The backend of `kind` on the engine `docker` reaches.
fn backend(docker: Docker, kind: BackendKind) -> Box<dyn Backend> {
    match kind {
        BackendKind::Docker => Box::new(docker),
        BackendKind::Swarm => Box::new(Swarm::new(docker)),
    }
}

/// Whether any service sets a value berth seals: an environment variable or
/// build argument named like a secret, or a secret file.
fn has_sensitive_values(project: &crate::compose::model::Project) -> bool {
    use crate::resource::sensitive::is_sensitive_name;
    project.services.values().any(|s| {
        !s.secrets.is_empty()
            || s.environment.keys().any(|k| is_sensitive_name(k))
            || s.build
                .as_ref()
                .is_some_and(|b| b.args.keys().any(|k| is_sensitive_name(k)))
    })
}

/// Refuse to go on when the state was applied to another engine than
/// `backend`'s (unless `move_engine`), and record `backend`'s engine in the
/// state (saved with the state's next save). Returns the engine the state
/// moved from, if it moved.
fn check_engine(
    backend: &mut dyn Backend,
    state: &mut State,
    path: &std::path::Path,
    move_engine: bool,
) -> Result<Option<EngineIdentity>, Error> {
    let current = backend.identity()?;
    let moved = match &state.engine {
        Some(recorded) if !recorded.same_engine(&current) => {
            if !move_engine {
                return Err(StateError::OtherEngine {
                    path: path.to_path_buf(),
                    recorded: recorded.to_string(),
                    current: current.to_string(),
                }
                .into());
            }
            eprintln!("note: --move-engine: the state moves from engine {recorded} to {current}");
            Some(recorded.clone())
        }
        _ => None,
    };
    state.engine = Some(current);
    Ok(moved)
}

/// On a remote engine, bind-mount sources are paths on the engine's machine:
/// berth cannot check them from here, and says so once.
fn remote_binds_note(desired: &Desired, host: &str) -> Option<String> {
    let mut sources: Vec<&str> = desired
        .resources
        .values()
        .filter_map(|r| r.typed().container())
        .flat_map(|c| &c.service.volumes)
        .filter(|m| m.kind == crate::compose::model::MountType::Bind)
        .filter_map(|m| m.source.as_deref())
        .collect();
    sources.sort_unstable();
    sources.dedup();
    if sources.is_empty() {
        return None;
    }
    let shown = sources
        .iter()
        .take(5)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let more = match sources.len().saturating_sub(5) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(format!(
        "note: the engine runs on {host}: bind-mount sources are paths on that machine, not checked from here: {shown}{more}"
    ))
}

/// Load, resolve, lock, read state, observe, diff.
pub fn plan(request: PlanRequest<'_>) -> Result<Planned, Error> {
    plan_with(request, None)
}

/// Changes the desired resources once the state is read (locked, its
/// values sealed), before the engine is observed: `berth rollback` puts a
/// recorded deploy's containers in place of the files' ones.
pub type Rewrite<'a> = &'a dyn Fn(&mut Desired, &State, &Loaded) -> Result<(), Error>;

/// [`plan`], with the desired resources changed by `rewrite` before the diff.
pub fn plan_with(request: PlanRequest<'_>, rewrite: Option<Rewrite<'_>>) -> Result<Planned, Error> {
    let PlanRequest {
        source,
        command,
        mode,
        mut options,
        refresh,
        remove_orphans,
        lock,
        release_model,
    } = request;
    // connect while the files load
    let early = if refresh {
        Some(start(&source.engine)?)
    } else {
        None
    };
    // a destroy removes what the state holds, whatever the files now say
    let mut loaded = if mode == Mode::Destroy {
        load(source, &options.targets)?
    } else {
        load_applicable(source, &options.targets)?
    };
    let path = state_path(source, &loaded);
    if let Some(dir) = path.parent() {
        options.context_skip.push(crate::paths::clean(dir).into());
    }
    options.context_cache = Some(crate::resource::context_cache::beside_state(&path));
    let team_key = std::env::var(crate::state::key::KEY_ENV).ok();
    options.seal = crate::state::key::load(
        &path,
        team_key.as_deref(),
        has_sensitive_values(&loaded.project),
    )?
    .map(Arc::new);
    let mut backend = early.map(|docker| backend(docker, loaded.backend));
    let mut timer = crate::timing::Timer::new();
    let mut desired = if loaded.backend == BackendKind::Swarm {
        crate::resource::desired::resolve_swarm(&loaded.project, &options)?
    } else if release_model {
        resolve_releasing(&mut loaded, &options)?
    } else {
        resolve(&loaded.project, &options)?
    };
    timer.lap("resolve");
    let lock = take_lock(&path, command, lock)?;
    let store = StateStore::new(path);
    let existing = store.load(&loaded.project.name)?;
    let state_exists = existing.is_some();
    let mut state = existing.unwrap_or_else(|| State::new(&loaded.project.name));
    if state.backend != loaded.backend {
        if !state.resources.is_empty() {
            return Err(StateError::OtherBackend {
                path: store.path().to_path_buf(),
                recorded: state.backend,
                current: loaded.backend,
            }
            .into());
        }
        state.backend = loaded.backend;
    }
    if state.sealed_with.is_some() || state.has_unsealed() {
        // a state sealed before, or one from before sealing: the key it needs
        if options.seal.is_none() {
            options.seal = crate::state::key::load(
                store.path(),
                team_key.as_deref(),
                state.sealed_with.is_none(),
            )?
            .map(Arc::new);
        }
        let Some(key) = &options.seal else {
            return Err(StateError::Key {
                path: crate::state::key::key_path(store.path()),
                detail: format!(
                    "it is missing, and the state was sealed with key {}",
                    state.sealed_with.as_deref().unwrap_or("?")
                ),
            }
            .into());
        };
        state.seal_with(key, store.path())?;
    } else if let Some(key) = &options.seal {
        state.sealed_with = Some(key.id());
    }
    if let Some(rewrite) = rewrite {
        rewrite(&mut desired, &state, &loaded)?;
    }
    let mut engine_moved = None;
    let observed = match &mut backend {
        Some(b) => {
            let observed = b.observe(&desired, &state)?;
            engine_moved = check_engine(&mut **b, &mut state, store.path(), source.move_engine)?;
            if let Some(note) = b
                .remote_host()
                .and_then(|h| remote_binds_note(&desired, &h))
            {
                eprintln!("{note}");
            }
            Some(observed)
        }
        None => None,
    };
    timer.lap("state, observe");
    let mut plan = diff(&DiffInput {
        mode,
        desired: &desired,
        state: &state,
        observed: observed.as_ref(),
        remove_orphans,
        targets: &options.targets,
    });
    if let Some(b) = &mut backend
        && mode == Mode::Converge
    {
        plan.errors.extend(b.limits(&plan, &desired)?);
    }
    timer.lap("diff");
    Ok(Planned {
        loaded,
        desired,
        store,
        state,
        state_exists,
        plan,
        lock,
        observed,
        backend,
        engine: source.engine.clone(),
        move_engine: source.move_engine,
        engine_moved,
        options,
    })
}

/// The desired resources, freeing the model's services while resolving:
/// the diff and the text reuse their memory. (Giving the tree's and the
/// services' memory back to the OS before and after resolving, as plan did
/// when the specs were JSON values twice their size, cost a 5,000-service
/// plan ~25 ms of page faults for 4 MB less peak RSS: 54 -> 58 MB.)
fn resolve_releasing(loaded: &mut Loaded, options: &ResolveOptions) -> Result<Desired, Error> {
    let desired = resolve_taking_services(&mut loaded.project, options)?;
    loaded.project.services = Default::default();
    Ok(desired)
}

/// Take the state lock unless `--lock=false`.
pub fn take_lock(
    path: &std::path::Path,
    command: &str,
    lock: LockRequest,
) -> Result<Option<LockGuard>, Error> {
    if !lock.enabled {
        return Ok(None);
    }
    Ok(Some(crate::state::lock(path, command, lock.timeout)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_engine_notes_bind_sources_once_and_nothing_else() {
        let project = crate::compose::project_from_yaml(
            "services:\n  a:\n    image: x\n    volumes: [\"/srv/data:/data\", \"cache:/cache\", \"/srv/data:/again\"]\n  b:\n    image: x\n    volumes: [\"/etc/app:/etc/app:ro\"]\nvolumes:\n  cache: {}\n",
            "demo",
        );
        let desired = resolve(&project, &ResolveOptions::default()).unwrap();
        assert_eq!(
            remote_binds_note(&desired, "prod.example.com").as_deref(),
            Some(
                "note: the engine runs on prod.example.com: bind-mount sources are paths on that machine, not checked from here: /etc/app, /srv/data"
            )
        );
        let none = crate::compose::project_from_yaml("services:\n  a:\n    image: x\n", "demo");
        let desired = resolve(&none, &ResolveOptions::default()).unwrap();
        assert_eq!(remote_binds_note(&desired, "prod"), None);
    }
}
