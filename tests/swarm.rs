//! Docker Swarm as berth's second backend (issue 16), on the real engine: the
//! seed example as a stack (apply, the counter answers, `docker stack
//! services` lists it, scaling, a new published port updated in place, a
//! rebuilt image under the same tag deployed, a service scaled by hand and
//! a task that died are drift and repaired, a changed secret file moves the
//! service to a new secret, destroy leaves nothing), an update Swarm rolls
//! back, a saved plan refused once the service changed behind it, and the
//! import of a stack made by `docker stack deploy`.
//!
//! # What these tests do to the engine
//!
//! The test engine is normally not in swarm mode. Every test here holds a
//! [`SwarmMode`] guard for its whole run, and the guards share one swarm:
//!
//! - The first guard of the process takes a machine-wide file lock
//!   (`$TMPDIR/berth-test-swarm.lock`) and keeps it until the last guard of
//!   the process is dropped, so two test processes (two checkouts, or
//!   `cargo test` beside a `--test integration swarm::` run) take turns: one
//!   never leaves a swarm the other is using.
//! - Holding it, the first guard asks `docker info` for
//!   `{{.Swarm.LocalNodeState}}`. `inactive`: it runs `docker swarm init
//!   --advertise-addr 127.0.0.1` (with `--listen-addr 127.0.0.2:2377` when
//!   another engine's swarm holds the gossip port 7946 on this host, see
//!   [`init_args`]) and notes that this process initialised the swarm (and
//!   whether the `docker_gwbridge` network existed before). `active`
//!   (someone's own swarm): used as it is and left alone, so the node must be
//!   a manager. Anything else (`pending`, `error`, `locked`): the test fails.
//! - Guards are counted under a static `Mutex`. The last one out (its `Drop`
//!   runs also when an assertion failed) runs `docker swarm leave --force`
//!   only if this process initialised the swarm, then removes the
//!   `docker_gwbridge` network that leaving keeps, if it was not there before,
//!   and releases the file lock.
//! - A run killed before its guards ran (SIGKILL, a second Ctrl-C) cannot
//!   leave. `swarm init` therefore writes a marker
//!   (`$TMPDIR/berth-test-swarm.initialised`, removed on leaving); the next
//!   run that finds the engine `active`, the marker present and the lock free
//!   knows the swarm is a test's leftover and leaves it when it is done.
//!
//! Each test takes its guard first, so that it is dropped last: after the
//! test's [`StackCleanup`], which removes every service, network, secret and
//! config of the test's project (by the stack label and by the `<project>_`
//! name prefix), waits for their task containers to go, and removes the
//! images the test built.
//!
//! # What differs from the plain engine here
//!
//! The machine these tests were written on has no IPVS in its kernel
//! (`CONFIG_IP_VS` not set), which Swarm needs for the routing mesh and for
//! service VIPs. So that the tests assert the same things everywhere:
//!
//! - `redis` is reached by DNS round-robin (`deploy.endpoint_mode: dnsrr`),
//!   which needs no IPVS;
//! - every web replica is asked at its own address on `docker_gwbridge`
//!   (each task of a service on an overlay network has one, reachable from
//!   the host), so that a test sees every replica answer and share the count;
//! - through the routing mesh (`127.0.0.1:<published port>`) only when the
//!   kernel has IPVS ([`routing_mesh`]); elsewhere the published port is
//!   checked in the service's endpoint (`docker service inspect`).
//!
//! Tests that publish the example's port 5000 (or 5001) also hold the
//! example's lock ([`EXAMPLE`]), as the plain engine's tests of the example
//! do; the others run beside each other. Each takes an engine slot (after
//! its guard), as every engine test does.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::Berth;
use crate::common::engine::{EXAMPLE, demo_image, docker, engine_slot, try_docker, unique_project};

/// The labels `docker stack deploy` puts on everything of a stack.
const NAMESPACE_LABEL: &str = "com.docker.stack.namespace";

// ---------------------------------------------------------------- swarm mode

/// One test's hold on swarm mode; see the module's documentation.
#[must_use = "swarm mode lasts as long as the guard: bind it to a variable"]
pub struct SwarmMode(());

/// What the process's guards share.
struct Shared {
    /// Guards alive in this process.
    users: usize,
    /// The machine-wide lock, held while `users > 0`.
    lock: Option<std::fs::File>,
    /// This process (or a killed test run before it) initialised the swarm: leave it.
    initialised: bool,
    /// `docker_gwbridge` existed before the swarm was initialised.
    gwbridge_before: bool,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    users: 0,
    lock: None,
    initialised: false,
    gwbridge_before: true,
});

fn lock_path() -> PathBuf {
    std::env::temp_dir().join("berth-test-swarm.lock")
}

fn marker_path() -> PathBuf {
    std::env::temp_dir().join("berth-test-swarm.initialised")
}

/// `swarm init --advertise-addr 127.0.0.1`, listening on the default
/// `0.0.0.0:2377`. The swarm's network agent gossips on port 7946 of the
/// listen address; when another engine on this host already holds it (a
/// second dockerd in swarm mode), the agent cannot start and the swarm's
/// networks are not cleaned up on leaving. Then the swarm listens on
/// 127.0.0.2 instead, where the port is free. (For an engine on another
/// host, `DOCKER_HOST=tcp://...` or `ssh://...`, this host's ports say
/// nothing: the default.)
fn init_args() -> Vec<&'static str> {
    let mut args = vec!["swarm", "init", "--advertise-addr", "127.0.0.1"];
    let local = std::env::var("DOCKER_HOST").map_or(true, |h| h.starts_with("unix://"));
    if local && std::net::TcpListener::bind("0.0.0.0:7946").is_err() {
        eprintln!(
            "swarm tests: port 7946 (swarm gossip) is taken on this host, by another engine's \
             swarm: listening on 127.0.0.2:2377 instead"
        );
        args.extend(["--listen-addr", "127.0.0.2:2377"]);
    }
    args
}

fn node_state() -> String {
    docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"])
}

impl SwarmMode {
    pub fn enter() -> SwarmMode {
        // A test that panicked while holding the mutex poisons it. Nothing
        // below panics with the state half-changed (the file lock is stored
        // only once swarm mode is there, and dropped, so released, on every
        // panic before), so carry on.
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if shared.users == 0 {
            let path = lock_path();
            let lock = std::fs::File::create(&path)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
            lock.lock()
                .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
            let (initialised, gwbridge_before) = match node_state().as_str() {
                "inactive" => {
                    let gwbridge_before =
                        try_docker(&["network", "inspect", "docker_gwbridge"]).is_ok();
                    // the marker first: a run killed right after init still says so
                    let _ = std::fs::write(marker_path(), std::process::id().to_string());
                    let init = init_args();
                    if let Err(e) = try_docker(&init) {
                        let _ = std::fs::remove_file(marker_path());
                        panic!("`docker {}` failed: {e}", init.join(" "));
                    }
                    (true, gwbridge_before)
                }
                "active" => {
                    let manager = docker(&["info", "--format", "{{.Swarm.ControlAvailable}}"]);
                    assert_eq!(
                        manager, "true",
                        "the engine is in a swarm but not a manager: the swarm tests need a \
                         manager (or an engine not in swarm mode, which they put in it)"
                    );
                    // with the lock ours, a marker is a killed run's swarm
                    if marker_path().exists() {
                        eprintln!(
                            "swarm tests: the engine is still in the swarm mode a killed test run \
                             initialised ({}); leaving it when done",
                            marker_path().display()
                        );
                        (true, false)
                    } else {
                        (false, true)
                    }
                }
                other => panic!(
                    "the engine's swarm state is `{other}` (docker info .Swarm.LocalNodeState); \
                     the swarm tests need `inactive` (they initialise it) or `active`"
                ),
            };
            shared.lock = Some(lock);
            shared.initialised = initialised;
            shared.gwbridge_before = gwbridge_before;
        }
        shared.users += 1;
        SwarmMode(())
    }
}

impl Drop for SwarmMode {
    // Never panics: a panic while unwinding from a failed test would abort
    // the whole test process. Failures are reported on stderr instead.
    fn drop(&mut self) {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        shared.users -= 1;
        if shared.users > 0 {
            return;
        }
        if shared.initialised {
            match try_docker(&["swarm", "leave", "--force"]) {
                Ok(_) => {
                    let _ = std::fs::remove_file(marker_path());
                }
                Err(e) => eprintln!(
                    "swarm tests: `docker swarm leave --force` failed ({e}); the engine is \
                     still in swarm mode"
                ),
            }
            if !shared.gwbridge_before {
                // its last task containers may take a moment to go
                let removed = poll(Duration::from_secs(20), || {
                    match try_docker(&["network", "rm", "docker_gwbridge"]) {
                        Ok(_) => Some(()),
                        Err(e) if e.contains("No such network") || e.contains("not found") => {
                            Some(())
                        }
                        Err(_) => None,
                    }
                });
                if removed.is_none() {
                    eprintln!("swarm tests: cannot remove the network docker_gwbridge");
                }
            }
            shared.initialised = false;
        }
        shared.lock = None; // releases the file lock
    }
}

// ---------------------------------------------------------------- waiting

/// `f` until it returns `Some`, at most `limit`; `None` when it never did.
fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `f` until it returns `Ok`; panics after `limit`, naming `what` was awaited
/// and what `f` last said.
fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let mut last = String::new();
    let start = Instant::now();
    poll(limit, || match f() {
        Ok(v) => Some(v),
        Err(e) => {
            last = e;
            None
        }
    })
    .unwrap_or_else(|| {
        panic!(
            "waited {:.0} s for {what}; last seen: {last}",
            start.elapsed().as_secs_f64()
        )
    })
}

/// Swarm converges in seconds; a loaded 2-core CI machine gets this long.
const CONVERGE: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------- the stack

/// Removes, when dropped (also when the test panics), everything of the
/// project in the swarm (services first, then, once their task containers
/// are gone, networks, secrets and configs; by the stack label and by the
/// `<project>_` name prefix) and the images the test registered.
#[must_use = "the guard cleans up when dropped; bind it to a variable"]
pub struct StackCleanup {
    project: String,
    images: Vec<String>,
}

impl StackCleanup {
    pub fn new(project: &str) -> StackCleanup {
        StackCleanup {
            project: project.to_string(),
            images: Vec::new(),
        }
    }

    /// Also remove the image reference `name`.
    pub fn image(&mut self, name: &str) {
        self.images.push(name.to_string());
    }
}

/// The IDs of the project's objects of `kind` (`service`, `network`,
/// `secret`, `config`): labelled with the stack, or named `<project>_...`.
fn stack_objects(kind: &str, project: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for filter in [
        format!("label={NAMESPACE_LABEL}={project}"),
        format!("name={project}_"),
    ] {
        let listed = try_docker(&[kind, "ls", "-q", "--filter", &filter]).unwrap_or_default();
        for id in listed.lines() {
            if !ids.iter().any(|i| i == id) {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

/// The project's task containers (any state).
fn task_containers(project: &str) -> Vec<String> {
    try_docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label={NAMESPACE_LABEL}={project}"),
    ])
    .map(|out| out.lines().map(str::to_string).collect())
    .unwrap_or_default()
}

impl Drop for StackCleanup {
    // Never panics (see SwarmMode's Drop).
    fn drop(&mut self) {
        let project = &self.project;
        let services = stack_objects("service", project);
        if !services.is_empty() {
            let mut args = vec!["service", "rm"];
            args.extend(services.iter().map(String::as_str));
            if let Err(e) = try_docker(&args) {
                eprintln!("cleanup of `{project}`: {e}");
            }
        }
        if poll(Duration::from_secs(60), || {
            task_containers(project).is_empty().then_some(())
        })
        .is_none()
        {
            eprintln!(
                "cleanup of `{project}`: task containers still there after 60 s: {:?}",
                task_containers(project)
            );
        }
        for kind in ["secret", "config", "network"] {
            for id in stack_objects(kind, project) {
                // a network may still have endpoints a moment after its tasks
                let removed = poll(Duration::from_secs(20), || {
                    try_docker(&[kind, "rm", &id]).ok()
                });
                if removed.is_none() {
                    eprintln!("cleanup of `{project}`: cannot remove {kind} {id}");
                }
            }
        }
        // an image a test never built is no error here
        let _ = crate::common::engine::remove_images(project, &self.images);
    }
}

/// One test's stack: the project, its directory, its cleanup. Declared after
/// the test's [`SwarmMode`] guard, so that it is cleaned up first.
struct SwarmStack {
    project: String,
    dir: tempfile::TempDir,
    _cleanup: StackCleanup,
}

impl SwarmStack {
    /// A unique project in a copy of examples/getting-started (its two build
    /// contexts, the static binary included), with `compose` as its
    /// `compose.yaml` (`PROJECT` replaced by the project's name).
    fn example(prefix: &str, compose: &str) -> SwarmStack {
        demo_image(); // runs examples/prepare.sh: the static binary is in both contexts
        let project = unique_project(prefix);
        let mut cleanup = StackCleanup::new(&project);
        // what berth may call the images it builds
        for image in [
            format!("{project}-web:latest"),
            format!("{project}-redis"),
            format!("{project}-redis:latest"),
            format!("{project}_redis"),
        ] {
            cleanup.image(&image);
        }
        let dir = crate::common::example_copy(true);
        let stack = SwarmStack {
            project,
            dir,
            _cleanup: cleanup,
        };
        stack.write(compose);
        stack
    }

    /// Replace `compose.yaml` (`PROJECT` replaced by the project's name).
    fn write(&self, compose: &str) {
        std::fs::write(self.file(), compose.replace("PROJECT", &self.project))
            .expect("write compose.yaml");
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("compose.yaml")
    }

    /// Replace `from` (which must be there) by `to` in `compose.yaml`.
    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.file()).unwrap();
        assert!(
            text.contains(from),
            "{from:?} is not in compose.yaml:\n{text}"
        );
        std::fs::write(self.file(), text.replace(from, to)).unwrap();
    }

    /// berth with the swarm backend, in the stack's directory, as its project.
    fn berth(&self) -> Berth {
        Berth::new()
            .dir(self.dir.path())
            .args(["--backend", "swarm", "-p", &self.project])
    }

    fn apply(&self) -> crate::common::Run {
        self.berth().args(["apply", "--auto-approve"]).run()
    }

    /// `plan --detailed-exitcode` exits 0 and says "No changes.".
    fn plans_nothing(&self) {
        self.berth()
            .args(["plan", "--detailed-exitcode"])
            .run()
            .code(0)
            .stdout_has("No changes.");
    }

    /// `plan --detailed-exitcode --format json`, which must exit `code`.
    fn plan_json(&self, code: i32) -> Value {
        let run = self
            .berth()
            .args(["plan", "--detailed-exitcode", "--format", "json"])
            .run()
            .code(code);
        serde_json::from_str(&run.stdout())
            .unwrap_or_else(|e| panic!("plan JSON: {e}\n{}", run.stdout()))
    }

    /// `<project>_<service>`, as `docker stack deploy` names services.
    fn service(&self, service: &str) -> String {
        format!("{}_{service}", self.project)
    }
}

// ---------------------------------------------------------------- observing

/// `docker service inspect` of one service.
fn inspect_service(name: &str) -> Value {
    let out = docker(&["service", "inspect", name]);
    let all: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    all[0].clone()
}

/// The service's tasks that run now (desired and current state running).
fn running_tasks(service: &str) -> usize {
    try_docker(&[
        "service",
        "ps",
        service,
        "--filter",
        "desired-state=running",
        "--format",
        "{{.CurrentState}}",
    ])
    .map(|out| out.lines().filter(|l| l.starts_with("Running")).count())
    .unwrap_or(0)
}

/// Wait until exactly `n` tasks of `service` run, and no more are meant to.
fn wait_running(service: &str, n: usize) {
    wait_for(&format!("{n} running tasks of {service}"), CONVERGE, || {
        let running = running_tasks(service);
        let desired = try_docker(&[
            "service",
            "ps",
            service,
            "--filter",
            "desired-state=running",
            "-q",
        ])
        .map(|out| out.lines().count())
        .unwrap_or(0);
        if running == n && desired == n {
            Ok(())
        } else {
            Err(format!(
                "{running} running, {desired} meant to run: {}",
                try_docker(&["service", "ps", service, "--no-trunc"]).unwrap_or_else(|e| e)
            ))
        }
    });
}

/// Whether the kernel has IPVS, which the routing mesh needs (dockerd loads
/// the module when the swarm's ingress network is set up, if there is one).
fn routing_mesh() -> bool {
    Path::new("/proc/net/ip_vs").exists() || Path::new("/sys/module/ip_vs").exists()
}

/// The answer of `GET /` at `addr`, when it is a 200.
fn get(addr: &str) -> Result<String, String> {
    let mut s = std::net::TcpStream::connect_timeout(
        &addr.parse().map_err(|e| format!("{addr}: {e}"))?,
        Duration::from_secs(2),
    )
    .map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    if out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200") {
        Ok(out)
    } else {
        Err(format!("{addr} answers {out:?}"))
    }
}

/// The count in web's answer (`I have been seen N times.`).
fn count(answer: &str) -> u64 {
    let rest = answer
        .split("I have been seen ")
        .nth(1)
        .unwrap_or_else(|| panic!("not the counter's answer: {answer:?}"));
    rest.split(' ').next().unwrap().parse().unwrap()
}

/// The addresses on `docker_gwbridge` of the service's running task containers.
fn task_addresses(service: &str) -> Vec<String> {
    let ids = try_docker(&[
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        &format!("label=com.docker.swarm.service.name={service}"),
    ])
    .unwrap_or_default();
    let bridge: Value = serde_json::from_str(
        &try_docker(&[
            "network",
            "inspect",
            "docker_gwbridge",
            "--format",
            "{{json .Containers}}",
        ])
        .unwrap_or_else(|_| "{}".into()),
    )
    .unwrap_or(Value::Null);
    ids.lines()
        .filter_map(|id| bridge[id]["IPv4Address"].as_str())
        .map(|cidr| cidr.split('/').next().unwrap().to_string())
        .collect()
}

/// Ask each of web's `replicas` running tasks at its own address (port
/// 5000), until all answer; the counts they answered, in the order asked.
fn every_replica_counts(service: &str, replicas: usize) -> Vec<u64> {
    wait_for(
        &format!("each of the {replicas} tasks of {service} to answer GET / on port 5000"),
        CONVERGE,
        || {
            let addresses = task_addresses(service);
            if addresses.len() != replicas {
                return Err(format!(
                    "{} task addresses on docker_gwbridge: {addresses:?}",
                    addresses.len()
                ));
            }
            // all answer, or none is counted: a failed round asks them all again
            let answers = addresses
                .iter()
                .map(|a| get(&format!("{a}:5000")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(answers.iter().map(|a| count(a)).collect())
        },
    )
}

/// Through the routing mesh: the count `127.0.0.1:port` answers.
fn mesh_count(port: u16) -> u64 {
    let answer = wait_for(
        &format!("GET / through the routing mesh on 127.0.0.1:{port}"),
        CONVERGE,
        || get(&format!("127.0.0.1:{port}")),
    );
    count(&answer)
}

/// The ports the service publishes, as `published->target/mode`, sorted.
fn published_ports(service: &str) -> Vec<String> {
    let s = inspect_service(service);
    let mut out: Vec<String> = s["Spec"]["EndpointSpec"]["Ports"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            format!(
                "{}->{}/{}",
                p["PublishedPort"],
                p["TargetPort"],
                p["PublishMode"].as_str().unwrap_or("ingress")
            )
        })
        .collect();
    out.sort();
    out
}

/// Every non-no-op change of a plan as `address action`, and each of its
/// reasons as `address: <reason JSON>`, for asserting on.
fn changes(plan: &Value) -> (Vec<String>, Vec<String>) {
    let mut actions = Vec::new();
    let mut reasons = Vec::new();
    for c in plan["resource_changes"]
        .as_array()
        .expect("resource_changes")
    {
        if c["action"] == "no-op" || c["action"] == "read" {
            continue;
        }
        let address = c["address"].as_str().unwrap_or("?");
        actions.push(format!("{address} {}", c["action"].as_str().unwrap_or("?")));
        for r in c["reasons"].as_array().into_iter().flatten() {
            reasons.push(format!("{address}: {r}"));
        }
    }
    actions.sort();
    (actions, reasons)
}

/// What is left on the engine with the stack's label (services, networks,
/// secrets, configs, task containers), one line per object.
fn leftovers(project: &str) -> Vec<String> {
    let filter = format!("label={NAMESPACE_LABEL}={project}");
    let mut left = Vec::new();
    for kind in ["service", "network", "secret", "config"] {
        let names = docker(&[kind, "ls", "--filter", &filter, "--format", "{{.Name}}"]);
        left.extend(names.lines().map(|n| format!("{kind} {n}")));
    }
    left.extend(
        task_containers(project)
            .into_iter()
            .map(|id| format!("container {id}")),
    );
    left
}

/// The names of the project's secrets (by the stack label).
fn secrets_of(project: &str) -> Vec<String> {
    let out = docker(&[
        "secret",
        "ls",
        "--filter",
        &format!("label={NAMESPACE_LABEL}={project}"),
        "--format",
        "{{.Name}}",
    ]);
    let mut names: Vec<String> = out.lines().map(str::to_string).collect();
    names.sort();
    names
}

/// The secrets a service's tasks get: (secret name, secret ID, file name).
fn service_secrets(service: &str) -> Vec<(String, String, String)> {
    let s = inspect_service(service);
    s["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["SecretName"].as_str().unwrap_or("").to_string(),
                r["SecretID"].as_str().unwrap_or("").to_string(),
                r["File"]["Name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The content of `path` in the service's one running task container. The
/// images are FROM scratch (no shell to `cat` with) and `docker cp` sees
/// only the empty mount point of a secret, so the file is read through the
/// task's root as the host sees it (`/proc/<pid>/root`, which needs the
/// test to run as root or as the containers' owner).
fn file_in_task(service: &str, path: &str) -> String {
    let ids = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.swarm.service.name={service}"),
    ]);
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(
        ids.len(),
        1,
        "one running task container of {service}: {ids:?}"
    );
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", ids[0]]);
    let seen = format!("/proc/{pid}/root{path}");
    std::fs::read_to_string(&seen).unwrap_or_else(|e| {
        panic!("cannot read {path} of {service}'s task as {seen}: {e} (the test needs root)")
    })
}

// ---------------------------------------------------------------- the files

/// The seed example (examples/getting-started/compose.yaml) as a stack:
/// the same services, build contexts, port and network, with what a Swarm
/// user changes: the image tag and the network are the project's own (the
/// example's are fixed names, shared with the plain engine's tests),
/// `redis` is reached by DNS round-robin (see the module's documentation),
/// and web reads a secret. `container_name` and `depends_on` stay: Swarm
/// ignores them, as `docker stack deploy` does.
const SEED: &str = r#"version: "3.9"

services:
  web:
    build: .
    image: "PROJECT-web:latest"
    container_name: "web"
    ports:
      - "5000:5000"
    depends_on:
      - redis
    networks:
      - service-network
    secrets:
      - token

  redis:
    build: ./redis
    container_name: "redis"
    networks:
      - service-network
    deploy:
      endpoint_mode: dnsrr

networks:
  service-network: {}

secrets:
  token:
    file: ./token.txt
"#;

/// The seed stack without a published port (tests that need not hold the
/// example's port) and without web's `container_name` (tests that scale
/// web: what berth says about it on Swarm is
/// [`swarm_ignores_what_stack_deploy_ignores_and_says_so`]'s).
fn seed_unpublished() -> String {
    SEED.replace("    ports:\n      - \"5000:5000\"\n", "")
        .replace("    container_name: \"web\"\n", "")
}

// ---------------------------------------------------------------- the tests

/// The seed stack as `validate` sees it with the Swarm backend: no engine,
/// no swarm mode.
fn validate_seed(compose: &str) -> crate::common::Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        compose.replace("PROJECT", "validate"),
    )
    .unwrap();
    std::fs::write(dir.path().join("token.txt"), "token\n").unwrap();
    Berth::new()
        .dir(dir.path())
        .args(["--backend", "swarm", "validate"])
        .run()
}

#[test]
fn swarm_ignores_what_stack_deploy_ignores_and_says_so() {
    // `docker stack deploy` on the seed example: "Ignoring deprecated
    // options: container_name: Setting the container name is not supported."
    let run = validate_seed(SEED).code(0);
    assert!(
        run.stderr().contains("container_name"),
        "nothing says that container_name is ignored on Swarm:\n{}",
        run.stderr()
    );
    // endpoint_mode is Swarm's own: the plain engine ignores it, Swarm does not
    assert!(
        !run.stderr().contains("endpoint_mode"),
        "a warning about endpoint_mode, which Swarm applies:\n{}",
        run.stderr()
    );
    // ... so a container_name does not stop web from having 3 replicas
    validate_seed(&SEED.replace(
        "    secrets:\n      - token\n",
        "    secrets:\n      - token\n    deploy:\n      replicas: 3\n",
    ))
    .code(0);
}

#[test]
fn the_seed_example_as_a_stack_answers_and_destroy_leaves_nothing() {
    let _swarm = SwarmMode::enter();
    let _example = EXAMPLE.lock().unwrap_or_else(|e| e.into_inner());
    let _slot = engine_slot();
    let stack = SwarmStack::example("swarm-seed", SEED);
    std::fs::write(stack.dir.path().join("token.txt"), "first token\n").unwrap();
    let web = stack.service("web");

    let run = stack.apply().code(0);
    assert!(run.stdout().contains("Apply complete!"), "{}", run.stdout());
    // apply waits for convergence: the tasks run when it returns
    assert_eq!(running_tasks(&web), 1, "web's tasks right after apply");
    assert_eq!(running_tasks(&stack.service("redis")), 1);

    // the counter answers, counting in redis
    let first = every_replica_counts(&web, 1)[0];
    let second = every_replica_counts(&web, 1)[0];
    assert_eq!(second, first + 1, "web counts in redis");
    if routing_mesh() {
        assert_eq!(mesh_count(5000), second + 1, "through the routing mesh");
    }
    assert_eq!(published_ports(&web), ["5000->5000/ingress"]);

    // docker's own stack commands see berth's stack
    let services = docker(&[
        "stack",
        "services",
        &stack.project,
        "--format",
        "{{.Name}} {{.Replicas}}",
    ]);
    let mut lines: Vec<&str> = services.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [format!("{}_redis 1/1", stack.project), format!("{web} 1/1")],
        "docker stack services {}",
        stack.project
    );
    let stacks = docker(&["stack", "ls", "--format", "{{.Name}} {{.Services}}"]);
    assert!(
        stacks.lines().any(|l| l == format!("{} 2", stack.project)),
        "docker stack ls: {stacks}"
    );

    // nothing changed: nothing to do
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0)
        .stdout_has("No changes.");

    stack
        .berth()
        .args(["destroy", "--auto-approve"])
        .run()
        .code(0);
    // services, networks, secrets, configs and task containers: all gone
    wait_for(
        "nothing with the stack's label after destroy",
        Duration::from_secs(30),
        || {
            let left = leftovers(&stack.project);
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        },
    );
}

#[test]
fn scaling_web_to_three_is_planned_by_name_and_every_replica_answers() {
    let _swarm = SwarmMode::enter();
    let _slot = engine_slot();
    let stack = SwarmStack::example("swarm-scale", &seed_unpublished());
    std::fs::write(stack.dir.path().join("token.txt"), "token\n").unwrap();
    let web = stack.service("web");
    stack.apply().code(0);
    let id = inspect_service(&web)["ID"].as_str().unwrap().to_string();

    // --scale on the command line
    let run = stack
        .berth()
        .args(["plan", "--detailed-exitcode", "--scale", "web=3"])
        .run()
        .code(2);
    assert!(run.stdout().contains("~ service.web"), "{}", run.stdout());
    assert!(
        run.stdout().to_lowercase().contains("replicas"),
        "{}",
        run.stdout()
    );

    // ... or deploy.replicas in the file: the plan names the service and the attribute
    stack.edit(
        "    secrets:\n      - token\n",
        "    secrets:\n      - token\n    deploy:\n      replicas: 3\n",
    );
    let plan = stack.plan_json(2);
    let (actions, reasons) = changes(&plan);
    assert_eq!(actions, ["service.web update"], "{reasons:#?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.to_lowercase().contains("replicas")),
        "no reason names replicas: {reasons:#?}"
    );
    stack.apply().code(0);
    assert_eq!(running_tasks(&web), 3, "apply returns once 3 tasks run");
    assert_eq!(inspect_service(&web)["ID"], id.as_str(), "updated in place");
    // three replicas, one count: each answers with the next number
    let counts = every_replica_counts(&web, 3);
    assert!(
        counts.windows(2).all(|w| w[1] == w[0] + 1),
        "the replicas share redis's count: {counts:?}"
    );
    stack.plans_nothing();
}

#[test]
fn a_new_published_port_updates_the_service_in_place() {
    let _swarm = SwarmMode::enter();
    let _example = EXAMPLE.lock().unwrap_or_else(|e| e.into_inner());
    let _slot = engine_slot();
    let stack = SwarmStack::example("swarm-port", SEED);
    std::fs::write(stack.dir.path().join("token.txt"), "token\n").unwrap();
    let web = stack.service("web");
    stack.apply().code(0);
    let before = inspect_service(&web);
    let count_before = every_replica_counts(&web, 1)[0];

    stack.edit("\"5000:5000\"", "\"5001:5000\"");
    let run = stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2);
    assert!(run.stdout().contains("~ service.web"), "{}", run.stdout());
    assert!(
        run.stdout()
            .contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{}",
        run.stdout()
    );
    let plan = stack.plan_json(2);
    let (actions, reasons) = changes(&plan);
    assert_eq!(actions, ["service.web update"], "{reasons:#?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.to_lowercase().contains("ports") && r.contains("5001")),
        "no reason names the published port: {reasons:#?}"
    );

    stack.apply().code(0);
    let after = inspect_service(&web);
    assert_eq!(
        after["ID"], before["ID"],
        "the same service, updated in place"
    );
    assert!(
        after["Version"]["Index"].as_u64() > before["Version"]["Index"].as_u64(),
        "the service's version moved: {} -> {}",
        before["Version"],
        after["Version"]
    );
    assert_eq!(published_ports(&web), ["5001->5000/ingress"]);
    // redis kept its task and the count
    let count_after = every_replica_counts(&web, 1)[0];
    assert!(
        count_after > count_before,
        "{count_before} then {count_after}"
    );
    if routing_mesh() {
        mesh_count(5001);
        assert!(
            get("127.0.0.1:5000").is_err(),
            "5000 answers after the port moved to 5001"
        );
    }
    stack.plans_nothing();
}

#[test]
fn a_rebuilt_image_under_the_same_tag_updates_the_service() {
    // moby#31518: `docker stack deploy` does not update a service whose
    // image was rebuilt under the same tag; berth deploys the image's ID
    let _swarm = SwarmMode::enter();
    let _slot = engine_slot();
    let stack = SwarmStack::example("swarm-rebuild", &seed_unpublished());
    std::fs::write(stack.dir.path().join("token.txt"), "token\n").unwrap();
    let web = stack.service("web");
    stack.apply().code(0);
    let image_of = |service: &str| {
        inspect_service(service)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let before = image_of(&web);
    let tagged = docker(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}}",
        &format!("{}-web:latest", stack.project),
    ]);
    assert!(
        before.contains(&tagged),
        "the service runs the built image by its ID ({tagged}): {before}"
    );

    // the same tag, a new image: web answers with a version
    let dockerfile = stack.dir.path().join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    std::fs::write(&dockerfile, format!("{text}ENV VERSION=2\n")).unwrap();
    let plan = stack.plan_json(2);
    let (actions, reasons) = changes(&plan);
    assert!(
        actions.iter().any(|a| a.starts_with("image.web "))
            && actions.contains(&"service.web update".to_string())
            && !actions.iter().any(|a| a.starts_with("service.redis")),
        "the image and web, not redis: {actions:?}\n{reasons:#?}"
    );
    stack.apply().code(0);
    let after = image_of(&web);
    assert_ne!(after, before, "web moved to the rebuilt image");
    let rebuilt = docker(&[
        "image",
        "inspect",
        "-f",
        "{{.Id}}",
        &format!("{}-web:latest", stack.project),
    ]);
    assert!(after.contains(&rebuilt), "{after} is not {rebuilt}");
    let answer = wait_for(
        "web's task of the rebuilt image to answer",
        CONVERGE,
        || {
            let addresses = task_addresses(&web);
            let [address] = addresses.as_slice() else {
                return Err(format!("task addresses: {addresses:?}"));
            };
            get(&format!("{address}:5000"))
        },
    );
    assert!(answer.contains("(version 2)"), "{answer}");
}

#[test]
fn a_service_scaled_by_hand_is_drift_and_apply_scales_it_back() {
    let _swarm = SwarmMode::enter();
    let _slot = engine_slot();
    let stack = SwarmStack::example(
        "swarm-drift",
        &seed_unpublished().replace(
            "    secrets:\n      - token\n",
            "    secrets:\n      - token\n    deploy:\n      replicas: 3\n",
        ),
    );
    std::fs::write(stack.dir.path().join("token.txt"), "token\n").unwrap();
    let web = stack.service("web");
    stack.apply().code(0);
    wait_running(&web, 3);

    docker(&["service", "scale", "--detach", &format!("{web}=1")]);
    wait_running(&web, 1);
    let plan = stack.plan_json(2);
    let (actions, reasons) = changes(&plan);
    assert_eq!(actions, ["service.web update"], "{reasons:#?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("drift") && r.to_lowercase().contains("replicas")),
        "no drift reason names replicas: {reasons:#?}"
    );
    stack
        .berth()
        .args(["plan"])
        .run()
        .code(0)
        .stdout_has("service.web");

    stack.apply().code(0);
    assert_eq!(running_tasks(&web), 3, "apply scales web back to 3");
    assert_eq!(
        inspect_service(&web)["Spec"]["Mode"]["Replicated"]["Replicas"],
        3
    );
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0)
        .stdout_has("No changes.");
}

#[test]
fn a_changed_secret_file_moves_the_service_to_a_new_secret() {
    let _swarm = SwarmMode::enter();
    let _slot = engine_slot();
    let stack = SwarmStack::example("swarm-secret", &seed_unpublished());
    let token = stack.dir.path().join("token.txt");
    std::fs::write(&token, "first-token-value\n").unwrap();
    let web = stack.service("web");
    stack.apply().code(0);

    let old = secrets_of(&stack.project);
    assert_eq!(old.len(), 1, "one secret: {old:?}");
    assert!(
        old[0].starts_with(&format!("{}_token", stack.project)),
        "the secret is named after the stack and its key: {old:?}"
    );
    let used = service_secrets(&web);
    assert_eq!(used.len(), 1, "{used:?}");
    assert_eq!(used[0].0, old[0]);
    assert!(
        ["token", "/run/secrets/token"].contains(&used[0].2.as_str()),
        "mounted as /run/secrets/token: {used:?}"
    );
    assert!(file_in_task(&web, "/run/secrets/token").contains("first-token-value"));

    std::fs::write(&token, "second-token-value\n").unwrap();
    let plan = stack.plan_json(2);
    let (actions, reasons) = changes(&plan);
    assert!(
        actions.iter().any(|a| a.starts_with("secret.token ")),
        "the plan names the secret: {actions:?}"
    );
    assert!(
        actions.contains(&"service.web update".to_string()),
        "web moves to the new secret in place: {actions:?} {reasons:#?}"
    );
    assert!(
        !actions.iter().any(|a| a.starts_with("service.redis")),
        "redis does not use the secret: {actions:?}"
    );
    // a secret's content is never printed
    let run = stack.berth().args(["plan"]).run().code(0);
    assert!(
        !run.stdout().contains("second-token-value") && !run.stdout().contains("first-token-value"),
        "{}",
        run.stdout()
    );

    stack.apply().code(0);
    let new = secrets_of(&stack.project);
    assert_eq!(new.len(), 1, "the old secret is gone, one is left: {new:?}");
    assert_ne!(new, old, "a new object under a new name");
    assert!(
        try_docker(&["secret", "inspect", &old[0]]).is_err(),
        "the old secret {} is removed",
        old[0]
    );
    let used = service_secrets(&web);
    assert_eq!(used.len(), 1, "{used:?}");
    assert_eq!(used[0].0, new[0], "web uses the new secret");
    assert!(
        ["token", "/run/secrets/token"].contains(&used[0].2.as_str()),
        "under the same file name: {used:?}"
    );
    wait_running(&web, 1);
    assert!(
        file_in_task(&web, "/run/secrets/token").contains("second-token-value"),
        "web's task reads the new content"
    );
    stack.plans_nothing();
}

#[test]
fn a_task_that_died_and_stays_down_is_drift_and_apply_runs_it_again() {
    let _swarm = SwarmMode::enter();
    let _slot = engine_slot();
    demo_image();
    let stack = SwarmStack::example(
        "swarm-dead",
        // no restart by Swarm: a task that dies stays down
        "services:\n  app:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n    \
         deploy:\n      restart_policy:\n        condition: none\n",
    );
    let app = stack.service("app");
    stack.apply().code(0);
    assert_eq!(running_tasks(&app), 1);

    let container = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.swarm.service.name={app}"),
    ]);
    docker(&["kill", &container]);
    wait_running(&app, 0);
    let plan = stack.plan_json(2);
    let (actions, reasons) = changes(&plan);
    assert_eq!(actions, ["service.app update"], "{reasons:#?}");
    assert!(
        reasons.iter().any(|r| r.contains("drift")),
        "no drift reason: {reasons:#?}"
    );

    stack.apply().code(0);
    assert_eq!(running_tasks(&app), 1, "apply runs the task again");
    stack.plans_nothing();
}

#[test]
fn an_update_swarm_rolls_back_fails_the_apply_and_the_old_version_keeps_running() {
    let _swarm = SwarmMode::enter();
    let _slot = engine_slot();
    demo_image();
    let stack = SwarmStack::example(
        "swarm-rollback",
        "services:\n  app:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n    \
         deploy:\n      update_config:\n        failure_action: rollback\n        monitor: 2s\n",
    );
    let app = stack.service("app");
    stack.apply().code(0);

    // the new version's task exits at once: Swarm's rolling update fails and rolls back
    stack.edit("[\"sleep\"]", "[\"exit\", \"3\"]");
    let run = stack.apply().code(1);
    assert!(
        run.stderr().contains("service.app"),
        "the failure names the service:\n{}",
        run.stderr()
    );
    assert!(
        run.stderr().to_lowercase().contains("roll"),
        "the failure says Swarm rolled the update back:\n{}",
        run.stderr()
    );
    // apply follows Swarm's rollback through: when it returns, the rollback
    // is done and the old version runs (no waiting here)
    let service = inspect_service(&app);
    assert_eq!(
        service["UpdateStatus"]["State"],
        "rollback_completed",
        "apply returned before Swarm's rollback completed: {}\n{}",
        service["UpdateStatus"],
        run.stderr()
    );
    assert_eq!(
        service["Spec"]["TaskTemplate"]["ContainerSpec"]["Args"],
        serde_json::json!(["sleep"]),
        "the service is back at the old version"
    );
    assert_eq!(
        running_tasks(&app),
        1,
        "the old version runs when apply returns:\n{}",
        try_docker(&["service", "ps", &app, "--no-trunc"]).unwrap_or_else(|e| e)
    );
    // the file still asks for the new version: it is still to do
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(2);
}

#[test]
fn a_saved_plan_is_refused_when_the_service_changed_since_and_the_change_survives() {
    let _swarm = SwarmMode::enter();
    let _slot = engine_slot();
    let stack = SwarmStack::example("swarm-version", &seed_unpublished());
    std::fs::write(stack.dir.path().join("token.txt"), "token\n").unwrap();
    let web = stack.service("web");
    stack.apply().code(0);

    // a change planned against the service as it is now
    stack.edit(
        "    secrets:\n      - token\n",
        "    secrets:\n      - token\n    environment:\n      MODE: planned\n",
    );
    stack
        .berth()
        .args(["plan", "--detailed-exitcode", "-o", "web.plan"])
        .run()
        .code(2);
    // ... and someone else's update in between
    docker(&[
        "service",
        "update",
        "--detach",
        "--label-add",
        "changed-by=hand",
        &web,
    ]);
    let run = stack.berth().args(["apply", "web.plan"]).run().code(1);
    assert!(
        run.stderr().contains("stale") && run.stderr().contains("berth plan"),
        "the refusal says the plan is stale and to plan again:\n{}",
        run.stderr()
    );
    let spec = &inspect_service(&web)["Spec"];
    assert_eq!(
        spec["Labels"]["changed-by"], "hand",
        "the update made by hand is not overwritten"
    );
    let env = spec["TaskTemplate"]["ContainerSpec"]["Env"].to_string();
    assert!(
        !env.contains("MODE=planned"),
        "the stale plan was applied: {env}"
    );

    // a new plan sees both, and apply makes the service what the file says
    stack.apply().code(0);
    let spec = &inspect_service(&web)["Spec"];
    let env = spec["TaskTemplate"]["ContainerSpec"]["Env"].to_string();
    assert!(env.contains("MODE=planned"), "{env}");
    stack.plans_nothing();
}

// ---------------------------------------------------------------- import

/// A stack as a `docker stack deploy` user writes it: images built
/// beforehand (stack deploy ignores `build`), an overlay network, a
/// published port (each test its own: Swarm refuses a port another service
/// publishes), and, with `objects`, a config and a secret.
fn stack_deploy_file(project: &str, port: u16, objects: bool) -> String {
    let mut yaml = format!(
        r#"version: "3.9"

services:
  web:
    image: {project}-web:latest
    ports:
      - "{port}:5000"
    networks: [back]
    deploy:
      replicas: 2
"#
    );
    if objects {
        yaml.push_str(
            "    configs:\n      - source: greeting\n        target: /greeting.txt\n    secrets: [token]\n",
        );
    }
    yaml.push_str(&format!(
        r#"  redis:
    image: {project}-redis:latest
    networks: [back]
    deploy:
      endpoint_mode: dnsrr

networks:
  back: {{}}
"#
    ));
    if objects {
        yaml.push_str(
            "\nconfigs:\n  greeting:\n    file: ./greeting.txt\n\nsecrets:\n  token:\n    file: ./token.txt\n",
        );
    }
    yaml
}

/// Build the example's two images as `<project>-web:latest` and
/// `<project>-redis:latest` with the docker CLI (no berth), and deploy
/// `compose.yaml` with `docker stack deploy --resolve-image never`; waits
/// until both services converge.
fn deployed_by_docker(stack: &SwarmStack) {
    for (image, context) in [
        (
            format!("{}-web:latest", stack.project),
            stack.dir.path().to_path_buf(),
        ),
        (
            format!("{}-redis:latest", stack.project),
            stack.dir.path().join("redis"),
        ),
    ] {
        let out = std::process::Command::new("docker")
            .args(["build", "-q", "-t", &image])
            .arg(&context)
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .expect("the docker CLI runs");
        assert!(
            out.status.success(),
            "docker build {image}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    docker(&[
        "stack",
        "deploy",
        "--resolve-image",
        "never",
        "-c",
        &stack.file().display().to_string(),
        &stack.project,
    ]);
    wait_running(&stack.service("web"), 2);
    wait_running(&stack.service("redis"), 1);
}

/// Import the stack, then plan: no changes; then one edit, exactly that change.
fn imported_then_no_changes(stack: &SwarmStack) {
    let run = stack.berth().args(["import"]).run().code(0);
    for address in ["service.web", "service.redis", "network.back"] {
        assert!(
            run.stdout().contains(&format!("Imported {address}")),
            "import does not name {address}:\n{}{}",
            run.stdout(),
            run.stderr()
        );
    }
    let plan = stack.plan_json(0);
    let (actions, reasons) = changes(&plan);
    assert!(actions.is_empty(), "{actions:?}\n{reasons:#?}");
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0)
        .stdout_has("No changes.");

    // one change in the file: exactly that change is planned
    stack.edit(
        "    deploy:\n      endpoint_mode: dnsrr\n",
        "    deploy:\n      endpoint_mode: dnsrr\n    environment:\n      PORT: \"6379\"\n",
    );
    let plan = stack.plan_json(2);
    let (actions, reasons) = changes(&plan);
    assert_eq!(actions, ["service.redis update"], "{reasons:#?}");
    assert!(
        reasons.iter().any(|r| r.contains("PORT=6379")),
        "no reason names the new variable: {reasons:#?}"
    );
}

#[test]
fn a_stack_made_by_docker_stack_deploy_is_imported_and_plans_no_changes() {
    let _swarm = SwarmMode::enter();
    let _slot = engine_slot();
    let stack = SwarmStack::example("swarm-import", "");
    stack.write(&stack_deploy_file(&stack.project, 45102, false));
    deployed_by_docker(&stack);
    imported_then_no_changes(&stack);
}

#[test]
fn a_stack_with_a_config_and_a_secret_made_by_docker_stack_deploy_is_imported() {
    let _swarm = SwarmMode::enter();
    let _slot = engine_slot();
    let stack = SwarmStack::example("swarm-import-objects", "");
    stack.write(&stack_deploy_file(&stack.project, 45103, true));
    std::fs::write(stack.dir.path().join("greeting.txt"), "hello\n").unwrap();
    std::fs::write(stack.dir.path().join("token.txt"), "token\n").unwrap();
    deployed_by_docker(&stack);
    imported_then_no_changes(&stack);
}
