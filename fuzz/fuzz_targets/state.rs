//! The state reader on arbitrary bytes: the bytes are written to a state file
//! (`$TMPDIR/berth-fuzz-state/demo.json`, the same file for every input) and
//! read back with `StateStore::load("demo")`, as every command reads state.
//!
//! Beyond "no panic", each input checks what the state module promises:
//! a refused file is left byte for byte as it was, and the error is one line
//! that names the file.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use berth::state::StateStore;
use libfuzzer_sys::fuzz_target;

/// One directory for the whole run, holding only the state file.
fn state_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join("berth-fuzz-state");
        std::fs::create_dir_all(&dir).expect("create the fuzz state directory");
        dir.join("demo.json")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = state_path();
    std::fs::write(path, data).expect("write the state file");
    let store = StateStore::new(path.clone());
    let result = store.load("demo");
    let after = std::fs::read(path).expect("read the state file back");
    assert!(after == data, "load changed the state file");
    match result {
        Ok(Some(state)) => {
            assert_eq!(state.project, "demo");
            assert_eq!(state.format_version, berth::state::FORMAT_VERSION);
            // what was read serialises again (the state is written this way)
            serde_json::to_vec(&state).expect("a loaded state serialises");
        }
        Ok(None) => panic!("the state file exists, yet load found none"),
        Err(e) => {
            let message = e.to_string();
            assert!(
                !message.contains('\n'),
                "a state error is one line: {message}"
            );
            assert!(
                message.contains(&*path.to_string_lossy()),
                "a state error names the file: {message}"
            );
        }
    }
});
