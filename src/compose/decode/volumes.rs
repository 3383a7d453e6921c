//! `volumes` and `tmpfs`: short and long mount syntax, bind sources resolved
//! against the file that wrote them, one mount per container path. Separate
//! because mount syntax is the largest grammar a service has.

use std::path::Path;

use super::ctx::{Ctx, KnownKeys, index, join, seq};
use super::ports::unique_by;
use crate::compose::model::*;
use crate::compose::node::{Node, Value};
use crate::compose::units::Bytes;
use crate::paths::clean;

/// The target path of a short volume spec, cleaned, for merge unicity.
pub fn short_volume_target(spec: &str) -> String {
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        [t] | [_, t, ..] => container_path(t),
        [] => String::new(),
    }
}

pub(super) fn is_path(source: &str) -> bool {
    source.starts_with('.') || source.starts_with('/') || source.starts_with('~')
}

/// A service's volumes, one per target as Compose keeps them: a later entry for
/// the same target replaces an earlier one in its place. Short syntax targets are
/// compared cleaned (`/data/` is `/data`), long syntax ones as written.
pub(super) fn volumes(ctx: &mut Ctx, n: &Node, path: &str) -> Vec<Mount> {
    let Some(items) = seq(ctx, n, path) else {
        return vec![];
    };
    let mut keyed: Vec<(String, Mount)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        let (mount, key) = match &item.value {
            Value::Str(text) => {
                let m = short_volume(ctx, item, text, &p);
                let key = m.as_ref().map(|m| m.target.clone());
                (m, key)
            }
            Value::Map(_) => (
                long_volume(ctx, item, &p),
                item.get("target").and_then(Node::scalar_text),
            ),
            _ => {
                ctx.expected(item, &p, "a volume string or a mapping");
                (None, None)
            }
        };
        if let (Some(mount), Some(key)) = (mount, key) {
            keyed.push((key, mount));
        }
    }
    unique_by(keyed, |(key, _)| key.clone())
        .into_iter()
        .map(|(_, mount)| mount)
        .collect()
}

/// Two mounts (volumes or tmpfs) on one path in the container are an error, as in Compose.
pub(super) fn mount_targets_unique(ctx: &mut Ctx, n: &Node, path: &str, s: &Service) {
    let tmpfs = s
        .tmpfs
        .iter()
        .map(|t| ("tmpfs", t.split(':').next().unwrap_or_default()));
    let volumes = s.volumes.iter().map(|m| ("volumes", m.target.as_str()));
    let mounted: Vec<(&str, &str)> = tmpfs.chain(volumes).collect();
    for (i, (key, target)) in mounted.iter().enumerate() {
        let Some(first) = mounted[..i].iter().position(|(_, t)| t == target) else {
            continue;
        };
        let place = |j: usize| {
            let (key, _) = mounted[j];
            let before = mounted[..j].iter().filter(|(k, _)| *k == key).count();
            index(&join(path, key), before)
        };
        // point at the last item written for this target
        let list = n.get(key);
        let items = list.and_then(Node::as_seq).unwrap_or_default();
        let at = items
            .iter()
            .rev()
            .find(|item| mount_target_written(key, item).as_deref() == Some(*target))
            .or(list)
            .unwrap_or(n);
        ctx.err_hint(
            at,
            &place(i),
            format!("target `{target}` is already mounted by {}", place(first)),
            "mount one volume, bind or tmpfs per path in the container",
        );
        return;
    }
}

/// The target an item of `tmpfs` or `volumes` mounts, as [`mount_targets_unique`] compares it.
pub(super) fn mount_target_written(key: &str, item: &Node) -> Option<String> {
    match (key, item.scalar_text()) {
        ("tmpfs", Some(t)) => t.split(':').next().map(str::to_string),
        (_, Some(spec)) => Some(short_volume_target(&spec)),
        (_, None) => item
            .get("target")
            .and_then(Node::scalar_text)
            .map(|t| container_path(&t)),
    }
}

pub(super) fn short_volume(ctx: &mut Ctx, item: &Node, text: &str, p: &str) -> Option<Mount> {
    let parts: Vec<&str> = text.split(':').collect();
    let bad = |ctx: &mut Ctx, why: &str| {
        ctx.err_hint(
            item,
            p,
            format!("invalid volume `{text}`: {why}"),
            "write `SOURCE:TARGET[:ro]`, where SOURCE is a volume name or a path starting with `.` or `/`",
        );
        None
    };
    let (source, target, opts) = match parts.as_slice() {
        [t] => (None, *t, None),
        [s, t] => (Some(*s), *t, None),
        [s, t, o] => (Some(*s), *t, Some(*o)),
        _ => return bad(ctx, "too many `:`"),
    };
    if target.is_empty() {
        return bad(ctx, "the target path is empty");
    }
    if !target.starts_with('/') {
        return bad(ctx, "the target must be an absolute path in the container");
    }
    let mut m = Mount {
        kind: MountType::Volume,
        source: None,
        target: container_path(target),
        read_only: false,
        consistency: None,
        bind: None,
        volume: None,
        tmpfs: None,
    };
    let mut selinux = None;
    let mut propagation = None;
    let mut nocopy = false;
    for opt in opts.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => m.read_only = true,
            "rw" => m.read_only = false,
            "z" | "Z" => selinux = Some(opt.to_string()),
            "nocopy" => nocopy = true,
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                propagation = Some(opt.to_string())
            }
            // accepted and dropped, as Compose does (they only mattered on Docker Desktop for Mac)
            "cached" | "delegated" | "consistent" => {}
            // Compose ignores what it does not know (`roz` in Zabbix's files is not read-only)
            other => ctx.warnings.push(format!(
                "{p}: volume `{text}`: option `{other}` is unknown and ignored, as Compose ignores it"
            )),
        }
    }
    match source {
        Some(s) if is_path(s) => {
            m.kind = MountType::Bind;
            m.source = Some(ctx.resolve_path(item, s));
            m.bind = Some(BindOptions {
                propagation,
                create_host_path: true,
                selinux,
            });
        }
        Some("") => return bad(ctx, "the source is empty"),
        Some(s) => {
            m.source = Some(s.to_string());
            m.volume = Some(VolumeOptions {
                nocopy,
                subpath: None,
            });
            // Compose keeps `:z`, `:Z` and propagation on a named volume too, as bind options
            if selinux.is_some() || propagation.is_some() {
                m.bind = Some(BindOptions {
                    propagation,
                    create_host_path: false,
                    selinux,
                });
            }
        }
        None => {
            m.volume = Some(VolumeOptions::default());
        }
    }
    Some(m)
}

pub(super) fn long_volume(ctx: &mut Ctx, item: &Node, p: &str) -> Option<Mount> {
    let entries = item.as_map()?;
    let mut kind = None;
    let mut source = None;
    let mut target = None;
    let mut read_only = false;
    let mut consistency = None;
    let mut bind: Option<BindOptions> = None;
    let mut volume: Option<VolumeOptions> = None;
    let mut tmpfs: Option<TmpfsOptions> = None;
    const KEYS: &[&str] = &[
        "type",
        "source",
        "target",
        "read_only",
        "consistency",
        "bind",
        "volume",
        "tmpfs",
        "image",
    ];
    fields!(ctx, entries, p, KEYS, |k, v, kp| {
        match k {
            "type" => {
                kind = match ctx.read::<String>(v, &kp).as_deref() {
                    Some("bind") => Some(MountType::Bind),
                    Some("volume") => Some(MountType::Volume),
                    Some("tmpfs") => Some(MountType::Tmpfs),
                    Some("npipe") => Some(MountType::Npipe),
                    Some("cluster") => Some(MountType::Cluster),
                    Some("image") => Some(MountType::Image),
                    Some(other) => {
                        let msg = format!("unknown volume type `{other}`");
                        ctx.err_hint(v, &kp, msg, "use bind, volume or tmpfs");
                        None
                    }
                    None => None,
                }
            }
            "source" => source = ctx.read::<String>(v, &kp).map(|s| (s, v.clone())),
            "target" => target = ctx.read::<String>(v, &kp),
            "read_only" => read_only = ctx.read::<bool>(v, &kp).unwrap_or(false),
            "consistency" => consistency = ctx.read::<String>(v, &kp),
            "bind" => {
                if let Some(fields) = ctx.map(v, &kp) {
                    let mut b = BindOptions {
                        create_host_path: true,
                        ..Default::default()
                    };
                    fields!(
                        ctx,
                        fields,
                        &kp,
                        &["propagation", "create_host_path", "selinux"],
                        |bk, bv, bp| {
                            match bk {
                                "propagation" => b.propagation = ctx.read::<String>(bv, &bp),
                                "create_host_path" => {
                                    b.create_host_path = ctx.read::<bool>(bv, &bp).unwrap_or(true)
                                }
                                _ => b.selinux = ctx.read::<String>(bv, &bp),
                            }
                        }
                    );
                    bind = Some(b);
                }
            }
            "volume" => {
                if let Some(fields) = ctx.map(v, &kp) {
                    let mut o = VolumeOptions::default();
                    fields!(
                        ctx,
                        fields,
                        &kp,
                        &["nocopy", "subpath", "labels"],
                        |vk, vv, vp| {
                            match vk {
                                "nocopy" => o.nocopy = ctx.read::<bool>(vv, &vp).unwrap_or(false),
                                "subpath" => o.subpath = ctx.read::<String>(vv, &vp),
                                _ => {}
                            }
                        }
                    );
                    volume = Some(o);
                }
            }
            "tmpfs" => {
                if let Some(fields) = ctx.map(v, &kp) {
                    let mut t = TmpfsOptions::default();
                    fields!(ctx, fields, &kp, &["size", "mode"], |tk, tv, tp| {
                        if tk == "size" {
                            t.size = ctx.read::<Bytes>(tv, &tp);
                        } else {
                            t.mode = ctx.read::<u64>(tv, &tp).map(|u| u as u32);
                        }
                    });
                    tmpfs = Some(t);
                }
            }
            _ => {}
        }
    });
    let Some(kind) = kind else {
        if item.get("type").is_none() {
            ctx.err_hint(
                item,
                p,
                "a volume needs a `type`",
                "add `type: volume`, `type: bind` or `type: tmpfs`",
            );
        }
        return None;
    };
    let Some(target) = target else {
        ctx.err_hint(
            item,
            p,
            "a volume needs a `target`",
            "add `target: /path/in/container`",
        );
        return None;
    };
    let source = match (kind, source) {
        (MountType::Bind, Some((s, node))) => Some(ctx.resolve_path(&node, &s)),
        (MountType::Bind, None) => {
            ctx.err_hint(
                item,
                p,
                "a bind mount needs a `source`",
                "add `source: ./path/on/host`",
            );
            return None;
        }
        (_, s) => s.map(|(s, _)| s),
    };
    Some(Mount {
        kind,
        source,
        target: container_path(&target),
        read_only,
        consistency,
        bind,
        volume,
        tmpfs,
    })
}

/// A path in the container, cleaned as Compose cleans volume targets (`/srv/data/` → `/srv/data`).
pub(super) fn container_path(target: &str) -> String {
    if target.is_empty() {
        return String::new();
    }
    clean(Path::new(target))
}
