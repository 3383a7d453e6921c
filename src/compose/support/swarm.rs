//! What berth does with each Compose attribute on Docker Swarm: the column
//! beside [`super`]'s for the plain engine.
//!
//! The rule is `docker stack deploy`'s (docker/cli, `cli/compose`): what
//! stack deploy ignores with its "Ignoring unsupported options" or
//! "Ignoring deprecated options" warning is ignored here too, with a warning
//! that names the file, line and column; what its schema or its converter
//! refuses is refused, with a located error and a hint; what it drops without
//! a word, or what would deploy something other than the file says, is
//! refused too. Departures, all deliberate: berth builds `build:` services
//! locally and deploys the built image (stack deploy ignores `build`); what
//! berth resolves while loading (`extends`, `profiles`, `env_file`,
//! `label_file`) is applied before Swarm sees the project; `dns_opt`,
//! `group_add` and `scale`, which stack deploy's schema lacks, are applied,
//! as are configs and secrets from `environment:` or `content:` and a
//! service's `tmpfs:` (the Swarm converter in `resource::swarm` makes them),
//! and a network's `driver_opts`, `enable_ipv6` and every IPAM setting (its
//! networks are made as on the plain engine);
//! `restart: "no"` is the condition `none`, not Swarm's default; a port's
//! `name` and `app_protocol` and a bind's `create_host_path` (outside stack
//! deploy's schema too) are ignored with a warning, having no effect on what
//! runs.
//!
//! The README's "Docker Swarm" tables are these tables (a test keeps them in
//! step).

use super::Support::{self, Applied, Ignored, Refused};
use super::{BUILD, lookup};
use crate::compose::diagnostic::Diagnostic;
use crate::compose::model::{MountType, Project, Service};
use crate::compose::node::{Node, Value};
use crate::compose::source::{SourceMap, Span};
use crate::compose::validate::span_of;

/// Not applied by berth on Swarm yet (`docker stack deploy` converts it).
const NOT_YET: &str =
    "berth does not apply it on Swarm yet; remove it, or use the plain engine (`--backend docker`)";
/// Outside `docker stack deploy`'s schema: stack deploy refuses the file.
const STACK_REFUSES: &str = "Swarm services have no such setting and `docker stack deploy` refuses it too; remove it, or use the plain engine (`--backend docker`)";
const CPU: &str =
    "set CPU limits as `deploy.resources.limits.cpus`, as `docker stack deploy` requires";
const MEMORY: &str =
    "set memory limits as `deploy.resources.limits.memory`, as `docker stack deploy` requires";
const TASK_ADDRESS: &str = "Swarm gives each task its address itself (`docker stack deploy` drops this without a word); remove it";

/// Every service attribute of the Compose Specification, on Swarm.
pub const SERVICE: &[(&str, Support)] = &[
    ("annotations", Refused(STACK_REFUSES)),
    (
        "attach",
        Ignored("berth never attaches to a service's output"),
    ),
    ("blkio_config", Refused(STACK_REFUSES)),
    ("build", Applied),
    ("cap_add", Applied),
    ("cap_drop", Applied),
    (
        "cgroup",
        Ignored(
            "Swarm tasks run in the engine's default cgroup namespace; `docker stack deploy` ignores it too (as `cgroupns_mode`)",
        ),
    ),
    (
        "cgroup_parent",
        Ignored("Swarm sets no cgroup parent; `docker stack deploy` ignores it too"),
    ),
    ("command", Applied),
    ("configs", Applied),
    (
        "container_name",
        Ignored("Swarm names each task itself; `docker stack deploy` ignores it too"),
    ),
    ("cpu_count", Refused(CPU)),
    ("cpu_percent", Refused(CPU)),
    ("cpu_period", Refused(CPU)),
    ("cpu_quota", Refused(CPU)),
    ("cpu_rt_period", Refused(STACK_REFUSES)),
    ("cpu_rt_runtime", Refused(STACK_REFUSES)),
    ("cpu_shares", Refused(CPU)),
    ("cpus", Refused(CPU)),
    ("cpuset", Refused(CPU)),
    (
        "credential_spec",
        Refused("credential specs are for Windows containers, which berth does not run"),
    ),
    (
        "depends_on",
        Ignored(
            "Swarm starts services in no order and waits for none; `docker stack deploy` ignores it too",
        ),
    ),
    ("deploy", Applied),
    (
        "develop",
        Ignored("`develop` is for `docker compose watch`"),
    ),
    ("device_cgroup_rules", Refused(STACK_REFUSES)),
    (
        "devices",
        Ignored("Swarm services get no host devices; `docker stack deploy` ignores it too"),
    ),
    ("dns", Applied),
    ("dns_opt", Applied),
    ("dns_search", Applied),
    (
        "domainname",
        Ignored("Swarm sets no domain name; `docker stack deploy` ignores it too"),
    ),
    ("entrypoint", Applied),
    ("env_file", Applied),
    ("environment", Applied),
    (
        "expose",
        Ignored(
            "services on one network reach each other on every port; `docker stack deploy` ignores it too",
        ),
    ),
    ("extends", Applied),
    (
        "external_links",
        Ignored(
            "Swarm has no links: services reach each other by name on a shared network; `docker stack deploy` ignores it too",
        ),
    ),
    ("extra_hosts", Applied),
    ("gpus", Refused(STACK_REFUSES)),
    ("group_add", Applied),
    ("healthcheck", Applied),
    ("hostname", Applied),
    ("image", Applied),
    ("init", Applied),
    (
        "ipc",
        Ignored("Swarm tasks share no IPC namespace; `docker stack deploy` ignores it too"),
    ),
    ("isolation", Applied),
    ("label_file", Applied),
    ("labels", Applied),
    (
        "links",
        Ignored(
            "Swarm has no links: services reach each other by name on a shared network; `docker stack deploy` ignores it too",
        ),
    ),
    ("logging", Applied),
    (
        "mac_address",
        Ignored("Swarm gives each task its address itself; `docker stack deploy` ignores it too"),
    ),
    ("mem_limit", Refused(MEMORY)),
    (
        "mem_reservation",
        Refused(
            "reserve memory as `deploy.resources.reservations.memory`, as `docker stack deploy` requires",
        ),
    ),
    ("mem_swappiness", Refused(STACK_REFUSES)),
    ("memswap_limit", Refused(MEMORY)),
    ("models", Refused(STACK_REFUSES)),
    (
        "network_mode",
        Ignored(
            "Swarm services join the networks named in `networks:`; `docker stack deploy` ignores it too",
        ),
    ),
    ("networks", Applied),
    ("oom_kill_disable", Refused(STACK_REFUSES)),
    ("oom_score_adj", Refused(NOT_YET)),
    (
        "pid",
        Ignored("Swarm tasks share no PID namespace; `docker stack deploy` ignores it too"),
    ),
    (
        "pids_limit",
        Refused("limit pids as `deploy.resources.limits.pids`, as `docker stack deploy` requires"),
    ),
    (
        "platform",
        Refused(
            "choose nodes with `deploy.placement.constraints` (`node.platform.arch==x86_64`); `docker stack deploy` refuses `platform` too",
        ),
    ),
    ("ports", Applied),
    ("post_start", Refused(STACK_REFUSES)),
    ("pre_stop", Refused(STACK_REFUSES)),
    (
        "privileged",
        Ignored("Swarm services cannot run privileged; `docker stack deploy` ignores it too"),
    ),
    ("profiles", Applied),
    ("provider", Refused(STACK_REFUSES)),
    ("pull_policy", Applied),
    (
        "pull_refresh_after",
        Refused("berth never pulls an image it already has; remove it"),
    ),
    ("read_only", Applied),
    ("restart", Applied),
    ("runtime", Refused(STACK_REFUSES)),
    ("scale", Applied),
    ("secrets", Applied),
    (
        "security_opt",
        Ignored("Swarm services take no security options; `docker stack deploy` ignores it too"),
    ),
    (
        "shm_size",
        Ignored(
            "Swarm tasks keep the engine's default /dev/shm size; `docker stack deploy` ignores it too",
        ),
    ),
    ("stdin_open", Applied),
    ("stop_grace_period", Applied),
    ("stop_signal", Applied),
    ("storage_opt", Refused(STACK_REFUSES)),
    ("sysctls", Applied),
    ("tmpfs", Applied),
    ("tty", Applied),
    ("ulimits", Applied),
    ("use_api_socket", Refused(STACK_REFUSES)),
    ("user", Applied),
    (
        "userns_mode",
        Ignored("Swarm services take no user namespace mode; `docker stack deploy` ignores it too"),
    ),
    ("uts", Refused(STACK_REFUSES)),
    ("volumes", Applied),
    (
        "volumes_from",
        Refused(
            "declare the volume under the top-level `volumes:` and mount it in each service that shares it, as `docker stack deploy` requires",
        ),
    ),
    ("working_dir", Applied),
];

/// `deploy.placement`.
const PLACEMENT: &[(&str, Support)] = &[
    ("constraints", Applied),
    ("max_replicas_per_node", Applied),
    ("preferences", Applied),
];

/// `deploy.resources.limits`.
const LIMITS: &[(&str, Support)] = &[
    ("cpus", Applied),
    ("devices", Refused(STACK_REFUSES)),
    ("generic_resources", Refused(STACK_REFUSES)),
    ("memory", Applied),
    ("pids", Applied),
];

/// `deploy.resources.reservations`.
const RESERVATIONS: &[(&str, Support)] = &[
    ("cpus", Applied),
    ("devices", Refused(STACK_REFUSES)),
    ("generic_resources", Refused(NOT_YET)),
    ("memory", Applied),
    ("pids", Refused(STACK_REFUSES)),
];

/// A service's entry under `networks:`.
const SERVICE_NETWORK: &[(&str, Support)] = &[
    ("aliases", Applied),
    ("driver_opts", Refused(NOT_YET)),
    ("gw_priority", Refused(STACK_REFUSES)),
    ("interface_name", Refused(STACK_REFUSES)),
    ("ipv4_address", Refused(TASK_ADDRESS)),
    ("ipv6_address", Refused(TASK_ADDRESS)),
    ("link_local_ips", Refused(TASK_ADDRESS)),
    ("mac_address", Refused(TASK_ADDRESS)),
    ("priority", Refused(STACK_REFUSES)),
];

/// A port in the long syntax (`host_ip` is checked on its own: see [`check`]).
const PORT: &[(&str, Support)] = &[
    (
        "app_protocol",
        Ignored("Swarm's published ports carry no application protocol"),
    ),
    ("host_ip", Applied),
    ("mode", Applied),
    ("name", Ignored("Swarm's published ports carry no name")),
    ("protocol", Applied),
    ("published", Applied),
    ("target", Applied),
];

/// A volume in the long syntax, and the options under its `bind`, `volume`
/// and `tmpfs` keys.
const MOUNT: &[(&str, Support)] = &[
    (
        "bind.create_host_path",
        Ignored(
            "Swarm never creates a bind mount's host path: it must exist on every node that runs a task",
        ),
    ),
    ("bind.propagation", Applied),
    (
        "bind.selinux",
        Refused(
            "Swarm's bind mounts take no SELinux relabelling (`z`, `Z`; `docker stack deploy` drops it without a word); label the host path yourself and remove it",
        ),
    ),
    ("consistency", Applied),
    ("read_only", Applied),
    ("source", Applied),
    ("target", Applied),
    ("tmpfs.mode", Applied),
    ("tmpfs.size", Applied),
    ("type", Applied),
    ("volume.nocopy", Applied),
    ("volume.subpath", Applied),
];

/// A top-level network (`driver` is checked on its own: see [`check`]).
const NETWORK: &[(&str, Support)] = &[
    ("attachable", Applied),
    ("driver", Applied),
    ("driver_opts", Applied),
    ("enable_ipv4", Refused(NOT_YET)),
    ("enable_ipv6", Applied),
    ("external", Applied),
    ("internal", Applied),
    ("ipam", Applied),
    ("labels", Applied),
    ("name", Applied),
];

/// A top-level network's `ipam`.
const IPAM: &[(&str, Support)] = &[
    ("config", Applied),
    ("driver", Applied),
    ("options", Applied),
];

/// One pool of a top-level network's `ipam.config`.
const IPAM_POOL: &[(&str, Support)] = &[
    ("aux_addresses", Applied),
    ("gateway", Applied),
    ("ip_range", Applied),
    ("subnet", Applied),
];

/// A top-level config or secret.
const FILE_OBJECT: &[(&str, Support)] = &[
    ("content", Applied),
    ("driver", Refused(NOT_YET)),
    ("driver_opts", Refused(NOT_YET)),
    ("environment", Applied),
    ("external", Applied),
    ("file", Applied),
    ("labels", Applied),
    ("name", Applied),
    ("template_driver", Refused(NOT_YET)),
];

/// Every table below the service's own attributes, by where its attributes
/// stand (as the README's "Docker Swarm" section names them).
pub const INNER: &[(&str, &[(&str, Support)])] = &[
    ("services.*.deploy.placement", PLACEMENT),
    ("services.*.deploy.resources.limits", LIMITS),
    ("services.*.deploy.resources.reservations", RESERVATIONS),
    ("services.*.networks.*", SERVICE_NETWORK),
    ("services.*.ports[]", PORT),
    ("services.*.volumes[]", MOUNT),
    ("networks.*", NETWORK),
    ("networks.*.ipam", IPAM),
    ("networks.*.ipam.config[]", IPAM_POOL),
    ("configs.*", FILE_OBJECT),
    ("secrets.*", FILE_OBJECT),
];

/// What the README says of attributes applied with conditions (checked on
/// their own in [`check`]), by the README's name for them.
pub const NOTES: &[(&str, &str)] = &[
    (
        "build",
        "berth builds locally and deploys the built image by ID (stack deploy ignores `build`); build keys as on the plain engine",
    ),
    (
        "deploy",
        "`mode` `replicated` or `global` (`replicated-job`, `global-job` refused: not yet; `replicas` with `global` refused)",
    ),
    (
        "pull_policy",
        "as on the plain engine, for the image berth builds or pulls on the engine it talks to; each node pulls what it lacks",
    ),
    (
        "restart",
        "the restart policy when `deploy.restart_policy` is absent (beside it: ignored, a warning); `no` is the condition `none` (stack deploy leaves it to Swarm's default, which restarts)",
    ),
    (
        "volumes",
        "named, bind and tmpfs; `:z`/`:Z` and `type: npipe`, `cluster`, `image` refused",
    ),
    (
        "ports",
        "one published port each, through the routing mesh or `mode: host` (without one, Swarm picks one from 30000 up, as with `docker stack deploy`); a range is refused",
    ),
    (
        "services.*.ports[].host_ip",
        "every address only: a port on one host address is refused",
    ),
    (
        "networks.*.driver",
        "`overlay` (the default on Swarm); any other driver is refused",
    ),
];

/// The Swarm deploy modes berth applies.
const MODES: &[&str] = &["replicated", "global"];
/// Deploy modes `docker stack deploy` converts and berth does not yet.
const JOB_MODES: &[&str] = &["replicated-job", "global-job"];

/// What the errors and warnings of one project are gathered in.
struct Check<'a> {
    root: &'a Node,
    sources: &'a SourceMap,
    errors: Vec<Diagnostic>,
    warnings: Vec<String>,
}

impl Check<'_> {
    fn note(&mut self, path: &[&str], span: Span, support: Support) {
        let dotted = path.join(".");
        match support {
            Applied => {}
            Ignored(why) => {
                let file = self.sources.get(span.file);
                let at = format!("{}:{}:{}", file.display, span.line, span.col);
                self.warnings.push(format!(
                    "{at}: `{dotted}` is ignored on Docker Swarm: {why}"
                ));
            }
            Refused(hint) => {
                let key = path.last().copied().unwrap_or_default();
                self.refuse(
                    span,
                    dotted,
                    format!("berth does not apply `{key}` on Docker Swarm"),
                    hint,
                )
            }
        }
    }

    fn refuse(&mut self, span: Span, path: String, message: String, hint: &str) {
        self.errors
            .push(Diagnostic::at(span, path, message).with_hint(hint));
    }

    /// Each key written in the mapping at `path`, by `table`.
    fn keys(&mut self, path: &[&str], table: &[(&str, Support)]) {
        let Some(node) = node_at(self.root, path) else {
            return;
        };
        self.keys_of(node, path, table);
    }

    fn keys_of(&mut self, node: &Node, path: &[&str], table: &[(&str, Support)]) {
        for e in node.as_map().unwrap_or_default() {
            if e.key.name.starts_with("x-") || says_nothing(&e.value) {
                continue;
            }
            let mut at = path.to_vec();
            at.push(&e.key.name);
            let support = lookup_in(table, &e.key.name);
            self.note(&at, e.key.span, support);
        }
    }
}

/// The node at a path of mapping keys.
fn node_at<'n>(root: &'n Node, path: &[&str]) -> Option<&'n Node> {
    path.iter().try_fold(root, |n, key| n.get(key))
}

/// A value that sets nothing: null, `false`, `""`, `[]`, `{}`. Compose
/// leaves such an attribute unset, so there is nothing for Swarm to ignore.
fn says_nothing(n: &Node) -> bool {
    match &n.value {
        Value::Null | Value::Bool(false) => true,
        Value::Str(s) => s.is_empty(),
        Value::Seq(s) => s.is_empty(),
        Value::Map(m) => m.is_empty(),
        _ => false,
    }
}

/// A key missing from a table is not applied on Swarm.
fn lookup_in(table: &[(&str, Support)], key: &str) -> Support {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(Refused(NOT_YET), |(_, s)| *s)
}

/// A host address that is every address: what Swarm publishes on anyway.
fn every_address(ip: &str) -> bool {
    matches!(
        ip.trim_start_matches('[').trim_end_matches(']'),
        "" | "0.0.0.0" | "::"
    )
}

/// What the project uses that berth will not apply on Swarm: errors
/// (located, with a hint) and warnings (one line each, located).
pub fn check(
    project: &Project,
    root: &Node,
    sources: &SourceMap,
) -> (Vec<Diagnostic>, Vec<String>) {
    let mut c = Check {
        root,
        sources,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let mut unset = Vec::new();
    for (name, s) in &project.services {
        let base = ["services", name.as_str()];
        c.keys(&base, SERVICE);
        service(&mut c, name, s);
        unset.extend(super::unset_variables(project, root, name, s));
    }
    for (name, n) in &project.networks {
        if n.external {
            continue;
        }
        c.keys(&["networks", name], NETWORK);
        c.keys(&["networks", name, "ipam"], IPAM);
        let pools = node_at(root, &["networks", name, "ipam", "config"])
            .and_then(Node::as_seq)
            .unwrap_or_default();
        for (i, pool) in pools.iter().enumerate() {
            let this = format!("config[{i}]");
            c.keys_of(pool, &["networks", name, "ipam", &this], IPAM_POOL);
        }
        if let Some(driver) = n.driver.as_deref().filter(|d| *d != "overlay") {
            let path = ["networks", name.as_str(), "driver"];
            c.refuse(
                span_of(root, &path),
                path.join("."),
                format!("Swarm services cannot join a `{driver}` network"),
                "Swarm services join only swarm-scoped networks (`docker stack deploy` creates this one and then fails to deploy); remove `driver:` (networks are `overlay` on Swarm) or name a swarm-scoped network with `external: true`",
            );
        }
    }
    for (kind, objects) in [
        ("configs", project.configs.keys()),
        ("secrets", project.secrets.keys()),
    ] {
        for name in objects {
            c.keys(&[kind, name], FILE_OBJECT);
        }
    }
    // one error per object, however many services take it
    let mut seen = std::collections::BTreeSet::new();
    unset.retain(|d| seen.insert(d.path.clone()));
    c.errors.extend(unset);
    (c.errors, c.warnings)
}

/// The path of `rest` under the service `name`.
fn at<'a>(name: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut path = vec!["services", name];
    path.extend_from_slice(rest);
    path
}

/// The checks within one service.
fn service(c: &mut Check, name: &str, s: &Service) {
    let root = c.root;
    if let Some(b) = &s.build {
        for key in b.extra.keys() {
            let path = at(name, &["build", key]);
            // berth builds on Swarm as on the plain engine, with its builder's limits
            let support = match lookup(BUILD, key) {
                Refused(_) => Refused("berth's builder does not apply it yet; remove it"),
                other => other,
            };
            c.note(&path, span_of(root, &path), support);
        }
    }
    restart(c, name, s);
    if let Some(d) = &s.deploy {
        c.keys(&at(name, &["deploy", "placement"]), PLACEMENT);
        c.keys(&at(name, &["deploy", "resources", "limits"]), LIMITS);
        c.keys(
            &at(name, &["deploy", "resources", "reservations"]),
            RESERVATIONS,
        );
        let mode = d.mode.as_deref().unwrap_or("replicated");
        if !MODES.contains(&mode) {
            let path = at(name, &["deploy", "mode"]);
            let (message, hint) = if JOB_MODES.contains(&mode) {
                (
                    format!("berth does not apply `mode: {mode}` on Docker Swarm"),
                    NOT_YET,
                )
            } else {
                (
                    format!("unknown deploy mode `{mode}`"),
                    "Swarm's modes are `replicated` (the default) and `global`",
                )
            };
            c.refuse(span_of(root, &path), path.join("."), message, hint);
        } else if mode == "global" && d.replicas.is_some() {
            let path = at(name, &["deploy", "replicas"]);
            c.refuse(
                span_of(root, &path),
                path.join("."),
                "`replicas` cannot be used with `mode: global`".into(),
                "a global service runs one task on every node: remove `replicas`, or make the mode `replicated` (`docker stack deploy` refuses it too)",
            );
        }
    }
    if let Some(networks) = node_at(root, &at(name, &["networks"])).and_then(Node::as_map) {
        for e in networks {
            c.keys_of(
                &e.value,
                &at(name, &["networks", &e.key.name]),
                SERVICE_NETWORK,
            );
        }
    }
    ports(c, name, s);
    mounts(c, name, s);
}

/// `restart` is Swarm's restart policy when `deploy.restart_policy` is absent
/// (as `docker stack deploy` converts it); beside one, it is ignored.
fn restart(c: &mut Check, name: &str, s: &Service) {
    let has_policy = s
        .deploy
        .as_ref()
        .is_some_and(|d| d.restart_policy.is_some());
    if s.restart.is_some() && has_policy {
        let path = ["services", name, "restart"];
        c.note(
            &path,
            span_of(c.root, &path),
            Ignored(
                "`deploy.restart_policy` is set and wins over `restart`, as in `docker stack deploy`",
            ),
        );
    }
}

/// Ports: the long syntax's keys; a host address, which Swarm cannot honour
/// (`docker stack deploy` publishes on every address with a warning: a port
/// meant for one address would be open on all of them); a range of
/// published ports, which berth does not publish on Swarm. A port without a
/// published port gets one from Swarm, as with `docker stack deploy`.
fn ports(c: &mut Check, name: &str, s: &Service) {
    let Some(items) = node_at(c.root, &["services", name, "ports"]).and_then(Node::as_seq) else {
        return;
    };
    let bound: Vec<&str> = s
        .ports
        .iter()
        .filter_map(|p| p.host_ip.as_deref())
        .filter(|ip| !every_address(ip))
        .collect();
    // ranges the model keeps as ranges (`8000-8010:80`; `8000-8001:8000-8001` is two ports)
    let ranges: Vec<&str> = s
        .ports
        .iter()
        .filter_map(|p| p.published.as_deref())
        .filter(|p| p.contains('-'))
        .collect();
    for (i, item) in items.iter().enumerate() {
        let this = format!("ports[{i}]");
        let here = ["services", name, this.as_str()];
        let (ip, published) = match &item.value {
            Value::Map(entries) => {
                c.keys_of(item, &here, PORT);
                let text = |key: &str| {
                    entries
                        .iter()
                        .find(|e| e.key.name == key)
                        .and_then(|e| Some((e.value.scalar_text()?, e.value.span)))
                };
                (text("host_ip"), text("published").map(|(p, _)| p))
            }
            Value::Str(text) => {
                let ip = bound
                    .iter()
                    .find(|ip| text.starts_with(**ip) || text.starts_with(&format!("[{ip}]")))
                    .map(|ip| (ip.to_string(), item.span));
                (ip, short_published(text))
            }
            Value::Int(_) => (None, None),
            _ => continue,
        };
        if let Some((ip, span)) = ip.filter(|(ip, _)| !every_address(ip)) {
            c.refuse(
                span,
                here.join("."),
                format!("Swarm cannot publish a port on `{ip}` alone"),
                "Swarm publishes a port on every address of every node (`docker stack deploy` drops the address with a warning, opening the port to all); remove the address if that is meant, or leave the port unpublished and reach the service over a network of the stack",
            );
        }
        // a port without a published one gets one from Swarm (30000 up), as with stack deploy
        if let Some(range) = published.as_deref().filter(|p| ranges.contains(p)) {
            c.refuse(
                item.span,
                here.join("."),
                format!("berth does not publish the port range `{range}` on Docker Swarm"),
                "publish each port on its own (`8000:80`)",
            );
        }
    }
}

/// The published part of a short-syntax port (`[IP:]PUBLISHED:TARGET[/PROTO]`),
/// `None` when it has none.
fn short_published(text: &str) -> Option<String> {
    let spec = text.split('/').next().unwrap_or(text);
    let mut parts = spec.rsplitn(3, ':');
    let _target = parts.next()?;
    parts.next().map(str::to_string)
}

/// Volumes: the long syntax's keys and options, the mount types Swarm has,
/// and the short syntax's SELinux options.
fn mounts(c: &mut Check, name: &str, s: &Service) {
    let base = ["services", name, "volumes"];
    let Some(items) = node_at(c.root, &base).and_then(Node::as_seq) else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let mount = s.volumes.get(i);
        let this = format!("volumes[{i}]");
        let here = ["services", name, this.as_str()];
        if let Some(entries) = item.as_map() {
            for e in entries {
                if e.key.name.starts_with("x-") || says_nothing(&e.value) {
                    continue;
                }
                if let Some(options) = e.value.as_map()
                    && ["bind", "volume", "tmpfs"].contains(&e.key.name.as_str())
                {
                    for o in options {
                        if says_nothing(&o.value) {
                            continue;
                        }
                        let key = format!("{}.{}", e.key.name, o.key.name);
                        let path =
                            [&here[..], &[e.key.name.as_str(), o.key.name.as_str()]].concat();
                        c.note(&path, o.key.span, lookup_in(MOUNT, &key));
                    }
                } else {
                    let path = [&here[..], &[e.key.name.as_str()]].concat();
                    c.note(&path, e.key.span, lookup_in(MOUNT, &e.key.name));
                }
            }
        } else if let Some(option) = mount
            .and_then(|m| m.bind.as_ref())
            .and_then(|b| b.selinux.as_deref())
            && let Refused(hint) = lookup_in(MOUNT, "bind.selinux")
        {
            // `./data:/data:z`
            c.refuse(
                item.span,
                here.join("."),
                format!("berth does not apply the SELinux option `{option}` on Docker Swarm"),
                hint,
            );
        }
        let kind = mount.map(|m| m.kind);
        let refused = match kind {
            Some(MountType::Npipe) => Some((
                "npipe",
                "named pipes are for Windows containers, which berth does not run",
            )),
            Some(MountType::Cluster) => Some(("cluster", NOT_YET)),
            Some(MountType::Image) => Some(("image", NOT_YET)),
            _ => None,
        };
        if let Some((kind, hint)) = refused {
            c.refuse(
                item.span,
                here.join("."),
                format!("berth does not apply `type: {kind}` volumes on Docker Swarm"),
                hint,
            );
        }
    }
}

#[cfg(test)]
mod tests;
