//! Drift: the engine holds something other than what was applied (stopped,
//! gone, another image, other limits or networks, unhealthy), and the
//! smallest repair.

use super::*;

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
