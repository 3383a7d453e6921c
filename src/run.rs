//! Runs one command: builds the load options from the flags and the
//! environment, loads the project, and prints what the command asks for.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use crate::cli::{Cli, Command, ConfigArgs, ConfigFormat, GlobalArgs};
use crate::compose::{self, Diagnostics, LoadOptions, Loaded};

/// Everything that can stop a command, each rendered for a person.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Input(Box<Diagnostics>, bool),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Engine(Box<crate::engine::EngineError>),
    #[error(transparent)]
    State(Box<crate::state::StateError>),
    #[error(transparent)]
    Resolve(Box<crate::resource::ResolveError>),
    /// The plan cannot be applied as it is.
    #[error("the plan cannot be applied")]
    Plan(Vec<String>),
}

impl From<crate::engine::EngineError> for Error {
    fn from(e: crate::engine::EngineError) -> Self {
        Error::Engine(Box::new(e))
    }
}

impl From<crate::state::StateError> for Error {
    fn from(e: crate::state::StateError) -> Self {
        Error::State(Box::new(e))
    }
}

impl From<crate::resource::ResolveError> for Error {
    fn from(e: crate::resource::ResolveError) -> Self {
        Error::Resolve(Box::new(e))
    }
}

impl Error {
    pub fn render(&self) -> String {
        match self {
            Error::Input(d, color) => d.render(*color),
            Error::Plan(problems) => problems.iter().map(|p| format!("error: {p}\n")).collect(),
            other => format!("error: {other}\n"),
        }
    }
}

/// Colour when asked for and the stream is a terminal (`stdout` or stderr).
pub fn use_color(g: &GlobalArgs, stderr: bool) -> bool {
    let terminal = if stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    !g.no_color && std::env::var_os("NO_COLOR").is_none() && terminal
}

/// Print to stdout; a closed pipe (`berth plan | head`) is not an error.
pub fn print_out(text: &str) -> Result<(), Error> {
    print_out_chunks(|emit| emit(text))
}

/// Print text that `write` hands over in chunks (a large plan), with the
/// errors of [`print_out`].
pub fn print_out_chunks(
    write: impl FnOnce(&mut dyn FnMut(&str) -> std::io::Result<()>) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    let written = write(&mut |chunk: &str| out.write_all(chunk.as_bytes()));
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Io(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

/// The loader's options from the global flags and the process environment.
pub fn load_options(g: &GlobalArgs, services: &[String]) -> Result<LoadOptions, Error> {
    let working_dir = std::env::current_dir()
        .map_err(|e| Error::Io(format!("cannot read the current directory: {e}")))?;
    let stdin = if g.files.iter().any(|f| f.as_os_str() == "-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            Error::Io(format!(
                "cannot read the compose file from standard input: {e}"
            ))
        })?;
        Some(s)
    } else {
        None
    };
    Ok(LoadOptions {
        files: g.files.clone(),
        project_name: g.project_name.clone(),
        project_directory: g.project_directory.clone(),
        env_files: g.env_files.clone(),
        profiles: g
            .profiles
            .iter()
            .flat_map(|p| p.split(',').map(str::to_string))
            .collect(),
        working_dir,
        environ: std::env::vars().collect(),
        stdin,
        services: services.to_vec(),
    })
}

/// Load the project, printing the loader's warnings.
pub fn load(g: &GlobalArgs, services: &[String]) -> Result<Loaded, Error> {
    let opts = load_options(g, services)?;
    let loaded = compose::load(opts).map_err(|d| Error::Input(Box::new(d), use_color(g, true)))?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded)
}

/// [`load`], refusing a project that uses attributes berth would not apply
/// (for every command that plans or applies; `config` prints them all).
pub fn load_applicable(g: &GlobalArgs, services: &[String]) -> Result<Loaded, Error> {
    let mut loaded = load(g, services)?;
    if loaded.unsupported.is_empty() {
        return Ok(loaded);
    }
    let items = std::mem::take(&mut loaded.unsupported);
    let sources = std::mem::take(&mut loaded.sources);
    Err(Error::Input(
        Box::new(compose::Diagnostics { items, sources }),
        use_color(g, true),
    ))
}

pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match &cli.command {
        Command::Validate => {
            let loaded = load_applicable(&cli.global, &[])?;
            let loaded = std::mem::ManuallyDrop::new(loaded);
            let p = &loaded.project;
            let plural =
                |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            println!(
                "valid: {}, {}, {}",
                plural(p.services.len(), "service"),
                plural(p.networks.len(), "network"),
                plural(p.volumes.len(), "volume")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(args) => config(&cli.global, args),
        Command::Plan(args) => crate::command::plan::run(&cli.global, args),
        Command::Drift(args) => crate::command::plan::drift(&cli.global, args),
        Command::Apply(args) => crate::command::apply::run(&cli.global, args),
        Command::Destroy(args) => crate::command::apply::destroy(&cli.global, args),
        Command::Import(args) => crate::command::import::run(&cli.global, args),
        Command::Show(args) => crate::command::show::run(&cli.global, args),
        Command::State(cmd) => crate::command::state::run(&cli.global, cmd),
        Command::ForceUnlock => crate::command::state::force_unlock(&cli.global),
    }
}

fn config(g: &GlobalArgs, args: &ConfigArgs) -> Result<ExitCode, Error> {
    let loaded = load(g, &args.service_names)?;
    let mut project = loaded.project;
    if !args.service_names.is_empty() {
        project
            .services
            .retain(|name, _| args.service_names.contains(name));
    }
    let lists: [(bool, Vec<&String>); 3] = [
        (args.services, project.services.keys().collect()),
        (args.volumes, project.volumes.keys().collect()),
        (args.networks, project.networks.keys().collect()),
    ];
    let stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = if lists.iter().any(|(on, _)| *on) {
        let mut out = stdout;
        lists
            .into_iter()
            .filter(|(on, _)| *on)
            .flat_map(|(_, names)| names)
            .try_for_each(|name| writeln!(out, "{name}"))
            .and_then(|()| out.flush())
    } else {
        // streamed, not built in memory: a large project's output is megabytes
        compose::write_config(&project, args.format == ConfigFormat::Json, stdout)
    };
    // the process ends next: freeing a large project only costs time
    std::mem::forget(project);
    match written {
        // a closed pipe (`berth config | head`) is not an error
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Io(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
