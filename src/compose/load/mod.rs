//! The loading pipeline, top to bottom: find the files, read the variables,
//! parse and interpolate each file, resolve `include` and `extends`, merge the
//! files, pick the active profiles, decode, normalise, validate.
//!
//! This module holds the entry point and the order of the stages; each stage
//! is a module of its own. Every file and environment read goes through the
//! [`Host`] the load is given.

mod discovery;
mod env_files;
mod extends;
mod include;
mod interpolation;
mod name;
mod normalize;
mod read;
mod x_berth;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::decode::{self, Ctx};
use super::diagnostic::{Diagnostic, Diagnostics, Sink};
use super::host::{Host, RealHost};
use super::merge;
use super::model::Project;
use super::node::{Node, Value};
use super::source::{FileId, SourceMap, Span};
use super::validate;

pub use discovery::DEFAULT_FILES;
pub use name::{normalize_project_name, valid_project_name};

/// Everything that decides how files are read (the global CLI flags and the environment).
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` files in order; `-` reads standard input.
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    pub project_directory: Option<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub profiles: Vec<String>,
    /// The directory berth runs in.
    pub working_dir: PathBuf,
    /// The shell environment.
    pub environ: BTreeMap<String, String>,
    /// What `-f -` reads.
    pub stdin: Option<String>,
    /// Services named on the command line: active even when their profiles are not.
    pub services: Vec<String>,
    /// `--backend` / `BERTH_BACKEND`; `None`: the file's `x-berth.backend`,
    /// else the plain engine.
    pub backend: Option<super::BackendKind>,
}

/// A loaded project, with what was read to make it.
#[derive(Debug)]
pub struct Loaded {
    pub project: Project,
    pub warnings: Vec<String>,
    pub sources: SourceMap,
    /// Every file read: compose files, env files, extends and include targets.
    pub inputs: Vec<PathBuf>,
    /// Attributes berth will not apply (see [`super::support`]): `config`
    /// prints them, the commands that plan refuse the project.
    pub unsupported: Vec<Diagnostic>,
    /// The backend the project is planned for (see [`super::backend`]).
    pub backend: super::BackendKind,
}

/// What the stages share while one project loads.
struct Loader<'h> {
    host: &'h dyn Host,
    opts: LoadOptions,
    sources: SourceMap,
    sink: Sink,
    warnings: Vec<String>,
    base_dirs: BTreeMap<FileId, PathBuf>,
    inputs: Vec<PathBuf>,
    unset: BTreeSet<String>,
    /// Extends cycles already reported (by their members), so each is reported once.
    cycles: BTreeSet<Vec<String>>,
    /// Services whose `extends` chain is resolved, by (file, service).
    resolved: HashMap<(PathBuf, String), Node>,
}

fn early(sources: SourceMap, d: Diagnostic) -> Diagnostics {
    Diagnostics {
        items: vec![d],
        sources,
    }
}

/// Load a project as Docker Compose would, from the real filesystem.
pub fn load(opts: LoadOptions) -> Result<Loaded, Diagnostics> {
    load_from(&RealHost, opts)
}

/// Load a project as Docker Compose would, reading files and the process environment from `host`.
pub fn load_from(host: &dyn Host, mut opts: LoadOptions) -> Result<Loaded, Diagnostics> {
    // Compose defines `PWD` as the directory it runs in when the environment lacks it (a
    // scrubbed environment, a service manager), so `${PWD}/data` still means `./data`.
    opts.environ
        .entry("PWD".to_string())
        .or_insert_with(|| opts.working_dir.display().to_string());
    let mut l = Loader {
        host,
        opts,
        sources: SourceMap::default(),
        sink: Sink::default(),
        warnings: Vec::new(),
        base_dirs: BTreeMap::new(),
        inputs: Vec::new(),
        unset: BTreeSet::new(),
        cycles: BTreeSet::new(),
        resolved: HashMap::new(),
    };
    let (files, project_dir, environment) = match l.files_and_environment() {
        Ok(x) => x,
        Err(d) => return Err(early(l.sources, d)),
    };
    let mut vars = l.variables(environment);

    let mut timer = crate::timing::Timer::new();
    let parsed: Vec<(&PathBuf, Vec<Node>)> = files
        .iter()
        .filter_map(|file| Some((file, l.parse_file(file, &project_dir)?)))
        .collect();
    // like Compose, interpolation sees the project's name as COMPOSE_PROJECT_NAME
    let environment = vars.clone();
    let name = l.name_for_interpolation(&parsed, &environment, &project_dir);
    vars.insert("COMPOSE_PROJECT_NAME".into(), name);
    let mut root: Option<Node> = None;
    for (file, docs) in parsed {
        let docs = l.resolve_docs(file, docs, &project_dir, &vars, &mut Vec::new());
        for doc in docs {
            root = Some(match root {
                None => doc,
                Some(base) => {
                    merge::merge(base, doc, &[]).unwrap_or_else(|| empty(Span::default()))
                }
            });
        }
    }
    if !l.sink.is_empty() {
        return Err(l.fail());
    }
    // an empty project still has a place to point at: the first file's first line
    let first_line = Span {
        line: 1,
        col: 1,
        ..Span::default()
    };
    let root = root.unwrap_or_else(|| empty(first_line));
    if root.get("services").is_none() && root.get("include").is_none() {
        l.sink.push(
            Diagnostic::new(Some(root.span), "", "no services are defined")
                .with_hint("add a `services:` section with at least one service"),
        );
    }
    // `--backend` / `BERTH_BACKEND` win over the file's `x-berth.backend`
    let file_backend = l.file_backend(&root);
    let backend = l.opts.backend.or(file_backend).unwrap_or_default();
    // what parsing freed (the parser's event batches, merged-over values)
    // goes back before the model is built beside the tree
    crate::memory::release();
    timer.lap("read, parse, interpolate, merge");
    let name = match l.project_name(&root, &environment, &project_dir) {
        Ok(n) => n,
        Err(d) => {
            l.sink.push(d);
            return Err(l.fail());
        }
    };
    for var in &l.unset {
        l.warnings.push(format!(
            "The \"{var}\" variable is not set. Defaulting to a blank string."
        ));
    }

    let mut project = {
        let mut ctx = Ctx {
            host: l.host,
            sink: &mut l.sink,
            vars: &vars,
            base_dirs: &l.base_dirs,
            sources: &mut l.sources,
            project_dir: &project_dir,
            warnings: &mut l.warnings,
        };
        decode::project(&mut ctx, &root, &name)
    };
    project.working_dir = project_dir.clone();
    project.config_files = files
        .iter()
        .map(|f| absolute(&l.opts.working_dir, f))
        .collect();
    let names: BTreeSet<String> = project.services.keys().cloned().collect();
    for s in project.services.values_mut() {
        // a missing service here is reported by validation, against the attribute that names it
        decode::implicit_dependencies(s, |d| names.contains(d));
    }
    normalize::apply_profiles(&mut project, &l.opts, &vars);
    normalize::add_default_network(&mut project);
    timer.lap("decode");
    validate::project(&project, &root, &mut l.sink, backend);
    normalize::drop_unused(&mut project);
    if !l.sink.is_empty() {
        return Err(l.fail());
    }
    let (unsupported, ignored) = super::support::check_for(backend, &project, &root, &l.sources);
    l.warnings.extend(ignored);
    drop(root);
    timer.lap("validate, drop the tree");
    Ok(Loaded {
        project,
        warnings: l.warnings,
        sources: l.sources,
        inputs: l.inputs,
        unsupported,
        backend,
    })
}

fn empty(span: Span) -> Node {
    Node::new(Value::Map(vec![]), span)
}

fn absolute(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        PathBuf::from(crate::paths::clean(&base.join(p)))
    }
}

impl Loader<'_> {
    fn fail(self) -> Diagnostics {
        Diagnostics {
            items: self.sink.items,
            sources: self.sources,
        }
    }
}

#[cfg(test)]
mod tests;
