//! `berth state rm | mv | pull` and `berth force-unlock`, without an engine:
//! each test writes a state with made-up IDs into a temp project and runs the
//! berth binary on it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth::resource::Address;
use berth::state::{Holder, State, StateResource, StateStore, default_path, lock, lock_path};
use serde_json::json;

use crate::common::{Berth, Run};

const COMPOSE: &str = "\
name: demo
services:
  web:
    image: nginx:alpine
    scale: 2
  db:
    image: postgres:16
";

/// A project directory with a compose file and a saved state (serial 1):
/// `network.default`, `container.db[1]`, `container.web[1]`, `container.web[2]`.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("compose.yaml"), COMPOSE).unwrap();
        let mut state = State::new("demo");
        let mut add = |address: Address, name: &str| {
            let resource = StateResource {
                id: format!("id-{address}"),
                name: name.to_string(),
                spec_hash: "00".repeat(32),
                spec: json!({"name": name}),
            };
            state.insert(address, resource);
        };
        add(Address::network("default"), "demo_default");
        add(Address::container("db", 1), "demo-db-1");
        add(Address::container("web", 1), "demo-web-1");
        add(Address::container("web", 2), "demo-web-2");
        let project = Project { dir };
        project.store().save(&mut state).unwrap();
        project
    }

    /// A project directory with no state yet.
    fn without_state() -> Project {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("compose.yaml"), COMPOSE).unwrap();
        Project { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn state_file(&self) -> PathBuf {
        default_path(self.path(), "demo")
    }

    fn store(&self) -> StateStore {
        StateStore::new(self.state_file())
    }

    fn state(&self) -> State {
        self.store().load("demo").unwrap().expect("a state")
    }

    fn bytes(&self) -> Vec<u8> {
        fs::read(self.state_file()).unwrap()
    }

    fn addresses(&self) -> Vec<String> {
        self.state()
            .resources
            .keys()
            .map(|a| a.to_string())
            .collect()
    }

    fn berth(&self, args: &[&str]) -> Run {
        Berth::new().dir(self.path()).args(args).run()
    }

    /// Asserts that the last write kept `before` as the backup.
    fn assert_backup_is(&self, before: &[u8]) {
        let backup = self.store().backup_path();
        assert_eq!(
            fs::read(&backup).unwrap_or_else(|e| panic!("{}: {e}", backup.display())),
            before,
            "the backup is the state before the write"
        );
    }

    /// Asserts that the state file is `before`, byte for byte, and no write happened.
    fn assert_unchanged(&self, before: &[u8]) {
        assert_eq!(self.bytes(), before, "the state file was not changed");
        assert!(
            !self.store().backup_path().exists(),
            "nothing was saved, so there is no backup"
        );
    }
}

#[test]
fn state_rm_forgets_one_resource_and_keeps_a_backup() {
    let p = Project::new();
    let before = p.bytes();
    p.berth(&["state", "rm", "container.web[2]"])
        .code(0)
        .stdout_has("Removed container.web[2]\n")
        .stdout_has("the engine was not changed");
    assert_eq!(
        p.addresses(),
        ["network.default", "container.db[1]", "container.web[1]"]
    );
    assert_eq!(p.state().serial, 2);
    p.assert_backup_is(&before);
}

#[test]
fn state_rm_forgets_several_resources() {
    let p = Project::new();
    let before = p.bytes();
    let run = p
        .berth(&[
            "state",
            "rm",
            "container.web[1]",
            "container.web[2]",
            "network.default",
        ])
        .code(0);
    assert_eq!(
        run.stdout(),
        "Removed container.web[1]\nRemoved container.web[2]\nRemoved network.default\n\n\
         Removed 3 resources from the state; the engine was not changed.\n"
    );
    assert_eq!(p.addresses(), ["container.db[1]"]);
    p.assert_backup_is(&before);
}

#[test]
fn state_rm_of_an_unknown_address_changes_nothing() {
    let p = Project::new();
    let before = p.bytes();
    p.berth(&["state", "rm", "container.web[1]", "container.web[9]"])
        .code(1)
        .stderr_has("`container.web[9]` is not in the state; nothing was removed")
        .stderr_has("berth state list")
        .stderr_lacks("`container.web[1]`")
        .stdout_is("");
    p.assert_unchanged(&before);

    p.berth(&["state", "rm", "container.nope[1]", "volume.nope"])
        .code(1)
        .stderr_has("`container.nope[1]`, `volume.nope` are not in the state");
    p.assert_unchanged(&before);
}

#[test]
fn state_rm_waits_for_the_lock_and_names_its_holder() {
    let p = Project::new();
    let before = p.bytes();
    let held = lock(&p.state_file(), "berth apply", Duration::ZERO).unwrap();
    p.berth(&["state", "rm", "container.web[1]"])
        .code(1)
        .stderr_has(&format!("is locked by pid {}", std::process::id()));
    p.assert_unchanged(&before);
    drop(held);
    p.berth(&["state", "rm", "container.web[1]"]).code(0);
}

#[test]
fn state_mv_renames_an_address_keeping_the_engine_name() {
    let p = Project::new();
    let before = p.bytes();
    let old = p
        .state()
        .get(&Address::container("web", 1))
        .cloned()
        .unwrap();
    p.berth(&["state", "mv", "container.web[1]", "container.api[1]"])
        .code(0)
        .stdout_is(
            "Moved container.web[1] to container.api[1] (engine name `demo-web-1` unchanged); the engine was not changed.\n",
        );
    let state = p.state();
    assert_eq!(state.get(&Address::container("api", 1)), Some(&old));
    assert_eq!(state.get(&Address::container("web", 1)), None);
    assert_eq!(state.resources.len(), 4);
    p.assert_backup_is(&before);
}

#[test]
fn state_mv_refuses_a_new_address_that_exists() {
    let p = Project::new();
    let before = p.bytes();
    p.berth(&["state", "mv", "container.web[1]", "container.web[2]"])
        .code(1)
        .stderr_has("`container.web[2]` is already in the state; nothing was moved");
    p.assert_unchanged(&before);
}

#[test]
fn state_mv_refuses_a_kind_change() {
    let p = Project::new();
    let before = p.bytes();
    p.berth(&["state", "mv", "container.web[1]", "network.web"])
        .code(1)
        .stderr_has("a container cannot become a network; nothing was moved");
    p.assert_unchanged(&before);
}

#[test]
fn state_mv_refuses_an_old_address_that_does_not_exist() {
    let p = Project::new();
    let before = p.bytes();
    p.berth(&["state", "mv", "container.gone[1]", "container.api[1]"])
        .code(1)
        .stderr_has("`container.gone[1]` is not in the state; nothing was moved")
        .stderr_has("berth state list");
    p.assert_unchanged(&before);
}

#[test]
fn state_pull_prints_the_state_file_as_it_is() {
    let p = Project::new();
    let run = p.berth(&["state", "pull"]).code(0);
    assert_eq!(run.stdout().as_bytes(), p.bytes());
    let printed: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let on_disk: serde_json::Value = serde_json::from_slice(&p.bytes()).unwrap();
    assert_eq!(printed, on_disk);
    assert_eq!(printed["serial"], 1);
}

#[test]
fn state_pull_without_state_prints_nothing() {
    let p = Project::without_state();
    p.berth(&["state", "pull"])
        .code(0)
        .stdout_is("")
        .stderr_has("no state at");
}

#[test]
fn force_unlock_clears_a_stale_holder_note() {
    let p = Project::new();
    let lock_file = lock_path(&p.state_file());
    let stale = Holder {
        pid: 999_999,
        host: "gone".into(),
        command: "berth apply".into(),
        since: "2026-11-25T17:00:00Z".into(),
    };
    fs::write(&lock_file, serde_json::to_vec(&stale).unwrap()).unwrap();
    p.berth(&["force-unlock"])
        .code(0)
        .stdout_has("was not locked; cleared the stale note")
        .stdout_has("pid 999999 on host gone running `berth apply` since 2026-11-25T17:00:00Z");
    assert_eq!(fs::read(&lock_file).unwrap(), b"", "the note is gone");

    p.berth(&["force-unlock"])
        .code(0)
        .stdout_has("is not locked; nothing to do");
}

#[test]
fn force_unlock_refuses_a_held_lock_and_names_its_holder() {
    let p = Project::new();
    let held = lock(&p.state_file(), "berth apply", Duration::ZERO).unwrap();
    let h = held.holder().clone();
    p.berth(&["force-unlock"])
        .code(1)
        .stderr_has(&format!(
            "is locked by pid {} on host {} running `berth apply` since {}, which is still running; not unlocked",
            std::process::id(),
            h.host,
            h.since
        ))
        .stderr_has(&format!("`kill {}` on {}", std::process::id(), h.host));
    // still held, still named
    let written: Holder = serde_json::from_slice(&fs::read(held.path()).unwrap()).unwrap();
    assert_eq!(written, h);
    assert!(lock(&p.state_file(), "berth plan", Duration::ZERO).is_err());
    drop(held);
}
