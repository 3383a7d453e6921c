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

mod table;

use table::*;
pub use table::{INNER, NOTES, SERVICE};

use super::Support::{self, Applied, Ignored, Refused};
use super::{BUILD, lookup};
use crate::compose::diagnostic::Diagnostic;
use crate::compose::model::{MountType, Project, Service};
use crate::compose::node::{Node, Value};
use crate::compose::source::{SourceMap, Span};
use crate::compose::validate::span_of;

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
