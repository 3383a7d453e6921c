//! Errors from loading, saving and locking state.
//!
//! Each message is one line: lowercase, the file in backticks, the cause, then
//! what to do. Whenever a file is refused, the message says it was not changed.
//! Text taken from a file (a project name, a serde message quoting a key) is
//! quoted with [`one_line`], so that no file can break a message over lines.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::format::FORMAT_VERSION;
use super::lock::Holder;
use crate::utf8::one_line;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("could not read state file `{path}`: {source}; check that it is readable")]
    Read { path: PathBuf, source: io::Error },

    /// `berth state restore` without a backup.
    #[error("there is no backup `{path}` to restore from; nothing was changed")]
    NoBackup { path: PathBuf },

    /// The key file beside the state cannot be read or made.
    #[error(
        "the key that seals the state's sensitive values, `{path}`, is unusable: {detail}; restore it from a backup, or set BERTH_STATE_KEY to the team's key"
    )]
    Key { path: PathBuf, detail: String },

    /// The state's sensitive values were sealed with another key.
    #[error(
        "state file `{path}` was sealed with key {recorded}, but the key here is {found}; nothing was changed: set BERTH_STATE_KEY to the key the state was written with, or bring its key file (the state's name with .key) from the machine that wrote it"
    )]
    OtherKey {
        path: PathBuf,
        recorded: String,
        found: String,
    },

    /// The state was applied to another engine than the one reached now.
    #[error(
        "state file `{path}` was applied to the Docker engine {recorded}, but this is engine {current}; nothing was changed: reach the state's engine (-H, --context, DOCKER_HOST), use another --state for this engine, or pass --move-engine if this engine replaces the old one"
    )]
    OtherEngine {
        path: PathBuf,
        recorded: String,
        current: String,
    },

    #[error(
        "state file `{path}` was applied with the {recorded} backend, but this plan is for the {current} backend; nothing was changed: plan with --backend {recorded} (or the compose file's `x-berth.backend`), or `berth destroy --backend {recorded}` first and start a new state"
    )]
    OtherBackend {
        path: PathBuf,
        recorded: crate::compose::BackendKind,
        current: crate::compose::BackendKind,
    },

    #[error(
        "state file `{path}` is not valid JSON (line {line}, column {column}: {}); it was not changed: fix it, or restore `{path}.backup` with `berth state restore`",
        one_line(.message)
    )]
    NotJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A state file is JSON, and JSON is UTF-8: the first byte that is not.
    #[error(
        "state file `{path}` is not valid UTF-8: byte 0x{byte:02x} at line {line}, column {column} ({path}:{line}:{column}); it was not changed: save it as UTF-8, or restore `{path}.backup` with `berth state restore`"
    )]
    NotUtf8 {
        path: PathBuf,
        byte: u8,
        line: u32,
        column: u32,
    },

    /// Valid JSON that is not a berth state of its format (a missing field, a
    /// wrong type, an unknown field, a bad address).
    #[error(
        "state file `{path}` is not a berth state file ({}); it was not changed: fix it, or restore `{path}.backup` with `berth state restore`",
        one_line(.detail)
    )]
    Malformed { path: PathBuf, detail: String },

    #[error(
        "state file `{path}` was written by a newer berth (format {found}; this berth reads up to {FORMAT_VERSION}); upgrade berth"
    )]
    NewerFormat { path: PathBuf, found: u64 },

    #[error(
        "state file `{path}` has format_version {found}, which no berth writes; it was not changed: fix it, or restore `{path}.backup` with `berth state restore`"
    )]
    UnknownFormat { path: PathBuf, found: u64 },

    #[error(
        "state file `{path}` belongs to project `{}`, not `{expected}`; it was not changed: point `--state` at the state of `{expected}`, or pass `--project-name {}`",
        one_line(.found), one_line(.found)
    )]
    WrongProject {
        path: PathBuf,
        found: String,
        expected: String,
    },

    /// The file on disk started another history than the state being saved
    /// (e.g. a new state saved where one already exists).
    #[error(
        "state file `{path}` has lineage {}, not {saving} as the state being saved; it was not overwritten: load the existing state instead of starting a new one, or move it away",
        one_line(.on_disk)
    )]
    LineageMismatch {
        path: PathBuf,
        on_disk: String,
        saving: String,
    },

    /// Someone wrote the file since it was loaded (state is written under a
    /// lock, so another berth ran without one).
    #[error(
        "state file `{path}` was written by someone else since it was loaded (serial {on_disk} on disk, {loaded} when loaded); it was not overwritten: run the command again"
    )]
    SerialMismatch {
        path: PathBuf,
        on_disk: u64,
        loaded: u64,
    },

    #[error(
        "could not keep the previous state `{path}` as `{path}.backup`: {source}; the state file was not changed"
    )]
    Backup { path: PathBuf, source: io::Error },

    #[error(
        "could not write state file `{path}`: {source}; the state file was not changed: check the directory's permissions and free space"
    )]
    Write { path: PathBuf, source: io::Error },

    /// The new state is in place, but the directory entry may not be on disk.
    #[error(
        "wrote state file `{path}` but could not sync its directory: {source}; the new state may not survive a power loss"
    )]
    SyncDirectory { path: PathBuf, source: io::Error },

    #[error("could not lock `{path}`: {source}; check the directory's permissions")]
    LockFile { path: PathBuf, source: io::Error },

    #[error("{}", locked_message(.state, .lock, .holder.as_deref(), *.waited))]
    Locked {
        /// The state file.
        state: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// Who holds it, as written in the lock file (None if it names nobody).
        holder: Option<Box<Holder>>,
        /// How long this berth waited (`--lock-timeout`); zero when it did not.
        waited: Duration,
    },
}

fn locked_message(
    state: &std::path::Path,
    lock: &std::path::Path,
    holder: Option<&Holder>,
    waited: Duration,
) -> String {
    let by = match holder {
        // as the lock file says, which anyone may have written
        Some(h) => format!(
            "by pid {} on host {} running `{}` since {}",
            h.pid,
            one_line(&h.host),
            one_line(&h.command),
            one_line(&h.since)
        ),
        None => format!(
            "by another process (`{}` does not name it; `fuser -v {}` does)",
            lock.display(),
            lock.display()
        ),
    };
    let state = state.display();
    if waited.is_zero() {
        format!(
            "state `{state}` is locked {by}; wait for it to finish or stop it, or retry with `--lock-timeout 5m`"
        )
    } else {
        format!(
            "state `{state}` is still locked after waiting {waited:?}, {by}; wait for it to finish or stop it, or retry with a longer `--lock-timeout`"
        )
    }
}
