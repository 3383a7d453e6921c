//! Adopting what others created: a project brought up by `docker compose up`,
//! a container made by `docker run`, and the state commands around renames.

use crate::apply::example_copy;
use crate::common::Berth;
use crate::common::engine::{Cleanup, EXAMPLE, Stack, docker, engine_slot, unique_project};

#[test]
fn a_compose_project_is_imported_and_then_plans_no_changes() {
    let _example = EXAMPLE.lock().unwrap_or_else(|e| e.into_inner());
    let _slot = engine_slot();
    let project = unique_project("import");
    let mut cleanup = Cleanup::new(&project);
    cleanup.network("service-network");
    let dir = example_copy();
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
        "--build",
    ]);
    let _images = ImagesGone(vec![format!("{project}-redis"), "web:latest".into()]);

    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "import"])
        .run()
        .code(0)
        .stdout_has("Imported container.web[1]")
        .stdout_has("Imported network.service-network");
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "plan", "--detailed-exitcode"])
        .run()
        .code(0)
        .stdout_has("No changes.");

    // one change in the file: exactly that change is planned
    let f = dir.path().join("compose.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        text.replace(
            "    container_name: \"redis\"\n",
            "    container_name: \"redis\"\n    restart: always\n",
        ),
    )
    .unwrap();
    let run = Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "plan", "--detailed-exitcode"])
        .run()
        .code(2);
    assert!(
        run.stdout().contains("~ container.redis[1]"),
        "{}",
        run.stdout()
    );
    assert!(run.stdout().contains("restart"), "{}", run.stdout());
    assert!(
        run.stdout()
            .contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{}",
        run.stdout()
    );
}

struct ImagesGone(Vec<String>);

impl Drop for ImagesGone {
    fn drop(&mut self) {
        for i in &self.0 {
            let _ = crate::common::engine::try_docker(&["rmi", "-f", i]);
        }
    }
}

const ONE: &str = "services:\n  app:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n    network_mode: bridge\n";

#[test]
fn a_container_made_by_docker_run_is_imported_by_address() {
    let stack = Stack::new("import-one", ONE);
    let name = format!("{}-app-1", stack.project);
    let id = docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        &format!("com.docker.compose.project={}", stack.project),
        "--network",
        "bridge",
        "berth-test-demo:latest",
        "sleep",
    ]);
    stack
        .berth()
        .args(["import", "container.app[1]", &name])
        .run()
        .code(0)
        .stdout_has("Imported container.app[1]");
    let shown = stack
        .berth()
        .args(["state", "show", "container.app[1]"])
        .run()
        .code(0);
    assert!(shown.stdout().contains(id.trim()), "{}", shown.stdout());
}

#[test]
fn state_mv_after_renaming_a_service_plans_no_replacement() {
    let stack = Stack::new("mv", ONE);
    stack
        .berth()
        .args(["apply", "--auto-approve", "--quiet"])
        .run()
        .code(0);
    let f = stack.dir.path().join("compose.yaml");
    std::fs::write(&f, ONE.replace("  app:", "  worker:")).unwrap();
    stack
        .berth()
        .args(["state", "mv", "container.app[1]", "container.worker[1]"])
        .run()
        .code(0);
    stack
        .berth()
        .args(["state", "mv", "image.app", "image.worker"])
        .run()
        .code(0);
    let run = stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2);
    assert!(run.stdout().contains("0 to replace"), "{}", run.stdout());
    assert!(
        run.stdout().contains("~ container.worker[1]"),
        "{}",
        run.stdout()
    );
    stack
        .berth()
        .args(["apply", "--auto-approve", "--quiet"])
        .run()
        .code(0);
    docker(&["inspect", &format!("{}-worker-1", stack.project)]);
}

#[test]
fn after_state_rm_a_labelled_container_is_adopted_again() {
    let stack = Stack::new("rm", ONE);
    stack
        .berth()
        .args(["apply", "--auto-approve", "--quiet"])
        .run()
        .code(0);
    stack
        .berth()
        .args(["state", "rm", "container.app[1]"])
        .run()
        .code(0);
    // it still carries berth's address and spec-hash labels: adopted, not orphaned or duplicated
    let run = stack.berth().args(["plan"]).run().code(0);
    assert!(
        run.stdout().contains("adopted, not duplicated"),
        "{}",
        run.stdout()
    );
    assert!(run.stdout().contains("0 to add"), "{}", run.stdout());
}
