//! For tests: every fixture project (`tests/fixtures/compose/*`) that loads
//! and resolves on its own (no arguments, no environment), resolved as
//! project `demo`. Properties of specs are checked on all of them.

use std::path::{Path, PathBuf};

use super::{Desired, ResolveOptions, resolve};
use crate::compose::{LoadOptions, Loaded, load};

/// Each fixture's directory, what it loaded and what it resolved to.
pub(crate) fn resolved_fixtures() -> Vec<(PathBuf, Loaded, Desired)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compose");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|d| {
            d.join("compose.yaml").exists() && !d.join("args").exists() && !d.join("env").exists()
        })
        .collect();
    dirs.sort();
    dirs.into_iter()
        .filter_map(|dir| {
            let loaded = load(LoadOptions {
                working_dir: dir.clone(),
                project_name: Some("demo".into()),
                ..Default::default()
            })
            .ok()?;
            let desired = resolve(&loaded.project, &ResolveOptions::default()).ok()?;
            Some((dir, loaded, desired))
        })
        .collect()
}
