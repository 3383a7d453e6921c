//! The commands, one module each, and the dispatch. A command is thin: it
//! reads its flags into a request, runs the pipeline (or the state alone),
//! and prints. Everything it needs from below comes through `pipeline`,
//! `backend` and `output`.

pub mod apply;
pub mod completions;
pub mod config;
pub mod destroy;
pub mod import;
pub mod man;
pub mod plan;
pub mod rollback;
pub mod show;
pub mod state;
pub mod validate;

use std::process::ExitCode;

use crate::cli::{Cli, Command, GlobalArgs, LockArgs};
use crate::error::Error;
use crate::pipeline::{LockRequest, Source};

/// Run the command the command line names.
pub fn run(cli: &Cli) -> Result<ExitCode, Error> {
    let g = &cli.global;
    match &cli.command {
        Command::Validate => validate::run(g),
        Command::Config(args) => config::run(g, args),
        Command::Plan(args) => plan::run(g, args),
        Command::Drift(args) => plan::drift(g, args),
        Command::Apply(args) => apply::run(g, args),
        Command::Rollback(args) => rollback::run(g, args),
        Command::Destroy(args) => destroy::run(g, args),
        Command::Import(args) => import::run(g, args),
        Command::Show(args) => show::run(g, args),
        Command::State(cmd) => state::run(g, cmd),
        Command::ForceUnlock => state::force_unlock(g),
        Command::Completions { shell } => completions::run(*shell),
        Command::Man { dir } => man::run(dir.as_deref()),
    }
}

/// Where the project comes from, as the global flags say.
pub fn source(g: &GlobalArgs) -> Source {
    Source {
        files: g.files.clone(),
        project_name: g.project_name.clone(),
        project_directory: g.project_directory.clone(),
        env_files: g.env_files.clone(),
        profiles: g.profiles.clone(),
        state: g.state.clone(),
        engine: crate::engine::Selection {
            host: g.host.clone(),
            context: g.context.clone(),
        },
        move_engine: g.move_engine,
        backend: g.backend,
    }
}

/// The state lock as `--lock` and `--lock-timeout` ask.
pub fn lock(args: &LockArgs) -> LockRequest {
    LockRequest {
        enabled: args.lock,
        timeout: args.lock_timeout,
    }
}

/// Colour on standard output (`stderr`: on standard error), as `--no-color`,
/// `NO_COLOR` and the terminal say.
pub fn color(g: &GlobalArgs, stderr: bool) -> bool {
    crate::output::use_color(g.no_color, stderr)
}
