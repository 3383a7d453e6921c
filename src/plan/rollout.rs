//! How a replaced container is swapped for its new version: the order
//! (start the new one first, or stop the old one first), the batch size, the
//! gate the new container must pass, and what a failure does. Decided by the
//! plan, from `deploy.update_config` and what the service allows, so a
//! reviewer sees it before anything runs; carried out by apply, which never
//! decides it again.
//!
//! Separate because it is one decision with its own rules (when start-first
//! cannot work) and its own words in every renderer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::compose::model::{Healthcheck, UpdateConfig};
use crate::resource::ContainerSpec;

/// Which container runs while the other is swapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// The new container starts and passes its gate before the old one stops.
    StartFirst,
    /// The old container stops before the new one starts (Compose's way).
    StopFirst,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Order::StartFirst => "start-first",
            Order::StopFirst => "stop-first",
        }
    }
}

/// What a new container must show before the rollout goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Gate {
    /// Healthy within the healthcheck's own budget: `start_period` +
    /// `retries` × (`interval` + `timeout`), Docker's defaults filled in.
    Healthcheck { budget_ms: u64 },
    /// Still running (not exited, not restarting) after `monitor`.
    Running { monitor_ms: u64 },
    /// None: the service has no `deploy.update_config`, and is replaced as
    /// `docker compose up` replaces it (a job that exits at once is fine).
    None,
}

/// What a container that fails its gate does to the rest of the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureAction {
    /// Put the containers already replaced back to their old version.
    Rollback,
    /// Stop: what was replaced stays, the rest is not touched (Swarm's default).
    Pause,
    /// Go on with the remaining batches.
    Continue,
}

impl FailureAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureAction::Rollback => "rollback",
            FailureAction::Pause => "pause",
            FailureAction::Continue => "continue",
        }
    }
}

/// How one replaced container is rolled out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    pub order: Order,
    /// Why the order is stop-first although start-first was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<String>,
    /// Containers of the service replaced at once (0: all).
    pub parallelism: u32,
    /// Pause between batches.
    #[serde(default)]
    pub delay_ms: u64,
    pub gate: Gate,
    pub on_failure: FailureAction,
    /// The order of the way back (`deploy.rollback_config.order`), when a
    /// rollback puts the old containers back.
    #[serde(default = "stop_first")]
    pub rollback_order: Order,
    /// The share of the service's containers that may fail before
    /// `on_failure` acts (0: the first failure).
    #[serde(default)]
    pub max_failure_ratio: f64,
}

fn stop_first() -> Order {
    Order::StopFirst
}

/// Swarm's default `update_config.monitor`: how long a container without a
/// healthcheck must keep running.
const MONITOR_DEFAULT_MS: u64 = 5_000;

/// Docker's healthcheck defaults (`docker run --help`).
const HEALTH_INTERVAL: f64 = 30.0;
const HEALTH_TIMEOUT: f64 = 30.0;
const HEALTH_RETRIES: f64 = 3.0;

/// How long a healthcheck may take to pass: its start period plus retries ×
/// (interval + timeout), with Docker's defaults. `None` when there is none
/// (no healthcheck, or it is disabled).
pub fn health_budget(h: Option<&Healthcheck>) -> Option<Duration> {
    let h = h?;
    let disabled = h.disable
        || h.test
            .as_ref()
            .is_some_and(|t| t.first().is_some_and(|x| x == "NONE"));
    if disabled {
        return None;
    }
    let secs = |d: Option<crate::compose::units::Duration>, default: f64| {
        d.map_or(default, |d| d.as_secs_f64())
    };
    let retries = h.retries.map_or(HEALTH_RETRIES, |r| r as f64);
    let total = secs(h.start_period, 0.0)
        + retries * (secs(h.interval, HEALTH_INTERVAL) + secs(h.timeout, HEALTH_TIMEOUT));
    Some(Duration::from_secs_f64(total.max(0.0)))
}

/// The rollout of a container of `spec` (the new version), as its
/// `deploy.update_config` asks, or the order the service forces.
/// `replaced_dependency` names a network or volume it uses that is replaced
/// too (the old container cannot stay on it).
pub fn rollout(spec: &ContainerSpec, replaced_dependency: Option<&str>) -> Rollout {
    let s = &spec.service;
    let config = s.deploy.as_deref().and_then(|d| d.update_config.as_ref());
    let default = UpdateConfig::default();
    let u = config.unwrap_or(&default);
    let asked = match u.order.as_deref() {
        Some("start-first") => Order::StartFirst,
        _ => Order::StopFirst,
    };
    let forced = match asked {
        Order::StartFirst => start_first_impossible(spec, replaced_dependency),
        Order::StopFirst => None,
    };
    let order = if forced.is_some() {
        Order::StopFirst
    } else {
        asked
    };
    // the way back: rollback_config's order, where the service allows it
    let back = s.deploy.as_deref().and_then(|d| d.rollback_config.as_ref());
    let rollback_order = match back.and_then(|b| b.order.as_deref()) {
        Some("start-first") if forced.is_none() => Order::StartFirst,
        _ => Order::StopFirst,
    };
    let ms = |d: Option<crate::compose::units::Duration>| {
        d.map_or(0, |d| (d.as_secs_f64() * 1000.0).max(0.0) as u64)
    };
    let gate = match (config, health_budget(s.healthcheck.as_deref())) {
        (None, _) => Gate::None,
        (Some(_), Some(budget)) => Gate::Healthcheck {
            budget_ms: budget.as_millis() as u64,
        },
        (Some(_), None) => Gate::Running {
            monitor_ms: u.monitor.map_or(MONITOR_DEFAULT_MS, |m| ms(Some(m))),
        },
    };
    let on_failure = match u.failure_action.as_deref() {
        Some("rollback") => FailureAction::Rollback,
        Some("continue") => FailureAction::Continue,
        // Swarm's default, and the safe one: nothing more is replaced
        _ => FailureAction::Pause,
    };
    Rollout {
        order,
        forced,
        // without update_config every container at once, as Compose does;
        // with it Swarm's default batch of 1
        parallelism: match (config, u.parallelism) {
            (None, _) => 0,
            (Some(_), None) => 1,
            (Some(_), Some(p)) => p.min(u32::MAX as u64) as u32,
        },
        delay_ms: ms(u.delay),
        gate,
        on_failure,
        rollback_order,
        max_failure_ratio: u.max_failure_ratio.unwrap_or(0.0).clamp(0.0, 1.0),
    }
}

/// Why the old and new container cannot run side by side, if they cannot.
fn start_first_impossible(
    spec: &ContainerSpec,
    replaced_dependency: Option<&str>,
) -> Option<String> {
    let s = &spec.service;
    if let Some(p) = s.ports.iter().find(|p| {
        p.published
            .as_deref()
            .is_some_and(|h| !h.is_empty() && h != "0")
    }) {
        let host = p.published.as_deref().unwrap_or_default();
        return Some(format!(
            "it publishes host port {host}, which the old and new container cannot both hold"
        ));
    }
    match s.network_mode.as_deref() {
        Some("host") => {
            return Some(
                "network_mode: host: the old and new container would listen on the same host ports"
                    .into(),
            );
        }
        Some(m) if m.starts_with("service:") || m.starts_with("container:") => {
            return Some(format!(
                "network_mode: {m}: the old and new container would share one network namespace and its ports"
            ));
        }
        _ => {}
    }
    replaced_dependency
        .map(|d| format!("{d} is replaced too, so the old container cannot stay on it"))
}

/// One line for a reviewer: `start-first, 1 at a time, gate: healthcheck (≤ 45 s), on failure: rollback`.
pub fn describe(r: &Rollout) -> String {
    if r.gate == Gate::None {
        return format!(
            "{}, all at once, no gate, as docker compose up does (no deploy.update_config)",
            r.order.as_str()
        );
    }
    let batch = match r.parallelism {
        0 => "all at once".to_string(),
        1 => "1 at a time".to_string(),
        n => format!("{n} at a time"),
    };
    let mut out = format!("{}, {batch}", r.order.as_str());
    if r.delay_ms > 0 {
        out.push_str(&format!(", {} between batches", seconds(r.delay_ms)));
    }
    out.push_str(", gate: ");
    out.push_str(&match r.gate {
        Gate::Healthcheck { budget_ms } => format!("healthcheck (≤ {})", seconds(budget_ms)),
        Gate::None => "none".to_string(),
        Gate::Running { monitor_ms: 0 } => "running".to_string(),
        Gate::Running { monitor_ms } => format!("running for {}", seconds(monitor_ms)),
    });
    out.push_str(&format!(", on failure: {}", r.on_failure.as_str()));
    if r.on_failure == FailureAction::Rollback {
        out.push_str(&format!(" ({})", r.rollback_order.as_str()));
    }
    if r.max_failure_ratio > 0.0 {
        out.push_str(&format!(
            " (after more than {:.0}% failed)",
            r.max_failure_ratio * 100.0
        ));
    }
    if let Some(why) = &r.forced {
        out.push_str(&format!(" (stop-first: {why})"));
    }
    out
}

fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(service: &str) -> ContainerSpec {
        let yaml = format!("services:\n  web:\n    image: w\n{service}");
        let p = crate::compose::project_from_yaml(&yaml, "demo");
        let d = crate::resource::resolve(&p, &Default::default()).unwrap();
        let r = &d.resources[&"container.web[1]".parse().unwrap()];
        r.typed().container().unwrap().clone()
    }

    fn described(service: &str) -> String {
        describe(&rollout(&spec(service), None))
    }

    #[test]
    fn without_update_config_it_is_composes_way_stop_first_all_at_once() {
        assert_eq!(
            described(""),
            "stop-first, all at once, no gate, as docker compose up does (no deploy.update_config)"
        );
    }

    #[test]
    fn start_first_with_a_healthcheck_is_gated_by_the_healthchecks_own_budget() {
        let s = "    healthcheck: {test: [CMD, probe], interval: 2s, timeout: 1s, retries: 3, start_period: 5s}\n    deploy:\n      update_config: {order: start-first, failure_action: rollback}\n      rollback_config: {order: start-first}\n";
        assert_eq!(
            described(s),
            "start-first, 1 at a time, gate: healthcheck (≤ 14 s), on failure: rollback (start-first)"
        );
    }

    #[test]
    fn docker_defaults_fill_in_the_healthcheck_budget() {
        let s = "    healthcheck: {test: [CMD, probe]}\n    deploy:\n      update_config: {}\n";
        assert_eq!(
            rollout(&spec(s), None).gate,
            Gate::Healthcheck { budget_ms: 180_000 }
        );
        let disabled = "    healthcheck: {disable: true}\n    deploy:\n      update_config: {}\n";
        assert_eq!(
            rollout(&spec(disabled), None).gate,
            Gate::Running { monitor_ms: 5_000 }
        );
    }

    #[test]
    fn without_a_healthcheck_the_gate_is_running_after_monitor() {
        let s = "    deploy:\n      update_config: {order: start-first, parallelism: 2, delay: 1500ms, monitor: 3s, failure_action: continue, max_failure_ratio: 0.5}\n";
        assert_eq!(
            described(s),
            "start-first, 2 at a time, 1.5 s between batches, gate: running for 3 s, on failure: continue (after more than 50% failed)"
        );
    }

    #[test]
    fn a_published_host_port_forces_stop_first_and_says_why() {
        let s = "    ports: ['8080:80']\n    deploy:\n      update_config: {order: start-first}\n";
        let r = rollout(&spec(s), None);
        assert_eq!(r.order, Order::StopFirst);
        assert_eq!(
            describe(&r),
            "stop-first, 1 at a time, gate: running for 5 s, on failure: pause (stop-first: it publishes host port 8080, which the old and new container cannot both hold)"
        );
        // an ephemeral host port is chosen by the engine: both can run
        let ephemeral =
            "    ports: ['80']\n    deploy:\n      update_config: {order: start-first}\n";
        assert_eq!(rollout(&spec(ephemeral), None).order, Order::StartFirst);
    }

    #[test]
    fn a_shared_network_namespace_or_a_replaced_network_forces_stop_first() {
        let host =
            "    network_mode: host\n    deploy:\n      update_config: {order: start-first}\n";
        assert!(
            rollout(&spec(host), None)
                .forced
                .unwrap()
                .starts_with("network_mode: host")
        );
        let s = "    deploy:\n      update_config: {order: start-first}\n";
        let r = rollout(&spec(s), Some("network.back"));
        assert_eq!(r.order, Order::StopFirst);
        assert_eq!(
            r.forced.as_deref(),
            Some("network.back is replaced too, so the old container cannot stay on it")
        );
    }
}
