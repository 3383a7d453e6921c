//! A Compose service as a Swarm `ServiceSpec`, the way `docker stack
//! deploy` converts it (docker/cli `cli/compose/convert/service.go`):
//! entrypoint and command as the container's command and arguments, the
//! environment sorted, the stack's label on the service and its
//! containers, networks by their engine names with the service's name as
//! an alias, published ports through the routing mesh unless `mode: host`,
//! `restart` as a restart policy when `deploy.restart_policy` is absent.
//!
//! Built as the engine's JSON and read into bollard's typed spec, so the
//! field names are the API's own and a shape the engine would refuse
//! fails here, in a unit test, rather than on the engine.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::compose::model::{FileObject, MountType, Project, Service, UpdateConfig};

use super::NAMESPACE;

/// What the conversion needs beside the service.
pub struct Names<'a> {
    pub project: &'a Project,
    /// Replicas asked for (`--scale`, `deploy.replicas`, `scale`).
    pub replicas: u32,
    /// Config and secret engine names by compose key.
    pub configs: &'a BTreeMap<String, String>,
    pub secrets: &'a BTreeMap<String, String>,
}

/// Why a service cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("service `{service}`: {what}")]
pub struct ConvertError {
    pub service: String,
    pub what: String,
}

/// The service spec of `s`, its image left as the reference `image`.
pub fn service_spec(
    s: &Service,
    image: &str,
    names: &Names<'_>,
) -> Result<bollard::models::ServiceSpec, ConvertError> {
    let fail = |what: String| ConvertError {
        service: s.name.clone(),
        what,
    };
    let p = names.project;
    let ns = p.name.as_str();
    let mut container = Map::new();
    container.insert("Image".into(), json!(image));
    let mut labels: BTreeMap<String, String> = s.labels.clone();
    labels.insert(NAMESPACE.into(), ns.into());
    container.insert("Labels".into(), json!(labels));
    put(&mut container, "Command", s.entrypoint.clone());
    put(&mut container, "Args", s.command.clone());
    put(&mut container, "Hostname", s.hostname.clone());
    put(&mut container, "Dir", s.working_dir.clone());
    put(&mut container, "User", s.user.clone());
    put(&mut container, "StopSignal", s.stop_signal.clone());
    put(
        &mut container,
        "StopGracePeriod",
        s.stop_grace_period.map(|d| d.0),
    );
    put(&mut container, "Init", s.init);
    if s.tty {
        container.insert("TTY".into(), json!(true));
    }
    if s.stdin_open {
        container.insert("OpenStdin".into(), json!(true));
    }
    if s.read_only {
        container.insert("ReadOnly".into(), json!(true));
    }
    let mut env: Vec<String> = s
        .environment
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    env.sort();
    if !env.is_empty() {
        container.insert("Env".into(), json!(env));
    }
    if !s.extra_hosts.is_empty() {
        // "host:ip" (compose) is "ip host" (an /etc/hosts line) on Swarm
        let hosts: Vec<String> = s
            .extra_hosts
            .iter()
            .map(|h| match h.split_once(['=', ':']) {
                Some((host, ip)) => format!("{ip} {host}"),
                None => h.clone(),
            })
            .collect();
        container.insert("Hosts".into(), json!(hosts));
    }
    if !s.dns.is_empty() || !s.dns_search.is_empty() || !s.dns_opt.is_empty() {
        let mut dns = Map::new();
        put_list(&mut dns, "Nameservers", &s.dns);
        put_list(&mut dns, "Search", &s.dns_search);
        put_list(&mut dns, "Options", &s.dns_opt);
        container.insert("DNSConfig".into(), Value::Object(dns));
    }
    if let Some(h) = &s.healthcheck {
        let mut hc = Map::new();
        if h.disable {
            hc.insert("Test".into(), json!(["NONE"]));
        } else {
            put(&mut hc, "Test", h.test.clone());
            put(&mut hc, "Interval", h.interval.map(|d| d.0));
            put(&mut hc, "Timeout", h.timeout.map(|d| d.0));
            put(&mut hc, "Retries", h.retries);
            put(&mut hc, "StartPeriod", h.start_period.map(|d| d.0));
            put(&mut hc, "StartInterval", h.start_interval.map(|d| d.0));
        }
        container.insert("HealthCheck".into(), Value::Object(hc));
    }
    put_list(&mut container, "CapabilityAdd", &s.cap_add);
    put_list(&mut container, "CapabilityDrop", &s.cap_drop);
    put_list(&mut container, "Groups", &s.group_add);
    if !s.sysctls.is_empty() {
        container.insert("Sysctls".into(), json!(s.sysctls));
    }
    if !s.ulimits.is_empty() {
        let ulimits: Vec<Value> = s
            .ulimits
            .iter()
            .map(|(name, u)| {
                let (soft, hard) = match u {
                    crate::compose::model::Ulimit::Single(n) => (*n, *n),
                    crate::compose::model::Ulimit::Range { soft, hard } => (*soft, *hard),
                };
                json!({"Name": name, "Soft": soft, "Hard": hard})
            })
            .collect();
        container.insert("Ulimits".into(), json!(ulimits));
    }
    put(&mut container, "Isolation", s.isolation.clone());
    let mounts = mounts(s, p).map_err(fail)?;
    if !mounts.is_empty() {
        container.insert("Mounts".into(), json!(mounts));
    }
    let files = |kind: &str,
                 mounts: &[crate::compose::model::FileMount],
                 objects: &BTreeMap<String, FileObject>,
                 named: &BTreeMap<String, String>| {
        mounts
            .iter()
            .map(|m| {
                let name = named
                    .get(&m.source)
                    .cloned()
                    .or_else(|| objects.get(&m.source).map(|o| o.name.clone()))
                    .unwrap_or_else(|| format!("{ns}_{}", m.source));
                // a config lands at /<key>, a secret at /run/secrets/<key>
                // as `docker stack deploy` writes them: a secret's file
                // relative to /run/secrets, a config's relative to /
                let target = match (kind, m.target.as_deref()) {
                    ("secret", Some(t)) => t.strip_prefix("/run/secrets/").unwrap_or(t).to_string(),
                    ("secret", None) => m.source.clone(),
                    // /<key> is where a relative name lands
                    (_, Some(t)) if t.strip_prefix('/') == Some(m.source.as_str()) => {
                        m.source.clone()
                    }
                    (_, Some(t)) => t.to_string(),
                    (_, None) => m.source.clone(),
                };
                let name_key = if kind == "config" {
                    "ConfigName"
                } else {
                    "SecretName"
                };
                json!({
                    name_key: name,
                    "File": {
                        "Name": target,
                        "UID": m.uid.clone().unwrap_or_else(|| "0".into()),
                        "GID": m.gid.clone().unwrap_or_else(|| "0".into()),
                        "Mode": m.mode.unwrap_or(0o444),
                    }
                })
            })
            .collect::<Vec<Value>>()
    };
    let configs = files("config", &s.configs, &p.configs, names.configs);
    if !configs.is_empty() {
        container.insert("Configs".into(), json!(configs));
    }
    let secrets = files("secret", &s.secrets, &p.secrets, names.secrets);
    if !secrets.is_empty() {
        container.insert("Secrets".into(), json!(secrets));
    }

    let mut task = Map::new();
    task.insert("ContainerSpec".into(), Value::Object(container));
    let deploy = s.deploy.as_deref();
    if let Some(r) = restart_policy(s) {
        task.insert("RestartPolicy".into(), r);
    }
    if let Some(d) = deploy {
        let mut resources = Map::new();
        if let Some(l) = &d.resources.limits {
            let mut m = Map::new();
            put(&mut m, "NanoCPUs", l.cpus.map(nano_cpus));
            put(&mut m, "MemoryBytes", l.memory.map(|b| b.0));
            put(&mut m, "Pids", l.pids);
            resources.insert("Limits".into(), Value::Object(m));
        }
        if let Some(r) = &d.resources.reservations {
            let mut m = Map::new();
            put(&mut m, "NanoCPUs", r.cpus.map(nano_cpus));
            put(&mut m, "MemoryBytes", r.memory.map(|b| b.0));
            resources.insert("Reservations".into(), Value::Object(m));
        }
        if !resources.is_empty() {
            task.insert("Resources".into(), Value::Object(resources));
        }
        if let Some(placement) = placement(&d.placement) {
            task.insert("Placement".into(), placement);
        }
    }
    if let Some(l) = &s.logging {
        let mut m = Map::new();
        put(&mut m, "Name", l.driver.clone());
        if !l.options.is_empty() {
            m.insert("Options".into(), json!(l.options));
        }
        task.insert("LogDriver".into(), Value::Object(m));
    }
    let mut networks: Vec<Value> = s
        .networks
        .iter()
        .map(|(key, n)| {
            let name = p
                .networks
                .get(key)
                .map(|n| n.name.clone())
                .unwrap_or_else(|| format!("{ns}_{key}"));
            let mut aliases = vec![s.name.clone()];
            if let Some(n) = n {
                aliases.extend(n.aliases.iter().cloned());
            }
            json!({"Target": name, "Aliases": aliases})
        })
        .collect();
    networks.sort_by(|a, b| a["Target"].as_str().cmp(&b["Target"].as_str()));
    if !networks.is_empty() {
        task.insert("Networks".into(), json!(networks));
    }

    let mut spec = Map::new();
    spec.insert("Name".into(), json!(format!("{ns}_{}", s.name)));
    let mut service_labels: BTreeMap<String, String> =
        deploy.map(|d| d.labels.clone()).unwrap_or_default();
    service_labels.insert(NAMESPACE.into(), ns.into());
    service_labels.insert(super::IMAGE.into(), image.into());
    spec.insert("Labels".into(), json!(service_labels));
    spec.insert("TaskTemplate".into(), Value::Object(task));
    let mode = deploy
        .and_then(|d| d.mode.as_deref())
        .unwrap_or("replicated");
    let mode = match mode {
        "global" => json!({"Global": {}}),
        "replicated" => json!({"Replicated": {"Replicas": names.replicas}}),
        other => {
            return Err(fail(format!(
                "`deploy.mode: {other}` is not a Swarm mode; use replicated or global"
            )));
        }
    };
    spec.insert("Mode".into(), mode);
    if let Some(u) = deploy.and_then(|d| d.update_config.as_ref()) {
        spec.insert("UpdateConfig".into(), update_config(u));
    }
    if let Some(u) = deploy.and_then(|d| d.rollback_config.as_ref()) {
        spec.insert("RollbackConfig".into(), update_config(u));
    }
    let endpoint_mode = deploy
        .and_then(|d| d.extra.get("endpoint_mode"))
        .and_then(Value::as_str);
    let ports = ports(s).map_err(fail)?;
    if endpoint_mode.is_some() || !ports.is_empty() {
        let mut e = Map::new();
        put(&mut e, "Mode", endpoint_mode.map(str::to_lowercase));
        if !ports.is_empty() {
            e.insert("Ports".into(), json!(ports));
        }
        spec.insert("EndpointSpec".into(), Value::Object(e));
    }
    serde_json::from_value(Value::Object(spec))
        .map_err(|e| fail(format!("does not convert to a Swarm service: {e}")))
}

fn put<T: serde::Serialize>(m: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(key.into(), json!(v));
    }
}

fn put_list(m: &mut Map<String, Value>, key: &str, v: &[String]) {
    if !v.is_empty() {
        m.insert(key.into(), json!(v));
    }
}

fn nano_cpus(cpus: f64) -> i64 {
    (cpus * 1e9).round() as i64
}

/// `deploy.restart_policy`, else `restart` as docker/cli's
/// `convertRestartPolicy` reads it; `None`: the engine's default (any).
fn restart_policy(s: &Service) -> Option<Value> {
    if let Some(r) = s.deploy.as_ref().and_then(|d| d.restart_policy.as_ref()) {
        let mut m = Map::new();
        put(&mut m, "Condition", r.condition.clone());
        put(&mut m, "Delay", r.delay.map(|d| d.0));
        put(&mut m, "MaxAttempts", r.max_attempts);
        put(&mut m, "Window", r.window.map(|d| d.0));
        return Some(Value::Object(m));
    }
    let restart = s.restart.as_deref()?;
    let (name, attempts) = restart.split_once(':').unwrap_or((restart, ""));
    Some(match name {
        "no" | "" => json!({"Condition": "none"}),
        "always" | "unless-stopped" => json!({"Condition": "any"}),
        _ => match attempts.parse::<u64>() {
            Ok(n) => json!({"Condition": "on-failure", "MaxAttempts": n}),
            Err(_) => json!({"Condition": "on-failure"}),
        },
    })
}

fn update_config(u: &UpdateConfig) -> Value {
    let mut m = Map::new();
    m.insert("Parallelism".into(), json!(u.parallelism.unwrap_or(1)));
    put(&mut m, "Delay", u.delay.map(|d| d.0));
    put(&mut m, "FailureAction", u.failure_action.clone());
    put(&mut m, "Monitor", u.monitor.map(|d| d.0));
    put(&mut m, "MaxFailureRatio", u.max_failure_ratio);
    put(&mut m, "Order", u.order.clone());
    Value::Object(m)
}

/// `deploy.placement`: constraints, `spread` preferences, `max_replicas_per_node`.
fn placement(p: &Value) -> Option<Value> {
    let p = p.as_object()?;
    let mut m = Map::new();
    if let Some(c) = p.get("constraints").and_then(Value::as_array)
        && !c.is_empty()
    {
        m.insert("Constraints".into(), Value::Array(c.clone()));
    }
    if let Some(prefs) = p.get("preferences").and_then(Value::as_array) {
        let prefs: Vec<Value> = prefs
            .iter()
            .filter_map(|p| p.get("spread"))
            .map(|s| json!({"Spread": {"SpreadDescriptor": s}}))
            .collect();
        if !prefs.is_empty() {
            m.insert("Preferences".into(), json!(prefs));
        }
    }
    if let Some(n) = p.get("max_replicas_per_node") {
        m.insert("MaxReplicas".into(), n.clone());
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// Published ports, sorted as the engine keeps them (`expose` is not an
/// endpoint on Swarm).
fn ports(s: &Service) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for port in &s.ports {
        let mode = if port.mode == "host" {
            "host"
        } else {
            "ingress"
        };
        let mut p = json!({
            "Protocol": port.protocol,
            "TargetPort": port.target,
            "PublishMode": mode,
        });
        // without a published port, Swarm picks one (30000 up)
        if let Some(published) = port.published.as_deref().filter(|p| !p.is_empty()) {
            let published: u32 = published.parse().map_err(|_| {
                format!(
                    "published port range `{published}` is not supported on Swarm; publish each port"
                )
            })?;
            p["PublishedPort"] = json!(published);
        }
        out.push(p);
    }
    out.sort_by_key(|p| (p["PublishedPort"].as_u64(), p["TargetPort"].as_u64()));
    Ok(out)
}

/// Volumes, binds and tmpfs mounts; a named volume by its engine name,
/// labelled with the stack as `docker stack deploy` labels it.
fn mounts(s: &Service, p: &Project) -> Result<Vec<Value>, String> {
    let ns = p.name.as_str();
    let mut out = Vec::new();
    for m in &s.volumes {
        let mut v = Map::new();
        v.insert("Target".into(), json!(m.target));
        if m.read_only {
            v.insert("ReadOnly".into(), json!(true));
        }
        match m.kind {
            MountType::Volume => {
                v.insert("Type".into(), json!("volume"));
                let mut options = Map::new();
                if let Some(key) = &m.source {
                    let vol = p.volumes.get(key);
                    let name = vol.map(|v| v.name.clone()).unwrap_or_else(|| key.clone());
                    v.insert("Source".into(), json!(name));
                    if !vol.is_some_and(|v| v.external) {
                        let mut labels = vol.map(|v| v.labels.clone()).unwrap_or_default();
                        labels.insert(NAMESPACE.into(), ns.into());
                        options.insert("Labels".into(), json!(labels));
                        if let Some(vol) = vol
                            && let Some(driver) = &vol.driver
                        {
                            let mut d = Map::new();
                            d.insert("Name".into(), json!(driver));
                            if !vol.driver_opts.is_empty() {
                                d.insert("Options".into(), json!(vol.driver_opts));
                            }
                            options.insert("DriverConfig".into(), Value::Object(d));
                        }
                    }
                }
                if let Some(o) = &m.volume {
                    if o.nocopy {
                        options.insert("NoCopy".into(), json!(true));
                    }
                    put(&mut options, "Subpath", o.subpath.clone());
                }
                if !options.is_empty() {
                    v.insert("VolumeOptions".into(), Value::Object(options));
                }
            }
            MountType::Bind => {
                v.insert("Type".into(), json!("bind"));
                put(&mut v, "Source", m.source.clone());
                if let Some(b) = &m.bind
                    && let Some(prop) = &b.propagation
                {
                    v.insert("BindOptions".into(), json!({"Propagation": prop}));
                }
            }
            MountType::Tmpfs => {
                v.insert("Type".into(), json!("tmpfs"));
                if let Some(t) = &m.tmpfs {
                    let mut o = Map::new();
                    put(&mut o, "SizeBytes", t.size.map(|b| b.0));
                    put(&mut o, "Mode", t.mode);
                    if !o.is_empty() {
                        v.insert("TmpfsOptions".into(), Value::Object(o));
                    }
                }
            }
            other => {
                return Err(format!(
                    "a `{}` mount is not supported on Swarm",
                    serde_json::to_value(other)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                ));
            }
        }
        out.push(Value::Object(v));
    }
    for t in &s.tmpfs {
        out.push(json!({"Type": "tmpfs", "Target": t}));
    }
    Ok(out)
}
