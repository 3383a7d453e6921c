//! The merged [`Node`] tree to the typed, canonical [`Project`]: short syntax
//! becomes long syntax, durations and sizes are parsed, relative paths are made
//! absolute, and every type error names its file, line, column and key path.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Sink, suggest};
use super::dotenv::{self, EnvPair};
use super::interpolate::Vars;
use super::model::*;
use super::node::{Entry, Node, Value};
use super::source::{FileId, SourceMap};
use super::units::{Bytes, Duration};
use crate::paths::{clean, io_reason};

/// What decoding needs besides the tree.
pub struct Ctx<'a> {
    pub sink: &'a mut Sink,
    /// The project's variables (shell over `.env`), for bare `KEY` entries.
    pub vars: &'a Vars,
    /// The directory relative paths are resolved against, per file.
    pub base_dirs: &'a BTreeMap<FileId, PathBuf>,
    pub sources: &'a mut SourceMap,
    pub project_dir: &'a Path,
    pub warnings: &'a mut Vec<String>,
}

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

/// `path.key`; built with pushes, not `format!`, as it runs for every attribute.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        return key.to_string();
    }
    let mut s = String::with_capacity(path.len() + 1 + key.len());
    s.push_str(path);
    s.push('.');
    s.push_str(key);
    s
}

fn index(path: &str, i: usize) -> String {
    // built for every list item, used only in messages: `format!` cost
    // ~1,000 instructions a call here
    let mut s = String::with_capacity(path.len() + 8);
    s.push_str(path);
    push_index(&mut s, i);
    s
}

/// Append `[i]` to a path without the formatting machinery.
pub fn push_index(path: &mut String, i: usize) {
    path.push('[');
    let mut digits = [0u8; 20];
    let mut n = i;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[start..] {
        path.push(char::from(d));
    }
    path.push(']');
}

impl Ctx<'_> {
    fn err_hint(&mut self, n: &Node, path: &str, msg: impl Into<String>, hint: impl Into<String>) {
        self.sink
            .push(Diagnostic::at(n.span, path, msg).with_hint(hint));
    }

    fn expected(&mut self, n: &Node, path: &str, what: &str) {
        let msg = format!("expected {what}, found {}", n.kind());
        let hint = match n.as_str() {
            // `image:nginx` is one string to YAML
            Some(s) if what.contains("mapping") && s.contains(':') && !s.contains(": ") => {
                "put a space after the colon: `key: value`".to_string()
            }
            _ => format!("write {what} here"),
        };
        self.err_hint(n, path, msg, hint);
    }

    fn base_dir(&self, n: &Node) -> PathBuf {
        self.base_dirs
            .get(&n.span.file)
            .cloned()
            .unwrap_or_else(|| self.project_dir.to_path_buf())
    }

    /// Resolve a path against the directory of the file that wrote it, as Compose does:
    /// `~` is the home directory, an absolute path stays as written (`/srv/data/`),
    /// a relative one is joined to the directory and cleaned.
    fn resolve_path(&self, n: &Node, p: &str) -> String {
        if let Some(home) = expand_home(p) {
            return home;
        }
        let path = Path::new(p);
        if path.is_absolute() {
            return p.to_string();
        }
        clean(&self.base_dir(n).join(path))
    }

    // ---- scalars ----

    fn string(&mut self, n: &Node, path: &str) -> Option<String> {
        match &n.value {
            Value::Seq(_) | Value::Map(_) => {
                self.expected(n, path, "a string");
                None
            }
            Value::Null => None,
            _ => n.scalar_text(),
        }
    }

    fn int(&mut self, n: &Node, path: &str) -> Option<i64> {
        match &n.value {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            Value::Str(s) => match s.trim().parse::<i64>() {
                Ok(i) => Some(i),
                Err(_) => {
                    self.err_hint(
                        n,
                        path,
                        format!("expected a whole number, found `{s}`"),
                        "write a whole number",
                    );
                    None
                }
            },
            Value::Null => None,
            _ => {
                self.expected(n, path, "a whole number");
                None
            }
        }
    }

    fn uint(&mut self, n: &Node, path: &str) -> Option<u64> {
        let i = self.int(n, path)?;
        if i < 0 {
            self.err_hint(
                n,
                path,
                format!("expected a number of 0 or more, found {i}"),
                "write a whole number of 0 or more",
            );
            return None;
        }
        Some(i as u64)
    }

    fn float(&mut self, n: &Node, path: &str) -> Option<f64> {
        match &n.value {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => match s.trim().parse::<f64>() {
                Ok(f) => Some(f),
                Err(_) => {
                    self.err_hint(
                        n,
                        path,
                        format!("expected a number, found `{s}`"),
                        "write a number, such as `1.5`",
                    );
                    None
                }
            },
            Value::Null => None,
            _ => {
                self.expected(n, path, "a number");
                None
            }
        }
    }

    fn boolean(&mut self, n: &Node, path: &str) -> Option<bool> {
        match &n.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) => match s.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" | "y" | "Y" | "yes" | "YES" | "Yes"
                | "on" | "ON" | "On" => Some(true),
                "0" | "f" | "F" | "false" | "FALSE" | "False" | "n" | "N" | "no" | "NO" | "No"
                | "off" | "OFF" | "Off" => Some(false),
                _ => {
                    self.err_hint(
                        n,
                        path,
                        format!("expected true or false, found `{s}`"),
                        "write `true` or `false`",
                    );
                    None
                }
            },
            Value::Null => None,
            _ => {
                self.expected(n, path, "true or false");
                None
            }
        }
    }

    fn duration(&mut self, n: &Node, path: &str) -> Option<Duration> {
        let s = match &n.value {
            Value::Int(0) => return Some(Duration(0)),
            Value::Int(_) | Value::Float(_) => {
                self.err_hint(
                    n,
                    path,
                    format!("`{}` is not a duration: it has no unit", n.scalar_text()?),
                    "write a duration with a unit, such as `30s`, `1m30s` or `500ms`",
                );
                return None;
            }
            _ => self.string(n, path)?,
        };
        match Duration::parse(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err_hint(
                    n,
                    path,
                    format!("invalid duration: {e}"),
                    "write a duration such as `30s`, `1m30s` or `500ms` (units: ns, us, ms, s, m, h)",
                );
                None
            }
        }
    }

    fn bytes(&mut self, n: &Node, path: &str) -> Option<Bytes> {
        if let Value::Int(i) = n.value {
            return Some(Bytes(i));
        }
        let s = self.string(n, path)?;
        match Bytes::parse(&s) {
            Ok(b) => Some(b),
            Err(e) => {
                self.err_hint(
                    n,
                    path,
                    format!("invalid size: {e}"),
                    "write a size such as `512m`, `1g` or a number of bytes",
                );
                None
            }
        }
    }

    // ---- collections ----

    /// A mapping's entries, or an error when the node is something else.
    fn map<'n>(&mut self, n: &'n Node, path: &str) -> Option<&'n [Entry]> {
        match &n.value {
            Value::Map(m) => Some(m),
            Value::Null => Some(&[]),
            _ => {
                self.expected(n, path, "a mapping");
                None
            }
        }
    }

    fn unknown_key(&mut self, e: &Entry, path: &str, known: &[&str]) {
        let msg = format!("unknown key `{}`", e.key.name);
        let mut d = Diagnostic::at(e.key.span, path, msg);
        if let Some(s) = suggest(&e.key.name, known.iter().copied()) {
            d = d.with_hint(format!("did you mean `{s}`?"));
        } else {
            d = d.with_hint(format!(
                "remove it, or prefix it with `x-` to keep it as an extension; known keys: {}",
                known.join(", ")
            ));
        }
        self.sink.push(d);
    }

    /// A list of strings; a single string counts as a one-item list where Compose allows it.
    fn strings(&mut self, n: &Node, path: &str, single_ok: bool) -> Vec<String> {
        match &n.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.string(item, &index(path, i)))
                .collect(),
            Value::Null => vec![],
            Value::Str(_) | Value::Int(_) | Value::Float(_) if single_ok => {
                self.string(n, path).into_iter().collect()
            }
            _ => {
                self.expected(n, path, "a list of strings");
                vec![]
            }
        }
    }

    /// `[KEY=VALUE, KEY]` or `{KEY: VALUE}`; `None` for a key without a value.
    fn key_values(&mut self, n: &Node, path: &str, sep: char) -> Vec<(String, Option<String>)> {
        match &n.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let p = index(path, i);
                    let text = self.string(item, &p)?;
                    Some(match text.split_once(sep) {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (text, None),
                    })
                })
                .collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|e| {
                    let p = join(path, &e.key.name);
                    let v = match &e.value.value {
                        Value::Null => None,
                        _ => self.string(&e.value, &p),
                    };
                    (e.key.name.clone(), v)
                })
                .collect(),
            Value::Null => vec![],
            _ => {
                self.expected(n, path, "a mapping or a list of `KEY=VALUE` strings");
                vec![]
            }
        }
    }

    fn labels(&mut self, n: &Node, path: &str) -> BTreeMap<String, String> {
        self.key_values(n, path, '=')
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect()
    }

    fn string_map(&mut self, n: &Node, path: &str) -> BTreeMap<String, String> {
        self.labels(n, path)
    }
}

/// The keys a mapping may hold.
trait KnownKeys {
    fn has(&self, key: &str) -> bool;
    fn all(&self) -> &[&'static str];
}

impl KnownKeys for [&'static str] {
    fn has(&self, key: &str) -> bool {
        self.contains(&key)
    }
    fn all(&self) -> &[&'static str] {
        self
    }
}

/// A long key list, sorted once, looked up by binary search (every service checks every key).
struct SortedKeys(Vec<&'static str>);

impl KnownKeys for SortedKeys {
    fn has(&self, key: &str) -> bool {
        self.0.binary_search(&key).is_ok()
    }
    fn all(&self) -> &[&'static str] {
        &self.0
    }
}

static SERVICE_ALL: std::sync::LazyLock<SortedKeys> = std::sync::LazyLock::new(|| {
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
const OMITTED_WHEN_EMPTY: &[&str] = &[
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

/// Attributes are looked up by name in one pass; anything else is an unknown key.
macro_rules! fields {
    ($ctx:expr, $entries:expr, $path:expr, $known:expr, |$key:ident, $value:ident, $p:ident| $body:block) => {
        for e in $entries {
            let $key = e.key.name.as_str();
            let $value = &e.value;
            let $p = join($path, $key);
            if $key.starts_with("x-") {
                continue;
            }
            if !$known.has($key) {
                $ctx.unknown_key(e, $path, $known.all());
                continue;
            }
            $body
        }
    };
}

/// Decode the whole project. `name` is already resolved.
pub fn project(ctx: &mut Ctx, root: &Node, name: &str) -> Project {
    let mut p = Project {
        name: name.to_string(),
        ..Default::default()
    };
    let Some(entries) = ctx.map(root, "") else {
        return p;
    };
    const TOP: &[&str] = &[
        "version", "name", "services", "networks", "volumes", "configs", "secrets", "include",
        "models",
    ];
    for e in entries.iter().filter(|e| e.key.name.starts_with("x-")) {
        p.extensions.insert(e.key.name.clone(), to_json(&e.value));
    }
    fields!(ctx, entries, "", TOP, |key, value, path| {
        match key {
            "services" => {
                if let Some(services) = ctx.map(value, &path) {
                    for s in services {
                        let sp = join(&path, &s.key.name);
                        let svc = service(ctx, &s.value, &sp, &s.key.name);
                        p.services.insert(s.key.name.clone(), svc);
                    }
                }
            }
            "networks" => top_level(ctx, value, &path, |ctx, key, n, p| {
                network(ctx, n, p, key, name)
            })
            .into_iter()
            .for_each(|(k, v)| {
                p.networks.insert(k, v);
            }),
            "volumes" => top_level(ctx, value, &path, |ctx, key, n, p| {
                volume(ctx, n, p, key, name)
            })
            .into_iter()
            .for_each(|(k, v)| {
                p.volumes.insert(k, v);
            }),
            "configs" | "secrets" => {
                let objs = top_level(ctx, value, &path, |ctx, k, n, p| {
                    file_object(ctx, n, p, k, name)
                });
                if key == "configs" {
                    p.configs.extend(objs);
                } else {
                    p.secrets.extend(objs);
                }
            }
            _ => {}
        }
    });
    p
}

fn top_level<T>(
    ctx: &mut Ctx,
    n: &Node,
    path: &str,
    mut each: impl FnMut(&mut Ctx, &str, &Node, &str) -> T,
) -> Vec<(String, T)> {
    let Some(entries) = ctx.map(n, path) else {
        return vec![];
    };
    entries
        .iter()
        .filter(|e| !e.key.name.starts_with("x-"))
        .map(|e| {
            let p = join(path, &e.key.name);
            (e.key.name.clone(), each(ctx, &e.key.name, &e.value, &p))
        })
        .collect()
}

fn service(ctx: &mut Ctx, n: &Node, path: &str, name: &str) -> Service {
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
            "container_name" => s.container_name = ctx.string(v, &p),
            "cpus" => s.cpus = ctx.float(v, &p),
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
            "hostname" => s.hostname = nonempty(ctx.string(v, &p)),
            "image" => s.image = ctx.string(v, &p),
            "init" => s.init = ctx.boolean(v, &p),
            "ipc" => s.ipc = nonempty(ctx.string(v, &p)),
            "labels" => s.labels = ctx.labels(v, &p),
            "logging" => s.logging = logging(ctx, v, &p).map(Box::new),
            "mem_limit" => s.mem_limit = ctx.bytes(v, &p),
            "network_mode" => s.network_mode = ctx.string(v, &p),
            "networks" => s.networks = service_networks(ctx, v, &p),
            "pid" => s.pid = nonempty(ctx.string(v, &p)),
            "platform" => s.platform = nonempty(ctx.string(v, &p)),
            "ports" => s.ports = ports(ctx, v, &p),
            "privileged" => s.privileged = ctx.boolean(v, &p).unwrap_or(false),
            "profiles" => s.profiles = ctx.strings(v, &p, false),
            "pull_policy" => s.pull_policy = pull_policy(ctx, v, &p),
            "cgroup" => s.cgroup = cgroup(ctx, v, &p),
            "blkio_config" => s.blkio_config = blkio_config(ctx, v, &p).map(Box::new),
            "read_only" => s.read_only = ctx.boolean(v, &p).unwrap_or(false),
            "restart" => s.restart = restart(ctx, v, &p),
            "scale" => s.scale = ctx.uint(v, &p).map(|u| u as u32),
            "security_opt" => s.security_opt = ctx.strings(v, &p, false),
            "shm_size" => s.shm_size = ctx.bytes(v, &p),
            "stdin_open" => s.stdin_open = ctx.boolean(v, &p).unwrap_or(false),
            "stop_grace_period" => s.stop_grace_period = ctx.duration(v, &p),
            "stop_signal" => s.stop_signal = nonempty(ctx.string(v, &p)),
            "sysctls" => s.sysctls = ctx.string_map(v, &p),
            "tmpfs" => s.tmpfs = ctx.strings(v, &p, true),
            "tty" => s.tty = ctx.boolean(v, &p).unwrap_or(false),
            "ulimits" => s.ulimits = ulimits(ctx, v, &p),
            "user" => s.user = nonempty(ctx.string(v, &p)),
            "volumes" => s.volumes = volumes(ctx, v, &p),
            "working_dir" => s.working_dir = nonempty(ctx.string(v, &p)),
            "mem_reservation" => s.mem_reservation = ctx.bytes(v, &p),
            "memswap_limit" => s.memswap_limit = ctx.bytes(v, &p),
            "label_file" => from_label_files = label_files(ctx, v, &p),
            // Go's omitempty: Compose leaves these out when zero
            "cpu_count" => s.cpu_count = ctx.int(v, &p).filter(|i| *i != 0),
            "cpu_percent" => s.cpu_percent = ctx.int(v, &p).filter(|i| *i != 0),
            "cpu_shares" => s.cpu_shares = ctx.int(v, &p).filter(|i| *i != 0),
            "cpu_quota" => s.cpu_quota = ctx.int(v, &p).filter(|i| *i != 0),
            "cpu_period" => s.cpu_period = ctx.int(v, &p).filter(|i| *i != 0),
            "cpu_rt_period" => s.cpu_rt_period = ctx.int(v, &p).filter(|i| *i != 0),
            "cpu_rt_runtime" => s.cpu_rt_runtime = ctx.int(v, &p).filter(|i| *i != 0),
            "cgroup_parent" => s.cgroup_parent = nonempty(ctx.string(v, &p)),
            "cpuset" => s.cpuset = nonempty(ctx.string(v, &p)),
            "device_cgroup_rules" => s.device_cgroup_rules = ctx.strings(v, &p, false),
            "dns_opt" => s.dns_opt = ctx.strings(v, &p, false),
            "domainname" => s.domainname = nonempty(ctx.string(v, &p)),
            "external_links" => s.external_links = ctx.strings(v, &p, false),
            "group_add" => s.group_add = ctx.strings(v, &p, false),
            "isolation" => s.isolation = nonempty(ctx.string(v, &p)),
            "links" => s.links = ctx.strings(v, &p, false),
            "mac_address" => s.mac_address = nonempty(ctx.string(v, &p)),
            "mem_swappiness" => s.mem_swappiness = ctx.int(v, &p),
            "oom_kill_disable" => s.oom_kill_disable = ctx.boolean(v, &p).unwrap_or(false),
            "oom_score_adj" => s.oom_score_adj = ctx.int(v, &p),
            "pids_limit" => s.pids_limit = ctx.int(v, &p),
            "runtime" => s.runtime = nonempty(ctx.string(v, &p)),
            "storage_opt" => s.storage_opt = ctx.string_map(v, &p),
            "userns_mode" => s.userns_mode = nonempty(ctx.string(v, &p)),
            "uts" => s.uts = nonempty(ctx.string(v, &p)),
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
fn nonempty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Linking to another service, sharing one of its namespaces (`network_mode`,
/// `ipc`, `pid`, `uts`: `service:x`) or its volumes makes it a dependency,
/// recorded as Compose records it: restarted with it, except for `volumes_from`.
/// An explicit `depends_on` entry wins; among implicit ones, the first found.
pub fn implicit_dependencies(s: &mut Service, exists: impl Fn(&str) -> bool) {
    let mut deps: Vec<(String, bool)> = Vec::new();
    for link in &s.links {
        deps.push((link.split(':').next().unwrap_or_default().to_string(), true));
    }
    let namespaces = [
        s.network_mode.as_deref(),
        s.ipc.as_deref(),
        s.pid.as_deref(),
        s.uts.as_deref(),
    ];
    for mode in namespaces.into_iter().flatten() {
        if let Some(other) = mode.strip_prefix("service:") {
            deps.push((other.to_string(), true));
        }
    }
    for from in &s.volumes_from {
        if !from.starts_with("container:") {
            deps.push((
                from.split(':').next().unwrap_or_default().to_string(),
                false,
            ));
        }
    }
    for (dep, restart) in deps.into_iter().filter(|(d, _)| exists(d)) {
        s.depends_on.entry(dep).or_insert(Dependency {
            condition: Condition::ServiceStarted,
            restart,
            required: true,
        });
    }
}

/// Attributes that can be set twice (`mem_limit` and `deploy.resources.limits.memory`) must agree.
fn consistency(ctx: &mut Ctx, n: &Node, path: &str, s: &mut Service) {
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

/// A valid Compose value berth keeps but does not model, as JSON.
pub fn to_json(n: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &n.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|e| (e.key.name.clone(), to_json(&e.value)))
                .collect(),
        ),
    }
}

fn shell_command(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Vec<String>> {
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
fn before_operator(s: &str) -> &str {
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

fn build(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Build> {
    let resolve_context = |ctx: &mut Ctx, n: &Node, c: &str| {
        // remote contexts, and absolute paths as written: Compose joins only relative contexts
        // to the project directory (`${PWD}/docker_files/` keeps its slash, as in ClickHouse's
        // examples)
        if c.contains("://")
            || c.starts_with("git@")
            || c.starts_with("github.com/")
            || Path::new(c).is_absolute()
        {
            c.to_string()
        } else {
            ctx.resolve_path(n, c)
        }
    };
    match &n.value {
        Value::Str(c) => Some(Build {
            context: resolve_context(ctx, n, c),
            dockerfile: Some("Dockerfile".into()),
            ..Default::default()
        }),
        Value::Map(entries) => {
            let mut b = Build::default();
            let mut context = None;
            const KEYS: &[&str] = &[
                "context",
                "dockerfile",
                "dockerfile_inline",
                "args",
                "labels",
                "target",
                "network",
                "ssh",
                "cache_from",
                "cache_to",
                "additional_contexts",
                "extra_hosts",
                "isolation",
                "no_cache",
                "pull",
                "platforms",
                "privileged",
                "secrets",
                "shm_size",
                "tags",
                "ulimits",
                "entitlements",
                "provenance",
                "sbom",
            ];
            fields!(ctx, entries, path, KEYS, |key, v, p| {
                match key {
                    "context" => context = ctx.string(v, &p).map(|c| resolve_context(ctx, v, &c)),
                    "dockerfile" => b.dockerfile = ctx.string(v, &p),
                    "dockerfile_inline" => b.dockerfile_inline = ctx.string(v, &p),
                    "args" => {
                        b.args = ctx
                            .key_values(v, &p, '=')
                            .into_iter()
                            .filter_map(|(k, val)| {
                                let val = val.or_else(|| ctx.vars.get(&k).map(str::to_string))?;
                                Some((k, Some(val)))
                            })
                            .collect()
                    }
                    "labels" => b.labels = ctx.labels(v, &p),
                    "target" => b.target = ctx.string(v, &p),
                    "network" => b.network = ctx.string(v, &p),
                    other => {
                        b.extra.insert(other.to_string(), to_json(v));
                    }
                }
            });
            b.context = context.unwrap_or_else(|| ctx.resolve_path(n, "."));
            if b.dockerfile.is_none() && b.dockerfile_inline.is_none() {
                b.dockerfile = Some("Dockerfile".into());
            }
            Some(b)
        }
        _ => {
            ctx.expected(n, path, "a build context path or a mapping");
            None
        }
    }
}

fn file_mounts(ctx: &mut Ctx, n: &Node, path: &str, default_dir: Option<&str>) -> Vec<FileMount> {
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
                        "source" => m.source = ctx.string(v, &kp).unwrap_or_default(),
                        "target" => m.target = ctx.string(v, &kp),
                        "uid" => m.uid = ctx.string(v, &kp),
                        "gid" => m.gid = ctx.string(v, &kp),
                        "mode" => m.mode = ctx.uint(v, &kp).map(|u| u as u32),
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
                if let Some(source) = ctx.string(item, &p) {
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

fn seq<'n>(ctx: &mut Ctx, n: &'n Node, path: &str) -> Option<&'n [Node]> {
    match &n.value {
        Value::Seq(items) => Some(items),
        Value::Null => Some(&[]),
        _ => {
            ctx.expected(n, path, "a list");
            None
        }
    }
}

fn depends_on(ctx: &mut Ctx, n: &Node, path: &str) -> BTreeMap<String, Dependency> {
    let default = Dependency {
        condition: Condition::ServiceStarted,
        restart: false,
        required: true,
    };
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Seq(_) => {
            for name in ctx.strings(n, path, false) {
                out.insert(name, default.clone());
            }
        }
        Value::Map(entries) => {
            for e in entries {
                let p = join(path, &e.key.name);
                let mut d = default.clone();
                if let Some(fields) = ctx.map(&e.value, &p) {
                    const KEYS: &[&str] = &["condition", "restart", "required"];
                    fields!(ctx, fields, &p, KEYS, |key, v, kp| {
                        match key {
                            "condition" => match ctx.string(v, &kp).as_deref() {
                                Some("service_started") => d.condition = Condition::ServiceStarted,
                                Some("service_healthy") => d.condition = Condition::ServiceHealthy,
                                Some("service_completed_successfully") => {
                                    d.condition = Condition::ServiceCompletedSuccessfully
                                }
                                Some(other) => {
                                    let msg = format!("unknown condition `{other}`");
                                    let options = [
                                        "service_started",
                                        "service_healthy",
                                        "service_completed_successfully",
                                    ];
                                    let hint = match suggest(other, options) {
                                        Some(s) => format!("did you mean `{s}`?"),
                                        None => format!("use one of {}", options.join(", ")),
                                    };
                                    ctx.err_hint(v, &kp, msg, hint);
                                }
                                None => {}
                            },
                            "restart" => d.restart = ctx.boolean(v, &kp).unwrap_or(false),
                            "required" => d.required = ctx.boolean(v, &kp).unwrap_or(true),
                            _ => {}
                        }
                    });
                }
                out.insert(e.key.name.clone(), d);
            }
        }
        Value::Null => {}
        _ => ctx.expected(n, path, "a list of services or a mapping"),
    }
    out
}

fn deploy(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Deploy> {
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
            "mode" => d.mode = ctx.string(v, &p),
            "replicas" => d.replicas = ctx.uint(v, &p).map(|u| u as u32),
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
                            "condition" => r.condition = ctx.string(rv, &rp),
                            "delay" => r.delay = ctx.duration(rv, &rp),
                            "max_attempts" => r.max_attempts = ctx.uint(rv, &rp),
                            "window" => r.window = ctx.duration(rv, &rp),
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

fn update_config(ctx: &mut Ctx, n: &Node, path: &str) -> Option<UpdateConfig> {
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
            "parallelism" => u.parallelism = ctx.uint(v, &p),
            "delay" => u.delay = ctx.duration(v, &p),
            "failure_action" => u.failure_action = ctx.string(v, &p),
            "monitor" => u.monitor = ctx.duration(v, &p),
            "max_failure_ratio" => u.max_failure_ratio = ctx.float(v, &p),
            "order" => {
                u.order = ctx.string(v, &p);
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

fn resource_limit(ctx: &mut Ctx, n: &Node, path: &str) -> Option<ResourceLimit> {
    let entries = ctx.map(n, path)?;
    let mut r = ResourceLimit::default();
    const KEYS: &[&str] = &["cpus", "memory", "pids", "devices", "generic_resources"];
    fields!(ctx, entries, path, KEYS, |key, v, p| {
        match key {
            "cpus" => r.cpus = ctx.float(v, &p),
            "memory" => r.memory = ctx.bytes(v, &p),
            "pids" => r.pids = ctx.int(v, &p),
            other => {
                r.extra.insert(other.to_string(), to_json(v));
            }
        }
    });
    Some(r)
}

fn devices(ctx: &mut Ctx, n: &Node, path: &str) -> Vec<Device> {
    let Some(items) = seq(ctx, n, path) else {
        return vec![];
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        if let Value::Map(_) = item.value {
            let f = |ctx: &mut Ctx, k: &str| item.get(k).and_then(|v| ctx.string(v, &join(&p, k)));
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
        let Some(text) = ctx.string(item, &p) else {
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

/// One file named by `env_file` or `label_file`.
struct EnvFileRef {
    /// The node that names the file (for errors).
    node: Node,
    /// Key path of the entry.
    path: String,
    /// As written, and resolved against the directory of the file that wrote it.
    written: String,
    full: String,
    required: bool,
    /// `format: raw`: values taken as written.
    raw: bool,
}

/// The files an `env_file` or `label_file` attribute names: a path, a list of
/// paths, or long syntax entries (`path`, `required`, `format`).
fn env_file_refs(ctx: &mut Ctx, n: &Node, path: &str) -> Vec<EnvFileRef> {
    let items: Vec<(Node, String)> = match &n.value {
        Value::Str(_) => vec![(n.clone(), path.to_string())],
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.clone(), index(path, i)))
            .collect(),
        Value::Null => vec![],
        _ => {
            ctx.expected(n, path, "a path or a list of paths");
            vec![]
        }
    };
    let mut out = Vec::new();
    for (item, p) in items {
        let (file_node, required, raw) = match &item.value {
            Value::Map(entries) => {
                let mut file = None;
                let mut required = true;
                let mut raw = false;
                fields!(
                    ctx,
                    entries,
                    &p,
                    &["path", "required", "format"],
                    |k, v, kp| {
                        match k {
                            "path" => file = Some(v.clone()),
                            "required" => required = ctx.boolean(v, &kp).unwrap_or(true),
                            _ => match ctx.string(v, &kp).as_deref() {
                                Some("raw") => raw = true,
                                Some("") | None => {}
                                Some(other) => ctx.err_hint(
                                    v,
                                    &kp,
                                    format!("unsupported env_file format `{other}`"),
                                    "leave `format` out for the .env format, or write `format: raw` for values taken as written",
                                ),
                            },
                        }
                    }
                );
                match file {
                    Some(f) => (f, required, raw),
                    None => {
                        ctx.err_hint(&item, &p, "missing `path`", "write `path: ./file.env`");
                        continue;
                    }
                }
            }
            _ => (item.clone(), true, false),
        };
        let Some(written) = ctx.string(&file_node, &p) else {
            continue;
        };
        let full = ctx.resolve_path(&file_node, &written);
        out.push(EnvFileRef {
            node: file_node,
            path: p,
            written,
            full,
            required,
            raw,
        });
    }
    out
}

/// Read and parse one env or label file; values may refer to `vars`. `None`
/// when an optional file is missing or the file is reported as invalid.
fn read_env_file(ctx: &mut Ctx, f: &EnvFileRef, vars: &Vars) -> Option<Vec<EnvPair>> {
    let text = match std::fs::read_to_string(&f.full) {
        Ok(text) => text,
        Err(_) if !f.required => return None,
        Err(e) => {
            ctx.err_hint(
                &f.node,
                &f.path,
                format!("env file `{}` cannot be read: {}", f.full, io_reason(&e)),
                "create the file, fix the path, or mark it optional with `required: false`",
            );
            return None;
        }
    };
    let parsed = if f.raw {
        dotenv::parse_raw(&text)
    } else {
        dotenv::parse(&text, vars)
    };
    match parsed {
        Ok(pairs) => Some(pairs),
        Err(e) => {
            let id = ctx.sources.add(Path::new(&f.full), f.written.clone(), text);
            let span = super::source::Span {
                file: id,
                line: e.line,
                col: e.col,
                offset: 0,
                len: 1,
            };
            let hint = if f.raw {
                "a `format: raw` env file holds `KEY=VALUE` lines, keys without spaces"
            } else {
                "env files hold `KEY=VALUE` lines; quote values with spaces or `#`"
            };
            ctx.sink.push(
                Diagnostic::at(span, &f.path, format!("invalid env file: {}", e.message))
                    .with_hint(hint),
            );
            None
        }
    }
}

/// The variables of a service's `env_file`s, in order (later files win when
/// collected). Their `${VAR}` and bare `KEY` take the project's value, else the
/// service's `environment` value (as in Compose), else nothing (a bare KEY is left out).
fn env_file(
    ctx: &mut Ctx,
    n: &Node,
    path: &str,
    environment: &[(String, Option<String>)],
) -> Vec<(String, Option<String>)> {
    let mut scope: Option<Vars> = None;
    for (k, v) in environment {
        if let Some(v) = v
            && !ctx.vars.contains(k)
        {
            scope
                .get_or_insert_with(|| ctx.vars.clone())
                .insert(k.clone(), v.clone());
        }
    }
    let mut out = Vec::new();
    for f in env_file_refs(ctx, n, path) {
        let vars: &Vars = match &scope {
            Some(scope) => scope,
            None => ctx.vars,
        };
        for (k, v) in read_env_file(ctx, &f, vars).into_iter().flatten() {
            if let Some(v) = v.or_else(|| vars.get(&k).map(str::to_string)) {
                out.push((k, Some(v)));
            }
        }
    }
    out
}

/// The labels of a service's `label_file`s, as Compose reads them: a later file
/// overrides an earlier one, and a file's `${VAR}` and bare `KEY` refer to the
/// labels of the files before it only (not to the environment).
fn label_files(ctx: &mut Ctx, n: &Node, path: &str) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for f in env_file_refs(ctx, n, path) {
        let earlier = Vars::new(labels.clone());
        for (k, v) in read_env_file(ctx, &f, &earlier).into_iter().flatten() {
            if let Some(v) = v.or_else(|| earlier.get(&k).map(str::to_string)) {
                labels.insert(k, v);
            }
        }
    }
    labels
}

fn extra_hosts(ctx: &mut Ctx, n: &Node, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    match &n.value {
        Value::Map(entries) => {
            for e in entries {
                let p = join(path, &e.key.name);
                match &e.value.value {
                    Value::Seq(_) => {
                        for ip in ctx.strings(&e.value, &p, false) {
                            out.push(format!("{}={ip}", e.key.name));
                        }
                    }
                    _ => {
                        if let Some(ip) = ctx.string(&e.value, &p) {
                            out.push(format!("{}={ip}", e.key.name));
                        }
                    }
                }
            }
        }
        _ => {
            for (i, text) in ctx.strings(n, path, false).into_iter().enumerate() {
                let split = text.find('=').or_else(|| text.find(':'));
                match split {
                    Some(pos) => out.push(format!("{}={}", &text[..pos], &text[pos + 1..])),
                    None => {
                        let item = n.as_seq().map(|s| &s[i]).unwrap_or(n);
                        ctx.err_hint(
                            item,
                            &index(path, i),
                            format!("invalid extra host `{text}`"),
                            "write `HOSTNAME=IP` or `HOSTNAME:IP`",
                        );
                    }
                }
            }
        }
    }
    out.sort();
    out
}

fn healthcheck(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Healthcheck> {
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
            "interval" => h.interval = ctx.duration(v, &p),
            "timeout" => h.timeout = ctx.duration(v, &p),
            "start_period" => h.start_period = ctx.duration(v, &p),
            "start_interval" => h.start_interval = ctx.duration(v, &p),
            "retries" => h.retries = ctx.uint(v, &p),
            "disable" => h.disable = ctx.boolean(v, &p).unwrap_or(false),
            _ => {}
        }
    });
    Some(h)
}

fn blkio_config(ctx: &mut Ctx, n: &Node, path: &str) -> Option<BlkioConfig> {
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
            "weight" => b.weight = ctx.uint(v, &p).map(|w| w as u16),
            "weight_device" => {
                b.weight_device = devices_of(ctx, v, &p, "weight")
                    .into_iter()
                    .map(|(path, n, at)| WeightDevice {
                        path,
                        weight: ctx.uint(n, &at).unwrap_or(0) as u16,
                    })
                    .collect()
            }
            _ => {
                let list = devices_of(ctx, v, &p, "rate")
                    .into_iter()
                    .filter_map(|(path, n, at)| {
                        Some(ThrottleDevice {
                            path,
                            rate: ctx.bytes(n, &at)?,
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
fn devices_of<'n>(
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
                device = ctx.string(v, &p);
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

fn logging(ctx: &mut Ctx, n: &Node, path: &str) -> Option<Logging> {
    let entries = ctx.map(n, path)?;
    let mut l = Logging::default();
    fields!(ctx, entries, path, &["driver", "options"], |key, v, p| {
        match key {
            "driver" => l.driver = ctx.string(v, &p),
            _ => l.options = ctx.string_map(v, &p),
        }
    });
    Some(l)
}

fn service_networks(
    ctx: &mut Ctx,
    n: &Node,
    path: &str,
) -> BTreeMap<String, Option<Box<ServiceNetwork>>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Seq(_) => {
            for name in ctx.strings(n, path, false) {
                out.insert(name, None);
            }
        }
        Value::Map(entries) => {
            for e in entries {
                let p = join(path, &e.key.name);
                let net = match &e.value.value {
                    Value::Null => None,
                    _ => ctx.map(&e.value, &p).map(|fields| {
                        let mut sn = ServiceNetwork::default();
                        const KEYS: &[&str] = &[
                            "aliases",
                            "ipv4_address",
                            "ipv6_address",
                            "priority",
                            "link_local_ips",
                            "mac_address",
                            "driver_opts",
                            "gw_priority",
                            "interface_name",
                        ];
                        fields!(ctx, fields, &p, KEYS, |k, v, kp| {
                            match k {
                                "aliases" => sn.aliases = ctx.strings(v, &kp, false),
                                "ipv4_address" => sn.ipv4_address = ctx.string(v, &kp),
                                "ipv6_address" => sn.ipv6_address = ctx.string(v, &kp),
                                "priority" => sn.priority = ctx.int(v, &kp),
                                other => {
                                    sn.extra.insert(other.to_string(), to_json(v));
                                }
                            }
                        });
                        sn
                    }),
                };
                out.insert(e.key.name.clone(), net.map(Box::new));
            }
        }
        Value::Null => {}
        _ => ctx.expected(n, path, "a list of networks or a mapping"),
    }
    out
}

/// `cgroup`: the container's cgroup namespace, `host` or `private` (unlike `ipc`
/// or `pid`, not another service's).
fn cgroup(ctx: &mut Ctx, n: &Node, path: &str) -> Option<String> {
    let c = ctx.string(n, path)?;
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

fn pull_policy(ctx: &mut Ctx, n: &Node, path: &str) -> Option<String> {
    let p = ctx.string(n, path)?;
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

fn restart(ctx: &mut Ctx, n: &Node, path: &str) -> Option<String> {
    let r = ctx.string(n, path)?;
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

fn ulimits(ctx: &mut Ctx, n: &Node, path: &str) -> BTreeMap<String, Ulimit> {
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
                        soft = ctx.int(v, &kp);
                    } else {
                        hard = ctx.int(v, &kp);
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
            _ => ctx.int(&e.value, &p).map(Ulimit::Single),
        };
        if let Some(u) = u {
            out.insert(e.key.name.clone(), u);
        }
    }
    out
}

// ---- ports ----

fn port_number(s: &str) -> Option<u32> {
    s.parse::<u32>()
        .ok()
        .filter(|p| (1..=65535).contains(p) || *p == 0)
}

fn port_range(s: &str) -> Option<(u32, u32)> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port_number(a)?, port_number(b)?);
            (a <= b).then_some((a, b))
        }
        None => port_number(s).map(|p| (p, p)),
    }
}

/// Parse short port syntax: `[[HOST_IP:][PUBLISHED[-RANGE]]:]TARGET[-RANGE][/PROTOCOL]`.
pub fn parse_short_port(text: &str) -> Result<Vec<Port>, String> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, p)) => (s, p.to_string()),
        None => (text, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("unknown protocol `{protocol}`"));
    }
    let (host_ip, rest) = if let Some(after) = spec.strip_prefix('[') {
        let (ip, rest) = after
            .split_once(']')
            .ok_or_else(|| "unclosed `[` around an IPv6 address".to_string())?;
        let rest = rest.strip_prefix(':').ok_or("expected `:` after `]`")?;
        (Some(ip.to_string()), rest)
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() > 3 {
            return Err("too many `:`".into());
        }
        if parts.len() == 3 {
            (Some(parts[0].to_string()), &spec[parts[0].len() + 1..])
        } else {
            (None, spec)
        }
    };
    let (published, target) = match rest.rsplit_once(':') {
        Some((p, t)) => (Some(p), t),
        None => (None, rest),
    };
    let (t0, t1) =
        port_range(target).ok_or_else(|| format!("`{target}` is not a port or port range"))?;
    let published = published.filter(|p| !p.is_empty());
    let pub_range = match published {
        Some(p) => Some(port_range(p).ok_or_else(|| format!("`{p}` is not a port or port range"))?),
        None => None,
    };
    let host_ip = host_ip.filter(|h| !h.is_empty());
    let make = |target: u32, published: Option<String>| Port {
        mode: "ingress".into(),
        host_ip: host_ip.clone(),
        target,
        published,
        protocol: protocol.clone(),
        ..Default::default()
    };
    let n = t1 - t0;
    match pub_range {
        None => Ok((t0..=t1).map(|t| make(t, None)).collect()),
        Some((p0, p1)) if n == 0 => {
            let published = if p0 == p1 {
                p0.to_string()
            } else {
                format!("{p0}-{p1}")
            };
            Ok(vec![make(t0, Some(published))])
        }
        Some((p0, p1)) if p1 - p0 == n => Ok((0..=n)
            .map(|i| make(t0 + i, Some((p0 + i).to_string())))
            .collect()),
        Some(_) => Err("the published and target ranges have different lengths".into()),
    }
}

/// Ranges expand to one entry per port; more than this in one service is refused.
const MAX_PORTS: usize = 65_535;

/// A service's ports in long syntax, ranges expanded. Like Compose, an entry equal
/// to an earlier one (see [`port_key`]) replaces it in its place, once as written
/// and once more after ranges are expanded.
fn ports(ctx: &mut Ctx, n: &Node, path: &str) -> Vec<Port> {
    let Some(items) = seq(ctx, n, path) else {
        return vec![];
    };
    let written = unique_by(items.iter().enumerate(), |(i, item)| {
        written_port_key(item).unwrap_or_else(|| format!("#{i}"))
    });
    let mut out: Vec<(String, Port)> = Vec::new();
    for (i, item) in written {
        let p = index(path, i);
        match &item.value {
            Value::Map(entries) => {
                let mut port = Port {
                    mode: "ingress".into(),
                    protocol: "tcp".into(),
                    ..Default::default()
                };
                let mut has_target = false;
                const KEYS: &[&str] = &[
                    "target",
                    "published",
                    "host_ip",
                    "protocol",
                    "mode",
                    "name",
                    "app_protocol",
                ];
                fields!(ctx, entries, &p, KEYS, |k, v, kp| {
                    match k {
                        "target" => {
                            if let Some(t) = ctx.uint(v, &kp) {
                                if port_number(&t.to_string()).is_some() && t > 0 {
                                    port.target = t as u32;
                                    has_target = true;
                                } else {
                                    ctx.err_hint(
                                        v,
                                        &kp,
                                        format!("port {t} is out of range"),
                                        "ports are 1 to 65535",
                                    );
                                }
                            }
                        }
                        "published" => {
                            if let Some(pp) = ctx.string(v, &kp) {
                                if port_range(&pp).is_none() {
                                    ctx.err_hint(
                                        v,
                                        &kp,
                                        format!("`{pp}` is not a port or port range"),
                                        "ports are 1 to 65535; a range is written `8000-8010`",
                                    );
                                }
                                port.published = Some(pp);
                            }
                        }
                        "host_ip" => port.host_ip = ctx.string(v, &kp),
                        "protocol" => {
                            port.protocol = ctx.string(v, &kp).unwrap_or_else(|| "tcp".into())
                        }
                        "mode" => {
                            port.mode = ctx.string(v, &kp).unwrap_or_else(|| "ingress".into())
                        }
                        "name" => port.name = ctx.string(v, &kp),
                        "app_protocol" => port.app_protocol = ctx.string(v, &kp),
                        _ => {}
                    }
                });
                if !has_target && item.get("target").is_none() {
                    ctx.err_hint(
                        item,
                        &p,
                        "a port needs a `target`",
                        "add `target: <container port>`",
                    );
                }
                let key = written_port_key(item).unwrap_or_default();
                out.push((key, port));
            }
            Value::Str(_) | Value::Int(_) => {
                let text = item.scalar_text().unwrap_or_default();
                match parse_short_port(&text) {
                    Ok(ports) if out.len() + ports.len() > MAX_PORTS => {
                        ctx.err_hint(
                            item,
                            &p,
                            format!("ports expand to more than {MAX_PORTS} entries"),
                            "a container has 65535 ports per protocol; publish fewer or narrower ranges",
                        );
                        break;
                    }
                    Ok(ports) => out.extend(ports.into_iter().map(|port| {
                        let published = port.published.as_deref().unwrap_or(GO_NIL);
                        let key = port_key(
                            port.host_ip.as_deref(),
                            published,
                            &port.target.to_string(),
                            Some(&port.protocol),
                        );
                        (key, port)
                    })),
                    Err(why) => ctx.err_hint(
                        item,
                        &p,
                        format!("invalid port `{text}`: {why}"),
                        "write `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, e.g. `127.0.0.1:8080:80/tcp`",
                    ),
                }
            }
            _ => ctx.expected(item, &p, "a port string or a mapping"),
        }
    }
    unique_by(out, |(key, _)| key.clone())
        .into_iter()
        .map(|(_, port)| port)
        .collect()
}

/// Go's `%s` of a missing value, which Compose's port key holds for a port published nowhere.
const GO_NIL: &str = "%!s(<nil>)";

/// The key Compose tells ports apart by, `HOST_IP:PUBLISHED:TARGET/PROTOCOL`
/// (host IP `0.0.0.0` and protocol `tcp` when not given): mode, name and
/// app_protocol are not part of it.
fn port_key(
    host_ip: Option<&str>,
    published: &str,
    target: &str,
    protocol: Option<&str>,
) -> String {
    let host_ip = host_ip.unwrap_or("0.0.0.0");
    let protocol = protocol.unwrap_or("tcp");
    format!("{host_ip}:{published}:{target}/{protocol}")
}

/// The key of a port entry as written: short syntax by its text; long syntax by
/// [`port_key`] with its values formatted as Go formats them, so that a
/// `published: 8080` written as a number differs from `"8080"` (as in Compose).
pub fn written_port_key(item: &Node) -> Option<String> {
    match &item.value {
        Value::Str(_) | Value::Int(_) => item.scalar_text(),
        Value::Map(_) => {
            let field = |key: &str| item.get(key).filter(|v| !v.is_null());
            let published = match field("published").map(|v| &v.value) {
                None => GO_NIL.to_string(),
                Some(Value::Int(n)) => format!("%!s(int={n})"),
                Some(_) => field("published")?.scalar_text()?,
            };
            let target = match field("target").map(|v| &v.value) {
                Some(Value::Int(n)) => n.to_string(),
                Some(Value::Str(t)) => format!("%!d(string={t})"),
                _ => field("target")?.scalar_text()?,
            };
            let text = |key: &str| field(key).and_then(Node::scalar_text);
            Some(port_key(
                text("host_ip").as_deref(),
                &published,
                &target,
                text("protocol").as_deref(),
            ))
        }
        _ => None,
    }
}

/// Ports as Compose holds them once a file is loaded, for merging the next file
/// onto them: short syntax expanded to long syntax mappings (one per port of a
/// range), repeated entries dropped. Entries that do not parse stay as written.
pub fn canonical_port_nodes(items: Vec<Node>) -> Vec<Node> {
    let mut out: Vec<(String, Node)> = Vec::new();
    for item in items {
        let text = match &item.value {
            Value::Str(_) | Value::Int(_) => item.scalar_text(),
            _ => None,
        };
        let parsed = text.map(|t| parse_short_port(&t));
        // past the limit, entries stay as written and decoding reports the limit
        let Some(Ok(ports)) = parsed.filter(|_| out.len() <= MAX_PORTS) else {
            let key = written_port_key(&item).unwrap_or_else(|| format!("#{}", out.len()));
            out.push((key, item));
            continue;
        };
        for port in ports {
            let span = item.span;
            let mut entries = vec![Entry::new("mode", span, Node::str(&port.mode, span))];
            if let Some(ip) = &port.host_ip {
                entries.push(Entry::new("host_ip", span, Node::str(ip, span)));
            }
            let target = Node::new(Value::Int(i64::from(port.target)), span);
            entries.push(Entry::new("target", span, target));
            if let Some(published) = &port.published {
                entries.push(Entry::new("published", span, Node::str(published, span)));
            }
            entries.push(Entry::new(
                "protocol",
                span,
                Node::str(&port.protocol, span),
            ));
            let node = Node::new(Value::Map(entries), span);
            let key = written_port_key(&node).unwrap_or_default();
            out.push((key, node));
        }
    }
    unique_by(out, |(key, _)| key.clone())
        .into_iter()
        .map(|(_, node)| node)
        .collect()
}

/// One item per key, in order: a later item replaces an earlier one with the same
/// key in its place (Compose's rule for repeated ports and volumes).
fn unique_by<T>(items: impl IntoIterator<Item = T>, key: impl Fn(&T) -> String) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    // ranges expand to thousands of ports: find keys by hashing, not scanning
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in items {
        match seen.entry(key(&item)) {
            std::collections::hash_map::Entry::Occupied(at) => out[*at.get()] = item,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push(item);
            }
        }
    }
    out
}

// ---- volumes ----

/// The target path of a short volume spec, cleaned, for merge unicity.
pub fn short_volume_target(spec: &str) -> String {
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        [t] | [_, t, ..] => container_path(t),
        [] => String::new(),
    }
}

fn is_path(source: &str) -> bool {
    source.starts_with('.') || source.starts_with('/') || source.starts_with('~')
}

/// A service's volumes, one per target as Compose keeps them: a later entry for
/// the same target replaces an earlier one in its place. Short syntax targets are
/// compared cleaned (`/data/` is `/data`), long syntax ones as written.
fn volumes(ctx: &mut Ctx, n: &Node, path: &str) -> Vec<Mount> {
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
fn mount_targets_unique(ctx: &mut Ctx, n: &Node, path: &str, s: &Service) {
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
fn mount_target_written(key: &str, item: &Node) -> Option<String> {
    match (key, item.scalar_text()) {
        ("tmpfs", Some(t)) => t.split(':').next().map(str::to_string),
        (_, Some(spec)) => Some(short_volume_target(&spec)),
        (_, None) => item
            .get("target")
            .and_then(Node::scalar_text)
            .map(|t| container_path(&t)),
    }
}

fn short_volume(ctx: &mut Ctx, item: &Node, text: &str, p: &str) -> Option<Mount> {
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

fn long_volume(ctx: &mut Ctx, item: &Node, p: &str) -> Option<Mount> {
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
                kind = match ctx.string(v, &kp).as_deref() {
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
            "source" => source = ctx.string(v, &kp).map(|s| (s, v.clone())),
            "target" => target = ctx.string(v, &kp),
            "read_only" => read_only = ctx.boolean(v, &kp).unwrap_or(false),
            "consistency" => consistency = ctx.string(v, &kp),
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
                                "propagation" => b.propagation = ctx.string(bv, &bp),
                                "create_host_path" => {
                                    b.create_host_path = ctx.boolean(bv, &bp).unwrap_or(true)
                                }
                                _ => b.selinux = ctx.string(bv, &bp),
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
                                "nocopy" => o.nocopy = ctx.boolean(vv, &vp).unwrap_or(false),
                                "subpath" => o.subpath = ctx.string(vv, &vp),
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
                            t.size = ctx.bytes(tv, &tp);
                        } else {
                            t.mode = ctx.uint(tv, &tp).map(|u| u as u32);
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

// ---- top-level resources ----

/// A top-level resource's name on the engine: `name:` if given, else the key for
/// an external resource, else `<project>_<key>`.
fn engine_name(name: Option<String>, external: bool, key: &str, project: &str) -> String {
    name.unwrap_or_else(|| {
        if external {
            key.to_string()
        } else {
            format!("{project}_{key}")
        }
    })
}

fn external(ctx: &mut Ctx, n: &Node, path: &str) -> (bool, Option<String>) {
    match &n.value {
        Value::Map(_) => (
            true,
            n.get("name")
                .and_then(|v| ctx.string(v, &join(path, "name"))),
        ),
        _ => (ctx.boolean(n, path).unwrap_or(false), None),
    }
}

fn network(ctx: &mut Ctx, n: &Node, path: &str, key: &str, project: &str) -> Network {
    let mut net = Network::default();
    let mut name = None;
    if let Some(entries) = ctx.map(n, path) {
        const KEYS: &[&str] = &[
            "name",
            "driver",
            "driver_opts",
            "ipam",
            "external",
            "internal",
            "attachable",
            "labels",
            "enable_ipv6",
            "enable_ipv4",
        ];
        fields!(ctx, entries, path, KEYS, |k, v, p| {
            match k {
                "name" => name = ctx.string(v, &p),
                "driver" => net.driver = ctx.string(v, &p),
                "driver_opts" => net.driver_opts = ctx.string_map(v, &p),
                "ipam" => net.ipam = ipam(ctx, v, &p),
                "external" => {
                    let (ext, ext_name) = external(ctx, v, &p);
                    net.external = ext;
                    if ext_name.is_some() {
                        name = ext_name;
                    }
                }
                "internal" => net.internal = ctx.boolean(v, &p).unwrap_or(false),
                "attachable" => net.attachable = ctx.boolean(v, &p).unwrap_or(false),
                "labels" => net.labels = ctx.labels(v, &p),
                "enable_ipv6" => net.enable_ipv6 = ctx.boolean(v, &p),
                other => {
                    net.extra.insert(other.to_string(), to_json(v));
                }
            }
        });
    }
    net.name = engine_name(name, net.external, key, project);
    net
}

fn ipam(ctx: &mut Ctx, n: &Node, path: &str) -> Ipam {
    let mut out = Ipam::default();
    let Some(entries) = ctx.map(n, path) else {
        return out;
    };
    fields!(
        ctx,
        entries,
        path,
        &["driver", "config", "options"],
        |k, v, p| {
            match k {
                "driver" => out.driver = ctx.string(v, &p),
                "options" => out.options = ctx.string_map(v, &p),
                _ => {
                    for (i, pool) in seq(ctx, v, &p).unwrap_or(&[]).iter().enumerate() {
                        let pp = index(&p, i);
                        let mut c = IpamPool::default();
                        if let Some(fields) = ctx.map(pool, &pp) {
                            const KEYS: &[&str] =
                                &["subnet", "gateway", "ip_range", "aux_addresses"];
                            fields!(ctx, fields, &pp, KEYS, |ck, cv, cp| {
                                match ck {
                                    "subnet" => c.subnet = ctx.string(cv, &cp),
                                    "gateway" => c.gateway = ctx.string(cv, &cp),
                                    "ip_range" => c.ip_range = ctx.string(cv, &cp),
                                    _ => c.aux_addresses = ctx.string_map(cv, &cp),
                                }
                            });
                        }
                        out.config.push(c);
                    }
                }
            }
        }
    );
    out
}

fn volume(ctx: &mut Ctx, n: &Node, path: &str, key: &str, project: &str) -> Volume {
    let mut vol = Volume::default();
    let mut name = None;
    if let Some(entries) = ctx.map(n, path) {
        const KEYS: &[&str] = &["name", "driver", "driver_opts", "external", "labels"];
        fields!(ctx, entries, path, KEYS, |k, v, p| {
            match k {
                "name" => name = ctx.string(v, &p),
                "driver" => vol.driver = ctx.string(v, &p),
                "driver_opts" => vol.driver_opts = ctx.string_map(v, &p),
                "external" => {
                    let (ext, ext_name) = external(ctx, v, &p);
                    vol.external = ext;
                    if ext_name.is_some() {
                        name = ext_name;
                    }
                }
                _ => vol.labels = ctx.labels(v, &p),
            }
        });
    }
    vol.name = engine_name(name, vol.external, key, project);
    vol
}

fn file_object(ctx: &mut Ctx, n: &Node, path: &str, key: &str, project: &str) -> FileObject {
    let mut o = FileObject::default();
    let mut name = None;
    if let Some(entries) = ctx.map(n, path) {
        const KEYS: &[&str] = &[
            "name",
            "file",
            "environment",
            "content",
            "external",
            "labels",
            "template_driver",
            "driver",
            "driver_opts",
        ];
        fields!(ctx, entries, path, KEYS, |k, v, p| {
            match k {
                "name" => name = ctx.string(v, &p),
                "file" => o.file = ctx.string(v, &p).map(|f| ctx.resolve_path(v, &f)),
                "environment" => {
                    o.environment = ctx.string(v, &p);
                    o.environment_value = o
                        .environment
                        .as_deref()
                        .and_then(|var| ctx.vars.get(var))
                        .map(str::to_string);
                }
                "content" => o.content = ctx.string(v, &p),
                "external" => {
                    let (ext, ext_name) = external(ctx, v, &p);
                    o.external = ext;
                    if ext_name.is_some() {
                        name = ext_name;
                    }
                }
                "labels" => o.labels = ctx.labels(v, &p),
                _ => {}
            }
        });
        let sources = [&o.file, &o.environment, &o.content]
            .iter()
            .filter(|s| s.is_some())
            .count();
        if sources == 0 && !o.external {
            ctx.err_hint(
                n,
                path,
                "needs one of `file`, `environment` or `content`, or `external: true`",
                "add `file: ./path` to read it from a file",
            );
        } else if sources > 1 {
            ctx.err_hint(
                n,
                path,
                "`file`, `environment` and `content` exclude each other",
                "keep only one of them",
            );
        }
    }
    o.name = engine_name(name, o.external, key, project);
    o
}

// ---- paths ----

/// `~` and what follows it, joined to the home directory and cleaned (Go's
/// `filepath.Join(home, p[1:])`); `None` when `p` does not start with `~` or
/// there is no home directory.
fn expand_home(p: &str) -> Option<String> {
    let rest = p.strip_prefix('~')?;
    let home = std::env::var_os("HOME")?;
    Some(clean(&Path::new(&home).join(rest.trim_start_matches('/'))))
}

/// A path in the container, cleaned as Compose cleans volume targets (`/srv/data/` → `/srv/data`).
fn container_path(target: &str) -> String {
    if target.is_empty() {
        return String::new();
    }
    clean(Path::new(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_keys_compare_what_compose_compares() {
        let key = |yaml: &str| {
            let n = crate::compose::yaml::parse(yaml, 0).unwrap().remove(0);
            written_port_key(&n).unwrap()
        };
        assert_eq!(key("'8080:80'"), "8080:80");
        let long = key("{target: 80, published: '8080', mode: host, name: web}");
        assert_eq!(long, "0.0.0.0:8080:80/tcp");
        assert_eq!(
            key("{target: 80, published: '8080', host_ip: 0.0.0.0}"),
            long
        );
        // Go formats a number where Compose expects text differently: never equal
        assert_ne!(key("{target: 80, published: 8080}"), long);
        assert_eq!(key("{target: 80}"), "0.0.0.0:%!s(<nil>):80/tcp");
    }

    #[test]
    fn implicit_dependencies_restart_with_their_service_except_volumes_from() {
        let mut s = Service {
            ipc: Some("service:shared".into()),
            pid: Some("service:pid".into()),
            volumes_from: vec!["shared".into(), "vols:ro".into()],
            uts: Some("service:gone".into()),
            ..Default::default()
        };
        implicit_dependencies(&mut s, |name| name != "gone");
        let restart: Vec<(&str, bool)> = s
            .depends_on
            .iter()
            .map(|(name, d)| (name.as_str(), d.restart))
            .collect();
        // `shared` is both an ipc namespace and volumes_from: the namespace is looked at first
        assert_eq!(restart, [("pid", true), ("shared", true), ("vols", false)]);
        assert!(s.depends_on.values().all(|d| d.required));
    }

    #[test]
    fn list_paths_name_the_index() {
        assert_eq!(index("services.web.ports", 0), "services.web.ports[0]");
        assert_eq!(index("x", 1234567), "x[1234567]");
        assert_eq!(index("", usize::MAX), format!("[{}]", usize::MAX));
    }

    fn port(s: &str) -> Vec<(Option<String>, u32, Option<String>, String)> {
        parse_short_port(s)
            .unwrap()
            .into_iter()
            .map(|p| (p.host_ip, p.target, p.published, p.protocol))
            .collect()
    }

    #[test]
    fn short_ports() {
        assert_eq!(port("80"), vec![(None, 80, None, "tcp".into())]);
        assert_eq!(
            port("8080:80"),
            vec![(None, 80, Some("8080".into()), "tcp".into())]
        );
        assert_eq!(
            port("127.0.0.1:8080:80/udp"),
            vec![(
                Some("127.0.0.1".into()),
                80,
                Some("8080".into()),
                "udp".into()
            )]
        );
        assert_eq!(
            port("[::1]:80:80"),
            vec![(Some("::1".into()), 80, Some("80".into()), "tcp".into())]
        );
        assert_eq!(
            port("127.0.0.1::80"),
            vec![(Some("127.0.0.1".into()), 80, None, "tcp".into())]
        );
        assert_eq!(port("3000-3001").len(), 2);
        assert_eq!(
            port("8000-8001:80-81"),
            vec![
                (None, 80, Some("8000".into()), "tcp".into()),
                (None, 81, Some("8001".into()), "tcp".into())
            ]
        );
        assert_eq!(
            port("9000-9010:80"),
            vec![(None, 80, Some("9000-9010".into()), "tcp".into())]
        );
    }

    #[test]
    fn bad_short_ports() {
        assert!(parse_short_port("80:abc").is_err());
        assert!(parse_short_port("70000").is_err());
        assert!(parse_short_port("80/icmp").is_err());
        assert!(parse_short_port("8000-8002:80-81").is_err());
        assert!(parse_short_port("a:b:c:d").is_err());
    }
}
