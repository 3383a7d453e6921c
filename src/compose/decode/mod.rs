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
                    for s in services {
                        let sp = join(&path, &s.key.name);
                        let svc = service::service(ctx, &s.value, &sp, &s.key.name);
                        p.services.insert(s.key.name.clone(), Box::new(svc));
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
