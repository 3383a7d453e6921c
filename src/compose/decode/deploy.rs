//! `deploy`: replicas, update and rollback policies, restart policy and
//! placement (resource limits are in [`super::resources`]).

use super::ctx::{Ctx, KnownKeys, to_json};
use super::resources::resource_limit;
use crate::compose::model::*;
use crate::compose::node::Node;
use crate::compose::units::Duration;

pub(super) fn deploy(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Deploy> {
    let entries = ctx.map(n, path)?;
    let mut d = Deploy {
        placement: serde_json::json!({}),
        ..Default::default()
    };
    const KEYS: &[&str] = &[
        "mode",
        "replicas",
        "labels",
        "update_config",
        "rollback_config",
        "resources",
        "restart_policy",
        "placement",
        "endpoint_mode",
    ];
    fields!(ctx, entries, path, KEYS, |key, v, p| {
        match key {
            "mode" => d.mode = ctx.read::<String>(v, &p),
            "replicas" => d.replicas = ctx.read::<u64>(v, &p).map(|u| u as u32),
            "labels" => d.labels = ctx.labels(v, &p),
            "update_config" => d.update_config = update_config(ctx, v, &p),
            "rollback_config" => d.rollback_config = update_config(ctx, v, &p),
            "resources" => {
                if let Some(entries) = ctx.map(v, &p) {
                    fields!(
                        ctx,
                        entries,
                        &p,
                        &["limits", "reservations"],
                        |k, rv, rp| {
                            let limit = resource_limit(ctx, rv, &rp);
                            if k == "limits" {
                                d.resources.limits = limit;
                            } else {
                                d.resources.reservations = limit;
                            }
                        }
                    );
                }
            }
            "restart_policy" => {
                if let Some(entries) = ctx.map(v, &p) {
                    let mut r = RestartPolicy::default();
                    const RP: &[&str] = &["condition", "delay", "max_attempts", "window"];
                    fields!(ctx, entries, &p, RP, |k, rv, rp| {
                        match k {
                            "condition" => r.condition = ctx.read::<String>(rv, &rp),
                            "delay" => r.delay = ctx.read::<Duration>(rv, &rp),
                            "max_attempts" => r.max_attempts = ctx.read::<u64>(rv, &rp),
                            "window" => r.window = ctx.read::<Duration>(rv, &rp),
                            _ => {}
                        }
                    });
                    d.restart_policy = Some(r);
                }
            }
            "placement" => d.placement = to_json(v),
            other => {
                d.extra.insert(other.to_string(), to_json(v));
            }
        }
    });
    Some(d)
}

pub(super) fn update_config(ctx: &mut Ctx, n: &Node, path: &str) -> Option<UpdateConfig> {
    let entries = ctx.map(n, path)?;
    let mut u = UpdateConfig::default();
    const KEYS: &[&str] = &[
        "parallelism",
        "delay",
        "failure_action",
        "monitor",
        "max_failure_ratio",
        "order",
    ];
    fields!(ctx, entries, path, KEYS, |key, v, p| {
        match key {
            "parallelism" => u.parallelism = ctx.read::<u64>(v, &p),
            "delay" => u.delay = ctx.read::<Duration>(v, &p),
            "failure_action" => u.failure_action = ctx.read::<String>(v, &p),
            "monitor" => u.monitor = ctx.read::<Duration>(v, &p),
            "max_failure_ratio" => u.max_failure_ratio = ctx.read::<f64>(v, &p),
            "order" => {
                u.order = ctx.read::<String>(v, &p);
                if let Some(o) = &u.order
                    && o != "start-first"
                    && o != "stop-first"
                {
                    let msg = format!("unknown update order `{o}`");
                    ctx.err_hint(v, &p, msg, "use `start-first` or `stop-first`");
                }
            }
            _ => {}
        }
    });
    Some(u)
}
