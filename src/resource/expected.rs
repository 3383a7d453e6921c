//! The expected view of a container: from its [`ContainerSpec`] to what the
//! engine must hold, as `docker compose up` would create it.
//!
//! One place decides it, and everything that touches a container reads it:
//! create sends [`Expected::body`] (and connects [`Expected::networks`]),
//! drift compares what the engine reports with [`Updatable`] and the other
//! parts, in-place updates send [`Updatable`], and import compares with it.
//! So what berth creates is, by construction, what it expects to observe.
//!
//! The mapping follows docker/compose's `getCreateConfigs` (pkg/compose/create.go):
//! restart policy from `restart` or `deploy.restart_policy` (which wins),
//! limits from the short keys or `deploy.resources`, aliases, links,
//! `service:` references resolved to the dependency's container.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, HostConfigCgroupnsModeEnum, HostConfigIsolationEnum, HostConfigLogConfig, Mount,
    MountBindOptions, MountTmpfsOptions, MountType, MountVolumeOptions, PortBinding,
    ResourcesBlkioWeightDevice, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
    ThrottleDevice,
};
use serde::Serialize;

use super::spec::ContainerSpec;
use crate::compose::model::{self, Healthcheck, MountType as ComposeMount, Project, Service};
use crate::compose::units::Bytes;

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
        let mut out = Vec::new();
        let mut field = |name: &'static str, a: String, b: String| {
            if a != b {
                out.push((name, a, b));
            }
        };
        field("restart", self.restart.clone(), other.restart.clone());
        field(
            "mem_limit",
            self.memory.to_string(),
            other.memory.to_string(),
        );
        field(
            "mem_reservation",
            self.memory_reservation.to_string(),
            other.memory_reservation.to_string(),
        );
        field(
            "memswap_limit",
            self.memory_swap.to_string(),
            other.memory_swap.to_string(),
        );
        field(
            "cpus",
            cpus_text(self.nano_cpus),
            cpus_text(other.nano_cpus),
        );
        field(
            "cpu_shares",
            self.cpu_shares.to_string(),
            other.cpu_shares.to_string(),
        );
        field(
            "cpu_period",
            self.cpu_period.to_string(),
            other.cpu_period.to_string(),
        );
        field(
            "cpu_quota",
            self.cpu_quota.to_string(),
            other.cpu_quota.to_string(),
        );
        field(
            "cpuset",
            self.cpuset_cpus.clone(),
            other.cpuset_cpus.clone(),
        );
        field(
            "pids_limit",
            self.pids_limit.to_string(),
            other.pids_limit.to_string(),
        );
        out
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
    fn apply_to(&self, h: &mut HostConfig) {
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

/// A network the container joins: its engine name and endpoint settings.
pub type Attachment = (String, EndpointSettings);

/// What the engine must hold for one container.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The create request, with the first network (or `network_mode`) only:
    /// [`Expected::networks`] lists every network, in attach order.
    pub body: ContainerCreateBody,
    /// Every network with its endpoint (aliases, addresses, links), the
    /// highest `priority` first, then by key; empty with `network_mode`.
    pub networks: Vec<Attachment>,
    pub updatable: Updatable,
}

impl Expected {
    /// The engine names of the networks the container must be on.
    pub fn network_names(&self) -> BTreeSet<String> {
        self.networks.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// The project-wide names a container's spec refers to: networks, volumes,
/// other services' containers, config and secret files.
pub trait Names {
    /// The project's name.
    fn project(&self) -> &str;
    /// The engine name of network `key`.
    fn network(&self, key: &str) -> String;
    /// The engine name of volume `key`.
    fn volume(&self, key: &str) -> String;
    /// The container names of `service`, replica 1 first.
    fn containers(&self, service: &str) -> Vec<String>;
    /// The host file of config (`secret == false`) or secret `name`, when file-based.
    fn file(&self, secret: bool, name: &str) -> Option<String>;
    /// The text of config or secret `name` given by `content:` or `environment:`.
    fn inline(&self, secret: bool, name: &str) -> Option<String>;
}

impl Names for Project {
    fn project(&self) -> &str {
        &self.name
    }

    fn network(&self, key: &str) -> String {
        self.networks
            .get(key)
            .map_or_else(|| format!("{}_{key}", self.name), |n| n.name.clone())
    }

    fn volume(&self, key: &str) -> String {
        self.volumes
            .get(key)
            .map_or_else(|| key.to_string(), |v| v.name.clone())
    }

    fn containers(&self, service: &str) -> Vec<String> {
        self.services
            .get(service)
            .map(|s| {
                (1..=s.replicas().max(1))
                    .map(|n| super::desired::container_name(&self.name, s, n))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn file(&self, secret: bool, name: &str) -> Option<String> {
        let objects = if secret { &self.secrets } else { &self.configs };
        objects.get(name).and_then(|o| o.file.clone())
    }

    fn inline(&self, secret: bool, name: &str) -> Option<String> {
        let objects = if secret { &self.secrets } else { &self.configs };
        let o = objects.get(name)?;
        if o.file.is_some() || o.external {
            return None;
        }
        o.content.clone().or_else(|| {
            o.environment
                .as_ref()
                .map(|var| std::env::var(var).unwrap_or_default())
        })
    }
}

/// `service:NAME` → `container:<NAME's first container>`; other modes as written.
fn resolve_mode(mode: &str, names: &dyn Names) -> String {
    match mode.strip_prefix("service:") {
        Some(service) => match names.containers(service).first() {
            Some(c) => format!("container:{c}"),
            None => mode.to_string(),
        },
        None => mode.to_string(),
    }
}

/// The expected view of the container `spec` describes, for service
/// `service`. `labels` are added to the spec's own (berth's and compose's);
/// `files` are the config and secret files to bind read-only (host, target).
pub fn expected(
    spec: &ContainerSpec,
    service: &str,
    names: &dyn Names,
    labels: &BTreeMap<String, String>,
    files: &[(String, String)],
) -> Expected {
    let s = &spec.service;
    let links = links(spec, names);
    let mut networks = if s.network_mode.is_some() {
        Vec::new()
    } else {
        attachments(spec, service, names, &links)
    };
    // the container-wide MAC address goes to the primary network's endpoint
    // (API 1.44 deprecated `Config.MacAddress`; compose does the same)
    if let (Some(mac), Some((_, primary))) = (&s.mac_address, networks.first_mut())
        && primary.mac_address.is_none()
    {
        primary.mac_address = Some(mac.clone());
    }
    let network_mode = match &s.network_mode {
        Some(mode) => Some(resolve_mode(mode, names)),
        None => networks.first().map(|(n, _)| n.clone()),
    };
    let (port_bindings, mut exposed) = ports(s);
    for e in &s.expose {
        exposed.push(if e.contains('/') {
            e.clone()
        } else {
            format!("{e}/tcp")
        });
    }
    exposed.sort();
    exposed.dedup();
    let tmpfs: HashMap<String, String> = s
        .tmpfs
        .iter()
        .map(|t| match t.split_once(':') {
            Some((path, opts)) => (path.to_string(), opts.to_string()),
            None => (t.clone(), String::new()),
        })
        .collect();
    let (binds, mounts) = mounts(s, names, files);
    let updatable = updatable(spec);
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());

    let mut host_config = HostConfig {
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        binds: (!binds.is_empty()).then_some(binds),
        mounts: (!mounts.is_empty()).then_some(mounts),
        network_mode: network_mode.clone(),
        init: s.init,
        cap_add: non_empty(&s.cap_add),
        cap_drop: non_empty(&s.cap_drop),
        devices: (!s.devices.is_empty()).then(|| {
            s.devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.source.clone()),
                    path_in_container: Some(if d.target.is_empty() {
                        d.source.clone()
                    } else {
                        d.target.clone()
                    }),
                    cgroup_permissions: Some(if d.permissions.is_empty() {
                        "rwm".to_string()
                    } else {
                        d.permissions.clone()
                    }),
                })
                .collect()
        }),
        // compose prints `host=ip`; the engine takes `host:ip`
        extra_hosts: (!s.extra_hosts.is_empty()).then(|| {
            s.extra_hosts
                .iter()
                .map(|h| h.replacen('=', ":", 1))
                .collect()
        }),
        dns: non_empty(&s.dns),
        dns_search: non_empty(&s.dns_search),
        dns_options: non_empty(&s.dns_opt),
        ulimits: (!s.ulimits.is_empty()).then(|| {
            s.ulimits
                .iter()
                .map(|(name, u)| {
                    let (soft, hard) = match u {
                        model::Ulimit::Single(v) => (*v, *v),
                        model::Ulimit::Range { soft, hard } => (*soft, *hard),
                    };
                    ResourcesUlimits {
                        name: Some(name.clone()),
                        soft: Some(soft),
                        hard: Some(hard),
                    }
                })
                .collect()
        }),
        sysctls: (!s.sysctls.is_empty()).then(|| {
            s.sysctls
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        log_config: s.logging.as_ref().map(|l| HostConfigLogConfig {
            typ: l.driver.clone(),
            config: Some(
                l.options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        }),
        readonly_rootfs: Some(s.read_only),
        shm_size: s.shm_size.map(|b| b.0),
        security_opt: non_empty(&s.security_opt),
        privileged: Some(s.privileged),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        ipc_mode: s.ipc.as_deref().map(|m| resolve_mode(m, names)),
        pid_mode: s.pid.as_deref().map(|m| resolve_mode(m, names)),
        cgroupns_mode: s.cgroup.as_deref().and_then(|c| match c {
            "host" => Some(HostConfigCgroupnsModeEnum::HOST),
            "private" => Some(HostConfigCgroupnsModeEnum::PRIVATE),
            _ => None,
        }),
        cgroup_parent: s.cgroup_parent.clone(),
        blkio_weight: s.blkio_config.as_ref().and_then(|b| b.weight),
        blkio_weight_device: s.blkio_config.as_ref().and_then(|b| {
            (!b.weight_device.is_empty()).then(|| {
                b.weight_device
                    .iter()
                    .map(|d| ResourcesBlkioWeightDevice {
                        path: Some(d.path.clone()),
                        weight: Some(usize::from(d.weight)),
                    })
                    .collect()
            })
        }),
        blkio_device_read_bps: throttle(s, |b| &b.device_read_bps),
        blkio_device_read_iops: throttle(s, |b| &b.device_read_iops),
        blkio_device_write_bps: throttle(s, |b| &b.device_write_bps),
        blkio_device_write_iops: throttle(s, |b| &b.device_write_iops),
        group_add: non_empty(&s.group_add),
        oom_score_adj: s.oom_score_adj,
        oom_kill_disable: Some(s.oom_kill_disable),
        memory_swappiness: s.mem_swappiness.filter(|v| *v != 0),
        cpu_count: s.cpu_count,
        cpu_percent: s.cpu_percent,
        cpu_realtime_period: s.cpu_rt_period,
        cpu_realtime_runtime: s.cpu_rt_runtime,
        device_cgroup_rules: non_empty(&s.device_cgroup_rules),
        volumes_from: (!s.volumes_from.is_empty()).then(|| {
            s.volumes_from
                .iter()
                .map(|v| volumes_from(v, names))
                .collect()
        }),
        links: non_empty(&links),
        storage_opt: (!s.storage_opt.is_empty()).then(|| {
            s.storage_opt
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        userns_mode: s.userns_mode.clone(),
        uts_mode: s.uts.clone(),
        runtime: s.runtime.clone(),
        isolation: s.isolation.as_deref().and_then(|i| match i {
            "default" => Some(HostConfigIsolationEnum::DEFAULT),
            "process" => Some(HostConfigIsolationEnum::PROCESS),
            "hyperv" => Some(HostConfigIsolationEnum::HYPERV),
            _ => None,
        }),
        ..Default::default()
    };
    updatable.apply_to(&mut host_config);

    let environment: Vec<String> = s
        .environment
        .iter()
        // no value: unset (the engine drops a bare `KEY`)
        .map(|(k, v)| match v {
            None => k.clone(),
            Some(v) => format!("{k}={v}"),
        })
        .collect();
    let mut all_labels: HashMap<String, String> = s
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    all_labels.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    let first: HashMap<String, EndpointSettings> = networks.iter().take(1).cloned().collect();
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: s.command.clone(),
        entrypoint: s.entrypoint.clone(),
        env: (!environment.is_empty()).then_some(environment),
        labels: Some(all_labels),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck: s.healthcheck.as_deref().map(healthcheck),
        user: s.user.clone(),
        working_dir: s.working_dir.clone(),
        hostname: s.hostname.clone(),
        domainname: s.domainname.clone(),
        tty: Some(s.tty),
        open_stdin: Some(s.stdin_open),
        stop_signal: s.stop_signal.clone(),
        stop_timeout: s
            .stop_grace_period
            .map(|d| (d.0.max(0) + 999_999_999) / 1_000_000_000),
        host_config: Some(host_config),
        networking_config: (!first.is_empty()).then_some(bollard::models::NetworkingConfig {
            endpoints_config: Some(first),
        }),
        ..Default::default()
    };
    Expected {
        body,
        networks,
        updatable,
    }
}

/// One of `blkio_config`'s rate lists, for the engine.
fn throttle(
    s: &Service,
    list: impl Fn(&model::BlkioConfig) -> &Vec<model::ThrottleDevice>,
) -> Option<Vec<ThrottleDevice>> {
    let b = s.blkio_config.as_deref()?;
    let devices = list(b);
    (!devices.is_empty()).then(|| {
        devices
            .iter()
            .map(|d| ThrottleDevice {
                path: Some(d.path.clone()),
                rate: Some(d.rate.0),
            })
            .collect()
    })
}

/// `volumes_from`: `SERVICE[:MODE]` → its first container; `container:NAME[:MODE]` → `NAME[:MODE]`.
fn volumes_from(v: &str, names: &dyn Names) -> String {
    if let Some(rest) = v.strip_prefix("container:") {
        return rest.to_string();
    }
    let (service, mode) = match v.split_once(':') {
        Some((s, m)) => (s, Some(m)),
        None => (v, None),
    };
    let container = names
        .containers(service)
        .into_iter()
        .next()
        .unwrap_or_else(|| service.to_string());
    match mode {
        Some(m) => format!("{container}:{m}"),
        None => container,
    }
}

/// Legacy links as compose sets them (`getLinks`): for every container of a
/// linked service, `NAME:ALIAS`, `NAME:SERVICE-N` and `NAME:PROJECT-SERVICE-N`
/// (N this container's number); external links as written.
fn links(spec: &ContainerSpec, names: &dyn Names) -> Vec<String> {
    let s = &spec.service;
    let mut out = Vec::new();
    let project = names.project();
    for link in &s.links {
        let (linked, alias) = link.split_once(':').unwrap_or((link, link));
        for c in names.containers(linked) {
            out.push(format!("{c}:{alias}"));
            out.push(format!("{c}:{linked}-{}", spec.number));
            out.push(format!("{c}:{project}-{linked}-{}", spec.number));
        }
    }
    for link in &s.external_links {
        let (name, alias) = link.split_once(':').unwrap_or((link, link));
        out.push(format!("{name}:{alias}"));
    }
    out
}

/// The networks in attach order (highest `priority` first, then by key), each
/// with compose's aliases: the container name, the service name, the
/// network's `aliases`.
fn attachments(
    spec: &ContainerSpec,
    service: &str,
    names: &dyn Names,
    links: &[String],
) -> Vec<Attachment> {
    let mut keyed: Vec<(i64, &String, Option<&model::ServiceNetwork>)> = spec
        .service
        .networks
        .iter()
        .map(|(k, v)| {
            let v = v.as_deref();
            (v.and_then(|n| n.priority).unwrap_or(0), k, v)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    keyed
        .into_iter()
        .map(|(_, key, v)| {
            let mut aliases = vec![spec.name.clone(), service.to_string()];
            for a in v.map(|n| n.aliases.as_slice()).unwrap_or_default() {
                if !aliases.contains(a) {
                    aliases.push(a.clone());
                }
            }
            let ipv4 = v.and_then(|n| n.ipv4_address.clone());
            let ipv6 = v.and_then(|n| n.ipv6_address.clone());
            let ipam_config = (ipv4.is_some() || ipv6.is_some()).then(|| EndpointIpamConfig {
                ipv4_address: ipv4,
                ipv6_address: ipv6,
                ..Default::default()
            });
            let endpoint = EndpointSettings {
                aliases: Some(aliases),
                ipam_config,
                links: (!links.is_empty()).then(|| links.to_vec()),
                ..Default::default()
            };
            (names.network(key), endpoint)
        })
        .collect()
}

/// Port bindings (`80/tcp` -> host IP and port) and the exposed ports they imply.
fn ports(s: &Service) -> (HashMap<String, Option<Vec<PortBinding>>>, Vec<String>) {
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    let mut exposed = Vec::new();
    for p in &s.ports {
        let key = format!("{}/{}", p.target, p.protocol);
        exposed.push(key.clone());
        let binding = PortBinding {
            host_ip: p.host_ip.clone(),
            host_port: Some(p.published.clone().unwrap_or_default()),
        };
        let list = bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new);
        if !list.contains(&binding) {
            list.push(binding);
        }
    }
    (bindings, exposed)
}

/// Binds and mounts as compose splits them (`buildContainerVolumes`): a bind
/// mount or a named volume without options that need the Mount API goes as
/// a bind string (`SOURCE:TARGET:rw[,z][,rprivate][,nocopy]`; the engine
/// creates a missing host directory for it), the rest as mounts; plus the
/// read-only config and secret files.
fn mounts(s: &Service, names: &dyn Names, files: &[(String, String)]) -> (Vec<String>, Vec<Mount>) {
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in &s.volumes {
        let target = m.target.clone();
        let source = m.source.clone();
        let bind_string = |source: &str| {
            let mut options = vec![if m.read_only { "ro" } else { "rw" }.to_string()];
            if let Some(b) = &m.bind {
                options.extend(b.selinux.clone());
                options.extend(b.propagation.clone());
            }
            if m.volume.as_ref().is_some_and(|v| v.nocopy) {
                options.push("nocopy".to_string());
            }
            format!("{source}:{target}:{}", options.join(","))
        };
        let mount = match m.kind {
            ComposeMount::Bind => {
                let needs_mount_api = m
                    .bind
                    .as_ref()
                    .is_some_and(|b| !b.create_host_path || b.propagation.is_some());
                if !needs_mount_api && let Some(src) = &source {
                    binds.push(bind_string(src));
                    continue;
                }
                let bind = m.bind.clone().unwrap_or_default();
                Mount {
                    typ: Some(MountType::BIND),
                    source,
                    bind_options: bind.propagation.as_ref().map(|p| MountBindOptions {
                        propagation: p.parse().ok(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
            ComposeMount::Tmpfs => Mount {
                typ: Some(MountType::TMPFS),
                tmpfs_options: Some(MountTmpfsOptions {
                    size_bytes: m.tmpfs.as_ref().and_then(|t| t.size).map(|b| b.0),
                    mode: m.tmpfs.as_ref().and_then(|t| t.mode).map(i64::from),
                    ..Default::default()
                }),
                ..Default::default()
            },
            _ => {
                let needs_mount_api = m
                    .volume
                    .as_ref()
                    .is_some_and(|v| v.nocopy || v.subpath.is_some());
                // a named volume's engine name; none for an anonymous one
                let source = source.map(|key| names.volume(&key));
                if !needs_mount_api && let Some(src) = &source {
                    binds.push(bind_string(src));
                    continue;
                }
                Mount {
                    typ: Some(MountType::VOLUME),
                    source,
                    volume_options: m.volume.as_ref().map(|v| MountVolumeOptions {
                        no_copy: Some(v.nocopy),
                        subpath: v.subpath.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
        };
        mounts.push(Mount {
            target: Some(target),
            read_only: Some(m.read_only),
            consistency: m.consistency.clone(),
            ..mount
        });
    }
    for (source, target) in files {
        mounts.push(Mount {
            typ: Some(MountType::BIND),
            source: Some(source.clone()),
            target: Some(target.clone()),
            read_only: Some(true),
            ..Default::default()
        });
    }
    (binds, mounts)
}

fn healthcheck(h: &Healthcheck) -> HealthConfig {
    if h.disable {
        return HealthConfig {
            test: Some(vec!["NONE".to_string()]),
            ..Default::default()
        };
    }
    HealthConfig {
        test: h.test.clone(),
        interval: h.interval.map(|d| d.0),
        timeout: h.timeout.map(|d| d.0),
        retries: h.retries.map(|r| r as i64),
        start_period: h.start_period.map(|d| d.0),
        start_interval: h.start_interval.map(|d| d.0),
    }
}

/// A config or secret given by `content:` or `environment:`: copied into the
/// container after create, as compose does (`injectFileReferences`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    /// Absolute path in the container.
    pub target: String,
    pub content: Vec<u8>,
    /// 0444 unless `mode` says otherwise.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

/// The configs and secrets `spec` takes from `content:` or `environment:`
/// (an empty text is left out, as compose leaves it out).
pub fn injected_files(spec: &ContainerSpec, names: &dyn Names) -> Vec<Injected> {
    let mut out = Vec::new();
    for (secret, list) in [
        (false, &spec.service.configs),
        (true, &spec.service.secrets),
    ] {
        for m in list {
            let Some(text) = names.inline(secret, &m.source).filter(|t| !t.is_empty()) else {
                continue;
            };
            let target = match &m.target {
                None if secret => format!("/run/secrets/{}", m.source),
                None => format!("/{}", m.source),
                Some(t) if secret && !t.starts_with('/') => format!("/run/secrets/{t}"),
                Some(t) => t.clone(),
            };
            out.push(Injected {
                target,
                content: text.into_bytes(),
                mode: m.mode.unwrap_or(0o444),
                uid: m.uid.as_deref().and_then(|u| u.parse().ok()).unwrap_or(0),
                gid: m.gid.as_deref().and_then(|g| g.parse().ok()).unwrap_or(0),
            });
        }
    }
    out
}

/// The file-based configs and secrets `spec` uses, as (host file, target in
/// the container): configs at `/<name>`, secrets at `/run/secrets/<name>`
/// unless `target` says otherwise. Configs and secrets from `content` or
/// `environment` have no file: the caller writes one and adds it.
pub fn file_mounts(spec: &ContainerSpec, names: &dyn Names) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (secret, list, dir) in [
        (false, &spec.service.configs, "/"),
        (true, &spec.service.secrets, "/run/secrets/"),
    ] {
        for m in list {
            let Some(file) = names.file(secret, &m.source) else {
                continue;
            };
            let target = match &m.target {
                Some(t) if t.starts_with('/') => t.clone(),
                Some(t) => format!("{dir}{t}"),
                None => format!("{dir}{}", m.source),
            };
            out.push((file, target));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{LoadOptions, load};
    use crate::resource::desired::{ResolveOptions, resolve};

    fn spec_of(yaml: &str, address: &str) -> (Project, ContainerSpec) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
        let project = load(LoadOptions {
            working_dir: dir.path().to_path_buf(),
            project_name: Some("demo".into()),
            ..Default::default()
        })
        .unwrap()
        .project;
        let desired = resolve(&project, &ResolveOptions::default()).unwrap();
        let r = &desired.resources[&address.parse().unwrap()];
        let spec = r.typed().container().unwrap().clone();
        (project, spec)
    }

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
    fn the_six_knobs_compose_sets_are_in_the_create_request() {
        let (project, spec) = spec_of(
            "services:\n  app:\n    image: demo\n    domainname: example.org\n    cpu_shares: 256\n    group_add: ['1000', audio]\n    mem_reservation: 16m\n    oom_score_adj: -100\n    pids_limit: 64\n",
            "container.app[1]",
        );
        let e = expected(&spec, "app", &project, &BTreeMap::new(), &[]);
        let h = e.body.host_config.as_ref().unwrap();
        assert_eq!(e.body.domainname.as_deref(), Some("example.org"));
        assert_eq!(h.cpu_shares, Some(256));
        assert_eq!(
            h.group_add.as_deref(),
            Some(&["1000".to_string(), "audio".into()][..])
        );
        assert_eq!(h.memory_reservation, Some(16 << 20));
        assert_eq!(h.oom_score_adj, Some(-100));
        assert_eq!(h.pids_limit, Some(64));
    }

    #[test]
    fn service_references_resolve_to_the_dependency_container() {
        let (project, spec) = spec_of(
            "services:\n  db:\n    image: demo\n  app:\n    image: demo\n    ipc: service:db\n    pid: service:db\n    network_mode: service:db\n    volumes_from: [db, 'container:other:ro']\n",
            "container.app[1]",
        );
        let e = expected(&spec, "app", &project, &BTreeMap::new(), &[]);
        let h = e.body.host_config.as_ref().unwrap();
        assert_eq!(h.ipc_mode.as_deref(), Some("container:demo-db-1"));
        assert_eq!(h.pid_mode.as_deref(), Some("container:demo-db-1"));
        assert_eq!(h.network_mode.as_deref(), Some("container:demo-db-1"));
        assert_eq!(
            h.volumes_from.as_deref(),
            Some(&["demo-db-1".to_string(), "other:ro".into()][..])
        );
        assert!(e.networks.is_empty());
    }

    #[test]
    fn networks_in_priority_order_with_compose_aliases() {
        let (project, spec) = spec_of(
            "services:\n  app:\n    image: demo\n    networks:\n      back: {}\n      front:\n        priority: 10\n        aliases: [www]\nnetworks:\n  back: {}\n  front:\n    name: edge\n",
            "container.app[1]",
        );
        let e = expected(&spec, "app", &project, &BTreeMap::new(), &[]);
        let order: Vec<&str> = e.networks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(order, ["edge", "demo_back"]);
        assert_eq!(
            e.networks[0].1.aliases.as_deref().unwrap(),
            ["demo-app-1", "app", "www"]
        );
        assert_eq!(
            e.body.host_config.as_ref().unwrap().network_mode.as_deref(),
            Some("edge")
        );
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
    fn configs_and_secrets_from_content_are_copied_in_where_compose_puts_them() {
        let (project, spec) = spec_of(
            "services:\n  app:\n    image: demo\n    configs: [greeting]\n    secrets:\n      - source: token\n        target: api\n        mode: 0400\n        uid: '10'\nconfigs:\n  greeting:\n    content: hello\nsecrets:\n  token:\n    content: s3cret\n",
            "container.app[1]",
        );
        let files = injected_files(&spec, &project);
        assert_eq!(
            files,
            [
                Injected {
                    target: "/greeting".into(),
                    content: b"hello".to_vec(),
                    mode: 0o444,
                    uid: 0,
                    gid: 0
                },
                Injected {
                    target: "/run/secrets/api".into(),
                    content: b"s3cret".to_vec(),
                    mode: 0o400,
                    uid: 10,
                    gid: 0
                },
            ]
        );
        assert!(file_mounts(&spec, &project).is_empty());
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
