//! Top-level `include`: each included file is loaded as its own project (paths
//! relative to it, its own env files layered over the including project's
//! variables) and its resources are added; a name defined twice is an error.

use std::path::{Path, PathBuf};

use super::{Loader, absolute, empty};
use crate::compose::diagnostic::Diagnostic;
use crate::compose::env_layers::EnvLayers;
use crate::compose::interpolate::Vars;
use crate::compose::merge;
use crate::compose::node::{Entry, Node, Value};
use crate::paths::io_reason;

/// One `include` entry: short syntax (a path) or long syntax.
struct Include {
    paths: Vec<Node>,
    project_directory: Option<String>,
    /// The `env_file` nodes, for their text and for errors.
    env_files: Vec<Node>,
}

impl Loader<'_> {
    pub(super) fn includes(
        &mut self,
        doc: &mut Node,
        base_dir: &Path,
        vars: &Vars,
        stack: &mut Vec<PathBuf>,
    ) {
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
            let Some(entry) = self.include_entry(&item, &path) else {
                continue;
            };
            let mut included: Option<Node> = None;
            for p in &entry.paths {
                let Some(docs) = self.included_file(p, &entry, base_dir, vars, stack, &path) else {
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

    /// An entry as written, or `None` when it is reported as malformed.
    fn include_entry(&mut self, item: &Node, path: &str) -> Option<Include> {
        let fields = match &item.value {
            Value::Str(_) => {
                return Some(Include {
                    paths: vec![item.clone()],
                    project_directory: None,
                    env_files: vec![],
                });
            }
            Value::Map(fields) => fields,
            _ => {
                self.sink.error(
                    item.span,
                    path,
                    format!("expected a path or a mapping, found {}", item.kind()),
                );
                return None;
            }
        };
        let mut entry = Include {
            paths: vec![],
            project_directory: None,
            env_files: vec![],
        };
        for f in fields {
            let list = |n: &Node| match &n.value {
                Value::Seq(s) => s.clone(),
                _ => vec![n.clone()],
            };
            match f.key.name.as_str() {
                "path" => entry.paths.extend(list(&f.value)),
                "project_directory" => entry.project_directory = f.value.scalar_text(),
                "env_file" => entry.env_files.extend(
                    list(&f.value)
                        .into_iter()
                        .filter(|n| n.scalar_text().is_some()),
                ),
                other => self.sink.push(
                    Diagnostic::at(f.key.span, path, format!("unknown key `{other}`"))
                        .with_hint("include entries take path, project_directory and env_file"),
                ),
            }
        }
        Some(entry)
    }

    /// One included file, read with its project's variables: its documents, or
    /// `None` when reported.
    fn included_file(
        &mut self,
        p: &Node,
        entry: &Include,
        base_dir: &Path,
        vars: &Vars,
        stack: &mut Vec<PathBuf>,
        path: &str,
    ) -> Option<Vec<Node>> {
        let rel = p.scalar_text()?;
        let file = absolute(base_dir, Path::new(&rel));
        if stack.contains(&file) {
            self.sink.push(
                Diagnostic::at(
                    p.span,
                    path,
                    format!("include cycle: `{}` includes itself", file.display()),
                )
                .with_hint("remove the include that closes the cycle"),
            );
            return None;
        }
        if !self.host.is_file(&file) {
            self.sink.push(
                Diagnostic::at(
                    p.span,
                    path,
                    format!("included file `{}` not found", file.display()),
                )
                .with_hint(
                    "fix the path; it is relative to the including file's project directory",
                ),
            );
            return None;
        }
        let dir = match &entry.project_directory {
            Some(d) => absolute(base_dir, Path::new(d)),
            None => file.parent().unwrap_or(base_dir).to_path_buf(),
        };
        let inc_vars = self.included_variables(entry, &dir, base_dir, vars, path);
        self.read_file_with(&file, &dir, &inc_vars, stack)
    }

    /// The included project's variables: its env files (`env_file`, else its
    /// `.env`) over the including project's, the shell over both. A named env
    /// file that cannot be read, or any that does not parse, is reported.
    fn included_variables(
        &mut self,
        entry: &Include,
        dir: &Path,
        base_dir: &Path,
        vars: &Vars,
        path: &str,
    ) -> Vars {
        let shell = &self.opts.environ;
        let mut env = EnvLayers::over(vars.clone(), |k| shell.contains_key(k));
        let files: Vec<(PathBuf, Option<&Node>)> = if entry.env_files.is_empty() {
            vec![(dir.join(".env"), None)]
        } else {
            entry
                .env_files
                .iter()
                .filter_map(|n| Some((absolute(base_dir, Path::new(&n.scalar_text()?)), Some(n))))
                .collect()
        };
        for (file, named_by) in files {
            let text = match (self.host.read_to_string(&file), named_by) {
                (Ok(text), _) => text,
                (Err(e), _) if crate::utf8::not_utf8(&e).is_some() => {
                    let bad = crate::utf8::not_utf8(&e).expect("checked above");
                    let display = file.display().to_string();
                    let d = Diagnostic::not_utf8(
                        &mut self.sources,
                        &file,
                        display,
                        "env file",
                        bad,
                        path,
                    );
                    self.sink.push(d);
                    continue;
                }
                // the default `.env` is optional
                (Err(_), None) => continue,
                (Err(e), Some(n)) => {
                    self.sink.push(
                        Diagnostic::at(
                            n.span,
                            path,
                            format!(
                                "env file `{}` cannot be read: {}",
                                file.display(),
                                io_reason(&e)
                            ),
                        )
                        .with_hint("fix the path; it is relative to the including file's project directory"),
                    );
                    continue;
                }
            };
            self.inputs.push(file.clone());
            if let Err(e) = env.add_env_file(&text) {
                let d = self.invalid_env_file(&file, text, e, path);
                self.sink.push(d);
            }
        }
        env.into_vars()
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
}
