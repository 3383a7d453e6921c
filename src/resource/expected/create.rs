//! [`Expected`]: the create request and network endpoints for one container,
//! assembled from the other modules' parts plus the service keys that only
//! the create request carries (ports, devices, ulimits, block I/O,
//! healthcheck, ...).
//!
//! The mapping follows docker/compose's `getCreateConfigs` (pkg/compose/create.go).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointSettings, HealthConfig, HostConfig,
    HostConfigCgroupnsModeEnum, HostConfigIsolationEnum, HostConfigLogConfig, PortBinding,
    ResourcesBlkioWeightDevice, ResourcesUlimits, ThrottleDevice,
};

use super::mounts::mounts;
use super::names::{Names, resolve_mode, volumes_from};
use super::networks::{Attachment, attachments, links};
use super::updatable::{Updatable, updatable};
use crate::compose::model::{self, Healthcheck, Service};
use crate::resource::spec::ContainerSpec;

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
    let updatable = updatable(spec);
    let host_config = host_config(
        s,
        names,
        files,
        network_mode,
        port_bindings,
        &links,
        &updatable,
    );

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

/// How the engine runs the container (ports, mounts, namespaces, devices,
/// resources, logging), with `updatable`'s attributes written in.
fn host_config(
    s: &Service,
    names: &dyn Names,
    files: &[(String, String)],
    network_mode: Option<String>,
    port_bindings: HashMap<String, Option<Vec<PortBinding>>>,
    links: &[String],
    updatable: &Updatable,
) -> HostConfig {
    let tmpfs: HashMap<String, String> = s
        .tmpfs
        .iter()
        .map(|t| match t.split_once(':') {
            Some((path, opts)) => (path.to_string(), opts.to_string()),
            None => (t.clone(), String::new()),
        })
        .collect();
    let (binds, mounts) = mounts(s, names, files);
    let non_empty = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
    let non_empty_map = |m: &BTreeMap<String, String>| {
        (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    };

    let mut host_config = HostConfig {
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        binds: (!binds.is_empty()).then_some(binds),
        mounts: (!mounts.is_empty()).then_some(mounts),
        network_mode,
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
        sysctls: non_empty_map(&s.sysctls),
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
        links: non_empty(links),
        storage_opt: non_empty_map(&s.storage_opt),
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
    host_config
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::expected::spec_of;

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
}
