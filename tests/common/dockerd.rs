//! A second, disposable Docker engine the tests start themselves: its own
//! data root, exec root, pid file and socket in a temp directory, its own
//! default bridge (an interface the test makes, with an address outside
//! every pool) and no iptables rules, so it cannot disturb the machine's
//! engine, and the demo image built into it. (Not `--bridge none`: dockerd
//! then deletes `docker0`, the machine engine's default bridge.) Tests may kill it, restart it on the same
//! directories, or start it with a tiny address pool.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dockerd {
    dir: tempfile::TempDir,
    /// The default bridge interface this engine uses, made by the test.
    bridge: String,
    extra: Vec<String>,
    child: Option<Child>,
}

impl Dockerd {
    /// Start one; `extra` flags are passed to dockerd (e.g.
    /// `--default-address-pool base=10.201.0.0/24,size=24`).
    pub fn start(extra: &[&str]) -> Dockerd {
        assert!(
            Path::new("/usr/bin/dockerd").exists() || which("dockerd"),
            "dockerd is not installed"
        );
        let dir = tempfile::Builder::new()
            .prefix("berth-d2-")
            .tempdir()
            .expect("a temp dir");
        std::fs::write(dir.path().join("daemon.json"), "{}").unwrap();
        let bridge = make_bridge();
        let mut d = Dockerd {
            dir,
            bridge,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        d.restart();
        d.build_demo_image();
        d
    }

    /// An engine whose address pool has room for exactly one network (a
    /// /24 of 10.201.0.0/16 of its own, so that parallel runs do not share).
    pub fn with_room_for_one_network() -> Dockerd {
        let base = format!("base=10.201.{}.0/24,size=24", std::process::id() % 250);
        Dockerd::start(&["--default-address-pool", &base])
    }

    /// `unix://` address of its socket.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    /// (Re)start it on the same directories and wait until it answers.
    pub fn restart(&mut self) {
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("dockerd.log"))
            .unwrap();
        let child = Command::new("dockerd")
            .arg("--config-file")
            .arg(d.join("daemon.json"))
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("dockerd.pid"))
            .arg("-H")
            .arg(self.host())
            .args([
                "--bridge",
                &self.bridge,
                "--iptables=false",
                "--ip-masq=false",
            ])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.docker_ok(&["version"]) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = std::fs::read_to_string(d.join("dockerd.log")).unwrap_or_default();
        let problems: Vec<&str> = log.lines().filter(|l| !l.contains("level=info")).collect();
        panic!(
            "the test dockerd does not answer after 60 s; its log, but info lines:\n{}",
            problems[problems.len().saturating_sub(20)..].join("\n")
        );
    }

    /// Kill it at once (SIGKILL), as a crash of its machine would: dockerd,
    /// the containerd it started and its containers' shims (every process
    /// whose command line names this engine's directory). A restart then
    /// finds its containers stopped.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &self.dir.path().display().to_string()])
            .status();
        std::thread::sleep(Duration::from_millis(500));
        // a crash leaves pid files: dockerd's (a restart refuses it) and
        // containerd's (a restart would wait on whatever process has that
        // pid now)
        let _ = std::fs::remove_file(self.dir.path().join("dockerd.pid"));
        let _ = std::fs::remove_file(self.dir.path().join("exec/containerd/containerd.pid"));
    }

    /// The docker CLI against this engine; its output, or a panic.
    pub fn docker(&self, args: &[&str]) -> String {
        let out = Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker {args:?} on the test engine: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn docker_ok(&self, args: &[&str]) -> bool {
        Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `berth-test-demo:latest` in this engine, from the static berth-demo
    /// that `examples/prepare.sh` builds.
    fn build_demo_image(&self) {
        super::engine::demo_image();
        let ctx = self.dir.path().join("image");
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::copy(
            super::root().join("examples/getting-started/berth-demo"),
            ctx.join("berth-demo"),
        )
        .unwrap();
        std::fs::write(
            ctx.join("Dockerfile"),
            "FROM scratch\nCOPY berth-demo /berth-demo\nENTRYPOINT [\"/berth-demo\"]\nCMD [\"sleep\"]\n",
        )
        .unwrap();
        self.docker(&[
            "build",
            "-q",
            "-t",
            super::engine::DEMO_IMAGE,
            ctx.to_str().unwrap(),
        ]);
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if self.child.is_some() {
            // remove what the test left, then stop the engine cleanly so it
            // unmounts its layers before the directory goes
            let ids = Command::new("docker")
                .arg("-H")
                .arg(self.host())
                .args(["ps", "-aq"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            for id in ids.split_whitespace() {
                let _ = self.docker_ok(&["rm", "-f", id]);
            }
            // its networks' bridge interfaces would outlive it in the host
            let _ = self.docker_ok(&["network", "prune", "-f"]);
            if let Some(mut c) = self.child.take() {
                let _ = Command::new("kill")
                    .args(["-TERM", &c.id().to_string()])
                    .status();
                let deadline = Instant::now() + Duration::from_secs(20);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = c.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        // a killed engine can leave its containers' shims: end them
        let _ = Command::new("pkill")
            .args(["-f", &self.dir.path().display().to_string()])
            .status();
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.path().join("data"))
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("ip")
            .args(["link", "delete", &self.bridge])
            .stderr(Stdio::null())
            .status();
    }
}

/// A bridge interface for one test engine: `bd2-<n>`, with an address in
/// 10.250.<n>.1/24 (outside the engines' default pools and the tests' own).
fn make_bridge() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = (std::process::id() + NEXT.fetch_add(1, Ordering::SeqCst)) % 250;
    let name = format!("bd2-{}-{n}", std::process::id() % 10000);
    let ip = |args: &[&str]| {
        let out = Command::new("ip").args(args).output().expect("ip runs");
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ip(&["link", "add", "name", &name, "type", "bridge"]);
    ip(&["addr", "add", &format!("10.250.{n}.1/24"), "dev", &name]);
    ip(&["link", "set", &name, "up"]);
    name
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}
