//! The saved-plan reader (`berth apply PLANFILE`, `berth show PLANFILE`) on
//! arbitrary bytes: written to one plan file
//! (`$TMPDIR/berth-fuzz-plan/demo.plan`) and read with `SavedPlan::read`.
//!
//! Beyond "no panic": an error is one line that names the file, and a plan
//! that reads writes and reads back the same.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use berth::plan::saved::SavedPlan;
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("berth-fuzz-plan");
        std::fs::create_dir_all(&dir).expect("create the fuzz plan directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let path = dir().join("demo.plan");
    std::fs::write(&path, data).expect("write the plan file");
    match SavedPlan::read(&path) {
        Ok(saved) => {
            let again = dir().join("again.plan");
            saved.write(&again).expect("write the plan again");
            let back = SavedPlan::read(&again).expect("a written plan reads back");
            assert_eq!(back, saved, "a plan reads back as it was written");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                !message.contains('\n'),
                "a plan error is one line: {message}"
            );
            assert!(
                message.contains(&*path.to_string_lossy()),
                "a plan error names the file: {message}"
            );
        }
    }
});
