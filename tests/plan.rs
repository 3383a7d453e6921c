//! `berth plan` as a reviewer meets it: on the example, on stacks made by hand
//! and by Docker Compose v2, and when the engine cannot be reached.

use std::path::Path;

use serde_json::Value;

use crate::common::engine::{
    Cleanup, EXAMPLE, demo_image, docker, engine_slot, label, unique_project,
};
use crate::common::{Berth, pretend_applied};

/// `berth <global> plan <plan_args> --format json --detailed-exitcode`, parsed.
fn plan_json(dir: &Path, global: &[&str], plan_args: &[&str], code: i32) -> Value {
    let run = Berth::new()
        .dir(dir)
        .args(global)
        .arg("plan")
        .args(plan_args)
        .args(["--format", "json", "--detailed-exitcode"])
        .run()
        .code(code);
    serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("plan JSON: {e}\n{}", run.stdout()))
}

/// `address action` of every change that is not a no-op.
fn actions(plan: &Value) -> Vec<String> {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| {
            format!(
                "{} {}",
                c["address"].as_str().unwrap(),
                c["action"].as_str().unwrap()
            )
        })
        .collect()
}

fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("{address} is not in the plan: {plan:#}"))
}

#[test]
fn a_plan_without_build_contexts_writes_no_state_and_no_cache() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  app:\n    image: berth-test-demo:latest\n",
    )
    .unwrap();
    let plan = plan_json(
        dir.path(),
        &["-p", "nothing-written"],
        &["--refresh=false"],
        2,
    );
    assert_eq!(
        actions(&plan),
        [
            "network.default create",
            "image.app create",
            "container.app[1] create"
        ]
    );
    // the lock file lives in `state/`; no state is written, and no cache
    // without a build context
    assert!(!dir.path().join("state/nothing-written.json").exists());
    assert!(
        !dir.path().join("state/cache").exists(),
        "no cache directory"
    );
}

#[test]
fn from_nothing_the_example_plans_every_resource_and_exits_2() {
    // it observes the engine, where a test applying the example holds the
    // example's fixed names for a while: those would be someone else's here
    let _example = EXAMPLE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = crate::common::example_copy(false);
    let project = unique_project("plan-ex");
    let plan = plan_json(dir.path(), &["-p", &project], &[], 2);
    assert_eq!(
        actions(&plan),
        [
            "network.service-network create",
            "image.redis create",
            "image.web create",
            "container.redis[1] create",
            "container.web[1] create"
        ]
    );
    assert_eq!(plan["summary"]["add"], 5);
    let state = dir.path().join("state").join(format!("{project}.json"));
    assert!(!state.exists(), "plan writes no state");
}

#[test]
fn a_changed_port_in_a_copy_of_the_example_replaces_only_web() {
    let dir = crate::common::example_copy(false);
    let project = unique_project("plan-port");
    pretend_applied(dir.path(), &project);
    let file = dir.path().join("compose.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("\"5000:5000\"", "\"5001:5000\"")).unwrap();

    let plan = plan_json(dir.path(), &["-p", &project], &["--refresh=false"], 2);
    assert_eq!(actions(&plan), ["container.web[1] replace"]);
    let reasons = &change(&plan, "container.web[1]")["reasons"];
    assert_eq!(
        reasons,
        &serde_json::json!([{"kind": "config", "path": "ports[0].published", "change": "modified", "old": "5000", "new": "5001"}])
    );
}

#[test]
fn no_changes_says_so_and_exits_0() {
    let dir = crate::common::example_copy(false);
    let project = unique_project("plan-none");
    pretend_applied(dir.path(), &project);
    Berth::new()
        .dir(dir.path())
        .args([
            "-p",
            &project,
            "plan",
            "--refresh=false",
            "--detailed-exitcode",
        ])
        .run()
        .code(0)
        .stdout_has("No changes. Docker matches the configuration.");
}

#[test]
fn a_saved_plan_can_be_shown() {
    let dir = crate::common::example_copy(false);
    let project = unique_project("plan-out");
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "plan", "--refresh=false", "-o", "out.plan"])
        .run()
        .code(0)
        .stderr_has("Saved the plan to `out.plan`");
    let shown = Berth::new()
        .dir(dir.path())
        .args(["show", "out.plan", "--format", "json"])
        .run()
        .code(0);
    let plan: Value = serde_json::from_str(&shown.stdout()).unwrap();
    assert_eq!(plan["summary"]["add"], 5);
    std::fs::write(dir.path().join("out.plan"), "{\"format_version\": 1}").unwrap();
    Berth::new()
        .dir(dir.path())
        .args(["show", "out.plan"])
        .run()
        .code(1)
        .stderr_has("plan file `out.plan` is damaged");
}

#[test]
fn an_unreachable_engine_is_one_line() {
    let dir = crate::common::example_copy(false);
    let run = Berth::new()
        .dir(dir.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args(["-p", "unreachable", "plan"])
        .run()
        .code(1)
        .stderr_has("unix:///nonexistent/docker.sock");
    let stderr = run.stderr();
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("warning:"))
        .collect();
    assert_eq!(problems.len(), 1, "{}", run.stderr());
}

const ONE_SERVICE: &str =
    "services:\n  app:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n";

#[test]
fn a_labelled_container_missing_from_state_is_adopted() {
    let _slot = engine_slot();
    let project = unique_project("plan-adopt");
    let _cleanup = Cleanup::new(&project);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), ONE_SERVICE).unwrap();
    let image = demo_image();

    // what berth would have created just before a crash lost the state write
    let loaded = berth::compose::load(berth::compose::LoadOptions {
        working_dir: dir.path().to_path_buf(),
        project_name: Some(project.clone()),
        ..Default::default()
    })
    .unwrap();
    let desired = berth::resource::resolve(&loaded.project, &Default::default()).unwrap();
    let app = &desired.resources[&"container.app[1]".parse().unwrap()];
    let network = format!("{project}_default");
    docker(&["network", "create", "--label", &label(&project), &network]);
    let address_label = "dev.berth.address=container.app[1]".to_string();
    let hash_label = format!("dev.berth.spec-hash={}", app.spec_hash);
    let id = docker(&[
        "run",
        "-d",
        "--name",
        &app.engine_name,
        "--label",
        &label(&project),
        "--label",
        &address_label,
        "--label",
        &hash_label,
        "--network",
        &network,
        image,
        "sleep",
    ]);

    let plan = plan_json(dir.path(), &["-p", &project], &[], 2);
    let c = change(&plan, "container.app[1]");
    assert_eq!(c["action"], "update", "{c:#}");
    assert_eq!(c["reasons"][0]["kind"], "adopted");
    assert_eq!(c["reasons"][0]["matches"], true);
    assert!(
        id.starts_with(c["reasons"][0]["id"].as_str().unwrap())
            || c["reasons"][0]["id"] == id.trim()
    );
    assert_eq!(change(&plan, "network.default")["action"], "update");
    assert_eq!(
        change(&plan, "image.app")["action"],
        "update",
        "a local image is recorded, not pulled"
    );
}

#[test]
fn containers_made_by_docker_compose_and_strays_are_reported() {
    let _slot = engine_slot();
    let project = unique_project("plan-compose");
    let _cleanup = Cleanup::new(&project);
    demo_image();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), ONE_SERVICE).unwrap();
    // `docker` panics with compose's stderr when `up` fails
    let project_dir = dir.path().display().to_string();
    docker(&[
        "compose",
        "-p",
        &project,
        "--project-directory",
        &project_dir,
        "up",
        "-d",
    ]);
    let ghost = format!("{project}-ghost-1");
    docker(&[
        "run",
        "-d",
        "--name",
        &ghost,
        "--label",
        &label(&project),
        "--label",
        "com.docker.compose.service=ghost",
        "--label",
        "com.docker.compose.container-number=1",
        demo_image(),
        "sleep",
    ]);

    let plan = plan_json(dir.path(), &["-p", &project], &[], 2);
    let app = change(&plan, "container.app[1]");
    // compose's container: found by compose's labels; berth cannot vouch for its spec
    assert_eq!(app["action"], "replace", "{app:#}");
    assert_eq!(app["reasons"][0]["kind"], "adopted");
    assert_eq!(app["reasons"][0]["matches"], false);
    assert_eq!(change(&plan, "network.default")["action"], "update");
    let orphans: Vec<&str> = plan["orphans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(orphans, [ghost.as_str()]);
    let text = Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "plan"])
        .run()
        .code(0);
    assert!(text.stdout().contains(&ghost), "{}", text.stdout());
    assert!(
        text.stdout().contains("--remove-orphans"),
        "{}",
        text.stdout()
    );
}
