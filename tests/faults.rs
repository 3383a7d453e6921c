//! Engine faults, exercised on a second, disposable dockerd the tests start
//! themselves (`common::dockerd`), so they can kill it without touching the
//! machine's engine: the daemon killed mid-apply, the address pool
//! exhausted, a state applied to one engine planned against another; and,
//! on the machine's engine, an image that does not exist, and containers
//! that exit at start or restart in a loop.

use std::time::{Duration, Instant};

use crate::common::Berth;
use crate::common::dockerd::Dockerd;
use crate::common::engine::{Stack, unique_project};

fn sleepers(n: usize) -> String {
    let mut yaml = String::from("services:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  s{i}:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n    environment: {{N: \"{i}\"}}\n"
        ));
    }
    yaml
}

/// A project directory with `compose.yaml`, and berth runs against `engine`.
struct Project {
    name: String,
    dir: tempfile::TempDir,
    engine: String,
}

impl Project {
    fn new(prefix: &str, yaml: &str, engine: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
        Project {
            name: unique_project(prefix),
            dir,
            engine: engine.to_string(),
        }
    }

    fn berth(&self) -> Berth {
        Berth::new()
            .dir(self.dir.path())
            .env("DOCKER_HOST", &self.engine)
            .args(["-p", &self.name])
    }

    fn state(&self) -> serde_json::Value {
        let path = self
            .dir
            .path()
            .join("state")
            .join(format!("{}.json", self.name));
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null)
    }

    /// apply succeeds, and the plan after it has nothing to do.
    fn converges(&self) {
        self.berth().args(["apply", "--auto-approve"]).run().code(0);
        self.berth()
            .args(["plan", "--detailed-exitcode"])
            .run()
            .code(0);
    }

    fn recorded_containers(&self) -> Vec<(String, String)> {
        self.state()["resources"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(a, _)| a.starts_with("container."))
                    .map(|(a, r)| (a.clone(), r["id"].as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[test]
fn the_engine_killed_mid_apply_loses_nothing_and_the_next_apply_converges() {
    let mut engine = Dockerd::start(&[]);
    let project = Project::new("killed", &sleepers(12), &engine.host());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .current_dir(project.dir.path())
        .env("DOCKER_HOST", engine.host())
        .env("NO_COLOR", "1")
        .args([
            "-p",
            &project.name,
            "apply",
            "--auto-approve",
            "--parallelism",
            "2",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // kill the engine once some containers are recorded, before all are
    let deadline = Instant::now() + Duration::from_secs(120);
    while project.recorded_containers().len() < 3 {
        assert!(Instant::now() < deadline, "apply recorded nothing in 120 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    engine.kill();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    // the summary: what was done, and each failure on one line naming the engine
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("Apply failed."), "{all}");
    let failures: Vec<&str> = all
        .lines()
        .filter(|l| l.trim_start().starts_with("failed:"))
        .collect();
    assert!(!failures.is_empty(), "{all}");
    for f in &failures {
        assert!(
            f.contains(&engine.host()),
            "a failure names the engine: {f}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    let recorded = project.recorded_containers();
    assert!(recorded.len() >= 3 && recorded.len() < 12, "{recorded:?}");

    engine.restart();
    // what the state records is on the engine
    for (_, id) in &recorded {
        engine.docker(&["inspect", "-f", "{{.Id}}", id]);
    }
    project.converges();
    let ids = engine.docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={}", project.name),
    ]);
    assert_eq!(
        ids.split_whitespace().count(),
        12,
        "no container duplicated: {ids}"
    );
    // the containers recorded before the kill are the same ones
    for (address, id) in &recorded {
        assert!(
            project
                .recorded_containers()
                .contains(&(address.clone(), id.clone())),
            "{address} kept its container {id}"
        );
    }
}

#[test]
fn an_exhausted_address_pool_fails_in_one_line_and_a_fixed_file_converges() {
    // room for exactly one network
    let engine = Dockerd::with_room_for_one_network();
    let yaml = "services:\n  a:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n    networks: [front, back]\nnetworks:\n  front: {}\n  back: {}\n";
    let project = Project::new("pool", yaml, &engine.host());
    let run = project
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    let all = run.stdout() + &run.stderr();
    assert!(
        all.contains("non-overlapping IPv4 address pool") || all.contains("address pool"),
        "the engine's reason is shown: {all}"
    );
    assert!(!all.contains("panicked"), "{all}");
    // what the engine made is what the state records: nothing forgotten
    // (which of the two networks won the one address range is a race)
    let on_engine: std::collections::BTreeSet<String> = engine
        .docker(&[
            "network",
            "ls",
            "--format",
            "{{.ID}}",
            "--no-trunc",
            "--filter",
            &format!("label=com.docker.compose.project={}", project.name),
        ])
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let recorded: std::collections::BTreeSet<String> = project.state()["resources"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.starts_with("network."))
                .map(|(_, r)| r["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(on_engine, recorded, "{}", project.state());
    assert!(on_engine.len() <= 1);

    // one network is enough: the next apply converges
    std::fs::write(
        project.dir.path().join("compose.yaml"),
        "services:\n  a:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n    networks: [front]\nnetworks:\n  front: {}\n",
    )
    .unwrap();
    // the network made first may be the one no longer wanted: removed, then front made
    project.converges();
}

#[test]
fn a_state_applied_to_one_engine_is_refused_on_another() {
    let engine = Dockerd::start(&[]);
    let project = Project::new("other-engine", &sleepers(1), &engine.host());
    project
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    // the same state, the machine's engine
    let run = Berth::new()
        .dir(project.dir.path())
        .env_remove("DOCKER_HOST")
        .args(["-p", &project.name, "plan"])
        .run()
        .code(1);
    let stderr = run.stderr();
    assert!(
        stderr.contains("was applied to the Docker engine")
            && stderr.contains(&engine.host())
            && stderr.contains("--move-engine"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
    project
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
}

/// Applying `yaml` on the machine's engine fails (exit 1), naming `what`,
/// without a panic.
fn apply_fails_naming(yaml: &str, what: &str) {
    let stack = Stack::new("exits", yaml);
    let run = stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    let all = run.stdout() + &run.stderr();
    assert!(all.contains(what), "{all}");
    assert!(!all.contains("panicked"), "{all}");
}

#[test]
fn a_missing_image_and_containers_that_exit_fail_with_the_reason() {
    apply_fails_naming(
        "services:\n  gone:\n    image: berth-no-such-image:1\n",
        "berth-no-such-image",
    );
    // exits at start, with a dependent waiting for it to be healthy: the
    // wait is bounded and says what it waited for
    apply_fails_naming(
        "services:\n  bad:\n    image: berth-test-demo:latest\n    command: [\"exit\", \"3\"]\n    restart: \"no\"\n    healthcheck:\n      test: [\"CMD\", \"/berth-demo\", \"exit\", \"0\"]\n      interval: 1s\n      retries: 2\n  good:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n    depends_on:\n      bad: {condition: service_healthy}\n",
        "bad",
    );

    // restarts in a loop until the engine gives up (`on-failure:2`): apply
    // ends, and once the engine has given up, the plan shows it as drift
    let stack = Stack::new(
        "loop",
        "services:\n  looping:\n    image: berth-test-demo:latest\n    command: [\"exit\", \"1\"]\n    restart: on-failure:2\n",
    );
    let started = Instant::now();
    let _ = stack.berth().args(["apply", "--auto-approve"]).run();
    assert!(started.elapsed() < Duration::from_secs(120));
    let name = format!("{}-looping-1", stack.project);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = crate::common::engine::docker(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            &name,
        ]);
        if status.trim() == "exited 2" {
            break;
        }
        assert!(Instant::now() < deadline, "still restarting: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let run = stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2);
    assert!(
        run.stdout().contains("container.looping[1]") && run.stdout().contains("exited"),
        "the stopped container is drift: {}",
        run.stdout()
    );
}

/// The machine's engine behind a TCP proxy on 127.0.0.1 that holds every
/// request whose bytes contain `slow` for `delay` before passing it on: a
/// slow engine, for that kind of request. Runs until the test process ends.
fn slow_engine(slow: &'static str, delay: Duration) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(server) = std::os::unix::net::UnixStream::connect("/var/run/docker.sock")
                else {
                    return;
                };
                let (mut to_client, mut from_server) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut from_server, &mut to_client));
                let (mut from_client, mut to_server) = (client, server);
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match from_client.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if buf[..n].windows(slow.len()).any(|w| w == slow.as_bytes()) {
                        std::thread::sleep(delay);
                    }
                    if to_server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to_server.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    format!("tcp://127.0.0.1:{port}")
}

/// A slow engine: a container create that takes longer than the request
/// timeout (`COMPOSE_HTTP_TIMEOUT`) fails in one line saying what it waited
/// for; the create may still land on the engine after that, and the next
/// apply (on a healthy engine) converges without a duplicate.
#[test]
fn a_slow_engine_fails_in_one_line_naming_the_wait_and_the_next_apply_converges() {
    let stack = Stack::new("slow", &sleepers(2));
    let slow = slow_engine("/containers/create", Duration::from_secs(3));
    let run = stack
        .berth()
        .env("DOCKER_HOST", &slow)
        .env("COMPOSE_HTTP_TIMEOUT", "1")
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    let stderr = run.stderr();
    assert!(
        stderr.contains("did not answer within 1 s while trying to create container"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // a value that is not a number of seconds is refused before anything happens
    stack
        .berth()
        .env("COMPOSE_HTTP_TIMEOUT", "soon")
        .args(["plan"])
        .run()
        .code(1)
        .stderr_has("COMPOSE_HTTP_TIMEOUT is `soon`, not a number of seconds");
    // the creates the timeout gave up on land a little later: let them
    std::thread::sleep(Duration::from_secs(3));
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
    let names = crate::common::engine::docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=com.docker.compose.project={}", stack.project),
        "--format",
        "{{.Names}}",
    ]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    let p = &stack.project;
    assert_eq!(names, [format!("{p}-s0-1"), format!("{p}-s1-1")]);
}
