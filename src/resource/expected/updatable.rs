//! What `docker update` can change on a live container ([`Updatable`]): the
//! restart policy and the resource limits, read from a spec as the engine will
//! report them, and written back into a spec for import.
//!
//! Separate from the create body because three callers read it on its own:
//! drift compares it with the engine's inspect, an in-place update sends it,
//! and import records what the engine holds through [`with_updatable`].

use bollard::models::{HostConfig, RestartPolicy, RestartPolicyNameEnum};
use serde::Serialize;

use crate::compose::units::Bytes;
use crate::resource::spec::ContainerSpec;

/// What `docker update` can change on a live container, as the engine
/// reports it in its inspect (`HostConfig`): the attributes drift compares
/// and an in-place update sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Updatable {
    /// `no`, `always`, `unless-stopped`, `on-failure` or `on-failure:N`.
    pub restart: String,
    /// Bytes; 0 = unlimited.
    pub memory: i64,
    /// Bytes; 0 = none.
    pub memory_reservation: i64,
    /// Memory plus swap, bytes: the engine reports twice the memory limit
    /// when only that is set, -1 for unlimited swap, 0 without a limit.
    pub memory_swap: i64,
    /// Billionths of a CPU; 0 = unlimited.
    pub nano_cpus: i64,
    /// 0 = the engine's default weight.
    pub cpu_shares: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    /// `""` = all CPUs.
    pub cpuset_cpus: String,
    /// 0 = unlimited (the engine reports null, 0 or -1 for that).
    pub pids_limit: i64,
}

impl Updatable {
    /// The attributes that differ from `other`, by their Compose names, with both values.
    pub fn differences(&self, other: &Updatable) -> Vec<(&'static str, String, String)> {
        let number = |name, a: i64, b: i64| (name, a.to_string(), b.to_string());
        [
            ("restart", self.restart.clone(), other.restart.clone()),
            number("mem_limit", self.memory, other.memory),
            number(
                "mem_reservation",
                self.memory_reservation,
                other.memory_reservation,
            ),
            number("memswap_limit", self.memory_swap, other.memory_swap),
            (
                "cpus",
                cpus_text(self.nano_cpus),
                cpus_text(other.nano_cpus),
            ),
            number("cpu_shares", self.cpu_shares, other.cpu_shares),
            number("cpu_period", self.cpu_period, other.cpu_period),
            number("cpu_quota", self.cpu_quota, other.cpu_quota),
            (
                "cpuset",
                self.cpuset_cpus.clone(),
                other.cpuset_cpus.clone(),
            ),
            number("pids_limit", self.pids_limit, other.pids_limit),
        ]
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .collect()
    }

    /// Whether the engine's update call can go from `self` to `to`: it cannot
    /// lift a limit back to "none" (0 means "leave as it is" there), so
    /// removing a limit takes a new container.
    pub fn can_update_to(&self, to: &Updatable) -> bool {
        let lifted = |from: i64, to: i64| from != 0 && to == 0;
        !(lifted(self.memory, to.memory)
            || lifted(self.memory_reservation, to.memory_reservation)
            || lifted(self.nano_cpus, to.nano_cpus)
            || lifted(self.cpu_shares, to.cpu_shares)
            || lifted(self.cpu_period, to.cpu_period)
            || lifted(self.cpu_quota, to.cpu_quota)
            || lifted(self.pids_limit, to.pids_limit)
            || (!self.cpuset_cpus.is_empty() && to.cpuset_cpus.is_empty()))
    }

    /// The engine's restart policy for [`Updatable::restart`].
    pub fn restart_policy(&self) -> RestartPolicy {
        restart_policy(&self.restart)
    }

    /// Write these attributes into a create request's host config.
    pub(super) fn apply_to(&self, h: &mut HostConfig) {
        let set = |v: i64| (v != 0).then_some(v);
        h.restart_policy = Some(self.restart_policy());
        h.memory = set(self.memory);
        h.memory_reservation = set(self.memory_reservation);
        // the engine derives twice the memory itself when only memory is set
        h.memory_swap = (self.memory_swap != 2 * self.memory)
            .then_some(self.memory_swap)
            .and_then(set);
        h.nano_cpus = set(self.nano_cpus);
        h.cpu_shares = set(self.cpu_shares);
        h.cpu_period = set(self.cpu_period);
        h.cpu_quota = set(self.cpu_quota);
        h.cpuset_cpus = (!self.cpuset_cpus.is_empty()).then(|| self.cpuset_cpus.clone());
        h.pids_limit = set(self.pids_limit);
    }
}

fn cpus_text(nano: i64) -> String {
    let cpus = nano as f64 / 1e9;
    if cpus.fract() == 0.0 {
        format!("{}", cpus as i64)
    } else {
        format!("{cpus}")
    }
}

/// A compose restart value (`no`, `always`, `unless-stopped`, `on-failure[:N]`,
/// or a `deploy.restart_policy` condition: `none`, `any`) as the engine's policy.
pub fn restart_policy(restart: &str) -> RestartPolicy {
    let (name, count) = match restart.split_once(':') {
        Some((n, c)) => (n, c.trim().parse().ok()),
        None => (restart, None),
    };
    let name = match name.trim() {
        "always" | "any" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    };
    RestartPolicy {
        name: Some(name),
        maximum_retry_count: count,
    }
}

/// The engine's restart policy as berth writes it: `on-failure:3`, `always`, `no`.
pub fn restart_text(policy: &RestartPolicy) -> String {
    let name = match policy.name {
        Some(RestartPolicyNameEnum::ALWAYS) => "always",
        Some(RestartPolicyNameEnum::UNLESS_STOPPED) => "unless-stopped",
        Some(RestartPolicyNameEnum::ON_FAILURE) => "on-failure",
        _ => "no",
    };
    match policy.maximum_retry_count {
        Some(n) if n > 0 && name == "on-failure" => format!("{name}:{n}"),
        _ => name.to_string(),
    }
}

/// The updatable attributes a container spec asks for, as the engine will
/// report them (compose's `getRestartPolicy` and `getDeployResources`).
pub fn updatable(spec: &ContainerSpec) -> Updatable {
    let s = &spec.service;
    let deploy = s.deploy.as_deref();
    let mut restart = s
        .restart
        .as_deref()
        .map(|r| restart_text(&restart_policy(r)))
        .unwrap_or_else(|| "no".to_string());
    if let Some(p) = deploy.and_then(|d| d.restart_policy.as_ref()) {
        let condition = p.condition.as_deref().unwrap_or("");
        let mut policy = restart_policy(condition);
        policy.maximum_retry_count = p.max_attempts.map(|n| n as i64);
        restart = restart_text(&policy);
    }
    let limits = deploy.and_then(|d| d.resources.limits.as_ref());
    let reservations = deploy.and_then(|d| d.resources.reservations.as_ref());
    let memory = limits
        .and_then(|l| l.memory)
        .filter(|m| m.0 != 0)
        .or(s.mem_limit)
        .map_or(0, |b| b.0);
    let nano_cpus = limits
        .and_then(|l| l.cpus)
        .filter(|c| *c != 0.0)
        .or(s.cpus)
        .map_or(0, |c| (c * 1e9) as i64);
    let pids_limit = limits
        .and_then(|l| l.pids)
        .filter(|p| *p > 0)
        .or(s.pids_limit)
        .filter(|p| *p > 0)
        .unwrap_or(0);
    let memory_reservation = reservations
        .and_then(|r| r.memory)
        .filter(|m| m.0 != 0)
        .or(s.mem_reservation)
        .map_or(0, |b| b.0);
    let memory_swap = match s.memswap_limit {
        Some(b) if b.0 != 0 => b.0,
        _ if memory > 0 => 2 * memory,
        _ => 0,
    };
    Updatable {
        restart,
        memory,
        memory_reservation,
        memory_swap,
        nano_cpus,
        cpu_shares: s.cpu_shares.unwrap_or(0),
        cpu_period: s.cpu_period.unwrap_or(0),
        cpu_quota: s.cpu_quota.unwrap_or(0),
        cpuset_cpus: s.cpuset.clone().unwrap_or_default(),
        pids_limit,
    }
}

/// `spec` with its updatable attributes written as `u` says: what import
/// records for a container the engine holds with other limits than the files
/// ask for, so that the next plan names the attributes to change.
/// `updatable(&with_updatable(spec, u)) == *u`.
pub fn with_updatable(spec: &ContainerSpec, u: &Updatable) -> ContainerSpec {
    if updatable(spec) == *u {
        return spec.clone();
    }
    let mut out = without_updatable(spec);
    let s = &mut out.service;
    let some = |v: i64| (v > 0).then_some(v);
    s.restart = Some(u.restart.clone());
    s.mem_limit = some(u.memory).map(Bytes);
    s.mem_reservation = some(u.memory_reservation).map(Bytes);
    s.memswap_limit =
        (u.memory_swap != 0 && u.memory_swap != 2 * u.memory).then_some(Bytes(u.memory_swap));
    s.cpus = some(u.nano_cpus).map(|n| n as f64 / 1e9);
    s.cpu_shares = some(u.cpu_shares);
    s.cpu_period = some(u.cpu_period);
    s.cpu_quota = some(u.cpu_quota);
    s.cpuset = (!u.cpuset_cpus.is_empty()).then(|| u.cpuset_cpus.clone());
    s.pids_limit = some(u.pids_limit);
    out
}

/// `spec` without what [`Updatable`] is made of: the restart policy and the
/// limits, from the short keys and from `deploy`.
pub fn without_updatable(spec: &ContainerSpec) -> ContainerSpec {
    let mut out = spec.clone();
    let s = &mut out.service;
    s.restart = None;
    s.mem_limit = None;
    s.mem_reservation = None;
    s.memswap_limit = None;
    s.cpus = None;
    s.cpu_shares = None;
    s.cpu_period = None;
    s.cpu_quota = None;
    s.cpuset = None;
    s.pids_limit = None;
    if let Some(d) = s.deploy.as_mut() {
        d.restart_policy = None;
        if let Some(l) = d.resources.limits.as_mut() {
            l.cpus = None;
            l.memory = None;
            l.pids = None;
        }
        if let Some(r) = d.resources.reservations.as_mut() {
            r.memory = None;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::expected::spec_of;

    #[test]
    fn deploy_restart_policy_is_the_restart_policy_and_wins_over_restart() {
        let (_, spec) = spec_of(
            "services:\n  app:\n    image: demo\n    restart: always\n    deploy:\n      restart_policy:\n        condition: on-failure\n        max_attempts: 3\n",
            "container.app[1]",
        );
        assert_eq!(updatable(&spec).restart, "on-failure:3");
        let (_, spec) = spec_of(
            "services:\n  app:\n    image: demo\n    deploy:\n      restart_policy:\n        condition: any\n",
            "container.app[1]",
        );
        assert_eq!(updatable(&spec).restart, "always");
        let (_, spec) = spec_of(
            "services:\n  app:\n    image: demo\n    restart: unless-stopped\n",
            "container.app[1]",
        );
        assert_eq!(updatable(&spec).restart, "unless-stopped");
    }

    #[test]
    fn limits_come_from_the_short_keys_or_deploy_resources() {
        let (_, spec) = spec_of(
            "services:\n  app:\n    image: demo\n    pids_limit: 100\n    mem_reservation: 32m\n    cpu_shares: 512\n    deploy:\n      resources:\n        limits: {cpus: '0.5', memory: 64m}\n",
            "container.app[1]",
        );
        let u = updatable(&spec);
        assert_eq!(u.memory, 64 << 20);
        assert_eq!(
            u.memory_swap,
            128 << 20,
            "the engine reports twice the memory"
        );
        assert_eq!(u.memory_reservation, 32 << 20);
        assert_eq!(u.nano_cpus, 500_000_000);
        assert_eq!(u.pids_limit, 100);
        assert_eq!(u.cpu_shares, 512);
    }

    #[test]
    fn restart_texts_round_trip_through_the_engine_policy() {
        for text in [
            "no",
            "always",
            "unless-stopped",
            "on-failure",
            "on-failure:5",
        ] {
            assert_eq!(restart_text(&restart_policy(text)), text);
        }
        assert_eq!(restart_text(&restart_policy("none")), "no");
        assert_eq!(restart_text(&RestartPolicy::default()), "no");
    }

    #[test]
    fn what_import_records_reads_back_as_what_the_engine_holds() {
        let (_, spec) = spec_of(
            "services:\n  app:\n    image: demo\n    restart: always\n    deploy:\n      resources:\n        limits: {memory: 64m}\n",
            "container.app[1]",
        );
        for u in [
            Updatable::default(),
            Updatable {
                restart: "on-failure:2".into(),
                memory: 32 << 20,
                memory_swap: 64 << 20,
                nano_cpus: 1_500_000_000,
                pids_limit: 10,
                ..Default::default()
            },
            Updatable {
                restart: "no".into(),
                memory: 32 << 20,
                memory_swap: -1,
                cpuset_cpus: "0".into(),
                cpu_shares: 100,
                ..Default::default()
            },
        ] {
            let u = Updatable {
                restart: if u.restart.is_empty() {
                    "no".into()
                } else {
                    u.restart.clone()
                },
                ..u
            };
            assert_eq!(updatable(&with_updatable(&spec, &u)), u);
        }
        assert_eq!(with_updatable(&spec, &updatable(&spec)), spec);
    }

    #[test]
    fn lifting_a_limit_needs_a_new_container() {
        let limited = Updatable {
            memory: 1 << 20,
            ..Default::default()
        };
        assert!(!limited.can_update_to(&Updatable::default()));
        assert!(Updatable::default().can_update_to(&limited));
    }
}
