//! `extends`: a service built on another, from the same file or another one
//! (read, interpolated and kept for the rest of the file), chains resolved once
//! per service, cycles named once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Loader, empty};
use crate::compose::diagnostic::{Diagnostic, suggest};
use crate::compose::interpolate::Vars;
use crate::compose::merge;
use crate::compose::node::{Entry, Node, Value};
use crate::compose::source::Span;
use crate::compose::yaml;

impl Loader<'_> {
    /// Resolve `extends` in every service of one file.
    pub(super) fn extends(&mut self, doc: &mut Node, file: &Path, file_dir: &Path, vars: &Vars) {
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
        let mut ext = Extends {
            loader: self,
            vars,
            files: HashMap::from([(file.to_path_buf(), services.clone())]),
            chain: Vec::new(),
        };
        let mut resolved = Vec::new();
        for e in entries {
            let value = if e.value.get("extends").is_none() {
                e.value.clone()
            } else {
                ext.chain = vec![(file.to_path_buf(), e.key.name.clone())];
                ext.resolve(&e.value, &e.key.name, file, file_dir)
            };
            resolved.push(Entry {
                key: e.key.clone(),
                value,
            });
        }
        if let Some(s) = doc.get_mut("services") {
            s.value = Value::Map(resolved);
        }
    }
}

/// The `extends` of one file's services, and what their chains share.
struct Extends<'a, 'h> {
    loader: &'a mut Loader<'h>,
    vars: &'a Vars,
    /// The services of each file read so far, by path.
    files: HashMap<PathBuf, Node>,
    /// The services being resolved, by (file, service): a repeat is a cycle.
    chain: Vec<(PathBuf, String)>,
}

/// What an `extends` names.
struct Target {
    service: String,
    service_span: Span,
    /// The file, as written, when it is not the extending service's own.
    file: Option<(String, Span)>,
}

impl Extends<'_, '_> {
    /// `svc` (the service `name` of `file`) with its base merged under it.
    fn resolve(&mut self, svc: &Node, name: &str, file: &Path, file_dir: &Path) -> Node {
        let Some(ext) = svc.get("extends") else {
            return svc.clone();
        };
        let path = format!("services.{name}.extends");
        let Some(target) = self.target(ext, &path) else {
            return svc.clone();
        };
        let (base_path, base_dir) = match &target.file {
            Some((f, span)) => {
                let Some(p) = self.read_services(f, *span, file_dir, &path) else {
                    return svc.clone();
                };
                let dir = p.parent().unwrap_or(file_dir).to_path_buf();
                (p, dir)
            }
            None => (file.to_path_buf(), file_dir.to_path_buf()),
        };
        let key = (base_path.clone(), target.service.clone());
        if self.chain.contains(&key) {
            self.report_cycle(&target, &path);
            return svc.clone();
        }
        // only the base service is copied, never the whole file's services
        let base = self
            .files
            .get(&base_path)
            .and_then(|s| s.get(&target.service))
            .cloned();
        let Some(base) = base else {
            self.report_unknown(&target, &base_path, &path);
            return svc.clone();
        };
        // a chain (`c` extends `b` extends `a`) is resolved once per service, not once per user
        let base = match self.loader.resolved.get(&key) {
            Some(done) => done.clone(),
            None => {
                self.chain.push(key.clone());
                let done = self.resolve(&base, &target.service, &base_path, &base_dir);
                self.chain.pop();
                self.loader.resolved.insert(key, done.clone());
                done
            }
        };
        merged(base, svc, name)
    }

    /// The service (and file) an `extends` names, or `None` when reported as malformed.
    fn target(&mut self, ext: &Node, path: &str) -> Option<Target> {
        let (service, file) = match &ext.value {
            Value::Str(s) => (Some((s.clone(), ext.span)), None),
            Value::Map(_) => (
                ext.get("service")
                    .and_then(|n| n.scalar_text().map(|s| (s, n.span))),
                ext.get("file")
                    .map(|n| (n.scalar_text().unwrap_or_default(), n.span)),
            ),
            _ => {
                self.loader.sink.error(
                    ext.span,
                    path,
                    format!("expected a service name or a mapping, found {}", ext.kind()),
                );
                return None;
            }
        };
        let Some((service, service_span)) = service else {
            self.loader.sink.push(
                Diagnostic::at(ext.span, path, "missing `service`")
                    .with_hint("name the service to extend: `extends: {service: base}`"),
            );
            return None;
        };
        Some(Target {
            service,
            service_span,
            file,
        })
    }

    /// Read another file's services once (interpolated with the project's
    /// variables): its absolute path, or `None` when reported.
    fn read_services(
        &mut self,
        written: &str,
        span: Span,
        file_dir: &Path,
        path: &str,
    ) -> Option<PathBuf> {
        let p = super::absolute(file_dir, Path::new(written));
        if self.files.contains_key(&p) {
            return Some(p);
        }
        let l = &mut *self.loader;
        if !l.host.is_file(&p) {
            l.sink.push(
                Diagnostic::at(
                    span,
                    path,
                    format!("extends file `{}` not found", p.display()),
                )
                .with_hint("fix the path; it is relative to the file that declares `extends`"),
            );
            return None;
        }
        let (id, text) = match l.read_text(&p) {
            Ok(x) => x,
            Err(d) => {
                l.sink.push(d);
                return None;
            }
        };
        l.base_dirs
            .insert(id, p.parent().unwrap_or(file_dir).to_path_buf());
        let docs = match yaml::parse(&text, id) {
            Ok(d) => d,
            Err(errors) => {
                l.sink.items.extend(errors);
                return None;
            }
        };
        let mut doc = docs.into_iter().next().unwrap_or_else(|| empty(span));
        l.interpolate(&mut doc, self.vars);
        let services = doc
            .get("services")
            .cloned()
            .unwrap_or_else(|| empty(doc.span));
        self.files.insert(p.clone(), services);
        Some(p)
    }

    /// A cycle, named by its members in order; each cycle once.
    fn report_cycle(&mut self, target: &Target, path: &str) {
        let cycle: Vec<String> = self
            .chain
            .iter()
            .map(|(_, s)| s.clone())
            .chain([target.service.clone()])
            .collect();
        let mut members = cycle.clone();
        members.sort();
        members.dedup();
        if !self.loader.cycles.insert(members) {
            return;
        }
        self.loader.sink.push(
            Diagnostic::at(
                target.service_span,
                path,
                format!("extends cycle: {}", cycle.join(" -> ")),
            )
            .with_hint("a service cannot extend itself, directly or through others"),
        );
    }

    fn report_unknown(&mut self, target: &Target, base_path: &Path, path: &str) {
        let names: Vec<String> = self
            .files
            .get(base_path)
            .and_then(Node::as_map)
            .unwrap_or(&[])
            .iter()
            .map(|e| e.key.name.clone())
            .collect();
        let base_name = &target.service;
        let hint = match suggest(base_name, names.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "services in `{}`: {}",
                base_path.display(),
                names.join(", ")
            ),
        };
        self.loader.sink.push(
            Diagnostic::at(
                target.service_span,
                path,
                format!("cannot extend unknown service `{base_name}`"),
            )
            .with_hint(hint),
        );
    }
}

/// The service over its base, neither keeping `extends`.
fn merged(mut base: Node, svc: &Node, name: &str) -> Node {
    let mut over = svc.clone();
    for n in [&mut over, &mut base] {
        if let Some(m) = n.as_map_mut() {
            m.retain(|e| e.key.name != "extends");
        }
    }
    merge::merge(base, over, &["services", name]).unwrap_or_else(|| empty(svc.span))
}
