//! Replacements that spread: to the containers on a replaced network, in a
//! replaced container's namespaces, or restarted with it (`restart: true`).

use super::*;

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
