//! Files that hold variables: a service's `env_file` and `label_file`, their
//! long syntax (`path`, `required`, `format`) and how their `${VAR}` and bare
//! `KEY` are resolved. Separate because it is the only decoder that reads files.

use std::collections::BTreeMap;
use std::path::Path;

use super::ctx::{Ctx, KnownKeys, index};
use crate::compose::diagnostic::Diagnostic;
use crate::compose::dotenv::{self, EnvPair};
use crate::compose::env_layers::EnvLayers;
use crate::compose::interpolate::Vars;
use crate::compose::node::{Node, Value};
use crate::paths::io_reason;

/// One file named by `env_file` or `label_file`.
pub(super) struct EnvFileRef {
    /// The node that names the file (for errors).
    node: Node,
    /// Key path of the entry.
    path: String,
    /// As written, and resolved against the directory of the file that wrote it.
    written: String,
    full: String,
    required: bool,
    /// `format: raw`: values taken as written.
    raw: bool,
}

/// The files an `env_file` or `label_file` attribute names: a path, a list of
/// paths, or long syntax entries (`path`, `required`, `format`).
pub(super) fn env_file_refs(ctx: &mut Ctx, n: &Node, path: &str) -> Vec<EnvFileRef> {
    let items: Vec<(Node, String)> = match &n.value {
        Value::Str(_) => vec![(n.clone(), path.to_string())],
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.clone(), index(path, i)))
            .collect(),
        Value::Null => vec![],
        _ => {
            ctx.expected(n, path, "a path or a list of paths");
            vec![]
        }
    };
    let mut out = Vec::new();
    for (item, p) in items {
        let (file_node, required, raw) = match &item.value {
            Value::Map(entries) => {
                let mut file = None;
                let mut required = true;
                let mut raw = false;
                fields!(
                    ctx,
                    entries,
                    &p,
                    &["path", "required", "format"],
                    |k, v, kp| {
                        match k {
                            "path" => file = Some(v.clone()),
                            "required" => required = ctx.read::<bool>(v, &kp).unwrap_or(true),
                            _ => match ctx.read::<String>(v, &kp).as_deref() {
                                Some("raw") => raw = true,
                                Some("") | None => {}
                                Some(other) => ctx.err_hint(
                                    v,
                                    &kp,
                                    format!("unsupported env_file format `{other}`"),
                                    "leave `format` out for the .env format, or write `format: raw` for values taken as written",
                                ),
                            },
                        }
                    }
                );
                match file {
                    Some(f) => (f, required, raw),
                    None => {
                        ctx.err_hint(&item, &p, "missing `path`", "write `path: ./file.env`");
                        continue;
                    }
                }
            }
            _ => (item.clone(), true, false),
        };
        let Some(written) = ctx.read::<String>(&file_node, &p) else {
            continue;
        };
        let full = ctx.resolve_path(&file_node, &written);
        out.push(EnvFileRef {
            node: file_node,
            path: p,
            written,
            full,
            required,
            raw,
        });
    }
    out
}

/// Read and parse one env or label file; values may refer to `vars`. `None`
/// when an optional file is missing or the file is reported as invalid.
pub(super) fn read_env_file(ctx: &mut Ctx, f: &EnvFileRef, vars: &Vars) -> Option<Vec<EnvPair>> {
    let text = match ctx.host.read_to_string(Path::new(&f.full)) {
        Ok(text) => text,
        // even an optional file: it is there, and would be read wrongly
        Err(e) if crate::utf8::not_utf8(&e).is_some() => {
            let bad = crate::utf8::not_utf8(&e).expect("checked above");
            let d = Diagnostic::not_utf8(
                ctx.sources,
                Path::new(&f.full),
                f.written.clone(),
                "env file",
                bad,
                &f.path,
            );
            ctx.sink.push(d);
            return None;
        }
        Err(_) if !f.required => return None,
        Err(e) => {
            ctx.err_hint(
                &f.node,
                &f.path,
                format!("env file `{}` cannot be read: {}", f.full, io_reason(&e)),
                "create the file, fix the path, or mark it optional with `required: false`",
            );
            return None;
        }
    };
    let parsed = if f.raw {
        dotenv::parse_raw(&text)
    } else {
        dotenv::parse(&text, vars)
    };
    match parsed {
        Ok(pairs) => Some(pairs),
        Err(e) => {
            let id = ctx.sources.add(Path::new(&f.full), f.written.clone(), text);
            let span = crate::compose::source::Span {
                file: id,
                line: e.line,
                col: e.col,
                offset: 0,
                len: 1,
            };
            let hint = if f.raw {
                "a `format: raw` env file holds `KEY=VALUE` lines, keys without spaces"
            } else {
                "env files hold `KEY=VALUE` lines; quote values with spaces or `#`"
            };
            ctx.sink.push(
                Diagnostic::at(span, &f.path, format!("invalid env file: {}", e.message))
                    .with_hint(hint),
            );
            None
        }
    }
}

/// The variables of a service's `env_file`s, in order (later files win when
/// collected). Their `${VAR}` and bare `KEY` take the project's value, else the
/// service's `environment` value (as in Compose), else nothing (a bare KEY is left out).
pub(super) fn env_file(
    ctx: &mut Ctx,
    n: &Node,
    path: &str,
    environment: &[(String, Option<String>)],
) -> Vec<(String, Option<String>)> {
    // the service's own values under the project's, only when it adds any
    let adds = |(k, v): &&(String, Option<String>)| v.is_some() && !ctx.vars.contains(k);
    let scope: Option<Vars> = environment.iter().any(|e| adds(&e)).then(|| {
        let mut scope = EnvLayers::over(ctx.vars.clone(), |_| true);
        for (k, v) in environment {
            if let Some(v) = v {
                scope.set(k.clone(), v.clone());
            }
        }
        scope.into_vars()
    });
    let mut out = Vec::new();
    for f in env_file_refs(ctx, n, path) {
        let vars: &Vars = match &scope {
            Some(scope) => scope,
            None => ctx.vars,
        };
        for (k, v) in read_env_file(ctx, &f, vars).into_iter().flatten() {
            if let Some(v) = v.or_else(|| vars.get(&k).map(str::to_string)) {
                out.push((k, Some(v)));
            }
        }
    }
    out
}

/// The labels of a service's `label_file`s, as Compose reads them: a later file
/// overrides an earlier one, and a file's `${VAR}` and bare `KEY` refer to the
/// labels of the files before it only (not to the environment).
pub(super) fn label_files(ctx: &mut Ctx, n: &Node, path: &str) -> BTreeMap<String, String> {
    let mut labels = EnvLayers::default();
    for f in env_file_refs(ctx, n, path) {
        // a bare KEY takes an earlier file's value: it is already set
        for (k, v) in read_env_file(ctx, &f, labels.vars()).into_iter().flatten() {
            if let Some(v) = v {
                labels.set(k, v);
            }
        }
    }
    labels.into_vars().into_map()
}
