//! Containers: create one from its canonical spec (the compose service as
//! `docker compose config` prints it, plus berth's `name`, `number`, `image`,
//! `uses`, `files`), start, stop, remove, update in place, rename, and wait
//! for health or exit.
//!
//! Networks: every network gets the aliases compose gives (the service name,
//! the container name, the spec's `aliases`), so both resolve by DNS on every
//! network. API 1.44 takes all networks at create; older engines (20.10 is
//! API 1.41) take one, so the others are connected before [`start`].

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, ContainerUpdateBody, DeviceMapping,
    EndpointSettings, HealthConfig, HealthStatusEnum, HostConfig, HostConfigLogConfig, Mount,
    MountBindOptions, MountTmpfsOptions, MountType, MountVolumeOptions, NetworkingConfig,
    PortBinding, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, RenameContainerOptions, StopContainerOptions,
};
use serde_json::Value;

use super::network::endpoint;
use super::{bytes, duration_ns, failed, merged_labels, string_list, string_map, text};
use crate::compose::model::Project;
use crate::engine::{Engine, EngineError};
use crate::resource::desired::{Resource, container_name};
use crate::resource::labels as l;

/// How often [`wait_healthy`] and [`wait_exit`] look at the container.
const POLL: Duration = Duration::from_millis(200);

/// The labels compose and berth put on a container, beside the spec's own
/// `labels:`: compose's project, service, container number, one-off,
/// working dir, config files, depends_on, image, version (berth's) and
/// config hash (berth's spec hash: `docker compose ps` lists only containers
/// that carry one), and berth's address, spec hash and lineage. `image_id` is
/// the ID of the image it runs (compose's `com.docker.compose.image`).
pub fn container_labels(
    project: &Project,
    resource: &Resource,
    image_id: &str,
    lineage: &str,
) -> BTreeMap<String, String> {
    let service = resource.address.service().unwrap_or_default();
    let number = resource.spec["number"].as_u64().unwrap_or(1);
    let depends_on = project
        .services
        .get(service)
        .map(|s| {
            s.depends_on
                .iter()
                .map(|(name, d)| {
                    let condition = serde_json::to_value(d.condition)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    format!("{name}:{condition}:{}", d.restart)
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let config_files = project
        .config_files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    BTreeMap::from([
        (l::PROJECT.to_string(), project.name.clone()),
        (l::SERVICE.to_string(), service.to_string()),
        (l::CONTAINER_NUMBER.to_string(), number.to_string()),
        (l::ONEOFF.to_string(), "False".to_string()),
        (
            l::WORKING_DIR.to_string(),
            project.working_dir.display().to_string(),
        ),
        (l::CONFIG_FILES.to_string(), config_files),
        (l::DEPENDS_ON.to_string(), depends_on),
        (l::IMAGE.to_string(), image_id.to_string()),
        (
            l::VERSION.to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        (l::CONFIG_HASH.to_string(), resource.spec_hash.clone()),
        (l::ADDRESS.to_string(), resource.address.to_string()),
        (l::SPEC_HASH.to_string(), resource.spec_hash.clone()),
        (l::LINEAGE.to_string(), lineage.to_string()),
    ])
}

/// The file-based configs and secrets `spec` uses, as (host file, target in
/// the container): configs at `/<name>`, secrets at `/run/secrets/<name>`
/// unless `target` says otherwise. Configs and secrets from `content` or
/// `environment` have no file: the caller writes one and adds it.
pub fn file_mounts(project: &Project, spec: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, objects, dir) in [
        ("configs", &project.configs, "/"),
        ("secrets", &project.secrets, "/run/secrets/"),
    ] {
        for m in spec[key].as_array().into_iter().flatten() {
            let Some(source) = m["source"].as_str() else {
                continue;
            };
            let Some(file) = objects.get(source).and_then(|o| o.file.clone()) else {
                continue;
            };
            let target = match m["target"].as_str() {
                Some(t) if t.starts_with('/') => t.to_string(),
                Some(t) => format!("{dir}{t}"),
                None => format!("{dir}{source}"),
            };
            out.push((file, target));
        }
    }
    out
}

/// A network the container joins: its engine name and endpoint settings.
type Attachment = (String, EndpointSettings);

/// Create the container `resource` describes (not started); its ID.
/// `labels` are added to the spec's (see [`container_labels`]); `files` are
/// bind-mounted read-only (see [`file_mounts`]). On engines before API 1.44
/// the networks beyond the first are connected here, before start; if that
/// fails the container is removed again, so no half-wired container is left.
pub async fn create(
    engine: &Engine,
    project: &Project,
    resource: &Resource,
    labels: &BTreeMap<String, String>,
    files: &[(String, String)],
) -> Result<String, EngineError> {
    let name = &resource.engine_name;
    let all_at_create = engine.api_at_least(1, 44);
    let (body, later) = create_body(project, resource, labels, files, all_at_create);
    let options = CreateContainerOptions {
        name: Some(name.clone()),
        platform: resource.spec["platform"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    let created = engine
        .docker()
        .create_container(Some(options), body)
        .await
        .map_err(|e| engine.error(&format!("create container `{name}`"), e))?;
    for (network, endpoint) in later {
        if let Err(e) = super::network::connect(engine, &network, &created.id, endpoint).await {
            let _ = remove(engine, &created.id, true).await;
            return Err(e);
        }
    }
    Ok(created.id)
}

/// The create request for `resource`, and the networks to connect after
/// create (empty when `all_networks_at_create`).
pub fn create_body(
    project: &Project,
    resource: &Resource,
    labels: &BTreeMap<String, String>,
    files: &[(String, String)],
    all_networks_at_create: bool,
) -> (ContainerCreateBody, Vec<Attachment>) {
    let spec = &*resource.spec;
    let (networks, network_mode) = networks(project, resource);
    let (at_create, later) = if all_networks_at_create || networks.is_empty() {
        (networks, Vec::new())
    } else {
        let mut rest = networks;
        let first = rest.remove(0);
        (vec![first], rest)
    };
    let network_mode = network_mode.or_else(|| at_create.first().map(|(n, _)| n.clone()));

    let (port_bindings, mut exposed) = ports(spec);
    for e in spec["expose"].as_array().into_iter().flatten() {
        let e = text(e);
        exposed.push(if e.contains('/') {
            e
        } else {
            format!("{e}/tcp")
        });
    }
    exposed.sort();
    exposed.dedup();

    let limits = &spec["deploy"]["resources"]["limits"];
    let reservations = &spec["deploy"]["resources"]["reservations"];
    let memory = bytes(&spec["mem_limit"]).or_else(|| bytes(&limits["memory"]));
    let cpus = spec["cpus"].as_f64().or_else(|| limits["cpus"].as_f64());
    let tmpfs: HashMap<String, String> = string_list(&spec["tmpfs"])
        .unwrap_or_default()
        .into_iter()
        .map(|t| match t.split_once(':') {
            Some((path, opts)) => (path.to_string(), opts.to_string()),
            None => (t, String::new()),
        })
        .collect();
    let (binds, mounts) = mounts(project, spec, files);

    let host_config = HostConfig {
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        binds: (!binds.is_empty()).then_some(binds),
        mounts: (!mounts.is_empty()).then_some(mounts),
        network_mode,
        restart_policy: Some(restart_policy_of(spec)),
        memory,
        memory_reservation: bytes(&reservations["memory"]),
        nano_cpus: cpus.map(|c| (c * 1e9).round() as i64),
        pids_limit: limits["pids"].as_i64(),
        init: spec["init"].as_bool(),
        cap_add: string_list(&spec["cap_add"]),
        cap_drop: string_list(&spec["cap_drop"]),
        devices: spec["devices"].as_array().map(|a| {
            a.iter()
                .map(|d| DeviceMapping {
                    path_on_host: d["source"].as_str().map(str::to_string),
                    path_in_container: d["target"]
                        .as_str()
                        .or(d["source"].as_str())
                        .map(str::to_string),
                    cgroup_permissions: Some(
                        d["permissions"].as_str().unwrap_or("rwm").to_string(),
                    ),
                })
                .collect()
        }),
        // compose prints `host=ip`; the engine takes `host:ip`
        extra_hosts: string_list(&spec["extra_hosts"])
            .map(|hosts| hosts.into_iter().map(|h| h.replacen('=', ":", 1)).collect()),
        dns: string_list(&spec["dns"]),
        dns_search: string_list(&spec["dns_search"]),
        ulimits: spec["ulimits"].as_object().map(|m| {
            m.iter()
                .map(|(name, v)| {
                    let (soft, hard) = match v {
                        Value::Object(_) => (v["soft"].as_i64(), v["hard"].as_i64()),
                        other => (other.as_i64(), other.as_i64()),
                    };
                    ResourcesUlimits {
                        name: Some(name.clone()),
                        soft,
                        hard,
                    }
                })
                .collect()
        }),
        sysctls: spec["sysctls"]
            .as_object()
            .map(|_| string_map(&spec["sysctls"])),
        log_config: spec["logging"].as_object().map(|_| HostConfigLogConfig {
            typ: spec["logging"]["driver"].as_str().map(str::to_string),
            config: Some(string_map(&spec["logging"]["options"])),
        }),
        readonly_rootfs: spec["read_only"].as_bool(),
        shm_size: bytes(&spec["shm_size"]),
        security_opt: string_list(&spec["security_opt"]),
        privileged: spec["privileged"].as_bool(),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        ipc_mode: spec["ipc"].as_str().map(str::to_string),
        pid_mode: spec["pid"].as_str().map(str::to_string),
        ..Default::default()
    };

    let environment = spec["environment"].as_object().map(|m| {
        m.iter()
            // null: unset (the engine drops a bare `KEY`)
            .map(|(k, v)| match v {
                Value::Null => k.clone(),
                v => format!("{k}={}", text(v)),
            })
            .collect()
    });
    let endpoints: HashMap<String, EndpointSettings> = at_create.into_iter().collect();
    let body = ContainerCreateBody {
        image: spec["image"].as_str().map(str::to_string),
        cmd: string_list(&spec["command"]),
        entrypoint: string_list(&spec["entrypoint"]),
        env: environment,
        labels: Some(merged_labels(&spec["labels"], labels)),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck: healthcheck(&spec["healthcheck"]),
        user: spec["user"].as_str().map(str::to_string),
        working_dir: spec["working_dir"].as_str().map(str::to_string),
        hostname: spec["hostname"].as_str().map(str::to_string),
        tty: spec["tty"].as_bool(),
        open_stdin: spec["stdin_open"].as_bool(),
        stop_signal: spec["stop_signal"].as_str().map(str::to_string),
        stop_timeout: duration_ns(&spec["stop_grace_period"])
            .map(|ns| (ns + 999_999_999) / 1_000_000_000),
        host_config: Some(host_config),
        networking_config: (!endpoints.is_empty()).then_some(NetworkingConfig {
            endpoints_config: Some(endpoints),
        }),
        ..Default::default()
    };
    (body, later)
}

/// The networks of the container in attach order (highest `priority` first,
/// then by key), each with compose's aliases; or the `network_mode` instead.
fn networks(project: &Project, resource: &Resource) -> (Vec<Attachment>, Option<String>) {
    let spec = &*resource.spec;
    if let Some(mode) = spec["network_mode"].as_str() {
        let mode = match mode.strip_prefix("service:") {
            Some(service) => match project.services.get(service) {
                Some(s) => format!("container:{}", container_name(&project.name, s, 1)),
                None => mode.to_string(),
            },
            None => mode.to_string(),
        };
        return (Vec::new(), Some(mode));
    }
    let service = resource.address.service().unwrap_or_default();
    let mut keyed: Vec<(i64, &String, &Value)> = spec["networks"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (v["priority"].as_i64().unwrap_or(0), k, v))
                .collect()
        })
        .unwrap_or_default();
    keyed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let attachments = keyed
        .into_iter()
        .map(|(_, key, v)| {
            let name = project
                .networks
                .get(key)
                .map_or_else(|| key.clone(), |n| n.name.clone());
            let mut aliases = vec![service.to_string(), resource.engine_name.clone()];
            for a in string_list(&v["aliases"]).unwrap_or_default() {
                if !aliases.contains(&a) {
                    aliases.push(a);
                }
            }
            let ipv4 = v["ipv4_address"].as_str().map(str::to_string);
            let ipv6 = v["ipv6_address"].as_str().map(str::to_string);
            (name, endpoint(aliases, ipv4, ipv6))
        })
        .collect();
    (attachments, None)
}

/// Port bindings (`80/tcp` -> host IP and port) and the exposed ports they imply.
fn ports(spec: &Value) -> (HashMap<String, Option<Vec<PortBinding>>>, Vec<String>) {
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    let mut exposed = Vec::new();
    for p in spec["ports"].as_array().into_iter().flatten() {
        let Some(target) = p["target"].as_u64() else {
            continue;
        };
        let key = format!("{target}/{}", p["protocol"].as_str().unwrap_or("tcp"));
        exposed.push(key.clone());
        let binding = PortBinding {
            host_ip: p["host_ip"].as_str().map(str::to_string),
            host_port: Some(
                p["published"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_default(),
            ),
        };
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    (bindings, exposed)
}

/// A named volume with a SELinux label (`data:/x:z`) or a propagation, which
/// only the Binds API can express; a volume with a subpath needs the Mount API.
fn volume_needs_bind_api(m: &Value) -> bool {
    let bind = &m["bind"];
    (bind["selinux"].is_string() || bind["propagation"].is_string())
        && m["volume"]["subpath"].is_null()
}

/// `name:target:rw|ro[,z][,propagation][,nocopy]`, as Compose writes a volume bind.
fn volume_bind(name: &str, target: &str, m: &Value) -> String {
    let read_only = m["read_only"].as_bool().unwrap_or(false);
    let mut options = vec![if read_only { "ro" } else { "rw" }];
    options.extend(m["bind"]["selinux"].as_str());
    options.extend(m["bind"]["propagation"].as_str());
    if m["volume"]["nocopy"].as_bool() == Some(true) {
        options.push("nocopy");
    }
    format!("{name}:{target}:{}", options.join(","))
}

/// Binds (for bind mounts whose host path is created when missing, as
/// `docker run -v` does) and mounts (everything else), plus the read-only
/// config and secret files.
fn mounts(
    project: &Project,
    spec: &Value,
    files: &[(String, String)],
) -> (Vec<String>, Vec<Mount>) {
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for m in spec["volumes"].as_array().into_iter().flatten() {
        let target = m["target"].as_str().unwrap_or_default().to_string();
        let source = m["source"].as_str().map(str::to_string);
        let read_only = m["read_only"].as_bool().unwrap_or(false);
        let mount = match m["type"].as_str().unwrap_or("volume") {
            "bind" => {
                let create = m["bind"]["create_host_path"].as_bool().unwrap_or(false);
                let propagation = m["bind"]["propagation"].as_str();
                if create && let Some(src) = &source {
                    let mut options = Vec::new();
                    if read_only {
                        options.push("ro".to_string());
                    }
                    if let Some(p) = propagation {
                        options.push(p.to_string());
                    }
                    if let Some(z) = m["bind"]["selinux"].as_str() {
                        options.push(z.to_string());
                    }
                    let suffix = if options.is_empty() {
                        String::new()
                    } else {
                        format!(":{}", options.join(","))
                    };
                    binds.push(format!("{src}:{target}{suffix}"));
                    continue;
                }
                Mount {
                    typ: Some(MountType::BIND),
                    source,
                    bind_options: propagation.map(|p| MountBindOptions {
                        propagation: p.parse().ok(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
            "tmpfs" => Mount {
                typ: Some(MountType::TMPFS),
                tmpfs_options: Some(MountTmpfsOptions {
                    size_bytes: bytes(&m["tmpfs"]["size"]),
                    mode: m["tmpfs"]["mode"].as_i64(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "volume" if volume_needs_bind_api(m) => {
                // the Mount API has no SELinux label: Compose binds such a named volume
                // as `name:target:options`, and so does berth
                let name = source.as_deref().map(|key| {
                    project
                        .volumes
                        .get(key)
                        .map_or(key.to_string(), |v| v.name.clone())
                });
                if let Some(name) = name {
                    binds.push(volume_bind(&name, &target, m));
                    continue;
                }
                Mount {
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                }
            }
            _ => Mount {
                typ: Some(MountType::VOLUME),
                // a named volume's engine name; none for an anonymous one
                source: source.map(|key| {
                    project
                        .volumes
                        .get(&key)
                        .map_or(key.clone(), |v| v.name.clone())
                }),
                volume_options: m["volume"].as_object().map(|_| MountVolumeOptions {
                    no_copy: m["volume"]["nocopy"].as_bool(),
                    subpath: m["volume"]["subpath"].as_str().map(str::to_string),
                    ..Default::default()
                }),
                ..Default::default()
            },
        };
        mounts.push(Mount {
            target: Some(target),
            read_only: Some(read_only),
            consistency: m["consistency"].as_str().map(str::to_string),
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

fn healthcheck(h: &Value) -> Option<HealthConfig> {
    if !h.is_object() {
        return None;
    }
    if h["disable"].as_bool() == Some(true) {
        return Some(HealthConfig {
            test: Some(vec!["NONE".to_string()]),
            ..Default::default()
        });
    }
    Some(HealthConfig {
        test: string_list(&h["test"]),
        interval: duration_ns(&h["interval"]),
        timeout: duration_ns(&h["timeout"]),
        retries: h["retries"].as_i64(),
        start_period: duration_ns(&h["start_period"]),
        start_interval: duration_ns(&h["start_interval"]),
    })
}

/// The restart policy of a spec: `restart:` (`no`, `always`,
/// `unless-stopped`, `on-failure[:N]`), else `deploy.restart_policy`.
fn restart_policy_of(spec: &Value) -> RestartPolicy {
    if let Some(r) = spec["restart"].as_str() {
        return restart_policy(r);
    }
    let p = &spec["deploy"]["restart_policy"];
    match p["condition"].as_str() {
        Some("any") => restart_policy("always"),
        Some("on-failure") => RestartPolicy {
            name: Some(RestartPolicyNameEnum::ON_FAILURE),
            maximum_retry_count: p["max_attempts"].as_i64(),
        },
        _ => restart_policy("no"),
    }
}

/// A compose `restart:` value as the engine's restart policy.
pub fn restart_policy(restart: &str) -> RestartPolicy {
    let (name, count) = match restart.split_once(':') {
        Some((n, c)) => (n, c.trim().parse().ok()),
        None => (restart, None),
    };
    let name = match name.trim() {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    };
    RestartPolicy {
        name: Some(name),
        maximum_retry_count: count,
    }
}

/// Start the container; one already running is fine.
pub async fn start(engine: &Engine, id: &str) -> Result<(), EngineError> {
    engine
        .docker()
        .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(|e| engine.error(&format!("start container `{id}`"), e))
}

/// Stop the container with `signal` (else its configured stop signal), then
/// SIGKILL after `grace` (else its configured timeout, 10 s by default). One
/// already stopped or gone is fine.
pub async fn stop(
    engine: &Engine,
    id: &str,
    signal: Option<&str>,
    grace: Option<Duration>,
) -> Result<(), EngineError> {
    let options = StopContainerOptions {
        signal: signal.map(str::to_string),
        t: grace.map(|g| g.as_secs().min(i32::MAX as u64) as i32),
    };
    match engine.docker().stop_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let err = engine.error(&format!("stop container `{id}`"), e);
            if matches!(
                err,
                EngineError::Api {
                    status: 404 | 304,
                    ..
                }
            ) {
                Ok(())
            } else {
                Err(err)
            }
        }
    }
}

/// Remove the container (`force`: even when running); one already gone is
/// fine. Anonymous volumes are kept, as `docker compose down` keeps them.
pub async fn remove(engine: &Engine, id: &str, force: bool) -> Result<(), EngineError> {
    let options = RemoveContainerOptions {
        force,
        ..Default::default()
    };
    match engine.docker().remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let err = engine.error(&format!("remove container `{id}`"), e);
            if err.is_not_found() { Ok(()) } else { Err(err) }
        }
    }
}

/// Change what the engine can change on a live container: the restart
/// policy (a compose `restart:` value), the memory limit (bytes) and the CPU
/// limit (billionths of a CPU). `None` leaves an attribute as it is.
pub async fn update_in_place(
    engine: &Engine,
    id: &str,
    restart: Option<&str>,
    memory: Option<i64>,
    nano_cpus: Option<i64>,
) -> Result<(), EngineError> {
    let body = ContainerUpdateBody {
        restart_policy: restart.map(restart_policy),
        memory,
        // as at create without `memswap_limit`: swap as large as the memory
        memory_swap: memory.filter(|m| *m > 0).map(|m| m * 2),
        nano_cpus,
        ..Default::default()
    };
    engine
        .docker()
        .update_container(id, body)
        .await
        .map(|_| ())
        .map_err(|e| engine.error(&format!("update container `{id}`"), e))
}

/// Rename the container `id` to `new_name`.
pub async fn rename(engine: &Engine, id: &str, new_name: &str) -> Result<(), EngineError> {
    engine
        .docker()
        .rename_container(
            id,
            RenameContainerOptions {
                name: new_name.to_string(),
            },
        )
        .await
        .map_err(|e| engine.error(&format!("rename container `{id}` to `{new_name}`"), e))
}

/// Wait until the engine reports the container healthy. Fails naming the
/// container and its last health-check output when it turns unhealthy,
/// stops, has no healthcheck, or is not healthy within `timeout`.
pub async fn wait_healthy(engine: &Engine, id: &str, timeout: Duration) -> Result<(), EngineError> {
    let started = Instant::now();
    loop {
        let c = inspect(engine, id).await?;
        let name = c
            .name
            .as_deref()
            .unwrap_or(id)
            .trim_start_matches('/')
            .to_string();
        let doing = format!("wait for container `{name}` to be healthy");
        let state = c.state.unwrap_or_default();
        let Some(health) = state.health else {
            return Err(failed(doing, "it has no healthcheck"));
        };
        let last = health
            .log
            .as_ref()
            .and_then(|log| log.last())
            .map(|r| {
                let output = r.output.as_deref().unwrap_or_default();
                let output = output.split_whitespace().collect::<Vec<_>>().join(" ");
                let output: String = output.chars().take(300).collect();
                format!("last check exited {}: {output}", r.exit_code.unwrap_or(-1))
            })
            .unwrap_or_else(|| "no check has run yet".to_string());
        match health.status {
            Some(HealthStatusEnum::HEALTHY) => return Ok(()),
            Some(HealthStatusEnum::UNHEALTHY) => {
                let streak = health.failing_streak.unwrap_or(0);
                return Err(failed(
                    doing,
                    format!(
                        "it is unhealthy after {streak} failed check{}; {last}",
                        if streak == 1 { "" } else { "s" }
                    ),
                ));
            }
            _ => {}
        }
        if matches!(
            state.status,
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
        ) {
            return Err(failed(
                doing,
                format!(
                    "it exited with code {} before turning healthy; {last}",
                    state.exit_code.unwrap_or(-1)
                ),
            ));
        }
        if started.elapsed() >= timeout {
            return Err(failed(
                doing,
                format!("it is not healthy after {:.0?}; {last}", timeout),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The engine's inspect of a container, for the waits.
async fn inspect(
    engine: &Engine,
    id: &str,
) -> Result<bollard::models::ContainerInspectResponse, EngineError> {
    engine
        .docker()
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .map_err(|e| engine.error(&format!("inspect container `{id}`"), e))
}

/// Wait until the container has exited; its exit code. (Polls rather than
/// holding the engine's wait call open past the request timeout.)
pub async fn wait_exit(engine: &Engine, id: &str) -> Result<i64, EngineError> {
    loop {
        let c = inspect(engine, id).await?;
        let state = c.state.unwrap_or_default();
        if matches!(
            state.status,
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
        ) {
            return Ok(state.exit_code.unwrap_or(-1));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{LoadOptions, load};
    use crate::resource::desired::{ResolveOptions, resolve};

    const TWO_NETWORKS: &str = "services:
  app:
    image: demo
    networks:
      back: {}
      front:
        priority: 10
        aliases: [www]
networks:
  back: {}
  front:
    name: edge
";

    fn app(yaml: &str) -> (Project, Resource) {
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
        let r = desired.resources[&"container.app[1]".parse().unwrap()].clone();
        (project, r)
    }

    fn endpoint_names(body: &ContainerCreateBody) -> Vec<String> {
        let mut names: Vec<String> = body
            .networking_config
            .as_ref()
            .and_then(|n| n.endpoints_config.as_ref())
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn before_api_1_44_the_highest_priority_network_is_joined_at_create_and_the_rest_later() {
        let (project, r) = app(TWO_NETWORKS);
        let (body, later) = create_body(&project, &r, &BTreeMap::new(), &[], false);
        assert_eq!(endpoint_names(&body), ["edge"]);
        assert_eq!(
            body.host_config.as_ref().unwrap().network_mode.as_deref(),
            Some("edge")
        );
        let later: Vec<(&str, Vec<String>)> = later
            .iter()
            .map(|(n, e)| (n.as_str(), e.aliases.clone().unwrap()))
            .collect();
        assert_eq!(
            later,
            [("demo_back", vec!["app".into(), "demo-app-1".into()])]
        );
        let edge = &body.networking_config.unwrap().endpoints_config.unwrap()["edge"];
        assert_eq!(
            edge.aliases.as_deref().unwrap(),
            ["app", "demo-app-1", "www"]
        );
    }

    #[test]
    fn from_api_1_44_every_network_is_joined_at_create() {
        let (project, r) = app(TWO_NETWORKS);
        let (body, later) = create_body(&project, &r, &BTreeMap::new(), &[], true);
        assert_eq!(endpoint_names(&body), ["demo_back", "edge"]);
        assert!(later.is_empty());
    }

    #[test]
    fn network_mode_replaces_networks_and_a_service_becomes_its_container() {
        let (project, r) = app(
            "services:\n  db:\n    image: demo\n  app:\n    image: demo\n    network_mode: service:db\n",
        );
        let (body, later) = create_body(&project, &r, &BTreeMap::new(), &[], false);
        assert!(body.networking_config.is_none() && later.is_empty());
        assert_eq!(
            body.host_config.unwrap().network_mode.as_deref(),
            Some("container:demo-db-1")
        );
    }

    #[test]
    fn a_named_volume_with_a_selinux_label_is_bound_with_its_options() {
        let (project, r) = app(
            "services:\n  app:\n    image: demo\n    volumes: ['data:/x:ro,Z', 'data:/y:nocopy,z', 'data:/plain']\nvolumes:\n  data: {}\n",
        );
        let (body, _) = create_body(&project, &r, &BTreeMap::new(), &[], true);
        let host = body.host_config.unwrap();
        assert_eq!(
            host.binds.unwrap(),
            ["demo_data:/x:ro,Z", "demo_data:/y:rw,z,nocopy"]
        );
        let targets: Vec<_> = host
            .mounts
            .unwrap()
            .into_iter()
            .filter_map(|m| m.target)
            .collect();
        assert_eq!(targets, ["/plain"]);
    }

    #[test]
    fn restart_values_map_to_engine_policies() {
        let p = restart_policy("on-failure:5");
        assert_eq!(p.name, Some(RestartPolicyNameEnum::ON_FAILURE));
        assert_eq!(p.maximum_retry_count, Some(5));
        assert_eq!(
            restart_policy("unless-stopped").name,
            Some(RestartPolicyNameEnum::UNLESS_STOPPED)
        );
        assert_eq!(restart_policy("no").name, Some(RestartPolicyNameEnum::NO));
    }
}
