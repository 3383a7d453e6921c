//! Corrupt input: every file under `tests/fixtures/corrupt/` is a damaged state
//! file, saved plan or env file (truncated, empty, not JSON, wrong
//! `format_version`, wrong types, binary garbage, huge numbers, deep nesting,
//! not UTF-8; `gen.py` there writes them from `valid/`), and the reader of
//! each must refuse it without panicking:
//!
//! - a state file: an error of one line that names the file and the backup to
//!   restore from, and the file left byte for byte as it was (by `load`, and
//!   by a `save` over it);
//! - a saved plan: an error of one line that names the file;
//! - an env file (the project's `.env`): a diagnostic located in that file,
//!   at a line of it, with a one-line message.
//!
//! The failures of all files are reported together.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use berth::compose::{LoadOptions, load};
use berth::plan::saved::SavedPlan;
use berth::state::{State, StateStore};

fn corpus(kind: &str, at_least: usize) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corrupt")
        .join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= at_least,
        "{} holds {} files, fewer than {at_least}",
        dir.display(),
        files.len()
    );
    files
}

fn valid(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corrupt/valid")
        .join(name)
}

/// Runs `check` on every file, and fails with every file's problem at once.
fn each(files: &[PathBuf], check: impl Fn(&Path) -> Result<(), String>) {
    let mut failures = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        match catch_unwind(AssertUnwindSafe(|| check(file))) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => failures.push(format!("{name}: {why}")),
            Err(_) => failures.push(format!("{name}: panicked")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn one_line_naming(message: &str, file: &Path) -> Result<(), String> {
    if message.contains('\n') {
        return Err(format!("the message is not one line: {message:?}"));
    }
    if !message.contains(&*file.to_string_lossy()) {
        return Err(format!("the message does not name the file: {message}"));
    }
    Ok(())
}

#[test]
fn the_files_the_corpus_is_made_from_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.json");
    fs::copy(valid("demo.json"), &path).unwrap();
    assert!(StateStore::new(path).load("demo").unwrap().is_some());
    SavedPlan::read(&valid("demo.plan")).unwrap();
}

#[test]
fn a_corrupt_state_file_is_refused_unchanged_with_the_backup_to_restore() {
    each(&corpus("state", 40), |file| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.json");
        let bytes = fs::read(file).unwrap();
        fs::write(&path, &bytes).unwrap();
        let store = StateStore::new(path.clone());

        let message = match store.load("demo") {
            Ok(_) => return Err("loaded".into()),
            Err(e) => e.to_string(),
        };
        one_line_naming(&message, &path)?;
        let restore = format!("restore `{}.backup`", path.display());
        if !message.contains(&restore) {
            return Err(format!("the message does not say `{restore}`: {message}"));
        }
        if fs::read(&path).unwrap() != bytes {
            return Err("load changed the file".into());
        }

        // nor does a save replace it (a new state has another lineage)
        if store.save(&mut State::new("demo")).is_ok() {
            return Err("a save replaced it".into());
        }
        if fs::read(&path).unwrap() != bytes {
            return Err("a refused save changed the file".into());
        }
        Ok(())
    });
}

#[test]
fn a_corrupt_plan_file_is_refused_naming_the_file() {
    each(&corpus("plan", 30), |file| match SavedPlan::read(file) {
        Ok(_) => Err("read as a plan".into()),
        Err(e) => one_line_naming(&e.to_string(), file),
    });
}

#[test]
fn a_corrupt_env_file_is_refused_at_a_line_and_column_of_it() {
    each(&corpus("dotenv", 12), |file| {
        let bytes = fs::read(file).unwrap();
        let lines = bytes.split(|&b| b == b'\n').count();
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("compose.yaml"),
            "services: {web: {image: a}}\n",
        )
        .unwrap();
        let env = dir.path().join(".env");
        fs::write(&env, &bytes).unwrap();
        let opts = LoadOptions {
            working_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let diags = match load(opts) {
            Ok(_) => return Err("loaded".into()),
            Err(d) => d,
        };
        let first = &diags.items[0];
        let at = first
            .location(&diags.sources)
            .ok_or_else(|| format!("not located: {}", first.message))?;
        let prefix = format!("{}:", env.display());
        let line: usize = at
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split(':').next()?.parse().ok())
            .ok_or_else(|| format!("located at {at}, not in {}", env.display()))?;
        if line == 0 || line > lines {
            return Err(format!("line {line} of a file of {lines} lines"));
        }
        if first.message.contains('\n') {
            return Err(format!("the message is not one line: {:?}", first.message));
        }
        Ok(())
    });
}

#[test]
fn not_utf8_is_reported_at_the_first_invalid_byte_by_every_reader() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corrupt");
    let dir = tempfile::tempdir().unwrap();

    let state = dir.path().join("demo.json");
    fs::copy(fixtures.join("state/not-utf8.json"), &state).unwrap();
    let message = StateStore::new(state.clone())
        .load("demo")
        .unwrap_err()
        .to_string();
    let s = state.display();
    assert_eq!(
        message,
        format!(
            "state file `{s}` is not valid UTF-8: byte 0xff at line 3, column 5 ({s}:3:5); it was not changed: save it as UTF-8, or restore `{s}.backup` with `berth state restore`"
        )
    );

    let plan = fixtures.join("plan/not-utf8.plan");
    let p = plan.display();
    assert_eq!(
        SavedPlan::read(&plan).unwrap_err().to_string(),
        format!(
            "plan file `{p}` is not valid UTF-8: byte 0xff at line 3, column 5 ({p}:3:5); a berth plan file is JSON: make the plan again"
        )
    );

    fs::write(
        dir.path().join("compose.yaml"),
        "services: {web: {image: a}}\n",
    )
    .unwrap();
    fs::copy(
        fixtures.join("dotenv/not-utf8.env"),
        dir.path().join(".env"),
    )
    .unwrap();
    let diags = load(LoadOptions {
        working_dir: dir.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        diags.items[0].location(&diags.sources).unwrap(),
        format!("{}:3:5", dir.path().join(".env").display())
    );
    assert_eq!(
        diags.items[0].message,
        "env file is not valid UTF-8: byte 0xff at line 3, column 5"
    );
}
