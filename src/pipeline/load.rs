//! The pipeline's first stage: the loader's options from what the command
//! line says ([`Source`]) and the process (current directory, environment,
//! standard input), the load itself, and where the project's state lives.

use std::io::Read;
use std::path::PathBuf;

use crate::compose::{self, Diagnostics, LoadOptions, Loaded};
use crate::error::Error;
use crate::state::default_path;

/// Where the project comes from: the global flags, named as in `docker compose`.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// `-f` (`-` reads standard input); empty: `COMPOSE_FILE`, else discovery.
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub project_directory: Option<PathBuf>,
    pub env_files: Vec<PathBuf>,
    /// `--profile`, each possibly comma-separated.
    pub profiles: Vec<String>,
    /// `--state` / `BERTH_STATE`.
    pub state: Option<PathBuf>,
    /// `-H, --host` and `--context`: which engine.
    pub engine: crate::backend::Selection,
    /// `--move-engine`: a state applied to another engine may move to this one.
    pub move_engine: bool,
    /// `--backend` / `BERTH_BACKEND`; `None`: the file's `x-berth.backend`,
    /// else the plain engine.
    pub backend: Option<compose::BackendKind>,
}

/// The loader's options from the source and the process environment.
pub fn load_options(source: &Source, services: &[String]) -> Result<LoadOptions, Error> {
    let working_dir =
        std::env::current_dir().map_err(|e| Error::io("read the current directory", e))?;
    let stdin = if source.files.iter().any(|f| f.as_os_str() == "-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("read the compose file from standard input", e))?;
        match crate::utf8::decode(bytes) {
            Ok(text) => Some(text),
            Err(bad) => {
                // located in `-`, as every other problem of a file read from stdin
                let mut diags = Diagnostics::default();
                let d = compose::Diagnostic::not_utf8(
                    &mut diags.sources,
                    &working_dir.join("-"),
                    "-".into(),
                    "compose file",
                    &bad,
                    "",
                );
                diags.items.push(d);
                return Err(Error::Input(Box::new(diags)));
            }
        }
    } else {
        None
    };
    Ok(LoadOptions {
        files: source.files.clone(),
        project_name: source.project_name.clone(),
        project_directory: source.project_directory.clone(),
        env_files: source.env_files.clone(),
        profiles: source
            .profiles
            .iter()
            .flat_map(|p| p.split(',').map(str::to_string))
            .collect(),
        working_dir,
        environ: std::env::vars().collect(),
        stdin,
        services: services.to_vec(),
        backend: source.backend,
    })
}

/// Load the project, printing the loader's warnings.
pub fn load(source: &Source, services: &[String]) -> Result<Loaded, Error> {
    let loaded = compose::load(load_options(source, services)?)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded)
}

/// [`load`], refusing a project that uses attributes berth would not apply
/// (for every command that plans or applies; `config` prints them all).
pub fn load_applicable(source: &Source, services: &[String]) -> Result<Loaded, Error> {
    let mut loaded = load(source, services)?;
    if loaded.unsupported.is_empty() {
        return Ok(loaded);
    }
    let items = std::mem::take(&mut loaded.unsupported);
    let sources = std::mem::take(&mut loaded.sources);
    Err(Diagnostics { items, sources }.into())
}

/// The state file: `--state`, `BERTH_STATE`, else `state/<project>.json` in
/// the project directory.
pub fn state_path(source: &Source, loaded: &Loaded) -> PathBuf {
    source
        .state
        .clone()
        .unwrap_or_else(|| default_path(&loaded.project.working_dir, &loaded.project.name))
}
