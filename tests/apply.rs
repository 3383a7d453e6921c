//! `berth apply` and `berth destroy` against the real engine: the seed
//! scenario on the example, redeploying only what changed, failure and
//! recovery, approval, saved plans, and interop with docker compose.

use std::io::{Read, Write};
use std::path::Path;

use crate::common::Berth;
use crate::common::engine::{
    Cleanup, Stack, demo_image, docker, engine_slot, try_docker, unique_project,
};

use crate::common::engine::EXAMPLE;

/// A copy of examples/getting-started with its build contexts, binary included.
pub fn example_copy() -> tempfile::TempDir {
    demo_image(); // runs examples/prepare.sh: the static binary is in both contexts
    crate::common::example_copy(true)
}

/// Removes images a test built, when dropped (also on panic).
struct BuiltImages(Vec<String>);

impl Drop for BuiltImages {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = try_docker(&["rmi", "-f", image]);
        }
    }
}

fn get(port: u16) -> String {
    for _ in 0..50 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if out.contains("200") {
                return out;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("nothing answers on 127.0.0.1:{port}");
}

fn id_of(name: &str) -> String {
    docker(&["inspect", "-f", "{{.Id}}", name])
        .trim()
        .to_string()
}

fn apply(dir: &Path, project: &str, extra: &[&str]) -> crate::common::Run {
    Berth::new()
        .dir(dir)
        .args(["-p", project, "apply", "--auto-approve"])
        .args(extra)
        .run()
}

fn edit(dir: &Path, from: &str, to: &str) {
    let f = dir.join("compose.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.contains(from), "{from} not in compose.yaml");
    std::fs::write(&f, text.replace(from, to)).unwrap();
}

#[test]
fn the_seed_scenario_on_the_example() {
    seed_scenario("seed", &Berth::new);
}

/// The seed scenario on the example, every berth run made from `base` (the
/// environment that chooses the engine: the local socket, ssh, a context):
/// apply, the counter answers, nothing to do, a port edit replaces web only,
/// destroy.
pub fn seed_scenario(prefix: &str, base: &dyn Fn() -> Berth) {
    let _example = EXAMPLE.lock().unwrap_or_else(|e| e.into_inner());
    let _slot = engine_slot();
    let project = unique_project(prefix);
    let mut cleanup = Cleanup::new(&project);
    cleanup.network("service-network");
    let _images = BuiltImages(vec![format!("{project}-redis"), "web:latest".to_string()]);
    let dir = example_copy();
    let apply = |dir: &Path| {
        base()
            .dir(dir)
            .args(["-p", &project, "apply", "--auto-approve"])
            .run()
    };

    let run = apply(dir.path()).code(0);
    assert!(
        run.stdout()
            .contains("Apply complete! Resources: 5 added, 0 changed, 0 replaced, 0 destroyed."),
        "{}",
        run.stdout()
    );
    assert!(
        !try_docker(&["network", "inspect", "service-network"])
            .unwrap()
            .is_empty()
    );
    assert!(get(5000).contains("I have been seen 1 times."));
    assert!(get(5000).contains("I have been seen 2 times."));
    let redis = id_of("redis");
    let web = id_of("web");

    // compose sees berth's containers
    let ps = std::process::Command::new("docker")
        .args(["compose", "-p", &project, "ps", "--format", "{{.Name}}"])
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&ps.stdout);
    assert!(
        names.contains("web") && names.contains("redis"),
        "docker compose ps: {names}"
    );

    // nothing changed: nothing to do
    apply(dir.path())
        .code(0)
        .stdout_is("No changes. Docker matches the configuration.\n");

    // a new published port replaces web only; redis keeps its container and the count
    edit(dir.path(), "\"5000:5000\"", "\"5001:5000\"");
    let run = apply(dir.path()).code(0);
    assert!(
        run.stdout()
            .contains("0 added, 0 changed, 1 replaced, 0 destroyed"),
        "{}",
        run.stdout()
    );
    assert_eq!(id_of("redis"), redis);
    assert_ne!(id_of("web"), web);
    assert!(get(5001).contains("I have been seen 3 times."));

    base()
        .dir(dir.path())
        .args(["-p", &project, "plan", "--detailed-exitcode"])
        .run()
        .code(0);
    base()
        .dir(dir.path())
        .args(["-p", &project, "destroy", "--auto-approve"])
        .run()
        .code(0);
    let left = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]);
    assert!(left.trim().is_empty(), "containers left: {left}");
    assert!(
        try_docker(&["network", "inspect", "service-network"]).is_err(),
        "the network is removed"
    );
}

const SLEEPERS: &str = "services:
  app:
    image: berth-test-demo:latest
    command: [\"sleep\"]
    environment: {GREETING: hello}
    volumes: [\"data:/data\"]
volumes:
  data: {}
";

#[test]
fn scaling_creates_and_removes_the_highest_numbers_and_volumes_survive_destroy() {
    let stack = Stack::new("scale", SLEEPERS);
    let (project, dir) = (stack.project.clone(), &stack.dir);

    apply(dir.path(), &project, &[]).code(0);
    let first = id_of(&format!("{project}-app-1"));
    let run = apply(dir.path(), &project, &["--scale", "app=3"]).code(0);
    assert!(run.stdout().contains("2 added"), "{}", run.stdout());
    assert_eq!(id_of(&format!("{project}-app-1")), first);
    id_of(&format!("{project}-app-3"));
    let run = apply(dir.path(), &project, &["--scale", "app=1"]).code(0);
    assert!(run.stdout().contains("2 destroyed"), "{}", run.stdout());
    assert!(try_docker(&["inspect", &format!("{project}-app-3")]).is_err());

    let volume = format!("{project}_data");
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "destroy", "--auto-approve"])
        .run()
        .code(0);
    assert!(
        try_docker(&["volume", "inspect", &volume]).is_ok(),
        "a named volume survives destroy"
    );
    apply(dir.path(), &project, &[]).code(0);
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "destroy", "--auto-approve", "--volumes"])
        .run()
        .code(0);
    assert!(
        try_docker(&["volume", "inspect", &volume]).is_err(),
        "--volumes removes it"
    );
}

#[test]
fn editing_one_service_of_ten_replaces_exactly_one_container() {
    let mut yaml = String::from("services:\n");
    for i in 0..10 {
        yaml.push_str(&format!("  s{i}:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n    environment: {{N: \"{i}\"}}\n"));
    }
    let stack = Stack::new("ten", &yaml);
    let (project, dir) = (stack.project.clone(), &stack.dir);
    apply(dir.path(), &project, &[]).code(0);
    let before: Vec<String> = (0..10)
        .map(|i| id_of(&format!("{project}-s{i}-1")))
        .collect();
    edit(dir.path(), "N: \"4\"", "N: \"four\"");
    let run = apply(dir.path(), &project, &[]).code(0);
    assert!(
        run.stdout()
            .contains("0 added, 0 changed, 1 replaced, 0 destroyed"),
        "{}",
        run.stdout()
    );
    for (i, id) in before.iter().enumerate() {
        let now = id_of(&format!("{project}-s{i}-1"));
        assert_eq!(now == *id, i != 4, "s{i}");
    }
}

#[test]
fn a_taken_port_fails_the_apply_and_the_next_one_converges() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port();
    let yaml = format!(
        "services:\n  web:\n    image: berth-test-demo:latest\n    command: [\"web\"]\n    ports: [\"127.0.0.1:{port}:5000\"]\n  other:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n"
    );
    let stack = Stack::new("port", &yaml);
    let (project, dir) = (stack.project.clone(), &stack.dir);
    let run = apply(dir.path(), &project, &[]).code(1);
    assert!(
        run.stderr().contains("failed: container.web[1]"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr()
            .to_lowercase()
            .contains("address already in use")
            || run.stderr().contains("port is already allocated"),
        "{}",
        run.stderr()
    );
    let listed = Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "state", "list"])
        .run()
        .code(0);
    assert!(
        listed.stdout().contains("container.other[1]"),
        "what succeeded is recorded: {}",
        listed.stdout()
    );
    drop(blocker);
    apply(dir.path(), &project, &[]).code(0);
    let all = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]);
    assert_eq!(all.lines().count(), 2, "no duplicates: {all}");
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "plan", "--detailed-exitcode"])
        .run()
        .code(0);
}

#[test]
fn without_a_terminal_apply_needs_approval_and_changes_nothing() {
    let project = unique_project("noapprove");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), SLEEPERS).unwrap();
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "apply"])
        .run()
        .code(1)
        .stderr_has("refusing to change the engine without approval");
    let state = dir.path().join("state").join(format!("{project}.json"));
    assert!(!state.exists());
}

#[test]
fn a_saved_plan_is_applied_as_planned_and_refused_when_stale() {
    let stack = Stack::new("saved", SLEEPERS);
    let (project, dir) = (stack.project.clone(), &stack.dir);
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "plan", "-o", "p.plan"])
        .run()
        .code(0);
    edit(dir.path(), "hello", "changed");
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "apply", "p.plan"])
        .run()
        .code(1)
        .stderr_has("is stale")
        .stderr_has("compose.yaml` changed");
    edit(dir.path(), "changed", "hello");
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "apply", "p.plan"])
        .run()
        .code(0)
        .stdout_has("Apply complete!");
}

const HEALTH_GATED: &str = "services:
  db:
    image: berth-test-demo:latest
    command: [\"kv\"]
    healthcheck:
      test: [\"CMD\", \"/berth-demo\", \"probe\", \"tcp\", \"127.0.0.1:6379\"]
      interval: 1s
      timeout: 1s
      retries: 5
      start_period: 1s
  app:
    image: berth-test-demo:latest
    command: [\"sleep\"]
    depends_on:
      db: {condition: service_healthy}
";

/// `2026-11-25T18:40:01.12Z` as (seconds text, nanoseconds) for comparing.
fn instant(rfc3339: &str) -> (String, u64) {
    let t = rfc3339.trim().trim_end_matches('Z');
    let (secs, frac) = t.split_once('.').unwrap_or((t, "0"));
    let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
    let nanos = format!("{digits:0<9}")[..9].parse().unwrap();
    (secs.to_string(), nanos)
}

#[test]
fn a_dependent_starts_only_after_its_dependency_is_healthy() {
    let stack = Stack::new("healthy", HEALTH_GATED);
    let (project, dir) = (stack.project.clone(), &stack.dir);
    apply(dir.path(), &project, &[]).code(0);
    let db = format!("{project}-db-1");
    let app = format!("{project}-app-1");
    let healthy_at = docker(&[
        "inspect",
        "-f",
        "{{range .State.Health.Log}}{{if eq .ExitCode 0}}{{.End}} {{end}}{{end}}",
        &db,
    ]);
    let first_healthy = healthy_at
        .split_whitespace()
        .next()
        .expect("a passing health check");
    let app_started = docker(&["inspect", "-f", "{{.State.StartedAt}}", &app]);
    assert!(
        instant(&app_started) >= instant(first_healthy),
        "app started at {app_started} before db was healthy at {first_healthy}"
    );
}

#[test]
fn an_unhealthy_dependency_fails_the_apply_with_its_health_check_output() {
    let yaml = HEALTH_GATED
        .replace("127.0.0.1:6379", "127.0.0.1:9")
        .replace("retries: 5", "retries: 1");
    let stack = Stack::new("unhealthy", &yaml);
    let (project, dir) = (stack.project.clone(), &stack.dir);
    let run = apply(dir.path(), &project, &[]).code(1);
    let err = run.stderr();
    assert!(
        err.contains("unhealthy") || err.contains("healthy"),
        "{err}"
    );
    assert!(
        err.contains("127.0.0.1:9"),
        "the probe's own output is shown: {err}"
    );
    assert!(
        err.contains("skipped: container.app[1]") || err.contains("failed: container.app[1]"),
        "{err}"
    );
}

#[test]
fn a_second_apply_fails_at_once_naming_the_holder_or_waits_with_a_timeout() {
    let stack = Stack::new("locked", HEALTH_GATED);
    let (project, dir) = (stack.project.clone(), &stack.dir);
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .current_dir(dir.path())
        .args(["-p", &project, "apply", "--auto-approve", "--quiet"])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = dir.path().join("state").join(format!("{project}.lock"));
    for _ in 0..100 {
        if std::fs::read_to_string(&lock).is_ok_and(|t| !t.trim().is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("is locked by pid")
        .stderr_has("berth apply");
    Berth::new()
        .dir(dir.path())
        .args([
            "-p",
            &project,
            "plan",
            "--lock-timeout",
            "60s",
            "--detailed-exitcode",
        ])
        .run()
        .code(0);
    assert!(first.wait().unwrap().success());
}

#[test]
fn an_apply_killed_at_any_point_is_finished_by_the_next_without_duplicates() {
    let mut yaml = String::from("services:\n");
    for i in 0..20 {
        yaml.push_str(&format!(
            "  s{i}:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n"
        ));
    }
    let stack = Stack::new("killed", &yaml);
    let (project, dir) = (stack.project.clone(), &stack.dir);
    let label = format!("label=com.docker.compose.project={project}");
    for delay_ms in [150, 400, 900, 1600] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
            .current_dir(dir.path())
            .args(["-p", &project, "apply", "--auto-approve", "--quiet"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // the state always parses, and no service has two containers
        Berth::new()
            .dir(dir.path())
            .args(["-p", &project, "state", "list"])
            .run()
            .code(0);
        let names = docker(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"]);
        let mut seen: Vec<&str> = names.lines().collect();
        let all = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(
            all,
            seen.len(),
            "duplicates after a kill at {delay_ms} ms: {names}"
        );
        assert!(all <= 20, "{names}");
    }
    apply(dir.path(), &project, &[]).code(0);
    let running = docker(&["ps", "-q", "--filter", &label]);
    assert_eq!(running.lines().count(), 20);
    Berth::new()
        .dir(dir.path())
        .args(["-p", &project, "plan", "--detailed-exitcode"])
        .run()
        .code(0);
}

#[test]
fn configs_and_secrets_from_content_land_in_the_container_and_plan_clean() {
    let stack = Stack::new(
        "inject",
        "services:
  app:
    image: berth-test-demo:latest
    command: [\"sleep\"]
    configs: [greeting]
    secrets:
      - source: token
        target: api
        mode: 0400
configs:
  greeting:
    content: hello from content
secrets:
  token:
    content: s3cret
",
    );
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    let name = format!("{}-app-1", stack.project);
    let read = |path: &str| {
        let out = std::process::Command::new("docker")
            .args(["cp", &format!("{name}:{path}"), "-"])
            .output()
            .expect("docker cp runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // `docker cp ... -` writes a tar: the file's bytes follow its 512-byte header
        let tar = out.stdout;
        let size = usize::from_str_radix(
            std::str::from_utf8(&tar[124..135])
                .unwrap()
                .trim_matches('\0')
                .trim(),
            8,
        )
        .unwrap();
        let mode = u32::from_str_radix(
            std::str::from_utf8(&tar[100..107])
                .unwrap()
                .trim_matches('\0')
                .trim(),
            8,
        )
        .unwrap();
        (
            String::from_utf8(tar[512..512 + size].to_vec()).unwrap(),
            mode & 0o777,
        )
    };
    assert_eq!(read("/greeting"), ("hello from content".to_string(), 0o444));
    assert_eq!(read("/run/secrets/api"), ("s3cret".to_string(), 0o400));
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
}

/// One service on two networks: on API 1.41 berth creates its container on
/// one and connects the other before the state records it.
const TWO_NETWORKS: &str = "services:
  app:
    image: berth-test-demo:latest
    command: [\"sleep\"]
    networks: [front, back]
networks:
  front: {}
  back: {}
";

/// The networks a container is attached to, sorted.
fn networks_of(container: &str) -> Vec<String> {
    let out = docker(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        container,
    ]);
    let mut nets: Vec<String> = out.split_whitespace().map(str::to_string).collect();
    nets.sort();
    nets
}

#[test]
fn a_container_left_half_connected_by_a_crash_is_completed_by_the_next_apply() {
    let stack = Stack::new("halfwired", TWO_NETWORKS);
    let (project, dir) = (stack.project.clone(), &stack.dir);
    apply(dir.path(), &project, &[]).code(0);
    let name = format!("{project}-app-1");
    let both = vec![format!("{project}_back"), format!("{project}_front")];
    assert_eq!(networks_of(&name), both);

    // what a kill between create and the second network's connect leaves: a
    // container with berth's labels (address, spec hash), never started, on
    // the first network only, and not in the state
    let labels = docker(&[
        "inspect",
        "-f",
        "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}\n{{end}}",
        &name,
    ]);
    stack
        .berth()
        .args(["state", "rm", "container.app[1]"])
        .run()
        .code(0);
    docker(&["rm", "-f", &name]);
    let mut create = vec![
        "create".to_string(),
        "--name".into(),
        name.clone(),
        "--network".into(),
        both[0].clone(),
    ];
    for l in labels.lines().filter(|l| !l.is_empty()) {
        create.extend(["--label".to_string(), l.to_string()]);
    }
    create.extend([demo_image().to_string(), "sleep".into()]);
    docker(&create.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(networks_of(&name), [both[0].clone()]);

    // the plan does not adopt it as it is: it names the missing network
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2)
        .stdout_has("networks");
    apply(dir.path(), &project, &[]).code(0);
    assert_eq!(networks_of(&name), both);
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Status}}", &name]),
        "running"
    );
    let label = format!("label=com.docker.compose.project={project}");
    let all = docker(&["ps", "-aq", "--filter", &label]);
    assert_eq!(all.lines().count(), 1, "one container, no duplicate: {all}");
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
}
