//! The reader every decoder shares: [`Ctx`] (the tree's context: variables,
//! base directories, where diagnostics go), the typed readers of scalars and
//! collections that report a located diagnostic for a node of the wrong shape,
//! and key paths (`services.web.ports[0]`). Separate so that each concept's
//! decoder holds only what that concept means.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compose::diagnostic::{Diagnostic, Sink, suggest};
use crate::compose::host::Host;
use crate::compose::interpolate::Vars;
use crate::compose::node::{Entry, Node, Value};
use crate::compose::source::{FileId, SourceMap};
use crate::paths::clean;

/// What decoding needs besides the tree.
pub struct Ctx<'a> {
    /// Where files and the process environment are read.
    pub host: &'a dyn Host,
    pub sink: &'a mut Sink,
    /// The project's variables (shell over `.env`), for bare `KEY` entries.
    pub vars: &'a Vars,
    /// The directory relative paths are resolved against, per file.
    pub base_dirs: &'a BTreeMap<FileId, PathBuf>,
    pub sources: &'a mut SourceMap,
    pub project_dir: &'a Path,
    pub warnings: &'a mut Vec<String>,
}

/// `path.key`; built with pushes, not `format!`, as it runs for every attribute.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        return key.to_string();
    }
    let mut s = String::with_capacity(path.len() + 1 + key.len());
    s.push_str(path);
    s.push('.');
    s.push_str(key);
    s
}

/// `path[i]`: built for every list item though used only in messages, so
/// without `format!` (~1,000 instructions a call here).
pub(super) fn index(path: &str, i: usize) -> String {
    let mut s = String::with_capacity(path.len() + 8);
    s.push_str(path);
    push_index(&mut s, i);
    s
}

/// Append `[i]` to a path, the number written by `itoa` (no formatting machinery).
pub fn push_index(path: &mut String, i: usize) {
    path.push('[');
    path.push_str(itoa::Buffer::new().format(i));
    path.push(']');
}

impl Ctx<'_> {
    pub(super) fn err_hint(
        &mut self,
        n: &Node,
        path: &str,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.sink
            .push(Diagnostic::at(n.span, path, msg).with_hint(hint));
    }

    pub(super) fn expected(&mut self, n: &Node, path: &str, what: &str) {
        let msg = format!("expected {what}, found {}", n.kind());
        let hint = match n.as_str() {
            // `image:nginx` is one string to YAML
            Some(s) if what.contains("mapping") && s.contains(':') && !s.contains(": ") => {
                "put a space after the colon: `key: value`".to_string()
            }
            _ => format!("write {what} here"),
        };
        self.err_hint(n, path, msg, hint);
    }

    pub(super) fn base_dir(&self, n: &Node) -> PathBuf {
        self.base_dirs
            .get(&n.span.file)
            .cloned()
            .unwrap_or_else(|| self.project_dir.to_path_buf())
    }

    /// Resolve a path against the directory of the file that wrote it, as Compose does:
    /// `~` is the home directory, an absolute path stays as written (`/srv/data/`),
    /// a relative one is joined to the directory and cleaned.
    pub(super) fn resolve_path(&self, n: &Node, p: &str) -> String {
        if let Some(home) = expand_home(self.host, p) {
            return home;
        }
        let path = Path::new(p);
        if path.is_absolute() {
            return p.to_string();
        }
        clean(&self.base_dir(n).join(path))
    }

    // ---- collections ----

    /// A mapping's entries, or an error when the node is something else.
    pub(super) fn map<'n>(&mut self, n: &'n Node, path: &str) -> Option<&'n [Entry]> {
        match &n.value {
            Value::Map(m) => Some(m),
            Value::Null => Some(&[]),
            _ => {
                self.expected(n, path, "a mapping");
                None
            }
        }
    }

    pub(super) fn unknown_key(&mut self, e: &Entry, path: &str, known: &[&str]) {
        let msg = format!("unknown key `{}`", e.key.name);
        let mut d = Diagnostic::at(e.key.span, path, msg);
        if let Some(s) = suggest(&e.key.name, known.iter().copied()) {
            d = d.with_hint(format!("did you mean `{s}`?"));
        } else {
            d = d.with_hint(format!(
                "remove it, or prefix it with `x-` to keep it as an extension; known keys: {}",
                known.join(", ")
            ));
        }
        self.sink.push(d);
    }

    /// A list of strings; a single string counts as a one-item list where Compose allows it.
    pub(super) fn strings(&mut self, n: &Node, path: &str, single_ok: bool) -> Vec<String> {
        match &n.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.read::<String>(item, &index(path, i)))
                .collect(),
            Value::Null => vec![],
            Value::Str(_) | Value::Int(_) | Value::Float(_) if single_ok => {
                self.read::<String>(n, path).into_iter().collect()
            }
            _ => {
                self.expected(n, path, "a list of strings");
                vec![]
            }
        }
    }

    /// `[KEY=VALUE, KEY]` or `{KEY: VALUE}`; `None` for a key without a value.
    pub(super) fn key_values(
        &mut self,
        n: &Node,
        path: &str,
        sep: char,
    ) -> Vec<(String, Option<String>)> {
        match &n.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let p = index(path, i);
                    let text = self.read::<String>(item, &p)?;
                    Some(match text.split_once(sep) {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (text, None),
                    })
                })
                .collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|e| {
                    let p = join(path, &e.key.name);
                    let v = match &e.value.value {
                        Value::Null => None,
                        _ => self.read::<String>(&e.value, &p),
                    };
                    (e.key.name.clone(), v)
                })
                .collect(),
            Value::Null => vec![],
            _ => {
                self.expected(n, path, "a mapping or a list of `KEY=VALUE` strings");
                vec![]
            }
        }
    }

    pub(super) fn labels(&mut self, n: &Node, path: &str) -> BTreeMap<String, String> {
        self.key_values(n, path, '=')
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect()
    }

    pub(super) fn string_map(&mut self, n: &Node, path: &str) -> BTreeMap<String, String> {
        self.labels(n, path)
    }
}

/// The keys a mapping may hold.
pub(super) trait KnownKeys {
    fn has(&self, key: &str) -> bool;
    fn all(&self) -> &[&'static str];
}

impl KnownKeys for [&'static str] {
    fn has(&self, key: &str) -> bool {
        self.contains(&key)
    }
    fn all(&self) -> &[&'static str] {
        self
    }
}

/// A long key list, sorted once, looked up by binary search (every service checks every key).
pub(super) struct SortedKeys(pub(super) Vec<&'static str>);

impl KnownKeys for SortedKeys {
    fn has(&self, key: &str) -> bool {
        self.0.binary_search(&key).is_ok()
    }
    fn all(&self) -> &[&'static str] {
        &self.0
    }
}

/// A valid Compose value berth keeps but does not model, as JSON.
pub fn to_json(n: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &n.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|e| (e.key.name.clone(), to_json(&e.value)))
                .collect(),
        ),
    }
}

pub(super) fn seq<'n>(ctx: &mut Ctx, n: &'n Node, path: &str) -> Option<&'n [Node]> {
    match &n.value {
        Value::Seq(items) => Some(items),
        Value::Null => Some(&[]),
        _ => {
            ctx.expected(n, path, "a list");
            None
        }
    }
}

// ---- paths ----

/// `~` and what follows it, joined to the home directory and cleaned (Go's
/// `filepath.Join(home, p[1:])`); `None` when `p` does not start with `~` or
/// there is no home directory.
pub(super) fn expand_home(host: &dyn Host, p: &str) -> Option<String> {
    let rest = p.strip_prefix('~')?;
    let home = host.var("HOME")?;
    Some(clean(&Path::new(&home).join(rest.trim_start_matches('/'))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_paths_name_the_index() {
        assert_eq!(index("services.web.ports", 0), "services.web.ports[0]");
        assert_eq!(index("x", 1234567), "x[1234567]");
        assert_eq!(index("", usize::MAX), format!("[{}]", usize::MAX));
    }
}
