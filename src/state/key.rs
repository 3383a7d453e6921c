//! The key sensitive values are sealed with, kept out of the state: the
//! team's `BERTH_STATE_KEY` (any passphrase; set it in CI and on every
//! machine that shares a state), else a key file beside the state,
//! `<state dir>/<state file stem>.key` (32 random bytes, hex, mode 0600),
//! made the first time a project has a sensitive value. The state's
//! directory gets a `.gitignore` that keeps the key file, backups, locks and
//! caches out of a repository.
//!
//! Sealing existing records (a state written before format 4, or one whose
//! records were written by hand) happens in [`State::seal_with`]: sensitive
//! values sealed, the hashes of the changed records recomputed, and every
//! container's `uses` entry that named an old hash updated, so the upgrade
//! plans no change.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{State, StateError};
use crate::resource::sensitive::{SealKey, needs_seal, seal};

/// The environment variable that holds the team's key.
pub const KEY_ENV: &str = "BERTH_STATE_KEY";

/// Where the key file of the state at `state_path` lives.
pub fn key_path(state_path: &Path) -> PathBuf {
    let stem = state_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    state_path.with_file_name(format!("{stem}.key"))
}

/// The key: `BERTH_STATE_KEY` when `env_key` is given, else the key file
/// beside the state, made (with the directory's `.gitignore`) when
/// `create` and missing. `Ok(None)`: no key, and none made.
pub fn load(
    state_path: &Path,
    env_key: Option<&str>,
    create: bool,
) -> Result<Option<SealKey>, StateError> {
    if let Some(text) = env_key.filter(|t| !t.is_empty()) {
        return Ok(Some(SealKey::from_passphrase(text)));
    }
    let path = key_path(state_path);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| StateError::Key {
                    path: path.clone(),
                    detail: "it is not 64 hex digits".into(),
                })?;
            Ok(Some(SealKey::from_bytes(bytes)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !create {
                return Ok(None);
            }
            let key = SealKey::from_bytes(random_bytes());
            match write_key(&path, &key) {
                Ok(()) => Ok(Some(key)),
                // another berth made it first: use that one
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load(state_path, None, false)
                }
                Err(e) => Err(StateError::Key {
                    path: path.clone(),
                    detail: format!("cannot write it: {e}"),
                }),
            }
        }
        Err(e) => Err(StateError::Key {
            path,
            detail: format!("cannot read it: {e}"),
        }),
    }
}

/// 32 random bytes (two v4 UUIDs: the OS's random source through `uuid`).
fn random_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    // mix, so that the UUIDs' fixed version bits do not show in the key
    sha2::Sha256::digest(out).into()
}

/// Write the key file whole or not at all: a temp file, fsynced, then
/// linked to its name (which fails if another berth made it meanwhile).
fn write_key(path: &Path, key: &SealKey) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    write_gitignore(dir)?;
    let temp = path.with_extension(format!("key.tmp.{}", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        f.write_all(format!("{}\n", hex::encode(key.bytes())).as_bytes())?;
        f.sync_all()?;
        std::fs::hard_link(&temp, path)
    })();
    let _ = std::fs::remove_file(&temp);
    written
}

/// What the state directory's `.gitignore` keeps out of a repository.
pub const GITIGNORE: &str = "# written by berth: the key that seals sensitive values, backups, locks and caches\n*.key\n*.backup\n*.lock\n*.tmp*\ncache/\n";

/// Write `dir/.gitignore` unless one exists.
pub fn write_gitignore(dir: &Path) -> std::io::Result<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(".gitignore"))
    {
        Ok(mut f) => f.write_all(GITIGNORE.as_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl State {
    /// Whether any record holds a sensitive value that is not sealed.
    pub fn has_unsealed(&self) -> bool {
        self.resources.values().any(|r| needs_seal(&r.spec))
    }

    /// Check that `key` is the key this state's values were sealed with,
    /// then seal what is not sealed yet (see the module comment). `path`
    /// names the state file in the error.
    pub fn seal_with(&mut self, key: &SealKey, path: &Path) -> Result<(), StateError> {
        if let Some(id) = &self.sealed_with
            && *id != key.id()
        {
            return Err(StateError::OtherKey {
                path: path.to_path_buf(),
                recorded: id.clone(),
                found: key.id(),
            });
        }
        let mut rehashed = std::collections::BTreeMap::new();
        let containers = crate::resource::Kind::Container;
        // objects first: containers name their hashes in `uses`
        for pass_containers in [false, true] {
            for (address, r) in self.resources.iter_mut() {
                if (address.kind == containers) != pass_containers {
                    continue;
                }
                let mut changed = false;
                if let Some(sealed) = seal(&r.spec, key) {
                    r.spec = sealed;
                    changed = true;
                }
                if pass_containers
                    && let Some(serde_json::Value::Object(uses)) =
                        r.spec.get_mut(crate::resource::desired::DEPENDENCIES_KEY)
                {
                    for hash in uses.values_mut() {
                        if let Some(new) = hash.as_str().and_then(|h| rehashed.get(h)) {
                            *hash = serde_json::Value::String(String::clone(new));
                            changed = true;
                        }
                    }
                }
                if changed {
                    let new = crate::resource::desired::spec_hash(&r.spec);
                    rehashed.insert(std::mem::replace(&mut r.spec_hash, new.clone()), new);
                }
            }
        }
        self.sealed_with = Some(key.id());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_team_key_comes_first_then_the_key_file_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state/demo.json");
        assert_eq!(load(&state, None, false).unwrap(), None, "nothing made");
        assert!(!dir.path().join("state").exists());
        let made = load(&state, None, true).unwrap().unwrap();
        assert_eq!(load(&state, None, false).unwrap(), Some(made.clone()));
        let file = dir.path().join("state/demo.key");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let ignore = std::fs::read_to_string(dir.path().join("state/.gitignore")).unwrap();
        assert!(
            ignore.contains("*.key") && ignore.contains("*.backup") && ignore.contains("*.lock")
        );
        let team = load(&state, Some("passphrase"), true).unwrap().unwrap();
        assert_eq!(team, SealKey::from_passphrase("passphrase"));
        assert_ne!(team, made);
        std::fs::write(&file, "not hex\n").unwrap();
        let err = load(&state, None, false).unwrap_err().to_string();
        assert!(
            err.contains("demo.key") && err.contains("64 hex digits"),
            "{err}"
        );
    }

    /// A state written before sealing (format 3: values in clear), sealed,
    /// is exactly the state written with sealing: the upgrade plans nothing.
    #[test]
    fn sealing_an_old_state_gives_what_a_sealed_apply_records() {
        let context = tempfile::tempdir().unwrap();
        std::fs::write(context.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let project = crate::compose::project_from_yaml(
            &format!(
                "services:\n  app:\n    build:\n      context: {}\n      args: {{NPM_TOKEN: npm-t0ken-value, V: \"1\"}}\n    environment: {{DB_PASSWORD: hunter2, MODE: prod}}\n  other:\n    image: x\n    environment: {{MODE: dev}}\n",
                context.path().display()
            ),
            "demo",
        );
        let record = |seal: Option<SealKey>| {
            let opts = crate::resource::ResolveOptions {
                seal: seal.map(std::sync::Arc::new),
                ..Default::default()
            };
            let desired = crate::resource::resolve(&project, &opts).unwrap();
            let mut state = State::new("demo");
            for r in desired.resources.values() {
                state.insert(
                    r.address.clone(),
                    super::super::StateResource::recorded(r, "id"),
                );
            }
            state
        };
        let key = SealKey::from_passphrase("team");
        let mut old = record(None);
        assert!(old.has_unsealed());
        let text = serde_json::to_string(&old.resources).unwrap();
        assert!(text.contains("hunter2") && text.contains("npm-t0ken-value"));
        let mut new = record(Some(key.clone()));
        new.sealed_with = Some(key.id());
        old.seal_with(&key, Path::new("state/demo.json")).unwrap();
        old.lineage.clone_from(&new.lineage);
        assert_eq!(old, new);
        let text = serde_json::to_string(&old).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("npm-t0ken-value"),
            "{text}"
        );

        // a state sealed with another key is refused, and left as it was
        let before = old.clone();
        let err = old
            .seal_with(
                &SealKey::from_passphrase("other"),
                Path::new("state/demo.json"),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("sealed with key {}", key.id())),
            "{err}"
        );
        assert_eq!(old, before);
    }
}
