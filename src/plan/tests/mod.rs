//! The diff over a table of situations: every action and every reason kind,
//! from plain data (no engine).

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::compose::{LoadOptions, load};
use crate::observed::{Observed, ObservedContainer, ObservedNetwork, ObservedPort, ObservedVolume};
use crate::resource::expected::updatable;
use crate::resource::{Address, Desired, Kind, ResolveOptions, labels, resolve};
use crate::state::{State, StateResource};

const STACK: &str = "services:
  web:
    image: web:latest
    ports: [\"5000:5000\"]
    restart: unless-stopped
    environment: {DB_PASSWORD: hunter2, MODE: prod}
    depends_on: [redis]
    networks: [back]
  redis:
    image: redis:alpine
    networks: [back]
    volumes: [\"data:/data\"]
networks:
  back: {}
volumes:
  data: {}
";

fn desired_from(yaml: &str, scale: &[(&str, u32)]) -> Desired {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
    let project = load(LoadOptions {
        working_dir: dir.path().to_path_buf(),
        project_name: Some("demo".into()),
        ..Default::default()
    })
    .unwrap()
    .project;
    let opts = ResolveOptions {
        scale: scale.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        ..Default::default()
    };
    resolve(&project, &opts).unwrap()
}

fn id(a: &Address) -> String {
    format!("id-{a}")
}

/// The state after a successful apply of `d`.
fn applied(d: &Desired) -> State {
    let mut s = State::new("demo");
    for r in d.resources.values() {
        let id = if r.address.kind == Kind::Image {
            format!("sha256:{}", r.address.name)
        } else {
            id(&r.address)
        };
        s.insert(r.address.clone(), StateResource::recorded(r, id));
    }
    s
}

/// What the engine shows right after that apply.
fn engine_for(d: &Desired) -> Observed {
    let mut o = Observed::default();
    let project = || ("com.docker.compose.project".to_string(), "demo".to_string());
    for r in d.resources.values() {
        match r.address.kind {
            Kind::Network => o.networks.push(ObservedNetwork {
                id: id(&r.address),
                name: r.engine_name.clone(),
                labels: BTreeMap::from([project()]),
                driver: "bridge".into(),
                ..Default::default()
            }),
            Kind::Volume => o.volumes.push(ObservedVolume {
                name: r.engine_name.clone(),
                labels: BTreeMap::from([project()]),
                driver: "local".into(),
            }),
            Kind::Image => {
                o.images
                    .insert(r.engine_name.clone(), format!("sha256:{}", r.address.name));
            }
            Kind::Container => {
                let spec = &r.spec;
                let mut labels = BTreeMap::from([
                    project(),
                    (labels::ADDRESS.to_string(), r.address.to_string()),
                    (labels::SPEC_HASH.to_string(), r.spec_hash.clone()),
                ]);
                for (k, v) in spec
                    .get("labels")
                    .and_then(|l| l.as_object())
                    .into_iter()
                    .flatten()
                {
                    labels.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
                }
                let networks = spec["networks"]
                    .as_object()
                    .into_iter()
                    .flat_map(|n| n.keys())
                    .map(|k| (format!("demo_{k}"), vec![r.address.name.clone()]))
                    .collect();
                let ports = spec
                    .get("ports")
                    .and_then(|p| p.as_array())
                    .into_iter()
                    .flatten()
                    .map(|p| ObservedPort {
                        host_ip: String::new(),
                        host_port: p["published"].as_str().unwrap().to_string(),
                        container_port: p["target"].as_u64().unwrap() as u32,
                        protocol: "tcp".into(),
                    })
                    .collect();
                let image = spec["image"].as_str().unwrap().to_string();
                o.containers.push(ObservedContainer {
                    id: id(&r.address),
                    name: r.engine_name.clone(),
                    labels,
                    state: "running".into(),
                    image_id: format!("sha256:{}", r.address.name),
                    image,
                    // what a faithful apply leaves: the expected view
                    updatable: updatable(r.typed().container().unwrap()),
                    networks,
                    ports,
                    ..Default::default()
                });
            }
        }
    }
    o
}

fn plan_of(desired: &Desired, state: &State, observed: Option<&Observed>) -> Plan {
    diff(&DiffInput {
        mode: crate::plan::Mode::Converge,
        desired,
        state,
        observed,
        remove_orphans: false,
        targets: &[],
    })
}

/// `address action` for every resource that is not a no-op.
fn actions(p: &Plan) -> Vec<String> {
    p.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| format!("{} {}", c.address, c.action.as_str()))
        .collect()
}

fn change<'a>(p: &'a Plan, address: &str) -> &'a Change {
    let a: Address = address.parse().unwrap();
    p.changes.iter().find(|c| c.address == a).unwrap()
}

fn container_mut<'a>(o: &'a mut Observed, name: &str) -> &'a mut ObservedContainer {
    o.containers.iter_mut().find(|c| c.name == name).unwrap()
}

#[test]
fn from_nothing_everything_is_created() {
    let d = desired_from(STACK, &[]);
    let p = plan_of(&d, &State::new("demo"), Some(&Observed::default()));
    assert_eq!(
        actions(&p),
        [
            "network.back create",
            "volume.data create",
            "image.redis create",
            "image.web create",
            "container.redis[1] create",
            "container.web[1] create"
        ]
    );
    assert!(p.changes.iter().all(|c| c.reasons == [Reason::New]));
    assert_eq!(
        p.summary(),
        Summary {
            add: 6,
            change: 0,
            replace: 0,
            destroy: 0
        }
    );
}

#[test]
fn an_applied_and_untouched_stack_has_no_changes() {
    let d = desired_from(STACK, &[]);
    let p = plan_of(&d, &applied(&d), Some(&engine_for(&d)));
    assert_eq!(actions(&p), Vec::<String>::new());
    assert!(!p.has_changes());
    assert!(p.orphans.is_empty());
}

#[test]
fn a_changed_port_replaces_only_that_container_and_says_why() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(&STACK.replace("\"5000:5000\"", "\"8080:5000\""), &[]);
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(actions(&p), ["container.web[1] replace"]);
    assert_eq!(
        change(&p, "container.web[1]").reasons,
        [Reason::Config {
            path: "ports[0].published".into(),
            old: Some(json!("5000")),
            new: Some(json!("8080"))
        }]
    );
}

#[test]
fn a_restart_policy_change_is_an_update_in_place() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(&STACK.replace("unless-stopped", "always"), &[]);
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(
        actions(&p),
        ["container.web[1] update"],
        "{:#?}",
        change(&p, "container.web[1]").reasons
    );
}

#[test]
fn drift_a_stopped_container_is_started() {
    let d = desired_from(STACK, &[]);
    let mut o = engine_for(&d);
    let web = container_mut(&mut o, "demo-web-1");
    web.state = "exited".into();
    web.exit_code = Some(137);
    let p = plan_of(&d, &applied(&d), Some(&o));
    assert_eq!(actions(&p), ["container.web[1] update"]);
    assert_eq!(
        change(&p, "container.web[1]").reasons,
        [Reason::Drift(Drift::NotRunning {
            state: "exited".into(),
            exit_code: Some(137)
        })]
    );
}

#[test]
fn drift_a_removed_container_is_created_again() {
    let d = desired_from(STACK, &[]);
    let mut o = engine_for(&d);
    o.containers.retain(|c| c.name != "demo-redis-1");
    let p = plan_of(&d, &applied(&d), Some(&o));
    assert_eq!(actions(&p), ["container.redis[1] create"]);
    assert_eq!(
        change(&p, "container.redis[1]").reasons,
        [Reason::Drift(Drift::Missing)]
    );
}

#[test]
fn drift_a_retagged_image_replaces_the_containers_that_run_it() {
    let d = desired_from(STACK, &[]);
    let mut o = engine_for(&d);
    o.images
        .insert("redis:alpine".into(), "sha256:other".into());
    let p = plan_of(&d, &applied(&d), Some(&o));
    assert_eq!(
        actions(&p),
        ["image.redis update", "container.redis[1] replace"]
    );
    assert!(
        change(&p, "container.redis[1]")
            .reasons
            .contains(&Reason::Drift(Drift::ImageChanged {
                reference: "redis:alpine".into(),
                running: "sha256:redis".into(),
                current: "sha256:other".into(),
            }))
    );
}

#[test]
fn drift_docker_update_and_network_changes() {
    let d = desired_from(STACK, &[]);
    let mut o = engine_for(&d);
    container_mut(&mut o, "demo-web-1").updatable.restart = "always".into();
    container_mut(&mut o, "demo-web-1").updatable.memory = 64 << 20;
    container_mut(&mut o, "demo-redis-1")
        .networks
        .insert("bridge".into(), vec![]);
    let p = plan_of(&d, &applied(&d), Some(&o));
    // a memory limit added behind berth's back cannot be lifted in place
    assert_eq!(
        actions(&p),
        ["container.redis[1] replace", "container.web[1] replace"]
    );
    let paths: Vec<String> = change(&p, "container.web[1]")
        .reasons
        .iter()
        .filter_map(|r| match r {
            Reason::Drift(Drift::Attribute { path, .. }) => Some(path.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(paths, ["restart", "mem_limit"]);
}

#[test]
fn a_changed_restart_policy_alone_is_updated_in_place() {
    let d = desired_from(STACK, &[]);
    let mut o = engine_for(&d);
    container_mut(&mut o, "demo-web-1").updatable.restart = "always".into();
    let p = plan_of(&d, &applied(&d), Some(&o));
    assert_eq!(actions(&p), ["container.web[1] update"]);
    assert_eq!(change(&p, "container.web[1]").ops, [InPlace::EngineUpdate]);
}

#[test]
fn an_unhealthy_container_is_replaced() {
    let d = desired_from(STACK, &[]);
    let mut o = engine_for(&d);
    container_mut(&mut o, "demo-web-1").health = Some("unhealthy".into());
    let p = plan_of(&d, &applied(&d), Some(&o));
    assert_eq!(actions(&p), ["container.web[1] replace"]);
    assert_eq!(
        change(&p, "container.web[1]").reasons,
        [Reason::Drift(Drift::Unhealthy)]
    );
}

#[test]
fn a_replaced_network_replaces_the_containers_on_it() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(
        &STACK.replace("  back: {}", "  back: {internal: true}"),
        &[],
    );
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(
        actions(&p),
        [
            "network.back replace",
            "container.redis[1] replace",
            "container.web[1] replace"
        ]
    );
    assert!(
        change(&p, "container.web[1]")
            .reasons
            .contains(&Reason::Dependency {
                on: Address::network("back"),
                action: Action::Replace
            })
    );
}

#[test]
fn a_replaced_volume_is_marked_data_loss() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(
        &STACK.replace(
            "  data: {}",
            "  data: {driver_opts: {type: tmpfs, device: tmpfs}}",
        ),
        &[],
    );
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert!(change(&p, "volume.data").data_loss);
    assert_eq!(change(&p, "volume.data").action, Action::Replace);
}

#[test]
fn a_service_removed_from_the_file_is_destroyed() {
    let old = desired_from(STACK, &[]);
    let yaml = STACK.replace("    depends_on: [redis]\n", "");
    let start = yaml.find("  redis:\n").unwrap();
    let end = yaml.find("networks:\n  back").unwrap();
    let yaml = format!("{}{}", &yaml[..start], &yaml[end..]).replace("volumes:\n  data: {}\n", "");
    let new = desired_from(&yaml, &[]);
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(
        actions(&p),
        [
            "volume.data delete",
            "image.redis delete",
            "container.redis[1] delete"
        ]
    );
    assert_eq!(
        change(&p, "container.redis[1]").reasons,
        [Reason::Orphan {
            why: OrphanKind::RemovedFromFile
        }]
    );
    assert!(change(&p, "volume.data").data_loss);
}

#[test]
fn scaling_up_creates_the_next_numbers_and_down_deletes_the_highest() {
    let two = desired_from(STACK, &[("redis", 2)]);
    let four = desired_from(STACK, &[("redis", 4)]);
    let up = plan_of(&four, &applied(&two), Some(&engine_for(&two)));
    assert_eq!(
        actions(&up),
        ["container.redis[3] create", "container.redis[4] create"]
    );
    let down = plan_of(&two, &applied(&four), Some(&engine_for(&four)));
    assert_eq!(
        actions(&down),
        ["container.redis[3] delete", "container.redis[4] delete"]
    );
    assert_eq!(
        change(&down, "container.redis[4]").reasons,
        [Reason::ScaledDown {
            service: "redis".into(),
            replicas: 2
        }]
    );
}

#[test]
fn a_labelled_container_missing_from_state_is_adopted_not_duplicated() {
    let d = desired_from(STACK, &[]);
    let mut state = applied(&d);
    state.remove(&"container.web[1]".parse().unwrap());
    let p = plan_of(&d, &state, Some(&engine_for(&d)));
    assert_eq!(actions(&p), ["container.web[1] update"]);
    assert_eq!(
        change(&p, "container.web[1]").reasons,
        [Reason::Adopted {
            id: "id-container.web[1]".into(),
            matches: true
        }]
    );
}

#[test]
fn unknown_labelled_containers_are_orphans_deleted_only_when_asked() {
    let d = desired_from(STACK, &[]);
    let mut o = engine_for(&d);
    let mut stray = o.containers[0].clone();
    stray.id = "stray".into();
    stray.name = "demo-old-1".into();
    stray
        .labels
        .insert(labels::ADDRESS.into(), "container.old[1]".into());
    o.containers.push(stray);
    let p = plan_of(&d, &applied(&d), Some(&o));
    assert_eq!(actions(&p), Vec::<String>::new());
    assert_eq!(
        p.orphans,
        [Orphan {
            kind: "container".into(),
            name: "demo-old-1".into(),
            id: "stray".into()
        }]
    );
    let removing = diff(&DiffInput {
        mode: crate::plan::Mode::Converge,
        desired: &d,
        state: &applied(&d),
        observed: Some(&o),
        remove_orphans: true,
        targets: &[],
    });
    assert_eq!(actions(&removing), ["container.old[1] delete"]);
}

#[test]
fn without_refresh_only_configuration_counts() {
    let d = desired_from(STACK, &[]);
    let p = plan_of(&d, &applied(&d), None);
    assert!(!p.refreshed);
    assert!(!p.has_changes());
}

#[test]
fn external_networks_are_read_and_must_exist() {
    let yaml = STACK.replace("  back: {}", "  back: {external: true}");
    let d = desired_from(&yaml, &[]);
    let p = plan_of(&d, &State::new("demo"), Some(&Observed::default()));
    assert_eq!(change(&p, "network.back").action, Action::Read);
    assert_eq!(
        change(&p, "network.back").reasons,
        [Reason::ExternalMissing]
    );
    assert_eq!(p.errors.len(), 1);
    assert!(p.errors[0].contains("external network `back` does not exist"));
}

#[test]
fn a_network_that_belongs_to_no_project_is_a_plan_error() {
    let d = desired_from(STACK, &[]);
    let mut o = Observed::default();
    o.networks.push(ObservedNetwork {
        id: "n1".into(),
        name: "demo_back".into(),
        ..Default::default()
    });
    let p = plan_of(&d, &State::new("demo"), Some(&o));
    assert!(p.errors[0].contains(
        "a network named `demo_back` already exists and does not belong to project `demo`"
    ));
}

#[test]
fn sensitive_values_never_reach_the_plan() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(&STACK.replace("hunter2", "correcthorse"), &[]);
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    let web = change(&p, "container.web[1]");
    assert_eq!(
        web.reasons,
        [Reason::Config {
            path: "environment.DB_PASSWORD".into(),
            old: Some(json!("(sensitive)")),
            new: Some(json!("(sensitive)"))
        }]
    );
    let text = serde_json::to_string(&p).unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("correcthorse"),
        "{text}"
    );
}

#[test]
fn targets_limit_deletions_to_the_targeted_services() {
    let two = desired_from(STACK, &[("redis", 2)]);
    let one = desired_from(STACK, &[]);
    let p = diff(&DiffInput {
        mode: crate::plan::Mode::Converge,
        desired: &one,
        state: &applied(&two),
        observed: Some(&engine_for(&two)),
        remove_orphans: false,
        targets: &["web".to_string()],
    });
    assert_eq!(actions(&p), Vec::<String>::new());
}

#[test]
fn plans_serialise_and_read_back_with_the_same_hash() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(&STACK.replace("\"5000:5000\"", "\"8080:5000\""), &[]);
    let mut o = engine_for(&old);
    container_mut(&mut o, "demo-redis-1").state = "exited".into();
    let p = plan_of(&new, &applied(&old), Some(&o));
    let text = serde_json::to_string(&p).unwrap();
    let back: Plan = serde_json::from_str(&text).unwrap();
    let mut without_hashes = p.clone();
    for c in &mut without_hashes.changes {
        c.after_hash = None; // never written: it would expose masked values to guessing
    }
    assert_eq!(back, without_hashes);
    assert_eq!(back.hash(), p.hash());
    assert!(!text.contains("after_hash"));
}

#[test]
fn a_dependency_with_restart_true_restarts_its_dependent_when_replaced() {
    let yaml = STACK.replace(
        "    depends_on: [redis]\n",
        "    depends_on: {redis: {condition: service_started, restart: true}}\n",
    );
    let old = desired_from(&yaml, &[]);
    let new = desired_from(&yaml.replace("image: redis:alpine", "image: redis:7"), &[]);
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(
        actions(&p),
        [
            "image.redis create",
            "container.redis[1] replace",
            "container.web[1] update"
        ]
    );
    assert_eq!(
        change(&p, "container.web[1]").reasons,
        [Reason::Dependency {
            on: Address::container("redis", 1),
            action: Action::Replace
        }]
    );
}

const SHARED: &str = "services:
  db:
    image: db:1
  app:
    image: app:1
    network_mode: service:db
    ipc: service:db
  side:
    image: side:1
    volumes_from: [app]
  web:
    image: web:1
    depends_on:
      db: {condition: service_started, restart: true}
";

#[test]
fn replacing_a_container_replaces_those_in_its_namespaces_and_restarts_restart_dependents() {
    let old = desired_from(SHARED, &[]);
    let new = desired_from(&SHARED.replace("db:1", "db:2"), &[]);
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(
        actions(&p),
        [
            "image.db create",
            "container.app[1] replace",
            "container.db[1] replace",
            "container.side[1] replace",
            "container.web[1] update",
        ]
    );
    assert!(
        change(&p, "container.app[1]")
            .reasons
            .contains(&Reason::Dependency {
                on: "container.db[1]".parse().unwrap(),
                action: Action::Replace
            })
    );
    assert_eq!(change(&p, "container.web[1]").ops, [InPlace::Restart]);
}

#[test]
fn a_deploy_restart_policy_is_not_drift_after_apply() {
    let d = desired_from(
        "services:\n  app:\n    image: app:1\n    deploy:\n      restart_policy:\n        condition: on-failure\n        max_attempts: 3\n",
        &[],
    );
    let o = engine_for(&d);
    assert_eq!(
        o.containers[0].updatable.restart, "on-failure:3",
        "the engine holds what compose would set"
    );
    let p = plan_of(&d, &applied(&d), Some(&o));
    assert!(actions(&p).is_empty(), "{:#?}", p.changes);
}

#[test]
fn limits_changed_in_the_file_are_updated_in_place_and_lifting_one_replaces() {
    let yaml = "services:\n  app:\n    image: app:1\n    mem_limit: 64m\n    pids_limit: 50\n";
    let old = desired_from(yaml, &[]);
    let raised = desired_from(&yaml.replace("64m", "128m").replace("50", "80"), &[]);
    let p = plan_of(&raised, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(actions(&p), ["container.app[1] update"]);
    assert_eq!(change(&p, "container.app[1]").ops, [InPlace::EngineUpdate]);
    let lifted = desired_from(&yaml.replace("    mem_limit: 64m\n", ""), &[]);
    let p = plan_of(&lifted, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(actions(&p), ["container.app[1] replace"]);
}

#[test]
fn an_adopted_container_missing_a_network_is_replaced_not_recorded() {
    let yaml =
        "services:\n  app:\n    image: app:1\n    networks: [a, b]\nnetworks:\n  a: {}\n  b: {}\n";
    let d = desired_from(yaml, &[]);
    let mut o = engine_for(&d);
    let app = container_mut(&mut o, "demo-app-1");
    app.networks.remove("demo_b");
    app.state = "created".into();
    // the networks and the image were recorded; the container was not (killed mid-create)
    let mut state = applied(&d);
    state.remove(&"container.app[1]".parse().unwrap());
    let p = plan_of(&d, &state, Some(&o));
    assert_eq!(actions(&p), ["container.app[1] replace"]);
    // complete but never started: recorded and started
    let mut o = engine_for(&d);
    container_mut(&mut o, "demo-app-1").state = "created".into();
    let p = plan_of(&d, &state, Some(&o));
    assert_eq!(actions(&p), ["container.app[1] update"]);
    assert_eq!(change(&p, "container.app[1]").ops, [InPlace::Start]);
}

#[test]
fn refresh_only_plans_against_the_state_and_only_touches_the_state() {
    let old = desired_from(STACK, &[]);
    // the files changed since the apply: refresh-only does not care
    let new = desired_from(&STACK.replace("5000:5000", "8080:5000"), &[]);
    let mut o = engine_for(&old);
    o.containers.retain(|c| c.name != "demo-redis-1");
    let p = diff(&DiffInput {
        mode: Mode::RefreshOnly,
        desired: &new,
        state: &applied(&old),
        observed: Some(&o),
        remove_orphans: false,
        targets: &[],
    });
    assert_eq!(actions(&p), ["container.redis[1] create"]);
    assert_eq!(change(&p, "container.redis[1]").ops, [InPlace::Forget]);
}

#[test]
fn destroy_plans_every_resource_away_and_keeps_the_untargeted_ones() {
    let d = desired_from(STACK, &[]);
    let destroy = |targets: &[String]| {
        diff(&DiffInput {
            mode: Mode::Destroy,
            desired: &d,
            state: &applied(&d),
            observed: Some(&engine_for(&d)),
            remove_orphans: targets.is_empty(),
            targets,
        })
    };
    let all = destroy(&[]);
    assert!(
        all.changes.iter().all(|c| c.action == Action::Delete),
        "{:#?}",
        all.changes
    );
    assert_eq!(all.changes.len(), d.resources.len());
    let web = destroy(&["web".to_string()]);
    assert_eq!(
        actions(&web),
        ["image.web delete", "container.web[1] delete"]
    );
}
mod state_v1;
