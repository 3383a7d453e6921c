//! What berth does with each attribute of the Compose Specification: applied
//! as `docker compose up` applies it, ignored as Compose ignores it (a
//! warning), or refused with a located error. Never dropped silently.
//!
//! `berth config` prints every attribute as Compose does; `validate`, `plan`,
//! `apply` and `import` run [`check`] and refuse a project that uses an
//! attribute berth would not apply. The README's attribute table is this
//! table (a test keeps them in step).

pub mod swarm;

use super::BackendKind;
use super::diagnostic::Diagnostic;
use super::model::Project;
use super::node::Node;
use super::source::SourceMap;
use super::validate::span_of;

/// What berth does with one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Applied as `docker compose up` applies it.
    Applied,
    /// Compose itself ignores it for `up -d`: a warning says so.
    Ignored(&'static str),
    /// Not applied by berth: the project is refused, with this hint.
    Refused(&'static str),
}

use Support::{Applied, Ignored, Refused};

const NOT_YET: &str =
    "berth does not apply it yet; remove it, or use `docker compose` for this project";

/// Every service attribute of the Compose Specification.
pub const SERVICE: &[(&str, Support)] = &[
    ("annotations", Refused(NOT_YET)),
    (
        "attach",
        Ignored("berth never attaches to container output (as `docker compose up -d`)"),
    ),
    ("blkio_config", Applied),
    ("build", Applied),
    ("cap_add", Applied),
    ("cap_drop", Applied),
    ("cgroup", Applied),
    ("cgroup_parent", Applied),
    ("command", Applied),
    ("configs", Applied),
    ("container_name", Applied),
    ("cpu_count", Applied),
    ("cpu_percent", Applied),
    ("cpu_period", Applied),
    ("cpu_quota", Applied),
    ("cpu_rt_period", Applied),
    ("cpu_rt_runtime", Applied),
    ("cpu_shares", Applied),
    ("cpus", Applied),
    ("cpuset", Applied),
    (
        "credential_spec",
        Refused("credential specs are for Windows containers, which berth does not run"),
    ),
    ("depends_on", Applied),
    ("deploy", Applied),
    (
        "develop",
        Ignored("`develop` is for `docker compose watch`; `up` ignores it"),
    ),
    ("device_cgroup_rules", Applied),
    ("devices", Applied),
    ("dns", Applied),
    ("dns_opt", Applied),
    ("dns_search", Applied),
    ("domainname", Applied),
    ("entrypoint", Applied),
    ("env_file", Applied),
    ("environment", Applied),
    ("expose", Applied),
    ("extends", Applied),
    ("external_links", Applied),
    ("extra_hosts", Applied),
    ("gpus", Refused(NOT_YET)),
    ("group_add", Applied),
    ("healthcheck", Applied),
    ("hostname", Applied),
    ("image", Applied),
    ("init", Applied),
    ("ipc", Applied),
    ("isolation", Applied),
    ("label_file", Applied),
    ("labels", Applied),
    ("links", Applied),
    ("logging", Applied),
    ("mac_address", Applied),
    ("mem_limit", Applied),
    ("mem_reservation", Applied),
    ("mem_swappiness", Applied),
    ("memswap_limit", Applied),
    ("models", Refused(NOT_YET)),
    ("network_mode", Applied),
    ("networks", Applied),
    ("oom_kill_disable", Applied),
    ("oom_score_adj", Applied),
    ("pid", Applied),
    ("pids_limit", Applied),
    ("platform", Applied),
    ("ports", Applied),
    ("post_start", Refused(NOT_YET)),
    ("pre_stop", Refused(NOT_YET)),
    ("privileged", Applied),
    ("profiles", Applied),
    ("provider", Refused(NOT_YET)),
    ("pull_policy", Applied),
    (
        "pull_refresh_after",
        Refused("berth never pulls an image it already has; remove it"),
    ),
    ("read_only", Applied),
    ("restart", Applied),
    ("runtime", Applied),
    ("scale", Applied),
    ("secrets", Applied),
    ("security_opt", Applied),
    ("shm_size", Applied),
    ("stdin_open", Applied),
    ("stop_grace_period", Applied),
    ("stop_signal", Applied),
    ("storage_opt", Applied),
    ("sysctls", Applied),
    ("tmpfs", Applied),
    ("tty", Applied),
    ("ulimits", Applied),
    ("use_api_socket", Refused(NOT_YET)),
    ("user", Applied),
    ("userns_mode", Applied),
    ("uts", Applied),
    ("volumes", Applied),
    ("volumes_from", Applied),
    ("working_dir", Applied),
];

/// `build` attributes berth does not pass to the classic builder.
const BUILD: &[(&str, Support)] = &[
    (
        "cache_from",
        Ignored("the classic builder berth uses keeps its own cache"),
    ),
    (
        "cache_to",
        Ignored("the classic builder berth uses keeps its own cache"),
    ),
    ("additional_contexts", Refused(NOT_YET)),
    ("entitlements", Refused(NOT_YET)),
    ("extra_hosts", Refused(NOT_YET)),
    ("isolation", Refused(NOT_YET)),
    ("no_cache", Refused(NOT_YET)),
    ("platforms", Refused(NOT_YET)),
    ("privileged", Refused(NOT_YET)),
    ("pull", Refused(NOT_YET)),
    ("secrets", Refused(NOT_YET)),
    ("shm_size", Refused(NOT_YET)),
    ("ssh", Refused(NOT_YET)),
    ("tags", Refused(NOT_YET)),
    ("ulimits", Refused(NOT_YET)),
];

/// `deploy` attributes: what a single engine has no use for, as in Compose.
const DEPLOY: &[(&str, Support)] = &[(
    "endpoint_mode",
    Ignored("it is for Docker Swarm; a single engine ignores it, as Compose does"),
)];

/// Per-network attributes of a service.
const SERVICE_NETWORK: &[(&str, Support)] = &[
    ("driver_opts", Refused(NOT_YET)),
    ("gw_priority", Refused(NOT_YET)),
    ("interface_name", Refused(NOT_YET)),
    ("link_local_ips", Refused(NOT_YET)),
    ("mac_address", Refused(NOT_YET)),
];

/// Top-level network attributes.
const NETWORK: &[(&str, Support)] = &[("enable_ipv4", Refused(NOT_YET))];

fn lookup(table: &[(&str, Support)], key: &str) -> Support {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(Refused(NOT_YET), |(_, s)| *s)
}

/// What the project uses that berth will not apply on `backend`: errors
/// (located, with a hint) and warnings (one line each).
pub fn check_for(
    backend: BackendKind,
    project: &Project,
    root: &Node,
    sources: &SourceMap,
) -> (Vec<Diagnostic>, Vec<String>) {
    match backend {
        BackendKind::Docker => check(project, root),
        BackendKind::Swarm => swarm::check(project, root, sources),
    }
}

/// What the project uses that berth will not apply on the plain engine:
/// errors (located, with a hint) and warnings (one line each).
pub fn check(project: &Project, root: &Node) -> (Vec<Diagnostic>, Vec<String>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut unset = Vec::new();
    let mut note = |path: Vec<&str>, support: Support| {
        let dotted = path.join(".");
        match support {
            Applied => {}
            Ignored(why) => warnings.push(format!("`{dotted}` is ignored: {why}")),
            Refused(hint) => errors.push(
                Diagnostic::at(
                    span_of(root, &path),
                    dotted.clone(),
                    format!("berth does not apply `{}`", path.last().unwrap_or(&"")),
                )
                .with_hint(hint),
            ),
        }
    };
    for (name, s) in &project.services {
        for key in s.extra.keys() {
            note(vec!["services", name, key], lookup(SERVICE, key));
        }
        if let Some(b) = &s.build {
            for key in b.extra.keys() {
                note(vec!["services", name, "build", key], lookup(BUILD, key));
            }
        }
        if let Some(d) = &s.deploy {
            for key in d.extra.keys() {
                note(vec!["services", name, "deploy", key], lookup(DEPLOY, key));
            }
            let resources = [
                ("limits", &d.resources.limits),
                ("reservations", &d.resources.reservations),
            ];
            for (which, r) in resources {
                for key in r.iter().flat_map(|r| r.extra.keys()) {
                    note(
                        vec!["services", name, "deploy", "resources", which, key],
                        Refused(NOT_YET),
                    );
                }
            }
        }
        for (net, sn) in &s.networks {
            for key in sn.iter().flat_map(|n| n.extra.keys()) {
                note(
                    vec!["services", name, "networks", net, key],
                    lookup(SERVICE_NETWORK, key),
                );
            }
        }
        unset.extend(unset_variables(project, root, name, s));
        // compose refuses these too: they are copied into the container's filesystem
        if s.read_only {
            for (kind, list, objects) in [
                ("configs", &s.configs, &project.configs),
                ("secrets", &s.secrets, &project.secrets),
            ] {
                for m in list {
                    if let Some(o) = objects.get(&m.source)
                        && o.file.is_none()
                        && !o.external
                    {
                        note(
                            vec!["services", name, kind],
                            Refused(
                                "a `read_only` service takes configs and secrets from `file:` only (as with docker compose)",
                            ),
                        );
                    }
                }
            }
        }
    }
    for (key, n) in &project.networks {
        for extra in n.extra.keys() {
            note(vec!["networks", key, extra], lookup(NETWORK, extra));
        }
    }
    errors.extend(unset);
    errors.dedup_by(|a, b| a.path == b.path);
    (errors, warnings)
}

/// The configs and secrets service `name` takes from a variable that is not
/// set: compose refuses to start the container without its value, and
/// berth has nothing to put in the file (on either backend).
fn unset_variables(
    project: &Project,
    root: &Node,
    name: &str,
    s: &super::model::Service,
) -> Vec<Diagnostic> {
    let mut unset = Vec::new();
    for (kind, list, objects) in [
        ("configs", &s.configs, &project.configs),
        ("secrets", &s.secrets, &project.secrets),
    ] {
        for m in list {
            if let Some(o) = objects.get(&m.source)
                && let Some(var) = &o.environment
                && o.environment_value.is_none()
                && !o.external
            {
                let path = [kind, m.source.as_str(), "environment"];
                unset.push(
                    Diagnostic::at(
                        span_of(root, &path),
                        path.join("."),
                        format!("the variable `{var}` is not set"),
                    )
                    .with_hint(format!(
                        "set `{var}` in the environment or in `.env`: service `{name}` takes {kind} `{}` from it",
                        m.source
                    )),
                );
            }
        }
    }
    unset
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::decode::{SERVICE_KEYS, SERVICE_PASSTHROUGH};

    #[test]
    fn every_service_attribute_has_a_status() {
        for key in SERVICE_KEYS.iter().chain(SERVICE_PASSTHROUGH) {
            assert!(
                SERVICE.iter().any(|(k, _)| k == key),
                "`{key}` has no status in compose::support::SERVICE"
            );
        }
    }

    fn unsupported(yaml: &str, env: &[(&str, &str)]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
        let loaded = crate::compose::load(crate::compose::LoadOptions {
            working_dir: dir.path().to_path_buf(),
            project_name: Some("demo".into()),
            environ: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        })
        .unwrap();
        loaded
            .unsupported
            .iter()
            .map(|d| {
                let at = d.location(&loaded.sources).unwrap_or_default();
                format!("{at} {}: {}", d.path, d.message)
            })
            .collect()
    }

    #[test]
    fn what_berth_would_not_apply_is_refused_where_it_is_written() {
        let found = unsupported(
            "services:\n  app:\n    image: demo\n    gpus: all\n    build:\n      context: .\n      ssh: [default]\n      cache_from: [x]\n",
            &[],
        );
        assert_eq!(
            found,
            [
                "compose.yaml:4:5 services.app.gpus: berth does not apply `gpus`",
                "compose.yaml:7:7 services.app.build.ssh: berth does not apply `ssh`",
            ]
        );
    }

    #[test]
    fn a_secret_from_an_unset_variable_is_refused_and_a_set_one_is_not() {
        let yaml = "services:\n  app:\n    image: demo\n    secrets: [tok]\nsecrets:\n  tok:\n    environment: MY_TOKEN\n";
        assert_eq!(
            unsupported(yaml, &[]),
            ["compose.yaml:7:5 secrets.tok.environment: the variable `MY_TOKEN` is not set"]
        );
        assert!(unsupported(yaml, &[("MY_TOKEN", "abc")]).is_empty());
    }

    /// The README's section under `heading`, up to the next heading of its level or above.
    pub(super) fn readme_section(heading: &str) -> &'static str {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find(&format!("\n{heading}\n"))
            .unwrap_or_else(|| panic!("README lacks the heading `{heading}`"));
        let body = &readme[start + heading.len() + 2..];
        let end = ["\n### ", "\n## "]
            .iter()
            .filter_map(|h| body.find(h))
            .min()
            .unwrap_or(body.len());
        &body[..end]
    }

    #[test]
    fn the_readme_lists_every_service_attribute_with_its_status() {
        let readme = readme_section("### Every Compose attribute, and what berth does with it");
        for (key, support) in SERVICE {
            let status = match support {
                Applied => "applied",
                Ignored(_) => "ignored (warning)",
                Refused(_) => "refused (error)",
            };
            let row = format!("| `{key}` | {status} |");
            assert!(readme.contains(&row), "README lacks the row `{row}`");
        }
    }
}
