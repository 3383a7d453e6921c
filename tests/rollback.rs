//! `berth rollback` against the real engine: after the image is rebuilt
//! under the same tag and applied, a rollback runs the previous image ID
//! again; `--to SERIAL` returns to an older deploy; with nothing to go back
//! to it is a one-line error that changes nothing. Also: apply keeps the
//! deploys' images under `berth-keep/<project>`, `--keep-deploys` bounds
//! them, destroy names them; a rollback rolls out as the deploy's
//! `deploy.update_config` says.

use std::path::Path;

use crate::common::engine::{Stack, demo_image, docker, try_docker};

/// `web` is built from the demo image plus a `version` file, so each
/// version is a new image under the same tag (`<project>-web`); `db`
/// never changes. `API_TOKEN` is sealed in the state. The context is a
/// directory of its own: the state directory beside the compose file
/// changes while an apply builds, and berth sends a context as it finds it.
const COMPOSE: &str = "services:\n  web:\n    build: ./web\n    environment:\n      API_TOKEN: t0k3n\n  db:\n    image: berth-test-demo:latest\n";

/// Removes the project's built tag when dropped (after the stack's
/// containers and kept references: see [`RollbackStack`]); the image goes
/// with it.
struct Images(String);

impl Drop for Images {
    fn drop(&mut self) {
        let _ = try_docker(&["rmi", "-f", &format!("{}-web", self.0)]);
    }
}

/// A stack of [`COMPOSE`] with web's Dockerfile; its images are removed
/// after its containers (fields drop in order).
struct RollbackStack {
    stack: Stack,
    _images: Images,
}

impl std::ops::Deref for RollbackStack {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

fn stack(prefix: &str) -> RollbackStack {
    let stack = Stack::new(prefix, COMPOSE);
    let images = Images(stack.project.clone());
    std::fs::create_dir(stack.dir.path().join("web")).unwrap();
    std::fs::write(
        stack.dir.path().join("web/Dockerfile"),
        format!("FROM {}\nCOPY version /version\n", demo_image()),
    )
    .unwrap();
    RollbackStack {
        stack,
        _images: images,
    }
}

fn version(stack: &Stack, v: &str) {
    std::fs::write(stack.dir.path().join("web/version"), v).unwrap();
}

fn apply(stack: &Stack, extra: &[&str]) {
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .args(extra)
        .run()
        .code(0)
        .stdout_has("Apply complete!");
}

/// The image a container runs, and its ID.
fn image_of(container: &str) -> String {
    docker(&["inspect", "-f", "{{.Image}}", container])
}

fn id_of(container: &str) -> String {
    docker(&["inspect", "-f", "{{.Id}}", container])
}

fn state_file(stack: &Stack) -> std::path::PathBuf {
    stack
        .dir
        .path()
        .join("state")
        .join(format!("{}.json", stack.project))
}

/// The serials of the deploys the state records, oldest first.
fn deploys(stack: &Stack) -> Vec<u64> {
    let text = std::fs::read_to_string(state_file(stack)).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    state["history"]
        .as_array()
        .map(|h| h.iter().map(|d| d["serial"].as_u64().unwrap()).collect())
        .unwrap_or_default()
}

/// The references under `berth-keep/<project>`, sorted.
fn kept(stack: &Stack) -> Vec<String> {
    let repository = format!("berth-keep/{}", stack.project);
    let out = docker(&[
        "image",
        "ls",
        &repository,
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]);
    let mut refs: Vec<String> = out.lines().map(str::to_string).collect();
    refs.sort();
    refs
}

fn image_id(reference: &str) -> String {
    docker(&["image", "inspect", "-f", "{{.Id}}", reference])
}

#[test]
fn rollback_runs_the_previous_image_id_again_though_the_tag_moved() {
    let stack = stack("rb-prev");
    let (web, db) = (
        format!("{}-web-1", stack.project),
        format!("{}-db-1", stack.project),
    );
    let tag = format!("{}-web", stack.project);
    version(&stack, "1");
    apply(&stack, &[]);
    let v1 = image_of(&web);
    let db_container = id_of(&db);
    // the same tag, rebuilt with other content
    version(&stack, "2");
    apply(&stack, &[]);
    let v2 = image_of(&web);
    assert_ne!(v1, v2);
    assert_eq!(image_id(&tag), v2, "the tag moved to the new image");
    let [first, _second] = deploys(&stack)[..] else {
        panic!("two deploys: {:?}", deploys(&stack));
    };
    // the old image has no name of its own any more: only berth's reference keeps it
    assert_eq!(
        image_id(&format!("berth-keep/{}:{first}-web", stack.project)),
        v1
    );
    let tags = docker(&["image", "inspect", "-f", "{{join .RepoTags \",\"}}", &v1]);
    assert!(
        tags.split(',').all(|t| t.starts_with("berth-keep/")),
        "{tags}"
    );

    let run = stack
        .berth()
        .args(["rollback", "--auto-approve"])
        .run()
        .code(0)
        .stdout_has(&format!("Rolling back to deploy {first} ("))
        .stdout_has(&format!("~ image: \"{tag}\" -> \"{v1}\""))
        .stdout_has("Rollback complete! Resources: 0 added, 0 changed, 1 replaced, 0 destroyed.");
    assert!(!run.stdout().contains("t0k3n"), "{}", run.stdout());
    assert_eq!(image_of(&web), v1, "the previous image ID runs again");
    assert_eq!(image_id(&tag), v2, "the tag was left where it points");
    assert_eq!(id_of(&db), db_container, "db ran as it runs: left alone");
    let env = docker(&["inspect", "-f", "{{json .Config.Env}}", &web]);
    assert!(
        env.contains("API_TOKEN=t0k3n"),
        "the sealed value comes from the files: {env}"
    );
    assert_eq!(deploys(&stack).len(), 3, "the rollback is a deploy too");

    // the files still ask for the tag: the next plan goes forward again
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2)
        .stdout_has(&format!("~ image: \"{v1}\" -> \"{tag}\""));

    let run = stack
        .berth()
        .args(["destroy", "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("Kept images (the recorded deploys', for `berth rollback`): ");
    for reference in kept(&stack) {
        assert!(run.stdout().contains(&reference), "{reference} not named");
    }
}

#[test]
fn rollback_to_an_older_serial_and_keep_deploys_bounds_the_history() {
    let stack = stack("rb-to");
    let web = format!("{}-web-1", stack.project);
    let mut ids = Vec::new();
    for v in ["1", "2", "3"] {
        version(&stack, v);
        apply(&stack, &[]);
        ids.push(image_of(&web));
    }
    let serials = deploys(&stack);
    assert_eq!(serials.len(), 3);
    assert!(serials.windows(2).all(|w| w[0] < w[1]), "{serials:?}");
    let listed = stack
        .berth()
        .args(["state", "history"])
        .run()
        .code(0)
        .stdout();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    for (line, serial) in lines.iter().zip(&serials) {
        assert!(
            line.trim_start().starts_with(&format!("{serial}  ")),
            "{listed}"
        );
        assert!(line.contains("  2 containers"), "{listed}");
    }
    assert!(
        lines[1].ends_with("(berth rollback returns here)"),
        "{listed}"
    );
    assert!(lines[2].ends_with("(latest)"), "{listed}");

    stack
        .berth()
        .args([
            "rollback",
            "--auto-approve",
            "--to",
            &serials[0].to_string(),
        ])
        .run()
        .code(0)
        .stdout_has(&format!("Rolling back to deploy {} (", serials[0]));
    assert_eq!(image_of(&web), ids[0], "deploy {}'s image", serials[0]);

    // by default: the deploy before the latest (the rollback), i.e. version 3
    stack
        .berth()
        .args(["rollback", "--auto-approve"])
        .run()
        .code(0)
        .stdout_has(&format!("Rolling back to deploy {} (", serials[2]));
    assert_eq!(image_of(&web), ids[2]);

    // five kept, as by default; each deploy's images kept under its serial
    let history = deploys(&stack);
    assert_eq!(history.len(), 5);
    let want: Vec<String> = {
        let mut w: Vec<String> = history
            .iter()
            .flat_map(|s| {
                [
                    format!("berth-keep/{}:{s}-db", stack.project),
                    format!("berth-keep/{}:{s}-web", stack.project),
                ]
            })
            .collect();
        w.sort();
        w
    };
    assert_eq!(kept(&stack), want);

    // --keep-deploys 2: the older deploys and their references go
    let last = *history.last().unwrap();
    version(&stack, "4");
    apply(&stack, &["--keep-deploys", "2"]);
    let history = deploys(&stack);
    assert_eq!(history.len(), 2);
    assert_eq!(history[0], last);
    assert_eq!(kept(&stack).len(), 4, "{:?}", kept(&stack));
    assert!(
        kept(&stack)
            .iter()
            .all(|r| history.iter().any(|s| r.contains(&format!(":{s}-")))),
        "{:?}",
        kept(&stack)
    );
    // version 1's image went with its last reference
    assert!(
        try_docker(&["image", "inspect", &ids[0]]).is_err(),
        "{} is still on the engine",
        ids[0]
    );
}

#[test]
fn nothing_to_roll_back_to_is_a_one_line_error_and_changes_nothing() {
    let stack = stack("rb-none");
    version(&stack, "1");
    let one_line = |stderr: String| {
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        stderr
    };

    // no state at all
    let run = stack
        .berth()
        .args(["rollback", "--auto-approve"])
        .run()
        .code(1);
    assert_eq!(
        one_line(run.stderr()),
        "error: nothing to roll back to: the state records no deploys yet (every `berth apply` that changes containers records one)\n"
    );
    assert!(!state_file(&stack).exists());
    assert_eq!(
        docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label={}", crate::common::engine::label(&stack.project)),
        ]),
        ""
    );

    // one deploy: it is the latest
    apply(&stack, &[]);
    let web = format!("{}-web-1", stack.project);
    let container = id_of(&web);
    let before = std::fs::read(state_file(&stack)).unwrap();
    let serial = deploys(&stack)[0];
    let run = stack
        .berth()
        .args(["rollback", "--auto-approve"])
        .run()
        .code(1);
    assert!(
        one_line(run.stderr()).starts_with(&format!(
            "error: nothing to roll back to: the state records one deploy only, {serial} ("
        )),
        "{}",
        run.stderr()
    );
    // an unknown serial
    let run = stack
        .berth()
        .args(["rollback", "--auto-approve", "--to", "12345"])
        .run()
        .code(1);
    assert!(
        one_line(run.stderr()).starts_with(&format!(
            "error: no deploy with serial 12345; the state records deploys {serial} ("
        )),
        "{}",
        run.stderr()
    );
    assert_eq!(
        std::fs::read(state_file(&stack)).unwrap(),
        before,
        "state unchanged"
    );
    assert_eq!(id_of(&web), container, "container unchanged");
    assert!(Path::new(&state_file(&stack)).exists());
}

#[test]
fn a_sensitive_value_changed_since_is_refused_by_name_and_approval_is_asked() {
    let stack = stack("rb-secret");
    let web = format!("{}-web-1", stack.project);
    let compose = stack.dir.path().join("compose.yaml");
    version(&stack, "1");
    apply(&stack, &[]);
    let first = deploys(&stack)[0];
    std::fs::write(&compose, COMPOSE.replace("t0k3n", "n3w-t0k3n")).unwrap();
    apply(&stack, &[]);
    let container = id_of(&web);
    let before = std::fs::read(state_file(&stack)).unwrap();

    // the state keeps only a keyed hash of deploy 1's token: not restorable
    let run = stack
        .berth()
        .args(["rollback", "--auto-approve"])
        .run()
        .code(1);
    assert_eq!(
        run.stderr(),
        format!(
            "error: `container.web[1]`: `environment.API_TOKEN` (sensitive) is not what deploy {first} ran, and the state keeps no sensitive values, only their keyed hashes: set it back to the value deploy {first} ran and roll back again, or change it forward with `berth apply`\n"
        )
    );
    assert!(!run.stdout().contains("t0k3n") && !run.stderr().contains("t0k3n"));
    assert_eq!(std::fs::read(state_file(&stack)).unwrap(), before);
    assert_eq!(id_of(&web), container);

    // the files hold deploy 1's value again: the rollback plans, and asks first
    std::fs::write(&compose, COMPOSE).unwrap();
    stack
        .berth()
        .args(["rollback"])
        .run()
        .code(1)
        .stdout_has("environment.API_TOKEN: (sensitive)")
        .stderr_has("error: refusing to change the engine without approval: no terminal to ask on; review the plan with a terminal, or run with --auto-approve");
    assert_eq!(std::fs::read(state_file(&stack)).unwrap(), before);
    assert_eq!(id_of(&web), container);
    stack
        .berth()
        .args(["rollback", "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("Rollback complete!");
    let env = docker(&["inspect", "-f", "{{json .Config.Env}}", &web]);
    assert!(env.contains("\"API_TOKEN=t0k3n\""), "{env}");
}

#[test]
fn a_rollback_rolls_out_as_the_deploys_update_config_says() {
    let yaml = |version: &str| {
        format!(
            "services:
  kv:
    image: berth-test-demo:latest
    command: [\"kv\"]
    scale: 2
    environment: {{VERSION: '{version}'}}
    healthcheck:
      test: [\"CMD\", \"/berth-demo\", \"probe\", \"tcp\", \"127.0.0.1:6379\"]
      interval: 1s
      timeout: 1s
      retries: 2
    deploy:
      update_config: {{order: start-first, parallelism: 1}}
"
        )
    };
    let stack = Stack::new("rb-roll", &yaml("1"));
    let compose = stack.dir.path().join("compose.yaml");
    for v in ["1", "2"] {
        std::fs::write(&compose, yaml(v)).unwrap();
        stack
            .berth()
            .args(["apply", "--auto-approve", "--quiet"])
            .run()
            .code(0);
    }
    let demo = image_id(demo_image());
    stack
        .berth()
        .args(["rollback", "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("container.kv[1..2] rolling replace, start-first, 1 at a time")
        .stdout_has("Rollback complete! Resources: 0 added, 0 changed, 2 replaced, 0 destroyed.");
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=com.docker.compose.project={}", stack.project),
        "--format",
        "{{.Names}} {{.State}}",
    ]);
    let mut all: Vec<&str> = out.lines().collect();
    all.sort();
    let p = &stack.project;
    assert_eq!(
        all,
        [
            format!("{p}-kv-1 running").as_str(),
            format!("{p}-kv-2 running").as_str()
        ],
        "nothing temporary left"
    );
    for n in 1..=2 {
        let name = format!("{p}-kv-{n}");
        let env = docker(&["inspect", "-f", "{{json .Config.Env}}", &name]);
        assert!(env.contains("VERSION=1"), "{env}");
        assert_eq!(image_of(&name), demo);
        assert_eq!(
            docker(&["inspect", "-f", "{{.Config.Image}}", &name]),
            demo,
            "pinned by ID"
        );
    }
}

/// `rollback -o FILE` saves the rollback's plan for review without changing
/// anything; `berth rollback FILE` applies exactly it (no prompt), once:
/// afterwards it is stale. `berth apply` refuses it.
#[test]
fn a_saved_rollback_plan_is_applied_by_rollback_once() {
    let stack = stack("rb-saved");
    let web = format!("{}-web-1", stack.project);
    version(&stack, "1");
    apply(&stack, &[]);
    let v1 = image_of(&web);
    version(&stack, "2");
    apply(&stack, &[]);
    let v2 = image_of(&web);
    stack
        .berth()
        .args(["rollback", "-o", "rb.plan"])
        .run()
        .code(0)
        .stderr_has("To perform exactly these actions, run: berth rollback rb.plan");
    assert_eq!(image_of(&web), v2, "saving the plan changes nothing");
    stack
        .berth()
        .args(["apply", "rb.plan"])
        .run()
        .code(1)
        .stderr_has("is a rollback's plan");
    stack
        .berth()
        .args(["rollback", "rb.plan"])
        .run()
        .code(0)
        .stdout_has("Rollback complete!");
    assert_eq!(image_of(&web), v1);
    stack
        .berth()
        .args(["rollback", "rb.plan"])
        .run()
        .code(1)
        .stderr_has("is stale");
}
