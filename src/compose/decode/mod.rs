//! The merged [`Node`] tree to the typed, canonical [`Project`]: short syntax
//! becomes long syntax, durations and sizes are parsed, relative paths are made
//! absolute, and every type error names its file, line, column and key path.
//!
//! One module per concept of a service or a project; [`ctx`] holds the reader
//! they all share.

/// Attributes are looked up by name in one pass; anything else is an unknown key.
macro_rules! fields {
    ($ctx:expr, $entries:expr, $path:expr, $known:expr, |$key:ident, $value:ident, $p:ident| $body:block) => {
        for e in $entries {
            let $key = e.key.name.as_str();
            let $value = &e.value;
            let $p = $crate::compose::decode::ctx::join($path, $key);
            if $key.starts_with("x-") {
                continue;
            }
            if !$known.has($key) {
                $ctx.unknown_key(e, $path, $known.all());
                continue;
            }
            $body
        }
    };
}

mod build;
mod ctx;
mod dependencies;
mod deploy;
mod env;
mod networking;
mod ports;
mod read;
mod resources;
mod service;
mod top_level;
mod volumes;

use crate::compose::model::Project;
use crate::compose::node::Node;
use ctx::{KnownKeys, join, to_json};
use top_level::{file_object, network, top_level, volume};

pub use ctx::{Ctx, push_index};
pub use dependencies::implicit_dependencies;
pub use ports::{canonical_port_nodes, parse_short_port, written_port_key};
pub use service::{SERVICE_KEYS, SERVICE_PASSTHROUGH};
pub use volumes::short_volume_target;

/// Decode the whole project. `name` is already resolved.
pub fn project(ctx: &mut Ctx, root: &Node, name: &str) -> Project {
    let mut p = Project {
        name: name.to_string(),
        ..Default::default()
    };
    let Some(entries) = ctx.map(root, "") else {
        return p;
    };
    const TOP: &[&str] = &[
        "version", "name", "services", "networks", "volumes", "configs", "secrets", "include",
        "models",
    ];
    for e in entries.iter().filter(|e| e.key.name.starts_with("x-")) {
        p.extensions.insert(e.key.name.clone(), to_json(&e.value));
    }
    fields!(ctx, entries, "", TOP, |key, value, path| {
        match key {
            "services" => {
                if let Some(services) = ctx.map(value, &path) {
                    let decoded = decode_services(ctx, services, &path);
                    for (s, svc) in services.iter().zip(decoded) {
                        p.services.insert(s.key.name.clone(), svc);
                    }
                }
            }
            "networks" => top_level(ctx, value, &path, |ctx, key, n, p| {
                network(ctx, n, p, key, name)
            })
            .into_iter()
            .for_each(|(k, v)| {
                p.networks.insert(k, v);
            }),
            "volumes" => top_level(ctx, value, &path, |ctx, key, n, p| {
                volume(ctx, n, p, key, name)
            })
            .into_iter()
            .for_each(|(k, v)| {
                p.volumes.insert(k, v);
            }),
            "configs" | "secrets" => {
                let objs = top_level(ctx, value, &path, |ctx, k, n, p| {
                    file_object(ctx, n, p, k, name)
                });
                if key == "configs" {
                    p.configs.extend(objs);
                } else {
                    p.secrets.extend(objs);
                }
            }
            _ => {}
        }
    });
    p
}

/// Every service of `entries`, in order. A large project's services are
/// decoded on every core, each part with its own diagnostics and warnings,
/// put back in order after it, so what is reported is what one thread
/// reports. A part that reads files (`env_file`) adds them to the project's
/// source map, whose file numbers are handed out in order: a project with
/// any is decoded on one thread.
#[allow(
    clippy::vec_box,
    reason = "boxed as the model's map holds them: a service is 1.5 KB, moved once"
)]
fn decode_services(
    ctx: &mut Ctx<'_>,
    entries: &[crate::compose::node::Entry],
    path: &str,
) -> Vec<Box<crate::compose::model::Service>> {
    let decode = |ctx: &mut Ctx<'_>, part: &[crate::compose::node::Entry]| {
        part.iter()
            .map(|s| {
                let sp = join(path, &s.key.name);
                Box::new(service::service(ctx, &s.value, &sp, &s.key.name))
            })
            .collect::<Vec<_>>()
    };
    let reads_files = || {
        entries.iter().any(|s| {
            s.value
                .as_map()
                .is_some_and(|m| m.iter().any(|e| e.key.name == "env_file"))
        })
    };
    let threads = crate::par::threads_for(entries.len());
    if threads < 2 || reads_files() {
        return decode(ctx, entries);
    }
    let (host, vars, base_dirs, project_dir) = (ctx.host, ctx.vars, ctx.base_dirs, ctx.project_dir);
    let parts = entries.chunks(entries.len().div_ceil(threads)).collect();
    let decoded = crate::par::parts(parts, |part| {
        let mut reports = Reports::default();
        let mut part_ctx = Ctx {
            host,
            sink: &mut reports.sink,
            vars,
            base_dirs,
            sources: &mut reports.sources,
            project_dir,
            warnings: &mut reports.warnings,
        };
        let services = decode(&mut part_ctx, part);
        (services, reports)
    });
    let mut out = Vec::with_capacity(entries.len());
    for (services, mut reports) in decoded {
        ctx.sink.items.append(&mut reports.sink.items);
        ctx.warnings.append(&mut reports.warnings);
        out.extend(services);
    }
    out
}

/// What a part of the services reports while it is decoded on its own thread.
#[derive(Default)]
struct Reports {
    sink: crate::compose::diagnostic::Sink,
    sources: crate::compose::source::SourceMap,
    warnings: Vec<String>,
}
