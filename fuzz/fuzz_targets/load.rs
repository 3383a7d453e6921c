//! The whole Compose loader on one file read from standard input (`-f -`),
//! then the diagnostic renderer on whatever errors come back.
#![no_main]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use berth::compose::{LoadOptions, load};
use libfuzzer_sys::fuzz_target;

/// One empty directory for the whole run: no `.env`, no include/extends targets.
fn work_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("berth-fuzz-load");
        std::fs::create_dir_all(&dir).expect("create the fuzz working directory");
        assert!(
            std::fs::read_dir(&dir)
                .expect("list the fuzz working directory")
                .next()
                .is_none(),
            "{} must be empty (no .env, no compose files)",
            dir.display()
        );
        dir
    })
}

fn environ() -> BTreeMap<String, String> {
    [("HOME", "/root"), ("TAG", "1.0"), ("EMPTY", "")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = LoadOptions {
        files: vec!["-".into()],
        stdin: Some(text.to_string()),
        working_dir: work_dir().clone(),
        environ: environ(),
        ..Default::default()
    };
    match load(opts) {
        Ok(loaded) => {
            // the project must print as `berth config` prints it, in both formats
            for json in [true, false] {
                berth::compose::write_config(&loaded.project, json, std::io::sink())
                    .expect("writing the config to a sink does not fail");
            }
        }
        Err(diags) => {
            let _ = diags.render(false);
            let _ = diags.render(true);
        }
    }
});
