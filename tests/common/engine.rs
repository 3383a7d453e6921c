//! Helpers for tests against the real Docker engine: the demo image, the
//! docker CLI, a guard that removes a project's resources, unique project
//! names, and a bound on how many engine tests run at once.
//!
//! A typical engine test:
//!
//! ```ignore
//! let _slot = engine_slot();            // first: released last
//! let project = unique_project("obs");
//! let _cleanup = Cleanup::new(&project); // dropped before the slot, even on panic
//! docker(&["run", "-d", "--label", &label(&project), demo_image(), "sleep"]);
//! ```

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

/// The tag of the test image: `FROM scratch`, the static berth-demo binary
/// as `/berth-demo` (the entrypoint), `CMD ["sleep"]`.
pub const DEMO_IMAGE: &str = "berth-test-demo:latest";

/// The project label docker compose and berth put on everything they create.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";

/// How many engine tests of this process may hold the engine at once. The
/// engine's default address pools hold ~30 bridge networks, and starts
/// barely overlap on 2 cores anyway.
const ENGINE_SLOTS: usize = 4;

/// The local demo image, built once per test process (and safely when
/// several test processes start at once: they take turns under a file lock).
/// Each process rebuilds it, so it always runs the current berth-demo; when
/// nothing changed, cargo and the classic builder's cache make that a fraction
/// of a second.
pub fn demo_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(build_demo_image);
    DEMO_IMAGE
}

fn build_demo_image() {
    let root = super::root();
    // The image is global to the engine, so the lock is global to the
    // machine rather than to one target dir: two checkouts testing at once
    // must not interleave their builds of the same tag either.
    let lock_path = std::env::temp_dir().join("berth-test-demo-image.lock");
    let lock = std::fs::File::create(&lock_path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));

    let prepare = root.join("examples/prepare.sh");
    // prepare.sh keeps its static build in its own target dir; a
    // CARGO_TARGET_DIR inherited from `cargo test` would point it at the
    // directory (and lock) of the build running these tests.
    let out = Command::new(&prepare)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", prepare.display()));
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        prepare.display(),
        String::from_utf8_lossy(&out.stderr)
    );

    let context = tempfile::tempdir().expect("a temp build context");
    std::fs::copy(
        root.join("examples/getting-started/berth-demo"),
        context.path().join("berth-demo"),
    )
    .expect("prepare.sh leaves examples/getting-started/berth-demo");
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\n\
         COPY berth-demo /berth-demo\n\
         LABEL dev.berth.test=demo\n\
         ENTRYPOINT [\"/berth-demo\"]\n\
         CMD [\"sleep\"]\n",
    )
    .unwrap();
    // The engine has no buildx: ask for the classic builder outright.
    let out = Command::new("docker")
        .args(["build", "-q", "-t", DEMO_IMAGE])
        .arg(context.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("the docker CLI runs");
    assert!(
        out.status.success(),
        "docker build of {DEMO_IMAGE} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(lock);
}

/// Run the docker CLI; its stdout, trimmed. Panics with its stderr when it fails.
pub fn docker(args: &[&str]) -> String {
    match try_docker(args) {
        Ok(stdout) => stdout,
        Err(stderr) => panic!("docker {} failed: {stderr}", args.join(" ")),
    }
}

/// Run the docker CLI; its trimmed stdout, or its stderr when it fails.
pub fn try_docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run the docker CLI: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// `com.docker.compose.project=<project>`, for `--label` and `--filter label=`.
pub fn label(project: &str) -> String {
    format!("{PROJECT_LABEL}={project}")
}

/// A project name unique to this test run: lowercase, short, valid for
/// compose (`<prefix>-<pid>-<n>`).
pub fn unique_project(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}", prefix.to_ascii_lowercase(), std::process::id())
}

/// Removes, when dropped (also when the test panics), every container,
/// network and volume labelled with the project, plus the unlabelled ones
/// registered with [`Cleanup::network`] and [`Cleanup::volume`], and the
/// image references that keep the project's deploys (`berth-keep/<project>`).
#[must_use = "the guard cleans up when dropped; bind it to a variable"]
pub struct Cleanup {
    project: String,
    networks: Vec<String>,
    volumes: Vec<String>,
    images: Vec<String>,
}

impl Cleanup {
    pub fn new(project: &str) -> Cleanup {
        Cleanup {
            project: project.to_string(),
            networks: Vec::new(),
            volumes: Vec::new(),
            images: Vec::new(),
        }
    }

    /// Also remove the image reference `name` (a tag the test made).
    pub fn image(&mut self, name: &str) {
        self.images.push(name.to_string());
    }

    /// Also remove the network `name` (one made without the project label).
    pub fn network(&mut self, name: &str) {
        self.networks.push(name.to_string());
    }

    /// Also remove the volume `name` (one made without the project label).
    pub fn volume(&mut self, name: &str) {
        self.volumes.push(name.to_string());
    }

    fn listed(&self, kind: &str) -> Vec<String> {
        let filter = format!("label={}", label(&self.project));
        let args: Vec<&str> = match kind {
            "container" => vec!["ps", "-aq", "--filter", &filter],
            "network" => vec!["network", "ls", "-q", "--filter", &filter],
            _ => vec!["volume", "ls", "-q", "--filter", &filter],
        };
        try_docker(&args)
            .map(|out| out.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

impl Drop for Cleanup {
    // Never panics: a panic while unwinding from a failed test would abort
    // the whole test process. Failures are reported on stderr instead.
    fn drop(&mut self) {
        let containers = self.listed("container");
        if !containers.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(containers.iter().map(String::as_str));
            if let Err(e) = try_docker(&args) {
                eprintln!("cleanup of `{}`: {e}", self.project);
            }
        }
        let mut networks = self.listed("network");
        networks.extend(self.networks.iter().cloned());
        for network in &networks {
            // Right after its containers go, the engine may still say the
            // network "has active endpoints" (DESIGN.md, Engine facts).
            let mut last = Ok(String::new());
            for attempt in 0..10 {
                last = try_docker(&["network", "rm", network]);
                match &last {
                    Ok(_) => break,
                    Err(e) if e.contains("No such network") || e.contains("not found") => {
                        last = Ok(String::new());
                        break;
                    }
                    Err(_) => {
                        std::thread::sleep(std::time::Duration::from_millis(100 << attempt.min(4)))
                    }
                }
            }
            if let Err(e) = last {
                eprintln!("cleanup of `{}`: {e}", self.project);
            }
        }
        let mut volumes = self.listed("volume");
        volumes.extend(self.volumes.iter().cloned());
        for volume in &volumes {
            if let Err(e) = try_docker(&["volume", "rm", "-f", volume]) {
                eprintln!("cleanup of `{}`: {e}", self.project);
            }
        }
        for e in remove_images(&self.project, &self.images) {
            eprintln!("cleanup of `{}`: {e}", self.project);
        }
    }
}

/// Remove `images` and the references apply keeps `project`'s deploys'
/// images under (an image goes with its last reference, once its
/// containers are gone); the errors, one line each.
pub fn remove_images(project: &str, images: &[String]) -> Vec<String> {
    let repository = berth::state::keep_repository(project);
    let kept = try_docker(&[
        "image",
        "ls",
        &repository,
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ])
    .unwrap_or_default();
    kept.lines()
        .chain(images.iter().map(String::as_str))
        .filter_map(|reference| try_docker(&["rmi", "-f", reference]).err())
        .collect()
}

/// Wait for one of this process's [`ENGINE_SLOTS`] engine slots; the slot is
/// released when the returned guard drops. Take it first in a test, so it is
/// dropped last (after the test's [`Cleanup`]).
pub fn engine_slot() -> impl Drop {
    SLOTS.acquire();
    EngineSlot
}

static SLOTS: Semaphore = Semaphore::new(ENGINE_SLOTS);

struct Semaphore {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Semaphore {
    const fn new(n: usize) -> Semaphore {
        Semaphore {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) {
        // A test that panicked while holding the lock poisons it; the count
        // is still right, so carry on.
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
    }

    fn release(&self) {
        *self.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.freed.notify_one();
    }
}

struct EngineSlot;

impl Drop for EngineSlot {
    fn drop(&mut self) {
        SLOTS.release();
    }
}

/// What an engine test of a compose project needs: an engine slot, a unique
/// project cleaned up when dropped (before the slot is released), the demo
/// image, and a temp directory holding `compose.yaml`.
pub struct Stack {
    pub project: String,
    pub dir: tempfile::TempDir,
    _cleanup: Cleanup,
    _slot: EngineSlot,
}

impl Stack {
    pub fn new(prefix: &str, compose_yaml: &str) -> Stack {
        SLOTS.acquire();
        let slot = EngineSlot;
        let project = unique_project(prefix);
        let cleanup = Cleanup::new(&project);
        demo_image();
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::write(dir.path().join("compose.yaml"), compose_yaml).expect("write compose.yaml");
        Stack {
            project,
            dir,
            _cleanup: cleanup,
            _slot: slot,
        }
    }

    /// Remove the image reference `name` with the stack (a tag the test made).
    pub fn cleanup_image(&mut self, name: &str) {
        self._cleanup.image(name);
    }

    /// berth run in the stack's directory as its project (`-p <project>`).
    pub fn berth(&self) -> crate::common::Berth {
        crate::common::Berth::new()
            .dir(self.dir.path())
            .args(["-p", &self.project])
    }
}

/// The example uses fixed names (`web`, `redis`, `service-network`, port 5000):
/// tests that run it take turns.
pub static EXAMPLE: Mutex<()> = Mutex::new(());
