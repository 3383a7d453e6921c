//! `berth plan`: what apply would change, and why.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{GlobalArgs, LockArgs, PlanArgs, PlanFormat};
use crate::compose::Loaded;
use crate::engine::{Lookup, Session};
use crate::observed::Observed;
use crate::plan::saved::{self, SavedPlan};
use crate::plan::{DiffInput, Mode, Plan, diff};
use crate::render;
use crate::resource::desired::resolve_taking_services;
use crate::resource::{Desired, Kind, ResolveOptions, resolve};
use crate::run::{Error, load, load_applicable, print_out, print_out_chunks, use_color};
use crate::state::{LockGuard, State, StateStore, default_path, lock};

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
    /// The engine connection observation used (`None` with `--refresh=false`),
    /// for apply to go on with.
    pub session: Option<Session>,
    pub options: ResolveOptions,
}

/// The state file: `--state`, `BERTH_STATE`, else `state/<project>.json` in the project directory.
pub fn state_path(g: &GlobalArgs, loaded: &Loaded) -> PathBuf {
    g.state
        .clone()
        .unwrap_or_else(|| default_path(&loaded.project.working_dir, &loaded.project.name))
}

/// Take the state lock unless `--lock=false`.
pub fn take_lock(
    path: &std::path::Path,
    command: &str,
    args: &LockArgs,
) -> Result<Option<LockGuard>, Error> {
    if !args.lock {
        return Ok(None);
    }
    Ok(Some(lock(path, command, args.lock_timeout)?))
}

/// Observe what the engine holds for the desired resources (and, for the
/// containers, the ones the state records) on a new connection.
pub fn observe(desired: &Desired, state: &State) -> Result<Observed, Error> {
    observe_with(&mut start_session()?, desired, state)
}

/// A [`Session`]: the engine connection, started in the background.
pub fn start_session() -> Result<Session, Error> {
    Session::start().map_err(|e| Error::Io(format!("cannot start the async runtime: {e}")))
}

/// [`observe`] on a session's connection.
pub fn observe_with(
    session: &mut Session,
    desired: &Desired,
    state: &State,
) -> Result<Observed, Error> {
    let names = |kind: Kind| -> Vec<String> {
        desired
            .resources
            .values()
            .filter(|r| r.address.kind == kind)
            .map(|r| r.engine_name.clone())
            .collect()
    };
    let mut containers = names(Kind::Container);
    containers.extend(
        state
            .resources
            .iter()
            .filter(|(a, _)| a.kind == Kind::Container)
            .map(|(_, r)| r.name.clone()),
    );
    containers.sort();
    containers.dedup();
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
    let engine = session.engine()?;
    Ok(session.block_on(engine.observe(&desired.project, &lookup))?)
}

/// What the engine cannot do of the plan, found before anything changes:
/// `mac_address` needs API 1.44 (bollard's create request no longer carries
/// the container-wide MAC address older engines read).
fn engine_limits(plan: &Plan, desired: &Desired, engine: &crate::engine::Engine) -> Vec<String> {
    if engine.api_at_least(1, 44) {
        return Vec::new();
    }
    plan.changes
        .iter()
        .filter(|c| matches!(c.action, crate::plan::Action::Create | crate::plan::Action::Replace))
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
        .collect()
}

/// Load, resolve, lock, read state, observe, diff.
pub fn compute(
    g: &GlobalArgs,
    command: &str,
    mode: Mode,
    options: ResolveOptions,
    refresh: bool,
    remove_orphans: bool,
    lock_args: &LockArgs,
) -> Result<Planned, Error> {
    // connect while the files load (see Session)
    let mut session = if refresh {
        Some(start_session()?)
    } else {
        None
    };
    // a destroy removes what the state holds, whatever the files now say
    let loaded = if mode == Mode::Destroy {
        load(g, &options.targets)?
    } else {
        load_applicable(g, &options.targets)?
    };
    let path = state_path(g, &loaded);
    let mut options = options;
    if let Some(dir) = path.parent() {
        options.context_skip.push(crate::paths::clean(dir).into());
    }
    options.context_cache = Some(crate::resource::context_cache::beside_state(&path));
    let mut timer = crate::timing::Timer::new();
    let mut loaded = loaded;
    let desired = if command == "berth plan" {
        // the tree is gone: its memory goes back before the specs are built
        crate::memory::release();
        // plan needs only the resolved resources from here on: free the model
        // while resolving and before diffing and rendering
        let desired = resolve_taking_services(&mut loaded.project, &options)?;
        loaded.project.services = Default::default();
        crate::memory::release();
        desired
    } else {
        resolve(&loaded.project, &options)?
    };
    timer.lap("resolve");
    let lock = take_lock(&path, command, lock_args)?;
    let store = StateStore::new(path);
    let existing = store.load(&loaded.project.name)?;
    let state_exists = existing.is_some();
    let state = existing.unwrap_or_else(|| State::new(&loaded.project.name));
    let observed = match &mut session {
        Some(session) => Some(observe_with(session, &desired, &state)?),
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
    if let Some(session) = &mut session
        && mode == Mode::Converge
    {
        plan.errors
            .extend(engine_limits(&plan, &desired, &session.engine()?));
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
        session,
        options,
    })
}

/// The hash of every input a plan depends on: compose and env files, build contexts.
pub fn input_hashes(loaded: &Loaded, desired: &Desired) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for path in &loaded.inputs {
        out.insert(path.display().to_string(), saved::file_hash(path));
    }
    for r in desired.resources.values() {
        if let Some(b) = r.typed().image().and_then(|i| i.build.as_ref()) {
            out.insert(
                format!("build-context:{}", b.context),
                b.context_hash.clone(),
            );
        }
        if let Some(c) = r.typed().container() {
            for (k, v) in &c.files {
                out.insert(format!("{}:{k}", r.address), v.clone());
            }
        }
    }
    out
}

/// Render a plan in the asked format.
pub fn render(plan: &Plan, format: PlanFormat, color: bool) -> String {
    match format {
        PlanFormat::Text => render::text(plan, color),
        PlanFormat::Markdown => render::markdown(plan),
        PlanFormat::Json => render::json(plan),
    }
}

pub fn run(g: &GlobalArgs, args: &PlanArgs) -> Result<ExitCode, Error> {
    let options = ResolveOptions {
        scale: args.scale.iter().cloned().collect(),
        targets: args.targets.clone(),
        ..Default::default()
    };
    let mode = if args.refresh_only {
        Mode::RefreshOnly
    } else {
        Mode::Converge
    };
    if args.refresh_only && !args.refresh {
        return Err(Error::Io(
            "--refresh-only compares the engine with the state: it cannot be combined with --refresh=false".into(),
        ));
    }
    let planned = compute(
        g,
        "berth plan",
        mode,
        options,
        args.refresh,
        args.remove_orphans,
        &args.lock,
    )?;
    let plan = &planned.plan;
    let mut timer = crate::timing::Timer::new();
    let color = use_color(g, false);
    match args.format {
        // thousands of resources: printed as laid out, not held as one String
        PlanFormat::Text => print_out_chunks(|emit| render::text_to(plan, color, emit))?,
        format => print_out(&render(plan, format, color))?,
    }
    timer.lap("render, print");
    if !plan.errors.is_empty() {
        return Err(Error::Plan(plan.errors.clone()));
    }
    if let Some(out) = &args.out {
        let saved = SavedPlan {
            format_version: saved::FORMAT_VERSION,
            berth_version: env!("CARGO_PKG_VERSION").to_string(),
            project: plan.project.clone(),
            plan_hash: plan.hash(),
            inputs: input_hashes(&planned.loaded, &planned.desired),
            state_lineage: planned.state.lineage.clone(),
            state_serial: planned.state.serial,
            targets: planned.options.targets.clone(),
            scale: planned.options.scale.clone(),
            remove_orphans: args.remove_orphans,
            plan: plan.clone(),
        };
        saved
            .write(out)
            .map_err(|e| Error::Io(format!("cannot write plan file `{}`: {e}", out.display())))?;
        eprintln!(
            "Saved the plan to `{}`. To perform exactly these actions, run: berth apply {}",
            out.display(),
            out.display()
        );
    }
    let changes = plan.has_changes();
    // the process ends next: freeing a large project and plan only costs time
    std::mem::forget(planned);
    Ok(if args.detailed_exitcode && changes {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `berth drift`: `plan --refresh-only`.
pub fn drift(g: &GlobalArgs, args: &PlanArgs) -> Result<ExitCode, Error> {
    let mut args = args.clone();
    args.refresh_only = true;
    run(g, &args)
}
