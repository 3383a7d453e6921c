//! `build`: the context (local, absolute or remote), Dockerfile and the
//! build arguments, which take the project's variables for bare keys.

use std::path::Path;

use super::ctx::{Ctx, KnownKeys, to_json};
use crate::compose::model::*;
use crate::compose::node::{Node, Value};

pub(super) fn build(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Build> {
    let resolve_context = |ctx: &mut Ctx, n: &Node, c: &str| {
        // remote contexts, and absolute paths as written: Compose joins only relative contexts
        // to the project directory (`${PWD}/docker_files/` keeps its slash, as in ClickHouse's
        // examples)
        if c.contains("://")
            || c.starts_with("git@")
            || c.starts_with("github.com/")
            || Path::new(c).is_absolute()
        {
            c.to_string()
        } else {
            ctx.resolve_path(n, c)
        }
    };
    match &n.value {
        Value::Str(c) => Some(Build {
            context: resolve_context(ctx, n, c),
            dockerfile: Some("Dockerfile".into()),
            ..Default::default()
        }),
        Value::Map(entries) => {
            let mut b = Build::default();
            let mut context = None;
            const KEYS: &[&str] = &[
                "context",
                "dockerfile",
                "dockerfile_inline",
                "args",
                "labels",
                "target",
                "network",
                "ssh",
                "cache_from",
                "cache_to",
                "additional_contexts",
                "extra_hosts",
                "isolation",
                "no_cache",
                "pull",
                "platforms",
                "privileged",
                "secrets",
                "shm_size",
                "tags",
                "ulimits",
                "entitlements",
                "provenance",
                "sbom",
            ];
            fields!(ctx, entries, path, KEYS, |key, v, p| {
                match key {
                    "context" => {
                        context = ctx
                            .read::<String>(v, &p)
                            .map(|c| resolve_context(ctx, v, &c))
                    }
                    "dockerfile" => b.dockerfile = ctx.read::<String>(v, &p),
                    "dockerfile_inline" => b.dockerfile_inline = ctx.read::<String>(v, &p),
                    "args" => {
                        b.args = ctx
                            .key_values(v, &p, '=')
                            .into_iter()
                            .filter_map(|(k, val)| {
                                let val = val.or_else(|| ctx.vars.get(&k).map(str::to_string))?;
                                Some((k, Some(val)))
                            })
                            .collect()
                    }
                    "labels" => b.labels = ctx.labels(v, &p),
                    "target" => b.target = ctx.read::<String>(v, &p),
                    "network" => b.network = ctx.read::<String>(v, &p),
                    other => {
                        b.extra.insert(other.to_string(), to_json(v));
                    }
                }
            });
            b.context = context.unwrap_or_else(|| ctx.resolve_path(n, "."));
            if b.dockerfile.is_none() && b.dockerfile_inline.is_none() {
                b.dockerfile = Some("Dockerfile".into());
            }
            Some(b)
        }
        _ => {
            ctx.expected(n, path, "a build context path or a mapping");
            None
        }
    }
}
