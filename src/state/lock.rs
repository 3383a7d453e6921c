//! The state lock: one command at a time may write a project's state.
//!
//! `<state file without .json>.lock` (e.g. `state/demo.lock`) is locked with
//! an OS file lock (`flock` on Unix) for the whole command. The kernel drops
//! the lock when the process ends, however it ends, so a crashed berth never
//! leaves its project locked. The holder (pid, host, command, since) is
//! written into the file only so that a refused berth can say who holds it;
//! that text is never what decides, and stale text from a killed holder does
//! not block anyone. The lock file is never removed: removing a locked file
//! would let the next berth lock a new file while the old one is still held.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::StateError;
use super::file::{directory, with_suffix};
use super::timestamp::format_rfc3339;

/// Who holds a lock: written inside the lock file so the error can name them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// The command line that took the lock, e.g. `berth apply`.
    pub command: String,
    /// When the lock was taken, RFC 3339 UTC.
    pub since: String,
}

impl Holder {
    /// This process, now, running `command`.
    pub fn current(command: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            host: hostname(),
            command: command.to_string(),
            since: format_rfc3339(SystemTime::now()),
        }
    }
}

/// Held for a whole command that may write state; released on drop.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
    holder: Holder,
}

impl LockGuard {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What this lock wrote about itself.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Tidy, not needed: the holder text means nothing once unlocked.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The lock file of a state file: `state/demo.json` → `state/demo.lock`; a
/// state file not ending in `.json` gets `.lock` appended.
pub fn lock_path(state_path: &Path) -> PathBuf {
    if state_path.extension().is_some_and(|e| e == "json") {
        state_path.with_extension("lock")
    } else {
        with_suffix(state_path, ".lock")
    }
}

/// Locks the state at `state_path` for this process, which runs `command`
/// (as the refused will read it, e.g. `berth apply`).
///
/// With a zero `timeout` a held lock fails at once; otherwise berth retries
/// until the lock is free or `timeout` has passed. The lock file and its
/// directory are created if needed (mode 0600).
pub fn lock(state_path: &Path, command: &str, timeout: Duration) -> Result<LockGuard, StateError> {
    let path = lock_path(state_path);
    let lock_error = |source: io::Error| StateError::LockFile {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(directory(&path)).map_err(lock_error)?;
    let mut file = open_lock_file(&path).map_err(lock_error)?;

    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let waited = start.elapsed();
                if waited >= timeout {
                    return Err(StateError::Locked {
                        state: state_path.to_path_buf(),
                        holder: read_holder(&path),
                        lock: path,
                        waited: timeout,
                    });
                }
                thread::sleep(pause.min(timeout - waited));
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(TryLockError::Error(source)) => return Err(lock_error(source)),
        }
    }

    let holder = Holder::current(command);
    let mut text = serde_json::to_vec(&holder).expect("a holder serializes to JSON");
    text.push(b'\n');
    // Opened without append and never read through: the cursor is at 0.
    file.set_len(0)
        .and_then(|()| file.write_all(&text))
        .map_err(lock_error)?;
    Ok(LockGuard { file, path, holder })
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The holder named in a lock file. A holder writes its name just after
/// taking the lock, so an empty or partial text is read again a few times.
fn read_holder(path: &Path) -> Option<Box<Holder>> {
    for _ in 0..5 {
        if let Some(holder) = fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        {
            return Some(holder);
        }
        thread::sleep(Duration::from_millis(2));
    }
    None
}

/// This machine's name, for the holder: the kernel's, else `$HOSTNAME`.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_path(dir: &Path) -> PathBuf {
        dir.join("state/demo.json")
    }

    #[test]
    fn the_lock_file_sits_beside_the_state_file() {
        assert_eq!(
            lock_path(Path::new("state/demo.json")),
            Path::new("state/demo.lock")
        );
        assert_eq!(
            lock_path(Path::new("/ci/demo.tfstate")),
            Path::new("/ci/demo.tfstate.lock")
        );
    }

    #[test]
    fn the_lock_file_names_its_holder_while_held() {
        let dir = tempfile::tempdir().unwrap();
        let guard = lock(&state_path(dir.path()), "berth apply", Duration::ZERO).unwrap();
        assert_eq!(guard.path(), dir.path().join("state/demo.lock"));
        let written: Holder = serde_json::from_slice(&fs::read(guard.path()).unwrap()).unwrap();
        assert_eq!(&written, guard.holder());
        assert_eq!(written.pid, std::process::id());
        assert_eq!(written.command, "berth apply");
        assert_eq!(written.host, hostname());
        assert!(
            written.since.ends_with('Z') && written.since.len() == 20,
            "{}",
            written.since
        );

        let lock_file = guard.path().to_path_buf();
        drop(guard);
        assert_eq!(
            fs::read(&lock_file).unwrap(),
            b"",
            "released locks name nobody"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let guard = lock(&state_path(dir.path()), "berth apply", Duration::ZERO).unwrap();
        let mode = fs::metadata(guard.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_held_lock_is_refused_at_once_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_path(dir.path());
        let held = lock(&state, "berth apply", Duration::ZERO).unwrap();
        let h = held.holder();

        let start = Instant::now();
        let err = lock(&state, "berth plan", Duration::ZERO).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(
            err.to_string(),
            format!(
                "state `{}` is locked by pid {} on host {} running `berth apply` since {}; wait for it to finish or stop it, or retry with `--lock-timeout 5m`",
                state.display(),
                h.pid,
                h.host,
                h.since
            )
        );

        drop(held);
        lock(&state, "berth plan", Duration::ZERO).expect("free once released");
    }

    #[test]
    fn a_timeout_retries_then_says_how_long_it_waited() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_path(dir.path());
        let _held = lock(&state, "berth apply", Duration::ZERO).unwrap();

        let start = Instant::now();
        let err = lock(&state, "berth plan", Duration::from_millis(60)).unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(60));
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "state `{}` is still locked after waiting 60ms, by pid {} on host ",
                state.display(),
                std::process::id()
            )),
            "{text}"
        );
        assert!(
            text.ends_with(
                "; wait for it to finish or stop it, or retry with a longer `--lock-timeout`"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_lock_file_that_names_nobody_says_how_to_find_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_path(dir.path());
        fs::create_dir_all(dir.path().join("state")).unwrap();
        // Someone holds the OS lock without writing their name.
        let other = open_lock_file(&lock_path(&state)).unwrap();
        other.try_lock().unwrap();

        let err = lock(&state, "berth plan", Duration::ZERO).unwrap_err();
        let lock_file = lock_path(&state).display().to_string();
        assert_eq!(
            err.to_string(),
            format!(
                "state `{}` is locked by another process (`{lock_file}` does not name it; `fuser -v {lock_file}` does); wait for it to finish or stop it, or retry with `--lock-timeout 5m`",
                state.display()
            )
        );
    }

    #[test]
    fn stale_holder_text_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_path(dir.path());
        fs::create_dir_all(dir.path().join("state")).unwrap();
        let stale =
            r#"{"pid":1,"host":"gone","command":"berth apply","since":"2026-11-25T17:00:00Z"}"#;
        fs::write(lock_path(&state), stale).unwrap();

        let guard = lock(&state, "berth plan", Duration::ZERO).unwrap();
        let written: Holder = serde_json::from_slice(&fs::read(guard.path()).unwrap()).unwrap();
        assert_eq!(written.command, "berth plan");
    }

    #[test]
    fn the_host_has_a_name() {
        assert!(!hostname().is_empty());
    }
}
