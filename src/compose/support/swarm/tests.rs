//! Swarm's column, on in-memory projects: what `docker stack deploy` ignores
//! is a located warning, what berth cannot apply on Swarm a located error.

use super::*;
use crate::compose::BackendKind;
use crate::compose::decode::{SERVICE_KEYS, SERVICE_PASSTHROUGH};
use crate::compose::host::MemoryHost;
use crate::compose::load::{LoadOptions, Loaded, load_from};

fn load_with(host: &MemoryHost, files: &[&str], backend: BackendKind) -> Loaded {
    load_from(
        host,
        LoadOptions {
            working_dir: "/p".into(),
            files: files.iter().map(Into::into).collect(),
            backend: Some(backend),
            ..Default::default()
        },
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

/// `compose.yaml` in `/p`, loaded for Swarm.
fn swarm(yaml: &str) -> Loaded {
    let host = MemoryHost::default().file("/p/compose.yaml", yaml);
    load_with(&host, &[], BackendKind::Swarm)
}

/// The refusals, one line each: `file:line:col path: message`.
fn refused(loaded: &Loaded) -> Vec<String> {
    loaded
        .unsupported
        .iter()
        .map(|d| {
            let at = d.location(&loaded.sources).unwrap_or_default();
            format!("{at} {}: {}", d.path, d.message)
        })
        .collect()
}

fn hints(loaded: &Loaded) -> Vec<&str> {
    loaded
        .unsupported
        .iter()
        .map(|d| d.hint.as_deref().unwrap_or(""))
        .collect()
}

#[test]
fn every_service_attribute_has_a_status_on_swarm() {
    for key in SERVICE_KEYS.iter().chain(SERVICE_PASSTHROUGH) {
        assert!(
            SERVICE.iter().any(|(k, _)| k == key),
            "`{key}` has no status in compose::support::swarm::SERVICE"
        );
    }
}

#[test]
fn what_stack_deploy_ignores_is_a_warning_at_its_file_line_and_column() {
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    container_name: web-1\n    privileged: true\n    depends_on: [db]\n  db:\n    image: pg\n",
    );
    assert_eq!(refused(&loaded), Vec::<String>::new());
    assert_eq!(
        loaded.warnings,
        [
            "compose.yaml:4:5: `services.web.container_name` is ignored on Docker Swarm: Swarm names each task itself; `docker stack deploy` ignores it too",
            "compose.yaml:5:5: `services.web.privileged` is ignored on Docker Swarm: Swarm services cannot run privileged; `docker stack deploy` ignores it too",
            "compose.yaml:6:5: `services.web.depends_on` is ignored on Docker Swarm: Swarm starts services in no order and waits for none; `docker stack deploy` ignores it too",
        ]
    );
}

#[test]
fn the_plain_engine_applies_what_swarm_ignores() {
    let host = MemoryHost::default().file(
        "/p/compose.yaml",
        "services:\n  web:\n    image: demo\n    privileged: true\n    mem_limit: 1g\n",
    );
    let loaded = load_with(&host, &[], BackendKind::Docker);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(loaded.unsupported.is_empty(), "{:?}", loaded.unsupported);
}

#[test]
fn the_warning_names_the_file_that_wrote_the_attribute() {
    let host = MemoryHost::default()
        .file("/p/compose.yaml", "services:\n  web:\n    image: demo\n")
        .file("/p/debug.yaml", "services:\n  web:\n    privileged: true\n");
    let loaded = load_with(&host, &["compose.yaml", "debug.yaml"], BackendKind::Swarm);
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0].starts_with("debug.yaml:3:5: `services.web.privileged`"),
        "{}",
        loaded.warnings[0]
    );
}

#[test]
fn an_attribute_that_sets_nothing_is_not_warned_about() {
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    privileged: false\n    devices: []\n    ipc: \"\"\n",
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn what_stack_deploy_refuses_is_a_located_error_with_its_hint() {
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    mem_limit: 1g\n    cpus: 0.5\n    runtime: runc\n",
    );
    assert_eq!(
        refused(&loaded),
        [
            "compose.yaml:4:5 services.web.mem_limit: berth does not apply `mem_limit` on Docker Swarm",
            "compose.yaml:5:5 services.web.cpus: berth does not apply `cpus` on Docker Swarm",
            "compose.yaml:6:5 services.web.runtime: berth does not apply `runtime` on Docker Swarm",
        ]
    );
    assert_eq!(
        hints(&loaded),
        [
            "set memory limits as `deploy.resources.limits.memory`, as `docker stack deploy` requires",
            "set CPU limits as `deploy.resources.limits.cpus`, as `docker stack deploy` requires",
            "Swarm services have no such setting and `docker stack deploy` refuses it too; remove it, or use the plain engine (`--backend docker`)",
        ]
    );
}

#[test]
fn what_stack_deploy_converts_and_berth_does_not_yet_is_refused_not_dropped() {
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    oom_score_adj: 100\n    networks:\n      back: {driver_opts: {x: y}}\nnetworks:\n  back: {}\n",
    );
    assert_eq!(
        refused(&loaded),
        [
            "compose.yaml:4:5 services.web.oom_score_adj: berth does not apply `oom_score_adj` on Docker Swarm",
            "compose.yaml:6:14 services.web.networks.back.driver_opts: berth does not apply `driver_opts` on Docker Swarm",
        ]
    );
    assert!(
        hints(&loaded)
            .iter()
            .all(|h| h.starts_with("berth does not apply it on Swarm yet")),
        "{:?}",
        hints(&loaded)
    );
}

#[test]
fn build_is_applied_on_swarm_and_its_keys_follow_the_plain_engines_builder() {
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    build:\n      context: .\n      ssh: [default]\n",
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(
        refused(&loaded),
        ["compose.yaml:6:7 services.web.build.ssh: berth does not apply `ssh` on Docker Swarm"]
    );
}

#[test]
fn restart_is_the_restart_policy_unless_deploy_sets_one() {
    let alone = swarm("services:\n  web:\n    image: demo\n    restart: always\n");
    assert!(alone.warnings.is_empty() && alone.unsupported.is_empty());
    let both = swarm(
        "services:\n  web:\n    image: demo\n    restart: always\n    deploy:\n      restart_policy: {condition: on-failure}\n",
    );
    assert_eq!(
        both.warnings,
        [
            "compose.yaml:4:5: `services.web.restart` is ignored on Docker Swarm: `deploy.restart_policy` is set and wins over `restart`, as in `docker stack deploy`"
        ]
    );
}

#[test]
fn restart_no_is_applied_as_no_restart() {
    // berth gives `no` the condition `none`, where stack deploy leaves it to
    // Swarm's default (which restarts): nothing to warn about
    let loaded = swarm("services:\n  job:\n    image: demo\n    restart: \"no\"\n");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(loaded.unsupported.is_empty(), "{:?}", refused(&loaded));
}

#[test]
fn deploy_modes_berth_does_not_apply_are_refused() {
    let loaded = swarm(
        "services:\n  a:\n    image: demo\n    deploy: {mode: global, replicas: 2}\n  b:\n    image: demo\n    deploy: {mode: replicated-job}\n  c:\n    image: demo\n    deploy: {mode: everywhere}\n",
    );
    assert_eq!(
        refused(&loaded),
        [
            "compose.yaml:4:28 services.a.deploy.replicas: `replicas` cannot be used with `mode: global`",
            "compose.yaml:7:14 services.b.deploy.mode: berth does not apply `mode: replicated-job` on Docker Swarm",
            "compose.yaml:10:14 services.c.deploy.mode: unknown deploy mode `everywhere`",
        ]
    );
}

#[test]
fn placement_and_resources_are_applied_and_what_swarm_lacks_is_refused() {
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    deploy:\n      placement: {constraints: [node.role==worker], max_replicas_per_node: 1}\n      resources:\n        limits: {cpus: '0.5', memory: 64M, pids: 10}\n        reservations: {memory: 32M, pids: 5}\n",
    );
    assert_eq!(
        refused(&loaded),
        [
            "compose.yaml:8:37 services.web.deploy.resources.reservations.pids: berth does not apply `pids` on Docker Swarm"
        ]
    );
}

#[test]
fn a_network_swarm_services_cannot_join_is_refused_at_its_driver() {
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    networks: [front, back, outside]\nnetworks:\n  front: {driver: overlay, attachable: true}\n  back:\n    driver: bridge\n  outside: {external: true, name: host}\n",
    );
    assert_eq!(
        refused(&loaded),
        ["compose.yaml:8:5 networks.back.driver: Swarm services cannot join a `bridge` network"]
    );
    assert!(hints(&loaded)[0].contains("remove `driver:` (networks are `overlay` on Swarm)"));
}

#[test]
fn a_task_address_is_refused_and_aliases_and_the_networks_ipam_are_applied() {
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    networks:\n      back:\n        aliases: [api]\n        ipv4_address: 10.0.0.5\nnetworks:\n  back:\n    driver_opts: {encrypted: \"\"}\n    ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]}\n",
    );
    assert_eq!(
        refused(&loaded),
        [
            "compose.yaml:7:9 services.web.networks.back.ipv4_address: berth does not apply `ipv4_address` on Docker Swarm"
        ]
    );
    assert!(hints(&loaded)[0].starts_with("Swarm gives each task its address itself"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn a_port_bound_to_one_address_is_refused_in_both_syntaxes() {
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    ports:\n      - \"127.0.0.1:8080:80\"\n      - \"0.0.0.0:8443:443\"\n      - {target: 53, published: 53, host_ip: 10.1.1.1, name: dns}\n      - 9000:9000\n",
    );
    assert_eq!(
        refused(&loaded),
        [
            "compose.yaml:5:9 services.web.ports[0]: Swarm cannot publish a port on `127.0.0.1` alone",
            "compose.yaml:7:46 services.web.ports[2]: Swarm cannot publish a port on `10.1.1.1` alone",
        ]
    );
    assert_eq!(
        loaded.warnings,
        [
            "compose.yaml:7:56: `services.web.ports[2].name` is ignored on Docker Swarm: Swarm's published ports carry no name"
        ]
    );
}

#[test]
fn mounts_swarm_cannot_make_are_refused() {
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    tmpfs: [/run]\n    volumes:\n      - ./conf:/conf:z\n      - {type: volume, source: data, target: /data, volume: {subpath: sub}}\n      - {type: tmpfs, target: /tmp, tmpfs: {size: 1m, mode: 1777}}\n      - {type: npipe, source: '\\\\.\\pipe\\x', target: '\\\\.\\pipe\\x'}\nvolumes:\n  data: {}\n",
    );
    assert_eq!(
        refused(&loaded),
        [
            "compose.yaml:6:9 services.web.volumes[0]: berth does not apply the SELinux option `z` on Docker Swarm",
            "compose.yaml:9:9 services.web.volumes[3]: berth does not apply `type: npipe` volumes on Docker Swarm",
        ]
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn configs_and_secrets_come_from_files_variables_or_content_and_an_unset_variable_is_refused() {
    let yaml = "services:\n  web:\n    image: demo\n    configs: [conf, motd]\n    secrets: [token]\n  worker:\n    image: demo\n    secrets: [token]\nconfigs:\n  conf: {file: ./conf.txt, template_driver: golang}\n  motd: {content: hello}\nsecrets:\n  token:\n    environment: TOKEN\n";
    let loaded = swarm(yaml);
    assert_eq!(
        refused(&loaded),
        [
            "compose.yaml:10:28 configs.conf.template_driver: berth does not apply `template_driver` on Docker Swarm",
            "compose.yaml:14:5 secrets.token.environment: the variable `TOKEN` is not set",
        ]
    );
    let host = MemoryHost::default()
        .file("/p/compose.yaml", yaml)
        .file("/p/.env", "TOKEN=abc\n");
    let loaded = load_with(&host, &[], BackendKind::Swarm);
    assert_eq!(
        refused(&loaded),
        [
            "compose.yaml:10:28 configs.conf.template_driver: berth does not apply `template_driver` on Docker Swarm"
        ]
    );
}

#[test]
fn a_port_swarm_would_not_publish_as_written_is_refused_and_one_without_a_published_port_gets_one()
{
    let loaded = swarm(
        "services:\n  web:\n    image: demo\n    ports:\n      - \"80\"\n      - 8000-8010:80\n      - 9000-9001:9000-9001\n      - {target: 53}\n      - {target: 443, published: 8443, mode: host}\n",
    );
    assert_eq!(
        refused(&loaded),
        [
            "compose.yaml:6:9 services.web.ports[1]: berth does not publish the port range `8000-8010` on Docker Swarm",
        ]
    );
    assert!(hints(&loaded)[0].starts_with("publish each port on its own"));
}

#[test]
fn x_berth_in_the_file_puts_the_project_under_swarms_rules() {
    let host = MemoryHost::default().file(
        "/p/compose.yaml",
        "x-berth: {backend: swarm}\nservices:\n  web:\n    image: demo\n    privileged: true\n",
    );
    let loaded = load_from(
        &host,
        LoadOptions {
            working_dir: "/p".into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(loaded.backend, BackendKind::Swarm);
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("is ignored on Docker Swarm"));
}

/// The README's tables for Swarm, as the tables of this module make them.
fn readme_tables() -> String {
    let row = |key: &str, support: &Support| {
        let noted = NOTES.iter().find(|(k, _)| *k == key).map(|(_, n)| *n);
        let (status, note) = match support {
            Applied => ("applied", noted.unwrap_or("")),
            Ignored(why) => ("ignored (warning)", *why),
            Refused(hint) => ("refused (error)", *hint),
        };
        format!("| `{key}` | {status} | {note} |\n")
    };
    let mut out = String::from("| attribute | on Swarm | why, or what to do |\n|---|---|---|\n");
    for (key, support) in SERVICE {
        out.push_str(&row(key, support));
    }
    out.push_str("\n| attribute | on Swarm | why, or what to do |\n|---|---|---|\n");
    for (under, table) in INNER {
        for (key, support) in *table {
            out.push_str(&row(&format!("{under}.{key}"), support));
        }
    }
    out
}

#[test]
fn the_readme_lists_every_attribute_with_its_status_on_swarm() {
    let section = crate::compose::support::tests::readme_section("### Docker Swarm");
    let tables = readme_tables();
    assert!(
        section.contains(&tables),
        "the README's \"Docker Swarm\" section lacks these tables (paste them in):\n{tables}"
    );
}

#[test]
fn every_note_is_for_an_attribute_of_the_tables() {
    let tables = readme_tables();
    for (key, _) in NOTES {
        assert!(
            tables.contains(&format!("| `{key}` | applied |")),
            "the note for `{key}` names no applied attribute"
        );
    }
}
