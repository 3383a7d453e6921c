//! The loading pipeline, top to bottom: find the files, read the variables,
//! parse and interpolate each file, resolve `include` and `extends`, merge the
//! files, pick the active profiles, decode, normalise, validate.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::decode::{self, Ctx};
use super::diagnostic::{Diagnostic, Diagnostics, Sink};
use super::dotenv;
use super::interpolate::{self, InterpolationError, Vars};
use super::merge;
use super::model::{Network, Project};
use super::node::{Entry, Node, Value};
use super::source::{FileId, SourceMap, Span};
use super::validate;
use super::yaml;
use crate::paths::io_reason;

/// File names Compose looks for, in order, in the working directory and its parents.
pub const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

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
}

struct Loader {
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

/// Load a project as Docker Compose would.
pub fn load(mut opts: LoadOptions) -> Result<Loaded, Diagnostics> {
    // Compose defines `PWD` as the directory it runs in when the environment lacks it (a
    // scrubbed environment, a service manager), so `${PWD}/data` still means `./data`.
    opts.environ
        .entry("PWD".to_string())
        .or_insert_with(|| opts.working_dir.display().to_string());
    let mut l = Loader {
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
    // like Compose: the shell environment, over the env files of the directory
    // berth starts from (they may say COMPOSE_FILE), over those of the project directory
    let shell = l.opts.environ.clone();
    let start_dir = l.start_dir();
    let environment = match l.with_env_files(&start_dir, shell) {
        Ok(e) => e,
        Err(d) => return Err(early(l.sources, d)),
    };
    let files = match l.config_files(&environment) {
        Ok(f) => f,
        Err(d) => return Err(early(l.sources, d)),
    };
    let project_dir = l.project_dir(&files);
    let environment = if project_dir == start_dir || !l.opts.env_files.is_empty() {
        environment
    } else {
        match l.with_env_files(&project_dir, environment) {
            Ok(e) => e,
            Err(d) => return Err(early(l.sources, d)),
        }
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
    apply_profiles(&mut project, &l.opts, &vars);
    add_default_network(&mut project);
    timer.lap("decode");
    validate::project(&project, &root, &mut l.sink);
    drop_unused(&mut project);
    if !l.sink.is_empty() {
        return Err(l.fail());
    }
    let (unsupported, ignored) = super::support::check(&project, &root);
    l.warnings.extend(ignored);
    drop(root);
    timer.lap("validate, drop the tree");
    Ok(Loaded {
        project,
        warnings: l.warnings,
        sources: l.sources,
        inputs: l.inputs,
        unsupported,
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

impl Loader {
    fn fail(self) -> Diagnostics {
        Diagnostics {
            items: self.sink.items,
            sources: self.sources,
        }
    }

    /// Where Compose looks for `.env` before it knows the compose files: the
    /// project directory if given, else the first `-f` file's directory, else
    /// the working directory.
    fn start_dir(&self) -> PathBuf {
        if let Some(d) = &self.opts.project_directory {
            return absolute(&self.opts.working_dir, d);
        }
        self.project_dir(&self.opts.files)
    }

    /// `-f` flags, else `COMPOSE_FILE` (from the shell or an env file), else the
    /// first default name found upward from the project directory (or the working one).
    fn config_files(
        &mut self,
        environment: &BTreeMap<String, String>,
    ) -> Result<Vec<PathBuf>, Diagnostic> {
        if !self.opts.files.is_empty() {
            return Ok(self.opts.files.clone());
        }
        let lookup = |key: &str| environment.get(key).filter(|v| !v.is_empty()).cloned();
        if let Some(list) = lookup("COMPOSE_FILE") {
            let sep = lookup("COMPOSE_PATH_SEPARATOR").unwrap_or_else(|| ":".to_string());
            return Ok(list
                .split(sep.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| absolute(&self.opts.working_dir, Path::new(s)))
                .collect());
        }
        // from the project directory when one is given, as Compose does
        let start = self.start_dir();
        let mut dir = Some(start.clone());
        while let Some(d) = dir {
            for name in DEFAULT_FILES {
                let candidate = d.join(name);
                if candidate.is_file() {
                    let mut files = vec![candidate.clone()];
                    let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name);
                    for ext in ["yaml", "yml"] {
                        let over = d.join(format!("{stem}.override.{ext}"));
                        if over.is_file() {
                            files.push(over);
                            break;
                        }
                    }
                    return Ok(files);
                }
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        Err(Diagnostic::new(
            None,
            "",
            format!(
                "no configuration file provided: none of {} found in `{}` or its parents",
                DEFAULT_FILES.join(", "),
                start.display()
            ),
        )
        .with_hint("run berth in the directory of your compose file, or name it with `-f FILE`"))
    }

    fn project_dir(&self, files: &[PathBuf]) -> PathBuf {
        if let Some(d) = &self.opts.project_directory {
            return absolute(&self.opts.working_dir, d);
        }
        match files.first() {
            Some(f) if f.as_os_str() != "-" => absolute(&self.opts.working_dir, f)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| self.opts.working_dir.clone()),
            _ => self.opts.working_dir.clone(),
        }
    }

    /// `environment` over the env files for `dir` (`--env-file`, else `dir/.env`):
    /// what `environment` already has wins.
    fn with_env_files(
        &mut self,
        dir: &Path,
        environment: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, Diagnostic> {
        let explicit = !self.opts.env_files.is_empty();
        let files: Vec<PathBuf> = if explicit {
            self.opts
                .env_files
                .iter()
                .map(|f| absolute(&self.opts.working_dir, f))
                .collect()
        } else {
            vec![dir.join(".env")]
        };
        let mut merged: BTreeMap<String, String> = BTreeMap::new();
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(_) if !explicit => continue,
                Err(e) => {
                    return Err(Diagnostic::new(
                        None,
                        "",
                        format!(
                            "env file `{}` cannot be read: {}",
                            file.display(),
                            io_reason(&e)
                        ),
                    )
                    .with_hint("check the path given to --env-file"));
                }
            };
            if !self.inputs.contains(&file) {
                self.inputs.push(file.clone());
            }
            let mut scope = Vars::new(environment.clone());
            for (k, v) in &merged {
                if !scope.contains(k) {
                    scope.insert(k.clone(), v.clone());
                }
            }
            match dotenv::parse(&text, &scope) {
                Ok(pairs) => {
                    for (k, v) in pairs {
                        if let Some(v) = v.or_else(|| environment.get(&k).cloned()) {
                            merged.insert(k, v);
                        }
                    }
                }
                Err(e) => {
                    let id = self.sources.add(&file, file.display().to_string(), text);
                    let span = Span {
                        file: id,
                        line: e.line,
                        col: e.col,
                        offset: 0,
                        len: 1,
                    };
                    return Err(Diagnostic::at(
                        span,
                        "",
                        format!("invalid env file: {}", e.message),
                    )
                    .with_hint("env files hold `KEY=VALUE` lines"));
                }
            }
        }
        let mut environment = environment;
        for (k, v) in merged {
            environment.entry(k).or_insert(v);
        }
        Ok(environment)
    }

    /// The variables interpolation sees: the environment and env files, and, like
    /// Compose, the name given with -p as `COMPOSE_PROJECT_NAME`.
    fn variables(&self, mut environment: BTreeMap<String, String>) -> Vars {
        if let Some(name) = &self.opts.project_name {
            environment.insert("COMPOSE_PROJECT_NAME".into(), name.clone());
        }
        Vars::new(environment)
    }

    fn read_text(&mut self, file: &Path) -> Result<(FileId, String), Diagnostic> {
        // as the user would write it: relative to where berth runs, when it is below it
        let display = match absolute(&self.opts.working_dir, file)
            .strip_prefix(&self.opts.working_dir)
        {
            Ok(rel) if file.is_absolute() && file.as_os_str() != "-" => rel.display().to_string(),
            _ => file.display().to_string(),
        };
        let text = if file.as_os_str() == "-" {
            self.opts.stdin.clone().unwrap_or_default()
        } else {
            let path = absolute(&self.opts.working_dir, file);
            std::fs::read_to_string(&path).map_err(|e| {
                Diagnostic::new(
                    None,
                    "",
                    format!("cannot read compose file `{display}`: {}", io_reason(&e)),
                )
                .with_hint("check the path given with -f or COMPOSE_FILE")
            })?
        };
        let path = if file.as_os_str() == "-" {
            self.opts.working_dir.join("-")
        } else {
            absolute(&self.opts.working_dir, file)
        };
        self.inputs.push(path.clone());
        let id = self.sources.add(&path, display, text.clone());
        Ok((id, text))
    }

    /// The project's name as Compose has it when it interpolates the files: -p,
    /// else `COMPOSE_PROJECT_NAME`, else the last `name:` of the files
    /// (interpolated, normalised), else the project directory's name.
    fn name_for_interpolation(
        &self,
        parsed: &[(&PathBuf, Vec<Node>)],
        vars: &Vars,
        project_dir: &Path,
    ) -> String {
        if let Some(name) = &self.opts.project_name {
            return name.clone();
        }
        if let Some(name) = vars.get("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()) {
            return name.to_string();
        }
        let written = parsed
            .iter()
            .rev()
            .flat_map(|(_, docs)| docs.iter().rev())
            .filter_map(|doc| doc.get("name")?.scalar_text())
            .find(|n| !n.is_empty())
            .map(|n| interpolate::expand(&n, vars).map(|e| e.text).unwrap_or(n));
        match written.map(|n| normalize_project_name(&n)) {
            Some(name) if !name.is_empty() => name,
            _ => normalize_project_name(
                &project_dir
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        }
    }

    /// Read and parse one file, then interpolate it and resolve its `include` and `extends`.
    fn read_file_with(
        &mut self,
        file: &Path,
        base_dir: &Path,
        vars: &Vars,
        include_stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<Node>> {
        let docs = self.parse_file(file, base_dir)?;
        Some(self.resolve_docs(file, docs, base_dir, vars, include_stack))
    }

    /// Read and parse one file: its documents, or `None` when reported as unreadable or invalid.
    fn parse_file(&mut self, file: &Path, base_dir: &Path) -> Option<Vec<Node>> {
        let (id, text) = match self.read_text(file) {
            Ok(x) => x,
            Err(d) => {
                self.sink.push(d);
                return None;
            }
        };
        self.base_dirs.insert(id, base_dir.to_path_buf());
        match yaml::parse(&text, id) {
            Ok(d) => Some(d),
            Err(errors) => {
                self.sink.items.extend(errors);
                None
            }
        }
    }

    /// Interpolate a file's documents and resolve their `include` and `extends`.
    fn resolve_docs(
        &mut self,
        file: &Path,
        docs: Vec<Node>,
        base_dir: &Path,
        vars: &Vars,
        include_stack: &mut Vec<PathBuf>,
    ) -> Vec<Node> {
        let mut out = Vec::new();
        for mut doc in docs {
            if doc.is_null() {
                continue;
            }
            if !matches!(doc.value, Value::Map(_)) {
                self.sink.push(
                    Diagnostic::at(
                        doc.span,
                        "",
                        format!(
                            "expected a mapping at the top of the file, found {}",
                            doc.kind()
                        ),
                    )
                    .with_hint("a compose file starts with keys such as `services:`"),
                );
                continue;
            }
            self.interpolate(&mut doc, vars, "");
            if doc.get("version").is_some() {
                self.warnings.push(format!(
                    "{}: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion",
                    absolute(&self.opts.working_dir, file).display()
                ));
            }
            let file_abs = absolute(&self.opts.working_dir, file);
            include_stack.push(file_abs.clone());
            self.includes(&mut doc, base_dir, vars, include_stack);
            include_stack.pop();
            let file_dir = file_abs.parent().unwrap_or(base_dir).to_path_buf();
            self.extends(&mut doc, &file_abs, &file_dir, vars);
            out.push(doc);
        }
        out
    }

    fn interpolate(&mut self, n: &mut Node, vars: &Vars, path: &str) {
        let mut path = path.to_string();
        self.interpolate_at(n, vars, &mut path);
    }

    /// `path` grows and shrinks as the walk goes, so no path is built unless reported.
    fn interpolate_at(&mut self, n: &mut Node, vars: &Vars, path: &mut String) {
        match &mut n.value {
            Value::Str(s) if !s.contains('$') => {}
            Value::Str(s) => match interpolate::expand(s, vars) {
                Ok(e) => {
                    self.unset.extend(e.unset);
                    *s = e.text;
                }
                Err(InterpolationError::Required { name, message }) => {
                    let detail = if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    };
                    self.sink.push(
                        Diagnostic::at(
                            n.span,
                            path.as_str(),
                            format!("required variable `{name}` is missing a value{detail}"),
                        )
                        .with_hint(format!(
                            "set `{name}` in the environment or in the project's .env file"
                        )),
                    );
                }
                Err(InterpolationError::Invalid { detail }) => {
                    self.sink.push(
                        Diagnostic::at(n.span, path.as_str(), format!("invalid interpolation format: {detail}"))
                            .with_hint("write `${VAR}`, `${VAR:-default}` or `${VAR:?error}`; use `$$` for a literal `$`"),
                    );
                }
            },
            Value::Seq(items) => {
                let len = path.len();
                for (i, item) in items.iter_mut().enumerate() {
                    decode::push_index(path, i);
                    self.interpolate_at(item, vars, path);
                    path.truncate(len);
                }
            }
            Value::Map(entries) => {
                let len = path.len();
                for e in entries.iter_mut() {
                    if len > 0 {
                        path.push('.');
                    }
                    path.push_str(&e.key.name);
                    self.interpolate_at(&mut e.value, vars, path);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// Top-level `include`: each included file is loaded as its own project
    /// (paths relative to it) and its resources are added; a name defined twice is an error.
    fn includes(&mut self, doc: &mut Node, base_dir: &Path, vars: &Vars, stack: &mut Vec<PathBuf>) {
        let Some(entries) = doc.as_map_mut() else {
            return;
        };
        let Some(pos) = entries.iter().position(|e| e.key.name == "include") else {
            return;
        };
        let include = entries.remove(pos);
        let items: Vec<Node> = match include.value.value {
            Value::Seq(items) => items,
            Value::Null => vec![],
            _ => {
                self.sink.error(
                    include.value.span,
                    "include",
                    format!("expected a list, found {}", include.value.kind()),
                );
                return;
            }
        };
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("include[{i}]");
            let (paths, project_dir, env_files): (Vec<Node>, Option<String>, Vec<String>) =
                match &item.value {
                    Value::Str(_) => (vec![item.clone()], None, vec![]),
                    Value::Map(fields) => {
                        let mut paths = vec![];
                        let mut pd = None;
                        let mut envs = vec![];
                        for f in fields {
                            match f.key.name.as_str() {
                                "path" => match &f.value.value {
                                    Value::Seq(s) => paths.extend(s.iter().cloned()),
                                    _ => paths.push(f.value.clone()),
                                },
                                "project_directory" => pd = f.value.scalar_text(),
                                "env_file" => match &f.value.value {
                                    Value::Seq(s) => {
                                        envs.extend(s.iter().filter_map(Node::scalar_text))
                                    }
                                    _ => envs.extend(f.value.scalar_text()),
                                },
                                other => self.sink.push(
                                    Diagnostic::at(
                                        f.key.span,
                                        &path,
                                        format!("unknown key `{other}`"),
                                    )
                                    .with_hint(
                                        "include entries take path, project_directory and env_file",
                                    ),
                                ),
                            }
                        }
                        (paths, pd, envs)
                    }
                    _ => {
                        self.sink.error(
                            item.span,
                            &path,
                            format!("expected a path or a mapping, found {}", item.kind()),
                        );
                        continue;
                    }
                };
            let mut included: Option<Node> = None;
            for p in paths {
                let Some(rel) = p.scalar_text() else { continue };
                let file = absolute(base_dir, Path::new(&rel));
                if stack.contains(&file) {
                    self.sink.push(
                        Diagnostic::at(
                            p.span,
                            &path,
                            format!("include cycle: `{}` includes itself", file.display()),
                        )
                        .with_hint("remove the include that closes the cycle"),
                    );
                    continue;
                }
                if !file.is_file() {
                    self.sink.push(
                        Diagnostic::at(p.span, &path, format!("included file `{}` not found", file.display()))
                            .with_hint("fix the path; it is relative to the including file's project directory"),
                    );
                    continue;
                }
                let dir = match &project_dir {
                    Some(d) => absolute(base_dir, Path::new(d)),
                    None => file.parent().unwrap_or(base_dir).to_path_buf(),
                };
                let mut inc_vars = vars.clone();
                let env_list: Vec<PathBuf> = if env_files.is_empty() {
                    vec![dir.join(".env")]
                } else {
                    env_files
                        .iter()
                        .map(|e| absolute(base_dir, Path::new(e)))
                        .collect()
                };
                for env in env_list {
                    if let Ok(text) = std::fs::read_to_string(&env)
                        && let Ok(pairs) = dotenv::parse(&text, &inc_vars)
                    {
                        self.inputs.push(env);
                        for (k, v) in pairs {
                            if let Some(v) = v
                                && !self.opts.environ.contains_key(&k)
                            {
                                inc_vars.insert(k, v);
                            }
                        }
                    }
                }
                let Some(docs) = self.read_file_with(&file, &dir, &inc_vars, stack) else {
                    continue;
                };
                for d in docs {
                    included = Some(match included {
                        None => d,
                        Some(b) => merge::merge(b, d, &[]).unwrap_or_else(|| empty(item.span)),
                    });
                }
            }
            let Some(included) = included else { continue };
            self.add_included(doc, included, &path);
        }
    }

    fn add_included(&mut self, doc: &mut Node, included: Node, path: &str) {
        let Value::Map(sections) = included.value else {
            return;
        };
        for section in sections {
            if !matches!(
                section.key.name.as_str(),
                "services" | "networks" | "volumes" | "configs" | "secrets"
            ) {
                continue;
            }
            let Value::Map(items) = section.value.value else {
                continue;
            };
            let entries = doc.as_map_mut().expect("checked to be a mapping");
            let target = match entries.iter().position(|e| e.key.name == section.key.name) {
                Some(i) => i,
                None => {
                    entries.push(Entry::new(
                        section.key.name.clone(),
                        section.key.span,
                        empty(section.key.span),
                    ));
                    entries.len() - 1
                }
            };
            let target = &mut entries[target].value;
            if target.is_null() {
                *target = empty(target.span);
            }
            let Some(existing) = target.as_map_mut() else {
                continue;
            };
            for item in items {
                if let Some(clash) = existing.iter().find(|e| e.key.name == item.key.name) {
                    if section.key.name == "services" || clash.value != item.value {
                        self.sink.push(
                            Diagnostic::at(
                                clash.key.span,
                                format!("{}.{}", section.key.name, item.key.name),
                                format!("conflicts with `{}` imported by {path}", item.key.name),
                            )
                            .with_hint("rename one of them; an included project's resources cannot be redefined"),
                        );
                    }
                    continue;
                }
                existing.push(item);
            }
        }
    }

    /// Resolve `extends` in every service of one file.
    fn extends(&mut self, doc: &mut Node, file: &Path, file_dir: &Path, vars: &Vars) {
        let uses_extends = doc
            .get("services")
            .and_then(Node::as_map)
            .is_some_and(|m| m.iter().any(|e| e.value.get("extends").is_some()));
        if !uses_extends {
            return;
        }
        let Some(services) = doc.get("services").cloned() else {
            return;
        };
        let Some(entries) = services.as_map() else {
            return;
        };
        let mut cache: HashMap<PathBuf, Node> = HashMap::new();
        cache.insert(file.to_path_buf(), services.clone());
        let mut resolved = Vec::new();
        for e in entries {
            if e.value.get("extends").is_none() {
                resolved.push(e.clone());
                continue;
            }
            let mut stack = vec![(file.to_path_buf(), e.key.name.clone())];
            let value = self.resolve_extends(
                &e.value,
                &e.key.name,
                file,
                file_dir,
                vars,
                &mut cache,
                &mut stack,
            );
            resolved.push(Entry {
                key: e.key.clone(),
                value,
            });
        }
        if let Some(s) = doc.get_mut("services") {
            s.value = Value::Map(resolved);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn resolve_extends(
        &mut self,
        svc: &Node,
        name: &str,
        file: &Path,
        file_dir: &Path,
        vars: &Vars,
        cache: &mut HashMap<PathBuf, Node>,
        stack: &mut Vec<(PathBuf, String)>,
    ) -> Node {
        let Some(ext) = svc.get("extends") else {
            return svc.clone();
        };
        let path = format!("services.{name}.extends");
        let (base_name, base_file) = match &ext.value {
            Value::Str(s) => (Some((s.clone(), ext.span)), None),
            Value::Map(_) => (
                ext.get("service")
                    .and_then(|n| n.scalar_text().map(|s| (s, n.span))),
                ext.get("file")
                    .map(|n| (n.scalar_text().unwrap_or_default(), n.span)),
            ),
            _ => {
                self.sink.error(
                    ext.span,
                    &path,
                    format!("expected a service name or a mapping, found {}", ext.kind()),
                );
                return svc.clone();
            }
        };
        let Some((base_name, name_span)) = base_name else {
            self.sink.push(
                Diagnostic::at(ext.span, &path, "missing `service`")
                    .with_hint("name the service to extend: `extends: {service: base}`"),
            );
            return svc.clone();
        };
        let (base_path, base_dir) = match &base_file {
            Some((f, span)) => {
                let p = absolute(file_dir, Path::new(f));
                if !cache.contains_key(&p) {
                    if !p.is_file() {
                        self.sink.push(
                            Diagnostic::at(
                                *span,
                                &path,
                                format!("extends file `{}` not found", p.display()),
                            )
                            .with_hint(
                                "fix the path; it is relative to the file that declares `extends`",
                            ),
                        );
                        return svc.clone();
                    }
                    let dir = p.parent().unwrap_or(file_dir).to_path_buf();
                    let (id, text) = match self.read_text(&p) {
                        Ok(x) => x,
                        Err(d) => {
                            self.sink.push(d);
                            return svc.clone();
                        }
                    };
                    self.base_dirs.insert(id, dir);
                    let docs = match yaml::parse(&text, id) {
                        Ok(d) => d,
                        Err(errors) => {
                            self.sink.items.extend(errors);
                            return svc.clone();
                        }
                    };
                    let mut doc = docs.into_iter().next().unwrap_or_else(|| empty(*span));
                    self.interpolate(&mut doc, vars, "");
                    let services = doc
                        .get("services")
                        .cloned()
                        .unwrap_or_else(|| empty(doc.span));
                    cache.insert(p.clone(), services);
                }
                let dir = p.parent().unwrap_or(file_dir).to_path_buf();
                (p, dir)
            }
            None => (file.to_path_buf(), file_dir.to_path_buf()),
        };
        let key = (base_path.clone(), base_name.clone());
        if stack.contains(&key) {
            let cycle: Vec<String> = stack
                .iter()
                .map(|(_, s)| s.clone())
                .chain([base_name.clone()])
                .collect();
            let mut members = cycle.clone();
            members.sort();
            members.dedup();
            if !self.cycles.insert(members) {
                return svc.clone();
            }
            self.sink.push(
                Diagnostic::at(
                    name_span,
                    &path,
                    format!("extends cycle: {}", cycle.join(" -> ")),
                )
                .with_hint("a service cannot extend itself, directly or through others"),
            );
            return svc.clone();
        }
        // only the base service is copied, never the whole file's services
        let base = cache
            .get(&base_path)
            .and_then(|s| s.get(&base_name))
            .cloned();
        let Some(base) = base else {
            let names: Vec<String> = cache
                .get(&base_path)
                .and_then(Node::as_map)
                .unwrap_or(&[])
                .iter()
                .map(|e| e.key.name.clone())
                .collect();
            let mut d = Diagnostic::at(
                name_span,
                &path,
                format!("cannot extend unknown service `{base_name}`"),
            );
            if let Some(s) =
                super::diagnostic::suggest(&base_name, names.iter().map(String::as_str))
            {
                d = d.with_hint(format!("did you mean `{s}`?"));
            } else {
                d = d.with_hint(format!(
                    "services in `{}`: {}",
                    base_path.display(),
                    names.join(", ")
                ));
            }
            self.sink.push(d);
            return svc.clone();
        };
        // a chain (`c` extends `b` extends `a`) is resolved once per service, not once per user
        let base = match self.resolved.get(&key) {
            Some(done) => done.clone(),
            None => {
                stack.push(key.clone());
                let done = self
                    .resolve_extends(&base, &base_name, &base_path, &base_dir, vars, cache, stack);
                stack.pop();
                self.resolved.insert(key, done.clone());
                done
            }
        };
        let mut over = svc.clone();
        if let Some(m) = over.as_map_mut() {
            m.retain(|e| e.key.name != "extends");
        }
        let mut base = base;
        if let Some(m) = base.as_map_mut() {
            m.retain(|e| e.key.name != "extends");
        }
        merge::merge(base, over, &["services", name]).unwrap_or_else(|| empty(svc.span))
    }

    /// `-p`, else `COMPOSE_PROJECT_NAME`, else `name:`, else the project directory's name.
    fn project_name(
        &mut self,
        root: &Node,
        vars: &Vars,
        project_dir: &Path,
    ) -> Result<String, Diagnostic> {
        let explicit = self
            .opts
            .project_name
            .clone()
            .map(|n| (n, None, "the -p flag"))
            .or_else(|| {
                vars.get("COMPOSE_PROJECT_NAME")
                    .filter(|v| !v.is_empty())
                    .map(|n| (n.to_string(), None, "COMPOSE_PROJECT_NAME"))
            })
            .or_else(|| {
                root.get("name").and_then(|n| {
                    n.scalar_text()
                        .filter(|s| !s.is_empty())
                        .map(|s| (s, Some(n.span), "the `name` key"))
                })
            });
        match explicit {
            Some((name, span, origin)) => {
                let normalized = normalize_project_name(&name);
                if valid_project_name(&name) {
                    Ok(name)
                } else if span.is_some() && !normalized.is_empty() {
                    // Compose quietly normalises a `name:` key (but not -p or the environment)
                    self.warnings.push(format!(
                        "project name `{name}` (from the `name` key) is not a valid project name; using `{normalized}` as Docker Compose does"
                    ));
                    Ok(normalized)
                } else {
                    Err(Diagnostic::new(span, if span.is_some() { "name" } else { "" },
                        format!("invalid project name `{name}` (from {origin})"))
                        .with_hint("a project name holds only lowercase letters, digits, dashes and underscores, and starts with a letter or digit"))
                }
            }
            None => {
                let dir = project_dir
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let normalized = normalize_project_name(&dir);
                if normalized.is_empty() {
                    Err(Diagnostic::new(
                        None,
                        "",
                        format!("cannot derive a project name from directory `{dir}`"),
                    )
                    .with_hint("name the project with -p NAME or a top-level `name:`"))
                } else {
                    Ok(normalized)
                }
            }
        }
    }
}

/// Compose's rule: `^[a-z0-9][a-z0-9_-]*$`.
pub fn valid_project_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A directory name made into a project name: lowercased, other characters dropped.
pub fn normalize_project_name(dir: &str) -> String {
    let lower = dir.to_lowercase();
    let kept: String = lower
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

/// Drop services none of whose profiles is active (`--profile`, `COMPOSE_PROFILES`, `*` for all).
fn apply_profiles(project: &mut Project, opts: &LoadOptions, vars: &Vars) {
    // like Compose, without --profile the list is COMPOSE_PROFILES split on commas,
    // empty names included: a service in the profile `''` is active then
    let active: Vec<String> = if opts.profiles.is_empty() {
        let listed = vars.get("COMPOSE_PROFILES").unwrap_or_default();
        listed.split(',').map(|s| s.trim().to_string()).collect()
    } else {
        opts.profiles.clone()
    };
    let all = active.iter().any(|p| p == "*");
    let disabled: Vec<String> = project
        .services
        .iter()
        .filter(|(name, s)| {
            !s.profiles.is_empty()
                && !all
                && !s.profiles.iter().any(|p| active.contains(p))
                && !opts.services.contains(name)
        })
        .map(|(n, _)| n.clone())
        .collect();
    for name in &disabled {
        project.services.remove(name);
    }
    project.disabled_services = disabled;
}

/// Compose attaches services that name no network to `default`, and creates it.
fn add_default_network(project: &mut Project) {
    let mut needs_default = false;
    for s in project.services.values_mut() {
        if s.networks.is_empty() && s.network_mode.is_none() {
            s.networks.insert("default".into(), None);
        }
        needs_default |= s.networks.contains_key("default");
    }
    if needs_default && !project.networks.contains_key("default") {
        project.networks.insert(
            "default".into(),
            Network {
                name: format!("{}_default", project.name),
                ..Default::default()
            },
        );
    }
}

/// Like Compose, keep only the networks, volumes, configs and secrets that services use.
fn drop_unused(project: &mut Project) {
    let mut nets = BTreeSet::new();
    let mut vols = BTreeSet::new();
    let mut configs = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    for s in project.services.values() {
        nets.extend(s.networks.keys().cloned());
        for m in &s.volumes {
            if let Some(src) = &m.source {
                vols.insert(src.clone());
            }
        }
        configs.extend(s.configs.iter().map(|c| c.source.clone()));
        secrets.extend(s.secrets.iter().map(|c| c.source.clone()));
    }
    project.networks.retain(|k, _| nets.contains(k));
    project.volumes.retain(|k, _| vols.contains(k));
    project.configs.retain(|k, _| configs.contains(k));
    project.secrets.retain(|k, _| secrets.contains(k));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    fn opts(dir: &Path) -> LoadOptions {
        LoadOptions {
            working_dir: dir.to_path_buf(),
            ..Default::default()
        }
    }

    fn errors(r: Result<Loaded, Diagnostics>) -> Vec<Diagnostic> {
        match r {
            Ok(_) => panic!("expected errors"),
            Err(d) => d.items,
        }
    }

    #[test]
    fn files_are_found_upward_with_their_override() {
        let dir = dir_with(&[
            ("compose.yaml", "services: {web: {image: a}}\n"),
            ("compose.override.yaml", "services: {web: {image: b}}\n"),
            ("sub/deeper/.keep", ""),
        ]);
        let loaded = load(opts(&dir.path().join("sub/deeper"))).unwrap();
        assert_eq!(loaded.project.services["web"].image.as_deref(), Some("b"));
        assert_eq!(loaded.project.config_files.len(), 2);
        assert_eq!(loaded.project.working_dir, dir.path());
    }

    #[test]
    fn pwd_defaults_to_the_working_directory_and_the_environment_wins() {
        let dir = dir_with(&[(
            "compose.yaml",
            "services: {web: {image: a, environment: {WHERE: \"${PWD}/data\"}}}\n",
        )]);
        let mut o = opts(dir.path());
        o.environ.insert("PATH".into(), "/bin".into());
        let here = format!("{}/data", dir.path().display());
        let p = load(o.clone()).unwrap().project;
        assert_eq!(
            p.services["web"].environment["WHERE"].as_deref(),
            Some(&*here)
        );
        o.environ.insert("PWD".into(), "/elsewhere".into());
        let p = load(o).unwrap().project;
        assert_eq!(
            p.services["web"].environment["WHERE"].as_deref(),
            Some("/elsewhere/data")
        );
    }

    #[test]
    fn unknown_short_volume_options_are_ignored_with_a_warning() {
        // Zabbix's files write `roz` and `rwz`; Compose ignores options it does not know
        let dir = dir_with(&[(
            "compose.yaml",
            "services: {web: {image: a, volumes: [\"snmp:/traps:roz\", \"./h:/h:ro,rx\"]}}\n\
             volumes: {snmp: {}}\n",
        )]);
        let loaded = load(opts(dir.path())).unwrap();
        let volumes = &loaded.project.services["web"].volumes;
        assert!(!volumes[0].read_only, "`roz` is not `ro`");
        assert!(volumes[1].read_only);
        let warned = |option: &str| {
            loaded
                .warnings
                .iter()
                .any(|w| w.contains(&format!("option `{option}` is unknown and ignored")))
        };
        assert!(warned("roz") && warned("rx"), "{:?}", loaded.warnings);
    }

    #[test]
    fn an_absolute_build_context_is_kept_as_written() {
        let dir = dir_with(&[(
            "compose.yaml",
            "services:\n  a: {build: /srv/app/}\n  b: {build: {context: ./app/}}\n",
        )]);
        let p = load(opts(dir.path())).unwrap().project;
        let context = |s: &str| p.services[s].build.as_ref().unwrap().context.clone();
        assert_eq!(context("a"), "/srv/app/");
        assert_eq!(context("b"), format!("{}/app", dir.path().display()));
    }

    #[test]
    fn no_file_is_a_clear_error() {
        let dir = dir_with(&[]);
        let e = errors(load(opts(dir.path())));
        assert!(e[0].message.starts_with("no configuration file provided"));
        assert!(e[0].hint.as_deref().unwrap().contains("-f FILE"));
    }

    #[test]
    fn the_shell_wins_over_the_working_directorys_dotenv_which_wins_over_the_projects() {
        let dir = dir_with(&[
            (".env", "COMPOSE_FILE=app/compose.yaml\nA=top\nB=top\n"),
            ("app/.env", "A=app\nB=app\nC=app\n"),
            (
                "app/compose.yaml",
                "services: {web: {image: a, environment: [A=$A, B=$B, C=$C]}}\n",
            ),
        ]);
        let mut o = opts(dir.path());
        o.environ.insert("A".into(), "shell".into());
        let web = &load(o).unwrap().project.services["web"];
        let env = |k: &str| web.environment[k].as_deref();
        assert_eq!(
            (env("A"), env("B"), env("C")),
            (Some("shell"), Some("top"), Some("app"))
        );
    }

    #[test]
    fn compose_file_lists_files_with_the_path_separator() {
        let dir = dir_with(&[
            ("a.yaml", "services: {web: {image: a}}\n"),
            ("b.yaml", "services: {web: {user: u}}\n"),
        ]);
        let mut o = opts(dir.path());
        o.environ
            .insert("COMPOSE_FILE".into(), "a.yaml;b.yaml".into());
        o.environ
            .insert("COMPOSE_PATH_SEPARATOR".into(), ";".into());
        let p = load(o).unwrap().project;
        assert_eq!(p.services["web"].user.as_deref(), Some("u"));
    }

    #[test]
    fn project_name_comes_from_flag_env_key_then_directory() {
        let dir = dir_with(&[(
            "My App/compose.yaml",
            "name: keyname\nservices: {web: {image: a}}\n",
        )]);
        let base = opts(&dir.path().join("My App"));
        assert_eq!(load(base.clone()).unwrap().project.name, "keyname");
        let mut env = base.clone();
        env.environ
            .insert("COMPOSE_PROJECT_NAME".into(), "fromenv".into());
        assert_eq!(load(env.clone()).unwrap().project.name, "fromenv");
        let mut flag = env;
        flag.project_name = Some("fromflag".into());
        assert_eq!(load(flag).unwrap().project.name, "fromflag");

        let nameless = dir_with(&[("My App/compose.yaml", "services: {web: {image: a}}\n")]);
        let p = load(opts(&nameless.path().join("My App"))).unwrap().project;
        assert_eq!(p.name, "myapp");
        assert_eq!(p.networks["default"].name, "myapp_default");
    }

    #[test]
    fn an_invalid_explicit_project_name_is_rejected() {
        let dir = dir_with(&[("compose.yaml", "services: {web: {image: a}}\n")]);
        let mut o = opts(dir.path());
        o.project_name = Some("My_Project!".into());
        let e = errors(load(o));
        assert!(e[0].message.contains("invalid project name `My_Project!`"));
        assert!(e[0].hint.as_deref().unwrap().contains("lowercase"));
    }

    #[test]
    fn the_shell_wins_over_dotenv_and_env_file_replaces_dotenv() {
        let dir = dir_with(&[
            (
                "compose.yaml",
                "services: {web: {image: \"a:${TAG}\", user: \"${WHO:-nobody}\"}}\n",
            ),
            (".env", "TAG=dotenv\nWHO=dotenv-user\n"),
            ("other.env", "TAG=other\n"),
        ]);
        let mut o = opts(dir.path());
        assert_eq!(
            load(o.clone()).unwrap().project.services["web"]
                .image
                .as_deref(),
            Some("a:dotenv")
        );
        o.environ.insert("TAG".into(), "shell".into());
        assert_eq!(
            load(o.clone()).unwrap().project.services["web"]
                .image
                .as_deref(),
            Some("a:shell")
        );
        o.environ.clear();
        o.env_files = vec!["other.env".into()];
        let web = &load(o).unwrap().project.services["web"];
        assert_eq!(web.image.as_deref(), Some("a:other"));
        assert_eq!(
            web.user.as_deref(),
            Some("nobody"),
            ".env is not read when --env-file is given"
        );
    }

    #[test]
    fn profiles_select_services() {
        let yaml = "services:\n  web: {image: a}\n  debug: {image: b, profiles: [dev]}\n";
        let dir = dir_with(&[("compose.yaml", yaml)]);
        let mut o = opts(dir.path());
        let p = load(o.clone()).unwrap().project;
        assert!(!p.services.contains_key("debug"));
        assert_eq!(p.disabled_services, vec!["debug"]);
        o.environ.insert("COMPOSE_PROFILES".into(), "dev".into());
        assert!(
            load(o.clone())
                .unwrap()
                .project
                .services
                .contains_key("debug")
        );
        o.environ.clear();
        o.services = vec!["debug".into()];
        assert!(load(o).unwrap().project.services.contains_key("debug"));
    }

    #[test]
    fn errors_point_into_the_file_that_wrote_the_value() {
        let dir = dir_with(&[
            ("compose.yaml", "services:\n  web:\n    image: a\n"),
            ("prod.yaml", "services:\n  web:\n    ports: [\"80:abc\"]\n"),
        ]);
        let mut o = opts(dir.path());
        o.files = vec!["compose.yaml".into(), "prod.yaml".into()];
        let d = load(o).unwrap_err();
        assert_eq!(d.items.len(), 1);
        assert_eq!(d.items[0].path, "services.web.ports[0]");
        assert_eq!(d.items[0].location(&d.sources).unwrap(), "prod.yaml:3:13");
    }

    #[test]
    fn every_error_of_a_file_is_reported() {
        let yaml = "services:\n  web:\n    imgae: a\n    ports: [\"x\"]\n    depends_on: [db]\n";
        let dir = dir_with(&[("compose.yaml", yaml)]);
        let e = errors(load(opts(dir.path())));
        let messages: Vec<&str> = e.iter().map(|d| d.message.as_str()).collect();
        assert!(messages.contains(&"unknown key `imgae`"), "{messages:?}");
        assert!(
            messages.iter().any(|m| m.starts_with("invalid port `x`")),
            "{messages:?}"
        );
        assert!(
            messages.contains(&"depends on undefined service `db`"),
            "{messages:?}"
        );
        // the misspelt `image` leaves the service without one: no follow-on error for that
        assert!(
            !messages.contains(&"has neither an image nor a build context"),
            "{messages:?}"
        );
        assert_eq!(e.len(), 3, "{messages:?}");
        let typo = e
            .iter()
            .find(|d| d.message == "unknown key `imgae`")
            .unwrap();
        assert_eq!(typo.hint.as_deref(), Some("did you mean `image`?"));
    }

    #[test]
    fn extends_cycles_are_named() {
        let yaml = "services:\n  a: {extends: b, image: x}\n  b: {extends: a}\n";
        let dir = dir_with(&[("compose.yaml", yaml)]);
        let e = errors(load(opts(dir.path())));
        assert!(
            e.iter().any(|d| d.message == "extends cycle: a -> b -> a"),
            "{e:?}"
        );
    }

    #[test]
    fn depends_on_cycles_are_named() {
        let yaml = "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  c: {image: x, depends_on: [a]}\n";
        let dir = dir_with(&[("compose.yaml", yaml)]);
        let e = errors(load(opts(dir.path())));
        assert!(
            e.iter()
                .any(|d| d.message == "dependency cycle: a -> b -> c -> a"),
            "{e:?}"
        );
    }

    #[test]
    fn extends_from_another_file_resolves_its_paths_there() {
        let dir = dir_with(&[
            (
                "compose.yaml",
                "services:\n  web:\n    extends: {file: base/common.yaml, service: app}\n    image: a\n",
            ),
            (
                "base/common.yaml",
                "services:\n  app:\n    volumes: [\"./data:/data\"]\n    env_file: app.env\n",
            ),
            ("base/app.env", "FROM_BASE=1\n"),
        ]);
        let web = &load(opts(dir.path())).unwrap().project.services["web"];
        let base = dir.path().join("base");
        assert_eq!(
            web.volumes[0].source.as_deref(),
            Some(base.join("data").to_str().unwrap())
        );
        assert_eq!(web.environment["FROM_BASE"].as_deref(), Some("1"));
    }

    #[test]
    fn version_is_accepted_with_compose_s_warning() {
        let dir = dir_with(&[(
            "compose.yaml",
            "version: \"3.9\"\nservices: {web: {image: a}}\n",
        )]);
        let w = load(opts(dir.path())).unwrap().warnings;
        assert!(w[0].ends_with("the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"));
    }
}
