//! The project's name: the one interpolation sees (before the files are
//! merged) and the one the project takes, with Compose's rules for a valid name.

use std::path::{Path, PathBuf};

use super::Loader;
use crate::compose::diagnostic::Diagnostic;
use crate::compose::interpolate::{self, Vars};
use crate::compose::node::Node;

impl Loader<'_> {
    /// The project's name as Compose has it when it interpolates the files: -p,
    /// else `COMPOSE_PROJECT_NAME`, else the last `name:` of the files
    /// (interpolated, normalised), else the project directory's name.
    pub(super) fn name_for_interpolation(
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

    /// `-p`, else `COMPOSE_PROJECT_NAME`, else `name:`, else the project directory's name.
    pub(super) fn project_name(
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
