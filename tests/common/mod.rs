//! Helpers shared by the integration tests: a builder that runs the berth
//! binary and assertions that print everything when they fail.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod config_diff;
pub mod dockerd;
pub mod engine;
pub mod remote;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of examples/getting-started in a temp dir: the compose file and both
/// build contexts (with the static `berth-demo` binaries when `binaries`; run
/// `examples/prepare.sh` first for those).
pub fn example_copy(binaries: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("examples/getting-started");
    let mut files = vec![
        "compose.yaml",
        "Dockerfile",
        ".dockerignore",
        "redis/Dockerfile",
        "redis/.dockerignore",
    ];
    if binaries {
        files.extend(["berth-demo", "redis/berth-demo"]);
    }
    for rel in files {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), &to).unwrap_or_else(|e| panic!("copy {rel}: {e}"));
    }
    dir
}

/// The script CI uses to provide `docker compose`; relative to the project root.
pub const INSTALL_COMPOSE: &str = "scripts/install-compose-v2.sh";

/// The version of `docker compose` (e.g. `2.40.3`). Fails (never skips) when it
/// is missing or not v2: a silent pass would prove nothing. `who` names the
/// suite in the message.
pub fn require_docker_compose(who: &str) -> String {
    let output = Command::new("docker")
        .args(["compose", "version", "--short"])
        .output();
    let version = match output {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .trim()
            .trim_start_matches('v')
            .to_owned(),
        Ok(output) => panic!(
            "`docker compose version` failed ({}): {who} needs Docker Compose v2; \
             run `{INSTALL_COMPOSE}` (CI installs it)\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ),
        Err(error) => panic!(
            "cannot run `docker compose version` ({error}): {who} needs the docker CLI \
             with Docker Compose v2; run `{INSTALL_COMPOSE}` (CI installs it)"
        ),
    };
    assert!(
        version.starts_with("2."),
        "`docker compose version` says {version:?}; {who} needs Docker Compose v2: \
         run `{INSTALL_COMPOSE}` (CI installs it)"
    );
    version
}

/// The directories directly in `parent` (fixtures, cases), sorted so that reports are stable.
pub fn subdirs(parent: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(parent)
        .unwrap_or_else(|error| panic!("cannot read `{}`: {error}", parent.display()));
    let mut dirs = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_dir())
        .collect::<Vec<_>>();
    dirs.sort();
    dirs
}

/// One run of `berth`, built step by step (as just's `Test` builder).
#[must_use = "a Berth run does nothing until `.run()` and asserts nothing until checked"]
pub struct Berth {
    cmd: Command,
    stdin: Option<String>,
}

impl Berth {
    pub fn new() -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.env_clear();
        for key in ["PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("NO_COLOR", "1");
        Berth { cmd, stdin: None }
    }

    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.cmd.arg(arg);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_string());
        self
    }

    #[must_use = "check the run with its assertions"]
    pub fn run(mut self) -> Run {
        use std::io::Write;
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self.cmd.spawn().expect("the berth binary runs");
        if let Some(text) = self.stdin.take() {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        Run(child.wait_with_output().expect("berth finishes"))
    }
}

/// What a run printed and how it ended. (`run()` is `#[must_use]`, so a test that
/// runs berth and checks nothing gets a warning.)
pub struct Run(pub Output);

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    fn show(&self) -> String {
        format!(
            "exit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.0.status.code(),
            self.stdout(),
            self.stderr()
        )
    }

    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.0.status.code(), Some(code), "{}", self.show());
        assert!(!self.stderr().contains("panicked"), "{}", self.show());
        self
    }

    pub fn stdout_is(self, want: &str) -> Self {
        assert_eq!(self.stdout(), want, "{}", self.show());
        self
    }

    pub fn stdout_has(self, part: &str) -> Self {
        assert!(
            self.stdout().contains(part),
            "stdout lacks {part:?}\n{}",
            self.show()
        );
        self
    }

    pub fn stderr_has(self, part: &str) -> Self {
        assert!(
            self.stderr().contains(part),
            "stderr lacks {part:?}\n{}",
            self.show()
        );
        self
    }

    pub fn stderr_lacks(self, part: &str) -> Self {
        assert!(
            !self.stderr().contains(part),
            "stderr has {part:?}\n{}",
            self.show()
        );
        self
    }
}

/// Fail with every failure of a table-driven suite in one report: `of_what`
/// says what failed ("fixtures: ...", "bad-input cases failed ..."), after the count.
pub fn fail_with_all(failures: &[String], total: usize, of_what: &str) {
    if failures.is_empty() {
        return;
    }
    let mut report = format!("{} of {total} {of_what}\n", failures.len());
    for failure in failures {
        report.push('\n');
        report.push_str(failure);
    }
    panic!("{report}");
}

/// Write the state berth would have after applying `dir`'s project, with
/// made-up IDs (resolved without the context-hash cache).
pub fn pretend_applied(dir: &Path, project: &str) {
    use berth::compose::{LoadOptions, load};
    use berth::resource::{ResolveOptions, resolve};
    use berth::state::{State, StateResource, StateStore, default_path};
    let loaded = load(LoadOptions {
        working_dir: dir.to_path_buf(),
        project_name: Some(project.to_string()),
        ..Default::default()
    })
    .unwrap();
    // as `berth plan` does: the state directory is not part of a build context
    let options = ResolveOptions {
        context_skip: vec![dir.join("state")],
        ..Default::default()
    };
    let desired = resolve(&loaded.project, &options).unwrap();
    let mut state = State::new(project);
    for r in desired.resources.values() {
        state.insert(
            r.address.clone(),
            StateResource::recorded(r, format!("id-{}", r.address)),
        );
    }
    StateStore::new(default_path(dir, project))
        .save(&mut state)
        .unwrap();
}
