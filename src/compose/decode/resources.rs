//! What a container may use: `deploy.resources` limits and reservations,
//! `devices`, `blkio_config` and `ulimits`. Separate because these attributes
//! share one vocabulary (device paths, sizes, counts) and none of the service's logic.

use std::collections::BTreeMap;

use super::ctx::{Ctx, KnownKeys, index, join, seq, to_json};
use crate::compose::model::*;
use crate::compose::node::{Node, Value};
use crate::compose::units::Bytes;

pub(super) fn resource_limit(ctx: &mut Ctx, n: &Node, path: &str) -> Option<ResourceLimit> {
    let entries = ctx.map(n, path)?;
    let mut r = ResourceLimit::default();
    const KEYS: &[&str] = &["cpus", "memory", "pids", "devices", "generic_resources"];
    fields!(ctx, entries, path, KEYS, |key, v, p| {
        match key {
            "cpus" => r.cpus = ctx.read::<f64>(v, &p),
            "memory" => r.memory = ctx.read::<Bytes>(v, &p),
            "pids" => r.pids = ctx.read::<i64>(v, &p),
            other => {
                r.extra.insert(other.to_string(), to_json(v));
            }
        }
    });
    Some(r)
}

pub(super) fn devices(ctx: &mut Ctx, n: &Node, path: &str) -> Vec<Device> {
    let Some(items) = seq(ctx, n, path) else {
        return vec![];
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        if let Value::Map(_) = item.value {
            let f = |ctx: &mut Ctx, k: &str| {
                item.get(k)
                    .and_then(|v| ctx.read::<String>(v, &join(&p, k)))
            };
            let source = f(ctx, "source").unwrap_or_default();
            let target = f(ctx, "target").unwrap_or_else(|| source.clone());
            let permissions = f(ctx, "permissions").unwrap_or_else(|| "rwm".into());
            out.push(Device {
                source,
                target,
                permissions,
            });
            continue;
        }
        let Some(text) = ctx.read::<String>(item, &p) else {
            continue;
        };
        let parts: Vec<&str> = text.split(':').collect();
        let device = match parts.as_slice() {
            [s] => Some((s.to_string(), s.to_string(), "rwm".to_string())),
            [s, t] => Some((s.to_string(), t.to_string(), "rwm".to_string())),
            [s, t, perm] => Some((s.to_string(), t.to_string(), perm.to_string())),
            _ => None,
        };
        match device {
            Some((source, target, permissions)) => out.push(Device {
                source,
                target,
                permissions,
            }),
            None => ctx.err_hint(
                item,
                &p,
                format!("invalid device `{text}`"),
                "write `HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]]`",
            ),
        }
    }
    out
}

pub(super) fn blkio_config(ctx: &mut Ctx, n: &Node, path: &str) -> Option<BlkioConfig> {
    let entries = ctx.map(n, path)?;
    let mut b = BlkioConfig::default();
    const KEYS: &[&str] = &[
        "weight",
        "weight_device",
        "device_read_bps",
        "device_read_iops",
        "device_write_bps",
        "device_write_iops",
    ];
    fields!(ctx, entries, path, KEYS, |key, v, p| {
        match key {
            "weight" => b.weight = ctx.read::<u64>(v, &p).map(|w| w as u16),
            "weight_device" => {
                b.weight_device = devices_of(ctx, v, &p, "weight")
                    .into_iter()
                    .map(|(path, n, at)| WeightDevice {
                        path,
                        weight: ctx.read::<u64>(n, &at).unwrap_or(0) as u16,
                    })
                    .collect()
            }
            _ => {
                let list = devices_of(ctx, v, &p, "rate")
                    .into_iter()
                    .filter_map(|(path, n, at)| {
                        Some(ThrottleDevice {
                            path,
                            rate: ctx.read::<Bytes>(n, &at)?,
                        })
                    })
                    .collect();
                match key {
                    "device_read_bps" => b.device_read_bps = list,
                    "device_read_iops" => b.device_read_iops = list,
                    "device_write_bps" => b.device_write_bps = list,
                    _ => b.device_write_iops = list,
                }
            }
        }
    });
    Some(b)
}

/// `[{path: ..., <value>: ...}]`: each device's path, its value node and that node's path.
pub(super) fn devices_of<'n>(
    ctx: &mut Ctx,
    n: &'n Node,
    path: &str,
    value: &'static str,
) -> Vec<(String, &'n Node, String)> {
    let mut out = Vec::new();
    let Some(items) = n.as_seq() else {
        ctx.expected(n, path, "a list of devices");
        return out;
    };
    for (i, item) in items.iter().enumerate() {
        let at = index(path, i);
        let Some(entries) = ctx.map(item, &at) else {
            continue;
        };
        let mut device = None;
        let mut amount = None;
        fields!(ctx, entries, &at, &["path", value][..], |key, v, p| {
            if key == "path" {
                device = ctx.read::<String>(v, &p);
            } else {
                amount = Some((v, p));
            }
        });
        if let (Some(d), Some((v, p))) = (device, amount) {
            out.push((d, v, p));
        }
    }
    out
}

pub(super) fn ulimits(ctx: &mut Ctx, n: &Node, path: &str) -> BTreeMap<String, Ulimit> {
    let mut out = BTreeMap::new();
    let Some(entries) = ctx.map(n, path) else {
        return out;
    };
    for e in entries {
        let p = join(path, &e.key.name);
        let u = match &e.value.value {
            Value::Map(fields) => {
                let (mut soft, mut hard) = (None, None);
                fields!(ctx, fields, &p, &["soft", "hard"], |k, v, kp| {
                    if k == "soft" {
                        soft = ctx.read::<i64>(v, &kp);
                    } else {
                        hard = ctx.read::<i64>(v, &kp);
                    }
                });
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Some(Ulimit::Range { soft, hard }),
                    _ => {
                        ctx.err_hint(
                            &e.value,
                            &p,
                            "a ulimit needs both `soft` and `hard`",
                            "write `{soft: N, hard: N}` or a single number",
                        );
                        None
                    }
                }
            }
            _ => ctx.read::<i64>(&e.value, &p).map(Ulimit::Single),
        };
        if let Some(u) = u {
            out.insert(e.key.name.clone(), u);
        }
    }
    out
}
