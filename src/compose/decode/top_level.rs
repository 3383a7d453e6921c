//! The resources declared at the top of a project: `networks`, `volumes`,
//! `configs` and `secrets`, with the names they take on the engine.

use super::ctx::{Ctx, KnownKeys, index, join, seq, to_json};
use crate::compose::model::*;
use crate::compose::node::{Node, Value};

pub(super) fn top_level<T>(
    ctx: &mut Ctx,
    n: &Node,
    path: &str,
    mut each: impl FnMut(&mut Ctx, &str, &Node, &str) -> T,
) -> Vec<(String, T)> {
    let Some(entries) = ctx.map(n, path) else {
        return vec![];
    };
    entries
        .iter()
        .filter(|e| !e.key.name.starts_with("x-"))
        .map(|e| {
            let p = join(path, &e.key.name);
            (e.key.name.clone(), each(ctx, &e.key.name, &e.value, &p))
        })
        .collect()
}

/// A top-level resource's name on the engine: `name:` if given, else the key for
/// an external resource, else `<project>_<key>`.
pub(super) fn engine_name(
    name: Option<String>,
    external: bool,
    key: &str,
    project: &str,
) -> String {
    name.unwrap_or_else(|| {
        if external {
            key.to_string()
        } else {
            format!("{project}_{key}")
        }
    })
}

pub(super) fn external(ctx: &mut Ctx, n: &Node, path: &str) -> (bool, Option<String>) {
    match &n.value {
        Value::Map(_) => (
            true,
            n.get("name")
                .and_then(|v| ctx.read::<String>(v, &join(path, "name"))),
        ),
        _ => (ctx.read::<bool>(n, path).unwrap_or(false), None),
    }
}

pub(super) fn network(ctx: &mut Ctx, n: &Node, path: &str, key: &str, project: &str) -> Network {
    let mut net = Network::default();
    let mut name = None;
    if let Some(entries) = ctx.map(n, path) {
        const KEYS: &[&str] = &[
            "name",
            "driver",
            "driver_opts",
            "ipam",
            "external",
            "internal",
            "attachable",
            "labels",
            "enable_ipv6",
            "enable_ipv4",
        ];
        fields!(ctx, entries, path, KEYS, |k, v, p| {
            match k {
                "name" => name = ctx.read::<String>(v, &p),
                "driver" => net.driver = ctx.read::<String>(v, &p),
                "driver_opts" => net.driver_opts = ctx.string_map(v, &p),
                "ipam" => net.ipam = ipam(ctx, v, &p),
                "external" => {
                    let (ext, ext_name) = external(ctx, v, &p);
                    net.external = ext;
                    if ext_name.is_some() {
                        name = ext_name;
                    }
                }
                "internal" => net.internal = ctx.read::<bool>(v, &p).unwrap_or(false),
                "attachable" => net.attachable = ctx.read::<bool>(v, &p).unwrap_or(false),
                "labels" => net.labels = ctx.labels(v, &p),
                "enable_ipv6" => net.enable_ipv6 = ctx.read::<bool>(v, &p),
                other => {
                    net.extra.insert(other.to_string(), to_json(v));
                }
            }
        });
    }
    net.name = engine_name(name, net.external, key, project);
    net
}

pub(super) fn ipam(ctx: &mut Ctx, n: &Node, path: &str) -> Ipam {
    let mut out = Ipam::default();
    let Some(entries) = ctx.map(n, path) else {
        return out;
    };
    fields!(
        ctx,
        entries,
        path,
        &["driver", "config", "options"],
        |k, v, p| {
            match k {
                "driver" => out.driver = ctx.read::<String>(v, &p),
                "options" => out.options = ctx.string_map(v, &p),
                _ => {
                    for (i, pool) in seq(ctx, v, &p).unwrap_or(&[]).iter().enumerate() {
                        let pp = index(&p, i);
                        let mut c = IpamPool::default();
                        if let Some(fields) = ctx.map(pool, &pp) {
                            const KEYS: &[&str] =
                                &["subnet", "gateway", "ip_range", "aux_addresses"];
                            fields!(ctx, fields, &pp, KEYS, |ck, cv, cp| {
                                match ck {
                                    "subnet" => c.subnet = ctx.read::<String>(cv, &cp),
                                    "gateway" => c.gateway = ctx.read::<String>(cv, &cp),
                                    "ip_range" => c.ip_range = ctx.read::<String>(cv, &cp),
                                    _ => c.aux_addresses = ctx.string_map(cv, &cp),
                                }
                            });
                        }
                        out.config.push(c);
                    }
                }
            }
        }
    );
    out
}

pub(super) fn volume(ctx: &mut Ctx, n: &Node, path: &str, key: &str, project: &str) -> Volume {
    let mut vol = Volume::default();
    let mut name = None;
    if let Some(entries) = ctx.map(n, path) {
        const KEYS: &[&str] = &["name", "driver", "driver_opts", "external", "labels"];
        fields!(ctx, entries, path, KEYS, |k, v, p| {
            match k {
                "name" => name = ctx.read::<String>(v, &p),
                "driver" => vol.driver = ctx.read::<String>(v, &p),
                "driver_opts" => vol.driver_opts = ctx.string_map(v, &p),
                "external" => {
                    let (ext, ext_name) = external(ctx, v, &p);
                    vol.external = ext;
                    if ext_name.is_some() {
                        name = ext_name;
                    }
                }
                _ => vol.labels = ctx.labels(v, &p),
            }
        });
    }
    vol.name = engine_name(name, vol.external, key, project);
    vol
}

pub(super) fn file_object(
    ctx: &mut Ctx,
    n: &Node,
    path: &str,
    key: &str,
    project: &str,
) -> FileObject {
    let mut o = FileObject::default();
    let mut name = None;
    if let Some(entries) = ctx.map(n, path) {
        const KEYS: &[&str] = &[
            "name",
            "file",
            "environment",
            "content",
            "external",
            "labels",
            "template_driver",
            "driver",
            "driver_opts",
        ];
        fields!(ctx, entries, path, KEYS, |k, v, p| {
            match k {
                "name" => name = ctx.read::<String>(v, &p),
                "file" => o.file = ctx.read::<String>(v, &p).map(|f| ctx.resolve_path(v, &f)),
                "environment" => {
                    o.environment = ctx.read::<String>(v, &p);
                    o.environment_value = o
                        .environment
                        .as_deref()
                        .and_then(|var| ctx.vars.get(var))
                        .map(str::to_string);
                }
                "content" => o.content = ctx.read::<String>(v, &p),
                "external" => {
                    let (ext, ext_name) = external(ctx, v, &p);
                    o.external = ext;
                    if ext_name.is_some() {
                        name = ext_name;
                    }
                }
                "labels" => o.labels = ctx.labels(v, &p),
                _ => {}
            }
        });
        let sources = [&o.file, &o.environment, &o.content]
            .iter()
            .filter(|s| s.is_some())
            .count();
        if sources == 0 && !o.external {
            ctx.err_hint(
                n,
                path,
                "needs one of `file`, `environment` or `content`, or `external: true`",
                "add `file: ./path` to read it from a file",
            );
        } else if sources > 1 {
            ctx.err_hint(
                n,
                path,
                "`file`, `environment` and `content` exclude each other",
                "keep only one of them",
            );
        }
    }
    o.name = engine_name(name, o.external, key, project);
    o
}
