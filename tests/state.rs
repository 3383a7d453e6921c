//! The state lock between two real processes.
//!
//! The other process is this test binary run again on `hold_lock_helper`
//! (ignored, so it only runs when asked): it takes the lock, prints a line, and
//! holds the lock until its stdin closes. The tests know it holds the lock
//! because it said so, not because they slept.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use berth::state::{Holder, StateError, lock, lock_path};

/// The state file the helper locks; unset in an ordinary test run.
const HELPER_STATE: &str = "BERTH_TEST_HOLD_LOCK";
/// What the helper prints once it holds the lock.
const LOCKED: &str = "hold_lock_helper: locked";

/// Not a test: the other process of the tests below.
#[test]
#[ignore = "run by the lock tests in a child process"]
fn hold_lock_helper() {
    let Some(state) = std::env::var_os(HELPER_STATE) else {
        return;
    };
    let guard = lock(Path::new(&state), "berth apply", Duration::ZERO).expect("the lock is free");
    // On a line of its own: libtest has printed `test state::hold_lock_helper ... `.
    println!("\n{LOCKED}");
    std::io::stdout().flush().unwrap();
    // Hold until the test closes stdin (or dies), for a minute at most.
    let (closed, stdin_closed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read(&mut [0u8; 1]);
        let _ = closed.send(());
    });
    let _ = stdin_closed.recv_timeout(Duration::from_secs(60));
    drop(guard);
}

/// Another process holding the lock of a state file.
struct OtherProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl OtherProcess {
    /// Starts the helper and returns once it holds the lock on `state`.
    fn lock(state: &Path) -> OtherProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "state::hold_lock_helper", "--ignored"])
            .args(["--nocapture", "--test-threads=1"])
            .env(HELPER_STATE, state)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the test binary runs again");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap() == 0 {
                panic!("the helper ended without taking the lock:\n{seen}");
            }
            if line.trim_end().ends_with(LOCKED) {
                break;
            }
            seen.push_str(&line);
        }
        OtherProcess {
            child,
            stdin,
            stdout,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets it release the lock and end normally.
    fn release(mut self) {
        drop(self.stdin.take());
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the helper failed: {status}\n{rest}");
    }

    /// Kills it with SIGKILL: no destructor runs, the lock file keeps its text.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for OtherProcess {
    fn drop(&mut self) {
        // A failed test must not leave the helper behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("state/demo.json")
}

fn holder_in(lock_file: &Path) -> Holder {
    serde_json::from_slice(&std::fs::read(lock_file).unwrap())
        .expect("the lock file names a holder")
}

#[test]
fn a_lock_held_by_another_process_is_refused_at_once_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_file(dir.path());
    let other = OtherProcess::lock(&state);

    let start = Instant::now();
    let err = lock(&state, "berth plan", Duration::ZERO).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );

    let StateError::Locked {
        holder: Some(holder),
        ..
    } = &err
    else {
        panic!("not a lock error naming a holder: {err}");
    };
    assert_eq!(holder.pid, other.pid());
    assert_eq!(holder.command, "berth apply");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "state `{}` is locked by pid {} on host {} running `berth apply` since {}; ",
            state.display(),
            other.pid(),
            holder.host,
            holder.since
        )),
        "{message}"
    );

    other.release();
    lock(&state, "berth plan", Duration::ZERO).expect("free once the other process ends");
}

#[test]
fn a_lock_timeout_waits_until_the_other_process_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_file(dir.path());
    let other = OtherProcess::lock(&state);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let released = Instant::now();
        other.release();
        released
    });

    let start = Instant::now();
    let guard = lock(&state, "berth plan", Duration::from_secs(5)).expect("the lock frees in time");
    let acquired = Instant::now();
    let released = releaser.join().unwrap();

    assert!(
        acquired >= released,
        "locked before the other process let go"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(holder_in(guard.path()).command, "berth plan");
}

#[test]
fn a_killed_holder_leaves_no_lock_behind() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_file(dir.path());
    let other = OtherProcess::lock(&state);
    let pid = other.pid();
    other.kill();

    // Its name is still written in the lock file, but the OS lock died with it.
    assert_eq!(holder_in(&lock_path(&state)).pid, pid);
    let guard = lock(&state, "berth apply", Duration::ZERO).expect("a dead holder holds nothing");
    assert_eq!(holder_in(guard.path()).pid, std::process::id());
}

/// A damaged state never makes things worse: whatever happened to the file,
/// plan and apply stop with one line naming it and the backup, exit 1, and
/// change neither the file nor the engine; `berth state restore` brings the
/// backup back, and the next plan is clean.
#[test]
fn a_damaged_state_changes_nothing_and_the_backup_restores_it() {
    let stack = crate::common::engine::Stack::new(
        "damaged",
        "services:\n  app:\n    image: berth-test-demo:latest\n    command: [\"sleep\"]\n",
    );
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    // a second save, so the backup is a complete state of this project
    stack
        .berth()
        .args(["apply", "--auto-approve", "--scale", "app=2"])
        .run()
        .code(0);
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    let path = stack
        .dir
        .path()
        .join("state")
        .join(format!("{}.json", stack.project));
    let good = std::fs::read_to_string(&path).unwrap();
    let containers = || {
        crate::common::engine::docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={}", stack.project),
        ])
    };
    let before = containers();
    let damage: [(&str, String); 5] = [
        ("truncated", good[..good.len() / 2].to_string()),
        ("empty", String::new()),
        (
            "a newer format",
            good.replacen("\"format_version\": 5", "\"format_version\": 99", 1),
        ),
        (
            "hand-edited to invalid JSON",
            good.replacen("\"serial\"", "serial", 1),
        ),
        ("not a state", "[1, 2, 3]\n".to_string()),
    ];
    for (what, text) in &damage {
        std::fs::write(&path, text).unwrap();
        for args in [&["plan"][..], &["apply", "--auto-approve"]] {
            let run = stack.berth().args(args).run().code(1);
            let errors: Vec<&str> = run
                .0
                .stderr
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| std::str::from_utf8(l).unwrap())
                .collect();
            assert_eq!(errors.len(), 1, "{what}: {errors:?}");
            assert!(
                errors[0].contains(&path.display().to_string())
                    && (errors[0].contains(".backup") || errors[0].contains("upgrade berth")),
                "{what}: {}",
                errors[0]
            );
            assert_eq!(
                &std::fs::read_to_string(&path).unwrap(),
                text,
                "{what}: file untouched"
            );
            assert_eq!(containers(), before, "{what}: engine untouched");
        }
    }
    let run = stack.berth().args(["state", "restore"]).run().code(0);
    assert!(run.stdout().contains("Restored"), "{}", run.stdout());
    assert_eq!(
        std::fs::read_to_string(path.with_extension("json.before-restore")).unwrap(),
        damage[4].1
    );
    // the backup is one save behind: the next apply converges from it
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
    assert_eq!(containers(), before, "nothing duplicated");
    stack
        .berth()
        .args(["destroy", "--auto-approve"])
        .run()
        .code(0);
}
