//! Loading and saving a state file.
//!
//! A save never leaves a half-written state file: the new state goes to a temp
//! file in the same directory (`<name>.tmp.<random>`), is fsynced, the previous
//! file is kept as `<name>.backup`, the temp file is renamed over the state
//! file and the directory is fsynced. A crash at any point leaves either the
//! old or the new state in place, plus at worst a temp file that the next load
//! removes without reading.
//!
//! A file that berth cannot read (invalid JSON, a newer format, another
//! project, another lineage or a serial that moved since it was loaded) is
//! refused and never overwritten.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::format::{self, FORMAT_VERSION};
use super::{State, StateError};

/// Where a project's state lives unless told otherwise:
/// `<project_dir>/state/<project>.json`.
pub fn default_path(project_dir: &Path, project: &str) -> PathBuf {
    project_dir.join("state").join(format!("{project}.json"))
}

/// One state file on disk. Holds no lock: callers that may save take
/// [`lock`](super::lock()) for the whole command first.
#[derive(Debug, Clone)]
pub struct StateStore {
    path: PathBuf,
    /// The history as last encoded, by (length, first serial, last serial):
    /// deploys are only appended and dropped, never changed, so that names
    /// its content. Saves reuse it (see `format::encode_history`).
    history: std::sync::Arc<std::sync::Mutex<Option<HistoryBytes>>>,
}

type HistoryBytes = ((usize, u64, u64), std::sync::Arc<Vec<u8>>);

impl StateStore {
    pub fn new(path: PathBuf) -> StateStore {
        StateStore {
            path,
            history: Default::default(),
        }
    }

    /// `history` encoded, from the last save when it is the same.
    fn encoded_history(&self, history: &[super::Deploy]) -> std::sync::Arc<Vec<u8>> {
        let key = (
            history.len(),
            history.first().map_or(0, |d| d.serial),
            history.last().map_or(0, |d| d.serial),
        );
        let mut cached = self.history.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((k, bytes)) if *k == key => bytes.clone(),
            _ => {
                let bytes = std::sync::Arc::new(format::encode_history(history));
                *cached = Some((key, bytes.clone()));
                bytes
            }
        }
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the previous version is kept: `<state file>.backup`.
    pub fn backup_path(&self) -> PathBuf {
        with_suffix(&self.path, ".backup")
    }

    /// The state, or `None` when there is no state file yet.
    ///
    /// Removes temp files left by an interrupted save (never reading them),
    /// except those a save in progress still holds. Refuses, and leaves as it
    /// is, a file that is not valid JSON, not a state, of a newer format, or of
    /// another project than `expected_project`.
    pub fn load(&self, expected_project: &str) -> Result<Option<State>, StateError> {
        self.remove_leftover_temp_files();
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.read_error(source)),
        };
        let state = format::decode(&self.path, &bytes)?;
        if state.project != expected_project {
            return Err(StateError::WrongProject {
                path: self.path.clone(),
                found: state.project,
                expected: expected_project.to_string(),
            });
        }
        Ok(Some(state))
    }

    /// Writes `state` atomically as the next serial, keeping the previous file
    /// as `<name>.backup`; the file gets mode 0600 and its directory is created
    /// if needed.
    ///
    /// On success `state.serial` has grown by one and `berth_version` is this
    /// berth's. Refuses to overwrite a file it could not load, or one that is
    /// not the state that was loaded (another lineage, another serial): then,
    /// and on any error before the rename, `state` is unchanged.
    pub fn save(&self, state: &mut State) -> Result<(), StateError> {
        let previous = match fs::read(&self.path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(self.read_error(source)),
        };
        if let Some(bytes) = &previous {
            self.check_replaces(bytes, state)?;
        }
        let dir = directory(&self.path);
        fs::create_dir_all(dir).map_err(|source| self.write_error(source))?;

        let serial = state.serial + 1;
        let bytes = format::encode_with(state, serial, &self.encoded_history(&state.history));
        let mut backed_up = previous.is_none();
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Kept open (and locked) until renamed, so a concurrent load
            // does not take it for a leftover.
            let (temp, _file) = self.write_temp(&bytes)?;
            if !backed_up {
                if let Err(source) = self.keep_backup() {
                    let _ = fs::remove_file(&temp);
                    return Err(StateError::Backup {
                        path: self.path.clone(),
                        source,
                    });
                }
                backed_up = true;
            }
            match fs::rename(&temp, &self.path) {
                Ok(()) => break,
                // A load removed the temp file between its creation and its
                // lock: write it again.
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < 3 => continue,
                Err(source) => {
                    let _ = fs::remove_file(&temp);
                    return Err(self.write_error(source));
                }
            }
        }
        state.format_version = FORMAT_VERSION;
        state.serial = serial;
        state.berth_version = env!("CARGO_PKG_VERSION").to_string();
        sync_directory(dir).map_err(|source| StateError::SyncDirectory {
            path: self.path.clone(),
            source,
        })
    }

    /// Where `restore_backup` keeps the file it replaced:
    /// `<state file>.before-restore`.
    pub fn replaced_path(&self) -> PathBuf {
        with_suffix(&self.path, ".before-restore")
    }

    /// Makes the backup the state again (`berth state restore`): the backup
    /// must read as a state of `expected_project`; the file it replaces (if
    /// any, damaged or not) is kept as [`Self::replaced_path`], and the
    /// backup is written atomically over the state. The backup itself stays.
    pub fn restore_backup(&self, expected_project: &str) -> Result<State, StateError> {
        let backup = StateStore::new(self.backup_path());
        let state = match backup.load(expected_project) {
            Ok(Some(state)) => state,
            Ok(None) => {
                return Err(StateError::NoBackup {
                    path: self.backup_path(),
                });
            }
            Err(e) => return Err(e),
        };
        let bytes = fs::read(backup.path()).map_err(|source| self.read_error(source))?;
        let (temp, _file) = self.write_temp(&bytes)?;
        if self.path.exists() {
            fs::copy(&self.path, self.replaced_path()).map_err(|source| {
                let _ = fs::remove_file(&temp);
                self.write_error(source)
            })?;
        }
        fs::rename(&temp, &self.path).map_err(|source| {
            let _ = fs::remove_file(&temp);
            self.write_error(source)
        })?;
        sync_directory(directory(&self.path)).map_err(|source| StateError::SyncDirectory {
            path: self.path.clone(),
            source,
        })?;
        Ok(state)
    }

    /// Refuses to replace a file that is unreadable, newer, or not the state
    /// being saved as it was loaded.
    fn check_replaces(&self, bytes: &[u8], state: &State) -> Result<(), StateError> {
        let head = format::read_head(&self.path, bytes)?;
        if head.lineage.as_deref() != Some(state.lineage.as_str()) {
            return Err(StateError::LineageMismatch {
                path: self.path.clone(),
                on_disk: head.lineage.unwrap_or_else(|| "(none)".into()),
                saving: state.lineage.clone(),
            });
        }
        if head.serial != Some(state.serial) {
            return Err(StateError::SerialMismatch {
                path: self.path.clone(),
                on_disk: head.serial.unwrap_or(0),
                loaded: state.serial,
            });
        }
        Ok(())
    }

    /// `<name>.tmp.` followed by random hex: what temp files of this state are called.
    fn temp_prefix(&self) -> Option<OsString> {
        let mut prefix = self.path.file_name()?.to_owned();
        prefix.push(".tmp.");
        Some(prefix)
    }

    /// Writes `bytes` to a new temp file beside the state file, locked and
    /// fsynced; the file is returned open so that its lock lasts.
    fn write_temp(&self, bytes: &[u8]) -> Result<(PathBuf, File), StateError> {
        let random = uuid::Uuid::new_v4().simple().to_string();
        let temp = with_suffix(&self.path, &format!(".tmp.{}", &random[..12]));
        let write = || -> io::Result<File> {
            let mut file = create_private(&temp)?;
            // Best effort: a filesystem without locks only loses the protection
            // against a concurrent load.
            let _ = file.try_lock();
            file.write_all(bytes)?;
            file.sync_all()?;
            Ok(file)
        };
        match write() {
            Ok(file) => Ok((temp, file)),
            Err(source) => {
                let _ = fs::remove_file(&temp);
                Err(self.write_error(source))
            }
        }
    }

    /// Makes `<name>.backup` the current state file. A hard link when the
    /// filesystem allows it (the old file is never written again: saves
    /// replace it), else a copy.
    fn keep_backup(&self) -> io::Result<()> {
        let backup = self.backup_path();
        match fs::remove_file(&backup) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if fs::hard_link(&self.path, &backup).is_err() {
            fs::copy(&self.path, &backup)?;
        }
        Ok(())
    }

    /// Removes temp files of this state that no save holds: they are what a
    /// crash left behind. Best effort; errors only mean a file stays.
    fn remove_leftover_temp_files(&self) {
        let Some(prefix) = self.temp_prefix() else {
            return;
        };
        let Ok(entries) = fs::read_dir(directory(&self.path)) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name
                .as_encoded_bytes()
                .starts_with(prefix.as_encoded_bytes())
            {
                continue;
            }
            let path = entry.path();
            let Ok(file) = File::open(&path) else {
                continue;
            };
            // A save in progress holds the lock on its temp file.
            if file.try_lock().is_ok() {
                let _ = fs::remove_file(&path);
            }
        }
    }

    fn read_error(&self, source: io::Error) -> StateError {
        StateError::Read {
            path: self.path.clone(),
            source,
        }
    }

    fn write_error(&self, source: io::Error) -> StateError {
        StateError::Write {
            path: self.path.clone(),
            source,
        }
    }
}

/// `path` with `suffix` appended to its file name.
pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory holding `path` (`.` for a bare file name).
pub(super) fn directory(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Creates a new file readable and writable by its owner only (0600): state
/// and lock files name every container and may hold secrets in specs.
pub(super) fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Makes a rename in `dir` durable.
fn sync_directory(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Address;
    use crate::state::StateResource;
    use serde_json::json;

    fn store(dir: &Path) -> StateStore {
        StateStore::new(default_path(dir, "demo"))
    }

    fn with_web(mut state: State) -> State {
        state.insert(
            Address::container("web", 1),
            StateResource {
                id: "4f1c9e".into(),
                name: "web".into(),
                spec_hash: "5e1f".into(),
                spec: json!({"image": "web:latest", "ports": [{"published": 5000}]}),
            },
        );
        state
    }

    /// A store holding a saved state with serial 1.
    fn saved(dir: &Path) -> (StateStore, State) {
        let store = store(dir);
        let mut state = with_web(State::new("demo"));
        store.save(&mut state).unwrap();
        (store, state)
    }

    fn temp_files(store: &StateStore) -> Vec<String> {
        let prefix = store.temp_prefix().unwrap().into_string().unwrap();
        let mut names: Vec<String> = fs::read_dir(directory(store.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_default_path_is_state_slash_project_json() {
        assert_eq!(
            default_path(Path::new("/srv/app"), "demo"),
            Path::new("/srv/app/state/demo.json")
        );
    }

    #[test]
    fn a_missing_state_file_loads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(store(dir.path()).load("demo").unwrap(), None);
        // Not even the directory exists.
        assert!(!dir.path().join("state").exists());
    }

    #[test]
    fn save_then_load_gives_the_same_state_at_the_next_serial() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let mut state = with_web(State::new("demo"));
        let lineage = state.lineage.clone();

        store.save(&mut state).unwrap();
        assert_eq!(state.serial, 1);
        assert_eq!(store.load("demo").unwrap().as_ref(), Some(&state));

        state.remove(&Address::container("web", 1));
        store.save(&mut state).unwrap();
        let loaded = store.load("demo").unwrap().unwrap();
        assert_eq!(loaded, state);
        assert_eq!(loaded.serial, 2);
        assert_eq!(loaded.lineage, lineage);
        assert!(loaded.resources.is_empty());
    }

    #[test]
    fn save_records_this_berths_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let mut state = State::new("demo");
        state.berth_version = "0.0.1".into();
        store.save(&mut state).unwrap();
        assert_eq!(state.berth_version, env!("CARGO_PKG_VERSION"));
        let on_disk = store.load("demo").unwrap().unwrap();
        assert_eq!(on_disk.berth_version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn the_backup_holds_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut state) = saved(dir.path());
        assert!(!store.backup_path().exists(), "nothing to back up at first");
        let first = fs::read(store.path()).unwrap();

        state.remove(&Address::container("web", 1));
        store.save(&mut state).unwrap();
        assert_eq!(fs::read(store.backup_path()).unwrap(), first);
        let second = fs::read(store.path()).unwrap();

        store.save(&mut state).unwrap();
        assert_eq!(fs::read(store.backup_path()).unwrap(), second);
        assert_eq!(
            store.backup_path(),
            dir.path().join("state/demo.json.backup")
        );
    }

    #[cfg(unix)]
    #[test]
    fn state_and_backup_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (store, mut state) = saved(dir.path());
        store.save(&mut state).unwrap();
        for path in [store.path().to_path_buf(), store.backup_path()] {
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
    }

    /// Writes `text` as the state file and checks that load and save both
    /// refuse it with `message`, leaving it byte for byte as it was.
    fn assert_refused_and_kept(text: &str, message: &str) {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        fs::create_dir_all(dir.path().join("state")).unwrap();
        fs::write(store.path(), text).unwrap();
        let path = store.path().display().to_string();
        let message = message.replace("PATH", &path);

        assert_eq!(store.load("demo").unwrap_err().to_string(), message);
        let mut state = State::new("demo");
        assert_eq!(store.save(&mut state).unwrap_err().to_string(), message);
        assert_eq!(state.serial, 0, "a refused save changes nothing");

        assert_eq!(fs::read_to_string(store.path()).unwrap(), text);
        assert!(!store.backup_path().exists());
        assert!(temp_files(&store).is_empty());
    }

    #[test]
    fn a_newer_format_is_refused_and_left_unchanged() {
        assert_refused_and_kept(
            "{\"format_version\": 6, \"lineage\": \"x\", \"serial\": 9, \"objects\": []}\n",
            "state file `PATH` was written by a newer berth (format 6; this berth reads up to 5); upgrade berth",
        );
    }

    #[test]
    fn corrupt_json_is_refused_and_never_overwritten() {
        assert_refused_and_kept(
            "{\n  \"format_version\": 1,\n  \"lineage\": \"0b7c\",\n  \"serial\": 3,\n  \"resou",
            "state file `PATH` is not valid JSON (line 5, column 8: EOF while parsing a string); it was not changed: fix it, or restore `PATH.backup` with `berth state restore`",
        );
    }

    #[test]
    fn a_state_of_another_project_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = saved(dir.path());
        let before = fs::read(store.path()).unwrap();
        assert_eq!(
            store.load("shop").unwrap_err().to_string(),
            format!(
                "state file `{}` belongs to project `demo`, not `shop`; it was not changed: point `--state` at the state of `shop`, or pass `--project-name demo`",
                store.path().display()
            )
        );
        assert_eq!(fs::read(store.path()).unwrap(), before);
    }

    #[test]
    fn a_project_name_with_control_characters_is_quoted_on_one_line() {
        // found by fuzzing (fuzz/fuzz_targets/state.rs): the name was printed
        // as written, newlines and terminal escapes included
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        fs::create_dir_all(dir.path().join("state")).unwrap();
        let text = "{\"format_version\": 3, \"lineage\": \"0b7c\", \"serial\": 0, \"berth_version\": \"0.1.0\", \"project\": \"de\\nmo\\u001b[2J\", \"resources\": {}}";
        fs::write(store.path(), text).unwrap();
        assert_eq!(
            store.load("demo").unwrap_err().to_string(),
            format!(
                "state file `{}` belongs to project `de\\nmo\\u{{1b}}[2J`, not `demo`; it was not changed: point `--state` at the state of `demo`, or pass `--project-name de\\nmo\\u{{1b}}[2J`",
                store.path().display()
            )
        );
        assert_eq!(fs::read_to_string(store.path()).unwrap(), text);
    }

    #[test]
    fn a_new_state_does_not_overwrite_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let (store, existing) = saved(dir.path());
        let before = fs::read(store.path()).unwrap();
        let mut fresh = State::new("demo");
        let err = store.save(&mut fresh).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "state file `{}` has lineage {}, not {} as the state being saved; it was not overwritten: load the existing state instead of starting a new one, or move it away",
                store.path().display(),
                existing.lineage,
                fresh.lineage
            )
        );
        assert_eq!(fs::read(store.path()).unwrap(), before);
    }

    #[test]
    fn a_stale_state_does_not_overwrite_a_newer_save() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut first) = saved(dir.path());
        let mut second = store.load("demo").unwrap().unwrap();
        store.save(&mut second).unwrap();
        let before = fs::read(store.path()).unwrap();

        let err = store.save(&mut first).unwrap_err().to_string();
        assert!(
            err.contains("was written by someone else since it was loaded (serial 2 on disk, 1 when loaded); it was not overwritten"),
            "{err}"
        );
        assert_eq!(first.serial, 1);
        assert_eq!(fs::read(store.path()).unwrap(), before);
    }

    #[test]
    fn a_failed_save_leaves_the_state_in_memory_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("state"), "a file, not a directory").unwrap();
        let store = store(dir.path());
        let mut state = State::new("demo");
        let before = state.clone();
        store.save(&mut state).unwrap_err();
        assert_eq!(state, before);
    }

    #[test]
    fn save_creates_the_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("a/b/demo.json"));
        store.save(&mut State::new("demo")).unwrap();
        assert!(store.load("demo").unwrap().is_some());
    }

    #[test]
    fn a_temp_file_left_by_a_crash_is_ignored_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (store, state) = saved(dir.path());
        // A crash after writing the temp file of serial 2, before its rename:
        // whatever it holds (here: garbage) is not the state.
        let leftover = with_suffix(store.path(), ".tmp.0123456789ab");
        fs::write(&leftover, "{\"format_version\": 1, \"ser").unwrap();
        // Another project's temp file is not ours to remove.
        let other = dir.path().join("state/shop.json.tmp.0123456789ab");
        fs::write(&other, "").unwrap();

        assert_eq!(store.load("demo").unwrap(), Some(state));
        assert!(!leftover.exists());
        assert!(other.exists());
    }

    #[test]
    fn a_temp_file_of_a_save_in_progress_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (store, state) = saved(dir.path());
        let in_progress = with_suffix(store.path(), ".tmp.0123456789ab");
        let file = create_private(&in_progress).unwrap();
        file.try_lock().unwrap();

        assert_eq!(store.load("demo").unwrap(), Some(state.clone()));
        assert!(in_progress.exists());

        drop(file);
        assert_eq!(store.load("demo").unwrap(), Some(state));
        assert!(!in_progress.exists());
    }

    #[test]
    fn a_save_leaves_no_temp_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut state) = saved(dir.path());
        store.save(&mut state).unwrap();
        assert!(temp_files(&store).is_empty());
        let mut names: Vec<String> = fs::read_dir(dir.path().join("state"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["demo.json", "demo.json.backup"]);
    }
}
