//! Rollouts against the real engine: a replacement driven by
//! `deploy.update_config` starts the new container before the old one stops
//! (start-first), holds it to its gate, and leaves the old one serving when
//! the gate is never passed.

use crate::common::engine::{Stack, docker};

/// Two replicas of a kv server with a healthcheck, rolled start-first one at
/// a time; `VERSION` is what a test changes.
fn stack_yaml(version: &str, health_test: &str, failure_action: &str) -> String {
    format!(
        "services:
  kv:
    image: berth-test-demo:latest
    command: [\"kv\"]
    scale: 2
    environment: {{VERSION: '{version}'}}
    healthcheck:
      test: {health_test}
      interval: 1s
      timeout: 1s
      retries: 2
    deploy:
      update_config: {{order: start-first, parallelism: 1, failure_action: {failure_action}}}
"
    )
}

const HEALTHY: &str = "[\"CMD\", \"/berth-demo\", \"probe\", \"tcp\", \"127.0.0.1:6379\"]";
const NEVER_HEALTHY: &str = "[\"CMD\", \"/berth-demo\", \"probe\", \"tcp\", \"127.0.0.1:1\"]";

fn write(stack: &Stack, yaml: &str) {
    std::fs::write(stack.dir.path().join("compose.yaml"), yaml).unwrap();
}

/// The project's containers as `name id running`, sorted.
fn containers(stack: &Stack) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=com.docker.compose.project={}", stack.project),
        "--format",
        "{{.Names}} {{.ID}} {{.State}}",
    ]);
    let mut all: Vec<String> = out.lines().map(str::to_string).collect();
    all.sort();
    all
}

fn env_of(name: &str) -> String {
    docker(&["inspect", "-f", "{{json .Config.Env}}", name])
}

/// Whether the container `name` exists and runs version `v` now (mid-rollout
/// the name may be free for a moment, between the old and the new holder).
fn runs_version(name: &str, v: &str) -> bool {
    crate::common::engine::try_docker(&["inspect", "-f", "{{json .Config.Env}}", name])
        .is_ok_and(|env| env.contains(&format!("VERSION={v}")))
}

/// `dep` (a kv server) beside two replicas of `kv`, healthy while `probe`
/// answers, rolled as `update_config` says: version 2 probing `dep:6379`
/// turns unhealthy when a test stops `dep`.
fn dep_gated_yaml(version: &str, probe: &str, update_config: &str) -> String {
    format!(
        "services:
  dep:
    image: berth-test-demo:latest
    command: [\"kv\"]
  kv:
    image: berth-test-demo:latest
    command: [\"kv\"]
    scale: 2
    environment: {{VERSION: '{version}'}}
    healthcheck:
      test: [\"CMD\", \"/berth-demo\", \"probe\", \"tcp\", \"{probe}\"]
      interval: 1s
      timeout: 1s
      retries: 2
    deploy:
      update_config: {update_config}
"
    )
}

/// A stack of `yaml`, applied.
fn applied(prefix: &str, yaml: &str) -> Stack {
    let stack = Stack::new(prefix, yaml);
    stack
        .berth()
        .args(["apply", "--auto-approve", "--quiet"])
        .run()
        .code(0);
    stack
}

/// Wait (up to a minute) until `done`; `what` names it when it never is.
fn wait_until(stack: &Stack, what: &str, done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed().as_secs() < 60,
            "{what} did not happen: {:#?}",
            containers(stack)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The IDs of the project's `kv` replicas 1 and 2.
fn kv_ids(stack: &Stack) -> Vec<String> {
    (1..=2)
        .map(|n| {
            let name = format!("{}-kv-{n}", stack.project);
            docker(&["inspect", "-f", "{{.Id}}", &name])
                .trim()
                .to_string()
        })
        .collect()
}

/// The replicas run their old containers again, under their own names, and
/// nothing temporary is left.
fn assert_rolled_back_to(stack: &Stack, old: &[String]) {
    assert_eq!(kv_ids(stack), old);
    for n in 1..=2 {
        assert!(env_of(&format!("{}-kv-{n}", stack.project)).contains("VERSION=1"));
    }
    let names = containers(stack);
    assert!(names.iter().all(|c| !c.contains("-berth-")), "{names:#?}");
}

#[test]
fn start_first_starts_each_new_container_before_its_old_one_stops() {
    let stack = applied("roll", &stack_yaml("1", HEALTHY, "rollback"));
    let since = docker(&["info", "-f", "{{.SystemTime}}"])
        .trim()
        .to_string();
    write(&stack, &stack_yaml("2", HEALTHY, "rollback"));
    stack
        .berth()
        .args(["plan"])
        .run()
        .code(0)
        .stdout_has("container.kv[1..2] rolling replace, start-first, 1 at a time, gate: healthcheck (≤ 4 s), on failure: rollback (stop-first)");
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    let until = docker(&["info", "-f", "{{.SystemTime}}"])
        .trim()
        .to_string();

    // the canonical names run the new version; nothing temporary is left
    let p = &stack.project;
    let all = containers(&stack);
    assert_eq!(all.len(), 2, "{all:#?}");
    for n in 1..=2 {
        let name = format!("{p}-kv-{n}");
        assert!(
            all.iter()
                .any(|c| c.starts_with(&format!("{name} ")) && c.ends_with(" running")),
            "{all:#?}"
        );
        assert!(env_of(&name).contains("VERSION=2"), "{}", env_of(&name));
    }
    // the engine's own record of the order: each new container (under its
    // temporary name) started before the old one of its replica died, and
    // replica 2 began only after replica 1 was done
    let events = docker(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        &format!("label=com.docker.compose.project={p}"),
        "--filter",
        "type=container",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    let order: Vec<&str> = events
        .lines()
        .filter(|l| l.starts_with("start ") || l.starts_with("die ") || l.starts_with("rename "))
        .collect();
    let at = |line: &str| {
        order
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("no `{line}` in {order:#?}"))
    };
    for n in 1..=2 {
        let next = format!("start {p}-kv-{n}-berth-next");
        let old_died = format!("die {p}-kv-{n}");
        assert!(at(&next) < at(&old_died), "{order:#?}");
    }
    assert!(
        at(&format!("die {p}-kv-1")) < at(&format!("start {p}-kv-2-berth-next")),
        "{order:#?}"
    );
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
}

#[test]
fn a_gate_never_passed_leaves_the_old_container_serving_and_the_change_planned() {
    let stack = applied("rollfail", &stack_yaml("1", HEALTHY, "rollback"));
    let before = containers(&stack);
    write(&stack, &stack_yaml("2", NEVER_HEALTHY, "rollback"));
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("is unhealthy")
        .stderr_has("the old container keeps serving");
    // the same containers as before, still running; no temporary ones left
    assert_eq!(containers(&stack), before);
    let p = &stack.project;
    assert!(env_of(&format!("{p}-kv-1")).contains("VERSION=1"));
    // the state still records the old containers: the change is planned again
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2)
        .stdout_has("Plan: 0 to add, 0 to change, 2 to replace, 0 to destroy.");
    // the state keeps what happened
    stack
        .berth()
        .args(["state", "history"])
        .run()
        .code(0)
        .stdout_has("last failed rollout, ")
        .stdout_has(
            ": container.kv[1]: the new container failed its gate; the old one kept serving",
        );
}

#[test]
fn a_fixed_host_port_makes_the_plan_say_stop_first_and_why() {
    let yaml = "services:
  web:
    image: berth-test-demo:latest
    command: [\"sleep\"]
    environment: {V: '1'}
    ports: ['127.0.0.1:18931:5000']
    deploy:
      update_config: {order: start-first}
";
    let stack = applied("rollport", yaml);
    write(&stack, &yaml.replace("V: '1'", "V: '2'"));
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("container.web[1] rolling replace, stop-first, 1 at a time, gate: running for 5 s, on failure: pause (stop-first: it publishes host port 18931, which the old and new container cannot both hold)");
    let name = format!("{}-web-1", stack.project);
    assert!(env_of(&name).contains("V=2"));
}

/// What an apply killed mid-rollout leaves (the new container under its
/// temporary name) is planned for removal and removed; nothing else moves.
#[test]
fn a_leftover_of_an_interrupted_rollout_is_removed_by_the_next_apply() {
    let stack = applied("rollleft", &stack_yaml("1", HEALTHY, "pause"));
    let before = containers(&stack);
    let p = &stack.project;
    docker(&[
        "create",
        "--name",
        &format!("{p}-kv-1-berth-next"),
        "--label",
        &format!("com.docker.compose.project={p}"),
        "--label",
        "dev.berth.address=container.kv[1]",
        "berth-test-demo:latest",
    ]);
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2)
        .stdout_has("Left over by an interrupted rollout (apply removes them first):")
        .stdout_has(&format!("container.kv[1] {p}-kv-1-berth-next"));
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    assert_eq!(containers(&stack), before);
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
}

/// `apply --watch`: a new version that passes its gate but turns unhealthy
/// while watched is rolled back: the old containers run again, the state
/// records them, apply exits 1 and the next plan shows the change again.
#[test]
fn apply_watch_rolls_back_a_version_that_turns_unhealthy() {
    const ROLL: &str = "{order: start-first, parallelism: 1}";
    let yaml = |version: &str, probe: &str| dep_gated_yaml(version, probe, ROLL);
    let stack = applied("rollwatch", &yaml("1", "127.0.0.1:6379"));
    let p = stack.project.clone();
    let old = kv_ids(&stack);
    // version 2 is healthy only while `dep` answers
    write(&stack, &yaml("2", "dep:6379"));
    let watcher = {
        let berth = stack
            .berth()
            .args(["apply", "--auto-approve", "--watch", "60s"]);
        std::thread::spawn(move || berth.run())
    };
    // once both replicas run version 2 (the old ones kept aside), break `dep`
    let rolled = || {
        (1..=2).all(|n| runs_version(&format!("{p}-kv-{n}"), "2"))
            && crate::common::engine::try_docker(&["inspect", &format!("{p}-kv-2-berth-prev")])
                .is_ok()
    };
    wait_until(&stack, "the rollout", rolled);
    docker(&["stop", &format!("{p}-dep-1")]);
    watcher
        .join()
        .unwrap()
        .code(1)
        .stdout_has("Watching the containers the rollouts replaced for 1m0s")
        .stderr_has("turned unhealthy")
        .stderr_has("rolled back 2 containers to the previous version");
    assert_rolled_back_to(&stack, &old);
    stack
        .berth()
        .args(["state", "history"])
        .run()
        .code(0)
        .stdout_has("container.kv[1], container.kv[2]: ")
        .stdout_has(
            "` turned unhealthy; rolled back 2 containers to the previous version (apply --watch)",
        );
    docker(&["start", &format!("{p}-dep-1")]);
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2)
        .stdout_has("Plan: 0 to add, 0 to change, 2 to replace, 0 to destroy.");
}

/// `failure_action: rollback`: when a later batch fails its gate, the
/// containers earlier batches replaced go back to their old containers, and
/// the state records those again.
#[test]
fn a_failed_batch_rolls_back_the_batches_before_it() {
    const ROLL: &str = "{order: start-first, parallelism: 1, delay: 5s, failure_action: rollback}";
    let yaml = |version: &str, probe: &str| dep_gated_yaml(version, probe, ROLL);
    let stack = applied("rollback", &yaml("1", "127.0.0.1:6379"));
    let p = stack.project.clone();
    let old = kv_ids(&stack);
    // version 2 is healthy only while `dep` answers
    write(&stack, &yaml("2", "dep:6379"));
    let applying = {
        let berth = stack.berth().args(["apply", "--auto-approve"]);
        std::thread::spawn(move || berth.run())
    };
    // replica 1 rolled out (its old container kept aside): break `dep` during the delay
    wait_until(&stack, "replica 1's rollout", || {
        runs_version(&format!("{p}-kv-1"), "2")
    });
    docker(&["stop", "-t", "0", &format!("{p}-dep-1")]);
    applying
        .join()
        .unwrap()
        .code(1)
        .stderr_has("the new container did not pass its gate")
        .stderr_has("rolled back 1 container already replaced");
    assert_rolled_back_to(&stack, &old);
    // the state records the old containers again: no drift, only the change
    docker(&["start", &format!("{p}-dep-1")]);
    let plan = stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2);
    assert!(
        !plan.stdout().contains("changed outside berth"),
        "{}",
        plan.stdout()
    );
}

/// A proxy (resolving `web` on each request) in front of two web replicas,
/// published on a free port of 127.0.0.1, rolled as `update_config` says.
fn served_yaml(version: &str, health_path: &str, port: u16) -> String {
    format!(
        "services:
  redis:
    image: berth-test-demo:latest
    command: [\"kv\"]
  web:
    image: berth-test-demo:latest
    command: [\"web\"]
    scale: 2
    environment: {{VERSION: '{version}'}}
    healthcheck:
      test: [\"CMD\", \"/berth-demo\", \"probe\", \"http\", \"http://127.0.0.1:5000{health_path}\"]
      interval: 1s
      timeout: 1s
      retries: 2
    deploy:
      update_config: {{order: start-first, parallelism: 1, failure_action: rollback}}
  proxy:
    image: berth-test-demo:latest
    command: [\"proxy\"]
    environment: {{UPSTREAM: 'web:5000'}}
    ports: ['127.0.0.1:{port}:8080']
"
    )
}

/// `berth-demo load` from the host against `url` until [`Load::finish`].
struct Load(std::process::Child);

impl Load {
    fn start(url: &str) -> Load {
        // the static build examples/prepare.sh made for the image runs here too
        let demo = crate::common::root().join("examples/getting-started/berth-demo");
        let child = std::process::Command::new(demo)
            .args(["load", url, "600", "50"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("berth-demo load starts");
        Load(child)
    }

    /// Stop it (SIGTERM) and read its verdict.
    fn finish(self) -> serde_json::Value {
        let pid = self.0.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        let out = self.0.wait_with_output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "berth-demo load said {:?} / {:?}: {e}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

/// Under load through the proxy, a start-first rollout fails no request;
/// nor does one whose new version never turns healthy (the old containers
/// serve throughout, and it is rolled back).
#[test]
fn under_load_a_start_first_rollout_fails_no_request() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stack = applied("rollload", &served_yaml("1", "/health", port));
    let url = format!("http://127.0.0.1:{port}/");
    wait_until(&stack, "the proxy answering", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });

    let load = Load::start(&url);
    std::thread::sleep(std::time::Duration::from_secs(1));
    write(&stack, &served_yaml("2", "/health", port));
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let seen = load.finish();
    assert!(seen["ok"].as_u64().unwrap() > 50, "{seen}");
    assert_eq!(seen["failed"], 0, "{seen}");

    // version 3's healthcheck never passes: rolled back, nothing failed
    let load = Load::start(&url);
    std::thread::sleep(std::time::Duration::from_secs(1));
    write(&stack, &served_yaml("3", "/no-such-path", port));
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("the new container did not pass its gate");
    let seen = load.finish();
    assert_eq!(seen["failed"], 0, "{seen}");
    let p = &stack.project;
    assert!(env_of(&format!("{p}-web-1")).contains("VERSION=2"));
}
