//! One service: its attribute list (what berth models, what it keeps as
//! written), the dispatch of each attribute to its decoder, and the checks that
//! span attributes. The smaller attributes that belong to no larger concept
//! (command, healthcheck, logging, restart, config and secret mounts) live here too.

use std::collections::BTreeMap;

use super::build::build;
use super::ctx::SortedKeys;
use super::ctx::{Ctx, KnownKeys, index, seq, to_json};
use super::dependencies::depends_on;
use super::deploy::deploy;
use super::env::{env_file, label_files};
use super::networking::{extra_hosts, service_networks};
use super::ports::ports;
use super::resources::{blkio_config, devices, ulimits};
use super::volumes::{mount_targets_unique, volumes};
use crate::compose::diagnostic::suggest;
use crate::compose::model::*;
use crate::compose::node::{Node, Value};
use crate::compose::units::{Bytes, Duration};

/// Service attributes berth models.
pub const SERVICE_KEYS: &[&str] = &[
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "depends_on",
    "deploy",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "privileged",
    "profiles",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// Valid Compose service attributes that berth keeps as written but does not model.
pub const SERVICE_PASSTHROUGH: &[&str] = &[
    "annotations",
    "attach",
    "credential_spec",
    "develop",
    "gpus",
    "label_file",
    "models",
    "post_start",
    "pre_stop",
    "provider",
    "pull_refresh_after",
    "use_api_socket",
];

pub(super) static SERVICE_ALL: std::sync::LazyLock<SortedKeys> = std::sync::LazyLock::new(|| {
    let mut keys: Vec<&'static str> = SERVICE_KEYS
        .iter()
        .chain(SERVICE_PASSTHROUGH)
        .copied()
        .collect();
    keys.sort_unstable();
    SortedKeys(keys)
});

/// Text attributes an empty string leaves unset, as in Compose (Go's `omitempty`):
/// `platform: ${DOCKER_PLATFORM:-}` is no platform. (`network_mode: ""` is not
/// among them: Compose still leaves such a service off the default network.)
pub(super) const OMITTED_WHEN_EMPTY: &[&str] = &[
    "cgroup_parent",
    "domainname",
    "hostname",
    "ipc",
    "isolation",
    "mac_address",
    "pid",
    "platform",
    "runtime",
    "stop_signal",
    "user",
    "userns_mode",
    "uts",
    "working_dir",
];

pub(super) fn service(ctx: &mut Ctx, n: &Node, path: &str, name: &str) -> Service {
    let mut s = Service {
        name: name.to_string(),
        ..Default::default()
    };
    let Some(entries) = ctx.map(n, path) else {
        return s;
    };
    let mut env_file_node: Option<(&Node, String)> = None;
    let mut environment: Vec<(String, Option<String>)> = Vec::new();
    let mut from_label_files: BTreeMap<String, String> = BTreeMap::new();
    fields!(ctx, entries, path, &*SERVICE_ALL, |key, v, p| {
        if v.as_str() == Some("") && OMITTED_WHEN_EMPTY.contains(&key) {
            continue;
        }
        match key {
            "build" => s.build = build(ctx, v, &p).map(Box::new),
            "cap_add" => s.cap_add = ctx.strings(v, &p, false),
            "cap_drop" => s.cap_drop = ctx.strings(v, &p, false),
            "command" => s.command = shell_command(ctx, v, &p),
            "entrypoint" => s.entrypoint = shell_command(ctx, v, &p),
            "configs" => s.configs = file_mounts(ctx, v, &p, None),
            "secrets" => s.secrets = file_mounts(ctx, v, &p, Some("/run/secrets/")),
            "container_name" => s.container_name = ctx.read::<String>(v, &p),
            "cpus" => s.cpus = ctx.read::<f64>(v, &p),
            "depends_on" => s.depends_on = depends_on(ctx, v, &p),
            "deploy" => s.deploy = deploy(ctx, v, &p).map(Box::new),
            "devices" => s.devices = devices(ctx, v, &p),
            "dns" => s.dns = ctx.strings(v, &p, true),
            "dns_search" => s.dns_search = ctx.strings(v, &p, true),
            // read once `environment` is known: env files may refer to it
            "env_file" => env_file_node = Some((v, p)),
            "environment" => environment = ctx.key_values(v, &p, '='),
            "expose" => s.expose = ctx.strings(v, &p, false),
            "extends" => {}
            "extra_hosts" => s.extra_hosts = extra_hosts(ctx, v, &p),
            "healthcheck" => s.healthcheck = healthcheck(ctx, v, &p).map(Box::new),
            "hostname" => s.hostname = nonempty(ctx.read::<String>(v, &p)),
            "image" => s.image = ctx.read::<String>(v, &p),
            "init" => s.init = ctx.read::<bool>(v, &p),
            "ipc" => s.ipc = nonempty(ctx.read::<String>(v, &p)),
            "labels" => s.labels = ctx.labels(v, &p),
            "logging" => s.logging = logging(ctx, v, &p).map(Box::new),
            "mem_limit" => s.mem_limit = ctx.read::<Bytes>(v, &p),
            "network_mode" => s.network_mode = ctx.read::<String>(v, &p),
            "networks" => s.networks = service_networks(ctx, v, &p),
            "pid" => s.pid = nonempty(ctx.read::<String>(v, &p)),
            "platform" => s.platform = nonempty(ctx.read::<String>(v, &p)),
            "ports" => s.ports = ports(ctx, v, &p),
            "privileged" => s.privileged = ctx.read::<bool>(v, &p).unwrap_or(false),
            "profiles" => s.profiles = ctx.strings(v, &p, false),
            "pull_policy" => s.pull_policy = pull_policy(ctx, v, &p),
            "cgroup" => s.cgroup = cgroup(ctx, v, &p),
            "blkio_config" => s.blkio_config = blkio_config(ctx, v, &p).map(Box::new),
            "read_only" => s.read_only = ctx.read::<bool>(v, &p).unwrap_or(false),
            "restart" => s.restart = restart(ctx, v, &p),
            "scale" => s.scale = ctx.read::<u64>(v, &p).map(|u| u as u32),
            "security_opt" => s.security_opt = ctx.strings(v, &p, false),
            "shm_size" => s.shm_size = ctx.read::<Bytes>(v, &p),
            "stdin_open" => s.stdin_open = ctx.read::<bool>(v, &p).unwrap_or(false),
            "stop_grace_period" => s.stop_grace_period = ctx.read::<Duration>(v, &p),
            "stop_signal" => s.stop_signal = nonempty(ctx.read::<String>(v, &p)),
            "sysctls" => s.sysctls = ctx.string_map(v, &p),
            "tmpfs" => s.tmpfs = ctx.strings(v, &p, true),
            "tty" => s.tty = ctx.read::<bool>(v, &p).unwrap_or(false),
            "ulimits" => s.ulimits = ulimits(ctx, v, &p),
            "user" => s.user = nonempty(ctx.read::<String>(v, &p)),
            "volumes" => s.volumes = volumes(ctx, v, &p),
            "working_dir" => s.working_dir = nonempty(ctx.read::<String>(v, &p)),
            "mem_reservation" => s.mem_reservation = ctx.read::<Bytes>(v, &p),
            "memswap_limit" => s.memswap_limit = ctx.read::<Bytes>(v, &p),
            "label_file" => from_label_files = label_files(ctx, v, &p),
            // Go's omitempty: Compose leaves these out when zero
            "cpu_count" => s.cpu_count = ctx.read::<i64>(v, &p).filter(|i| *i != 0),
            "cpu_percent" => s.cpu_percent = ctx.read::<i64>(v, &p).filter(|i| *i != 0),
            "cpu_shares" => s.cpu_shares = ctx.read::<i64>(v, &p).filter(|i| *i != 0),
            "cpu_quota" => s.cpu_quota = ctx.read::<i64>(v, &p).filter(|i| *i != 0),
            "cpu_period" => s.cpu_period = ctx.read::<i64>(v, &p).filter(|i| *i != 0),
            "cpu_rt_period" => s.cpu_rt_period = ctx.read::<i64>(v, &p).filter(|i| *i != 0),
            "cpu_rt_runtime" => s.cpu_rt_runtime = ctx.read::<i64>(v, &p).filter(|i| *i != 0),
            "cgroup_parent" => s.cgroup_parent = nonempty(ctx.read::<String>(v, &p)),
            "cpuset" => s.cpuset = nonempty(ctx.read::<String>(v, &p)),
            "device_cgroup_rules" => s.device_cgroup_rules = ctx.strings(v, &p, false),
            "dns_opt" => s.dns_opt = ctx.strings(v, &p, false),
            "domainname" => s.domainname = nonempty(ctx.read::<String>(v, &p)),
            "external_links" => s.external_links = ctx.strings(v, &p, false),
            "group_add" => s.group_add = ctx.strings(v, &p, false),
            "isolation" => s.isolation = nonempty(ctx.read::<String>(v, &p)),
            "links" => s.links = ctx.strings(v, &p, false),
            "mac_address" => s.mac_address = nonempty(ctx.read::<String>(v, &p)),
            "mem_swappiness" => s.mem_swappiness = ctx.read::<i64>(v, &p),
            "oom_kill_disable" => s.oom_kill_disable = ctx.read::<bool>(v, &p).unwrap_or(false),
            "oom_score_adj" => s.oom_score_adj = ctx.read::<i64>(v, &p),
            "pids_limit" => s.pids_limit = ctx.read::<i64>(v, &p),
            "runtime" => s.runtime = nonempty(ctx.read::<String>(v, &p)),
            "storage_opt" => s.storage_opt = ctx.string_map(v, &p),
            "userns_mode" => s.userns_mode = nonempty(ctx.read::<String>(v, &p)),
            "uts" => s.uts = nonempty(ctx.read::<String>(v, &p)),
            "volumes_from" => s.volumes_from = ctx.strings(v, &p, false),
            // an empty string is Go's zero value, which Compose leaves out (`omitempty`)
            other
                if !other.starts_with("x-")
                    && matches!(&v.value, Value::Str(t) if t.is_empty()) => {}
            other => {
                s.extra.insert(other.to_string(), to_json(v));
            }
        }
    });
    // labels from label_file, under those written in `labels`
    for (k, v) in from_label_files {
        s.labels.entry(k).or_insert(v);
    }
    let env_files = match env_file_node {
        Some((v, p)) => env_file(ctx, v, &p, &environment),
        None => Vec::new(),
    };
    // env_file first, then `environment` over it; a bare KEY takes the project's value
    for (k, v) in env_files.into_iter().chain(environment) {
        let v = v.or_else(|| ctx.vars.get(&k).map(str::to_string));
        s.environment.insert(k, v);
    }
    consistency(ctx, n, path, &mut s);
    mount_targets_unique(ctx, n, path, &s);
    s
}

/// An attribute written as `""` (often `${VAR:-}`, as Sentry's `platform`) is unset: Compose
/// reads it into a Go string and leaves the zero value out.
pub(super) fn nonempty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Attributes that can be set twice (`mem_limit` and `deploy.resources.limits.memory`) must agree.
pub(super) fn consistency(ctx: &mut Ctx, n: &Node, path: &str, s: &mut Service) {
    if let (Some(scale), Some(replicas)) = (s.scale, s.deploy.as_ref().and_then(|d| d.replicas))
        && scale != replicas
    {
        let at = n.get("scale").unwrap_or(n);
        ctx.err_hint(
            at,
            path,
            format!("`scale` ({scale}) and `deploy.replicas` ({replicas}) disagree"),
            "set only one of them",
        );
    }
    let limits = s.deploy.as_ref().and_then(|d| d.resources.limits.as_ref());
    if let (Some(mem), Some(limit)) = (s.mem_limit, limits.and_then(|l| l.memory))
        && mem != limit
    {
        let at = n.get("mem_limit").unwrap_or(n);
        ctx.err_hint(
            at,
            path,
            "`mem_limit` and `deploy.resources.limits.memory` disagree",
            "set only one of them",
        );
    }
    if let (Some(cpus), Some(limit)) = (s.cpus, limits.and_then(|l| l.cpus))
        && cpus != limit
    {
        let at = n.get("cpus").unwrap_or(n);
        ctx.err_hint(
            at,
            path,
            "`cpus` and `deploy.resources.limits.cpus` disagree",
            "set only one of them",
        );
    }
}

pub(super) fn shell_command(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Vec<String>> {
    match &n.value {
        Value::Null => None,
        Value::Seq(_) => Some(ctx.strings(n, path, false)),
        Value::Str(s) => match shell_words::split(before_operator(s)) {
            Ok(words) => {
                if before_operator(s).len() < s.len() {
                    ctx.warnings.push(format!(
                        "{path}: `{s}` contains a shell operator; like Compose, berth runs only `{}`. Use `[\"sh\", \"-c\", \"...\"]` to run it through a shell",
                        before_operator(s).trim_end()
                    ));
                }
                Some(words)
            }
            Err(_) => {
                ctx.err_hint(
                    n,
                    path,
                    "unbalanced quotes in command",
                    "close every quote, or write the command as a list",
                );
                None
            }
        },
        _ => {
            ctx.expected(n, path, "a string or a list of strings");
            None
        }
    }
}

/// Compose splits a string command with go-shellwords, which stops at the first
/// unquoted `;`, `&`, `|`, `<` or `>`: `echo a && echo b` runs `echo a`.
pub(super) fn before_operator(s: &str) -> &str {
    let (mut single, mut double, mut escaped) = (false, false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if !single => escaped = true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            ';' | '&' | '|' | '<' | '>' if !single && !double => return &s[..i],
            _ => {}
        }
    }
    s
}

pub(super) fn file_mounts(
    ctx: &mut Ctx,
    n: &Node,
    path: &str,
    default_dir: Option<&str>,
) -> Vec<FileMount> {
    let Some(items) = seq(ctx, n, path) else {
        return vec![];
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        match &item.value {
            Value::Map(entries) => {
                let mut m = FileMount::default();
                const KEYS: &[&str] = &["source", "target", "uid", "gid", "mode"];
                fields!(ctx, entries, &p, KEYS, |key, v, kp| {
                    match key {
                        "source" => m.source = ctx.read::<String>(v, &kp).unwrap_or_default(),
                        "target" => m.target = ctx.read::<String>(v, &kp),
                        "uid" => m.uid = ctx.read::<String>(v, &kp),
                        "gid" => m.gid = ctx.read::<String>(v, &kp),
                        "mode" => m.mode = ctx.read::<u64>(v, &kp).map(|u| u as u32),
                        _ => {}
                    }
                });
                if m.source.is_empty() {
                    ctx.err_hint(
                        item,
                        &p,
                        "missing `source`",
                        "name the top-level config or secret to mount with `source:`",
                    );
                }
                if m.target.is_none()
                    && let Some(dir) = default_dir
                {
                    m.target = Some(format!("{dir}{}", m.source));
                }
                out.push(m);
            }
            _ => {
                if let Some(source) = ctx.read::<String>(item, &p) {
                    let target = default_dir.map(|d| format!("{d}{source}"));
                    out.push(FileMount {
                        source,
                        target,
                        ..Default::default()
                    });
                }
            }
        }
    }
    out
}

pub(super) fn healthcheck(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Healthcheck> {
    let entries = ctx.map(n, path)?;
    let mut h = Healthcheck::default();
    const KEYS: &[&str] = &[
        "test",
        "interval",
        "timeout",
        "retries",
        "start_period",
        "start_interval",
        "disable",
    ];
    fields!(ctx, entries, path, KEYS, |key, v, p| {
        match key {
            "test" => {
                h.test = match &v.value {
                    Value::Str(s) => Some(vec!["CMD-SHELL".into(), s.clone()]),
                    Value::Seq(_) => {
                        let t = ctx.strings(v, &p, false);
                        if let Some(first) = t.first()
                            && !matches!(first.as_str(), "CMD" | "CMD-SHELL" | "NONE")
                        {
                            ctx.err_hint(
                                v,
                                &p,
                                format!("a test list must start with CMD, CMD-SHELL or NONE, not `{first}`"),
                                "write `[\"CMD\", \"program\", \"arg\"]`, `[\"CMD-SHELL\", \"command\"]` or a plain string",
                            );
                        }
                        Some(t)
                    }
                    Value::Null => None,
                    _ => {
                        ctx.expected(v, &p, "a string or a list");
                        None
                    }
                }
            }
            "interval" => h.interval = ctx.read::<Duration>(v, &p),
            "timeout" => h.timeout = ctx.read::<Duration>(v, &p),
            "start_period" => h.start_period = ctx.read::<Duration>(v, &p),
            "start_interval" => h.start_interval = ctx.read::<Duration>(v, &p),
            "retries" => h.retries = ctx.read::<u64>(v, &p),
            "disable" => h.disable = ctx.read::<bool>(v, &p).unwrap_or(false),
            _ => {}
        }
    });
    Some(h)
}

pub(super) fn logging(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Logging> {
    let entries = ctx.map(n, path)?;
    let mut l = Logging::default();
    fields!(ctx, entries, path, &["driver", "options"], |key, v, p| {
        match key {
            "driver" => l.driver = ctx.read::<String>(v, &p),
            _ => l.options = ctx.string_map(v, &p),
        }
    });
    Some(l)
}

/// `cgroup`: the container's cgroup namespace, `host` or `private` (unlike `ipc`
/// or `pid`, not another service's).
pub(super) fn cgroup(ctx: &mut Ctx, n: &Node, path: &str) -> Option<String> {
    let c = ctx.read::<String>(n, path)?;
    if !matches!(c.as_str(), "host" | "private") {
        ctx.err_hint(
            n,
            path,
            format!("unknown cgroup namespace `{c}`"),
            "use host or private",
        );
    }
    Some(c)
}

pub(super) fn pull_policy(ctx: &mut Ctx, n: &Node, path: &str) -> Option<String> {
    let p = ctx.read::<String>(n, path)?;
    const OK: &[&str] = &[
        "always",
        "never",
        "missing",
        "build",
        "if_not_present",
        "refresh",
        "daily",
        "weekly",
    ];
    if !OK.contains(&p.as_str()) && !p.starts_with("every_") {
        let hint = match suggest(&p, OK.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("use {}, or every_<duration>", OK.join(", ")),
        };
        ctx.err_hint(n, path, format!("unknown pull policy `{p}`"), hint);
    }
    Some(p)
}

pub(super) fn restart(ctx: &mut Ctx, n: &Node, path: &str) -> Option<String> {
    let r = ctx.read::<String>(n, path)?;
    let base = r.split(':').next().unwrap_or("");
    const OK: &[&str] = &["no", "always", "on-failure", "unless-stopped"];
    if !OK.contains(&base) {
        let hint = match suggest(base, OK.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "use no, always, on-failure[:N] or unless-stopped".into(),
        };
        ctx.err_hint(n, path, format!("unknown restart policy `{r}`"), hint);
    }
    Some(r)
}
