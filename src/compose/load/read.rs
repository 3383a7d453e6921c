//! Reading: a file (or standard input) to YAML nodes, registered in the
//! source map so diagnostics can point into it; then each document checked,
//! interpolated, and its `include` and `extends` resolved.

use std::path::{Path, PathBuf};

use super::{Loader, absolute};
use crate::compose::diagnostic::Diagnostic;
use crate::compose::interpolate::Vars;
use crate::compose::node::{Node, Value};
use crate::compose::source::FileId;
use crate::compose::yaml;
use crate::paths::io_reason;

impl Loader<'_> {
    pub(super) fn read_text(&mut self, file: &Path) -> Result<(FileId, String), Diagnostic> {
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
            self.host.read_to_string(&path).map_err(|e| {
                if let Some(bad) = crate::utf8::not_utf8(&e) {
                    return Diagnostic::not_utf8(
                        &mut self.sources,
                        &path,
                        display.clone(),
                        "compose file",
                        bad,
                        "",
                    );
                }
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

    /// Read and parse one file, then interpolate it and resolve its `include` and `extends`.
    pub(super) fn read_file_with(
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
    pub(super) fn parse_file(&mut self, file: &Path, base_dir: &Path) -> Option<Vec<Node>> {
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
    pub(super) fn resolve_docs(
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
            self.interpolate(&mut doc, vars);
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
}
