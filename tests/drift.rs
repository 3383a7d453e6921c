//! Drift: each change made behind berth's back with the docker CLI is named by
//! `berth drift --detailed-exitcode` (exit 2, resource and attribute), and
//! `berth apply` repairs it so that the next plan has no changes.

use serde_json::Value;

use crate::common::engine::{Stack, docker, try_docker};

const STACK: &str = "services:
  app:
    image: IMAGE
    command: [\"sleep\"]
    restart: unless-stopped
    networks: [front]
    volumes: [\"data:/data\"]
networks:
  front: {}
  other: {}
volumes:
  data: {}
";

/// A stack applied by berth, running its own copy of the demo image (so retagging it disturbs nobody).
fn applied(prefix: &str) -> (Stack, String) {
    let mut stack = Stack::new(prefix, "");
    let image = format!("{}-img:latest", stack.project);
    docker(&["tag", "berth-test-demo:latest", &image]);
    stack.cleanup_image(&image);
    // `other` is declared but unused (compose drops it); it exists for the connect test
    let yaml = STACK.replace("IMAGE", &image);
    std::fs::write(stack.dir.path().join("compose.yaml"), yaml).unwrap();
    stack
        .berth()
        .args(["apply", "--auto-approve", "--quiet"])
        .run()
        .code(0);
    (stack, image)
}

fn drift_json(stack: &Stack, code: i32) -> Value {
    let run = stack
        .berth()
        .args(["drift", "--detailed-exitcode", "--format", "json"])
        .run()
        .code(code);
    serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout()))
}

/// Every (address, reason text) in a plan's JSON, for asserting on.
fn reasons(plan: &Value) -> Vec<String> {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .flat_map(|c| {
            c["reasons"].as_array().unwrap().iter().map(move |r| {
                format!(
                    "{} {} {} {}",
                    c["address"].as_str().unwrap(),
                    r["kind"],
                    r["what"],
                    r.get("path").unwrap_or(&Value::Null)
                )
            })
        })
        .collect()
}

fn repaired(stack: &Stack) {
    stack
        .berth()
        .args(["apply", "--auto-approve", "--quiet"])
        .run()
        .code(0);
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0)
        .stdout_has("No changes.");
}

fn assert_named(stack: &Stack, want: &str) {
    let plan = drift_json(stack, 2);
    let all = reasons(&plan);
    assert!(
        all.iter().any(|r| r.contains(want)),
        "{want:?} not among {all:#?}"
    );
}

fn container(stack: &Stack) -> String {
    format!("{}-app-1", stack.project)
}

#[test]
fn an_untouched_stack_never_drifts() {
    let (stack, _) = applied("nodrift");
    for _ in 0..3 {
        stack
            .berth()
            .args(["drift", "--detailed-exitcode"])
            .run()
            .code(0);
    }
}

#[test]
fn a_stopped_container_is_drift_and_is_started_again() {
    let (stack, _) = applied("stopped");
    docker(&["stop", &container(&stack)]);
    assert_named(&stack, "container.app[1] \"drift\" \"not_running\"");
    repaired(&stack);
}

#[test]
fn a_removed_container_is_drift_and_is_created_again() {
    let (stack, _) = applied("removed");
    docker(&["rm", "-f", &container(&stack)]);
    assert_named(&stack, "container.app[1] \"drift\" \"missing\"");
    repaired(&stack);
}

#[test]
fn a_renamed_container_is_drift() {
    let (stack, _) = applied("renamed");
    docker(&[
        "rename",
        &container(&stack),
        &format!("{}-elsewhere", stack.project),
    ]);
    assert_named(&stack, "\"attribute\" \"name\"");
    repaired(&stack);
}

#[test]
fn docker_update_of_restart_policy_and_memory_is_drift() {
    let (stack, _) = applied("updated");
    docker(&[
        "update",
        "--restart=always",
        "--memory=64m",
        "--memory-swap=128m",
        &container(&stack),
    ]);
    assert_named(&stack, "\"attribute\" \"restart\"");
    assert_named(&stack, "\"attribute\" \"mem_limit\"");
    repaired(&stack);
}

#[test]
fn network_disconnect_and_connect_are_drift() {
    let (stack, _) = applied("netdrift");
    let front = format!("{}_front", stack.project);
    docker(&["network", "disconnect", &front, &container(&stack)]);
    assert_named(&stack, "\"attribute\" \"networks\"");
    repaired(&stack);
    let extra = format!("{}_extra", stack.project);
    docker(&[
        "network",
        "create",
        "--label",
        &format!("com.docker.compose.project={}", stack.project),
        &extra,
    ]);
    docker(&["network", "connect", &extra, &container(&stack)]);
    assert_named(&stack, "\"attribute\" \"networks\"");
    repaired(&stack);
    let _ = try_docker(&["network", "rm", &extra]);
}

#[test]
fn a_removed_volume_is_drift() {
    let (stack, _) = applied("voldrift");
    docker(&["rm", "-f", &container(&stack)]);
    docker(&["volume", "rm", &format!("{}_data", stack.project)]);
    assert_named(&stack, "volume.data \"drift\" \"missing\"");
    repaired(&stack);
}

#[test]
fn an_image_tag_pointing_at_another_build_is_drift() {
    let (stack, image) = applied("retag");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM berth-test-demo:latest\nLABEL drift=yes\n",
    )
    .unwrap();
    docker(&["build", "-q", "-t", &image, dir.path().to_str().unwrap()]);
    assert_named(&stack, "container.app[1] \"drift\" \"image_changed\"");
    repaired(&stack);
    let _ = try_docker(&["rmi", "-f", &image]);
}

#[test]
fn apply_refresh_only_accepts_what_the_engine_shows_without_touching_it() {
    let (stack, _) = applied("accept");
    docker(&["rm", "-f", &container(&stack)]);
    stack
        .berth()
        .args(["apply", "--refresh-only", "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("1 forgotten");
    let listed = stack.berth().args(["state", "list"]).run().code(0);
    assert!(
        !listed.stdout().contains("container.app[1]"),
        "{}",
        listed.stdout()
    );
    assert!(
        try_docker(&["inspect", &container(&stack)]).is_err(),
        "the engine was not changed"
    );
    // the state no longer claims the container: a normal plan creates it
    stack
        .berth()
        .args(["plan"])
        .run()
        .code(0)
        .stdout_has("container.app[1] will be created");
}
