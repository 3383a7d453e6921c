//! The build-context hash cache seen from the command line: `berth plan`
//! keeps it in the state directory, a no-op plan stays a no-op when the hash
//! comes from it, and a change in a build context is still a planned rebuild.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::common::engine::unique_project;
use crate::common::{Berth, pretend_applied};

/// Every entry's mtime an hour back: older than any cache written now, so
/// the first plan stores its records (newer files are hashed every time).
fn age(dir: &Path) {
    let hour_ago =
        filetime::FileTime::from_system_time(SystemTime::now() - Duration::from_secs(3600));
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            age(&e.path());
        }
        filetime::set_symlink_file_times(e.path(), hour_ago, hour_ago).unwrap();
    }
}

fn plan(dir: &Path, project: &str, code: i32) -> String {
    Berth::new()
        .dir(dir)
        .args([
            "-p",
            project,
            "plan",
            "--refresh=false",
            "--detailed-exitcode",
        ])
        .run()
        .code(code)
        .stdout()
}

#[test]
fn plans_read_their_context_hashes_from_the_cache_and_still_see_changes() {
    let dir = crate::common::example_copy(false);
    let project = unique_project("ctx-cache");
    age(dir.path());
    pretend_applied(dir.path(), &project);
    let cache = dir
        .path()
        .join("state/cache")
        .join(format!("{project}.contexts.json"));

    assert!(plan(dir.path(), &project, 0).contains("No changes."));
    assert!(cache.exists(), "the first plan writes the cache");
    let written = std::fs::metadata(&cache).unwrap().modified().unwrap();
    assert!(plan(dir.path(), &project, 0).contains("No changes."));
    let now = std::fs::metadata(&cache).unwrap().modified().unwrap();
    assert_eq!(now, written, "nothing changed: not rewritten");

    // what web's context sends (`*`, `!berth-demo`) is a code change; an
    // ignored file is not
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    assert!(plan(dir.path(), &project, 0).contains("No changes."));
    std::fs::write(dir.path().join("berth-demo"), "new").unwrap();
    let changed = plan(dir.path(), &project, 2);
    assert!(changed.contains("image.web"), "{changed}");
    assert!(!changed.contains("image.redis"), "{changed}");

    // a damaged cache is rebuilt, never an error
    std::fs::write(&cache, "{not json").unwrap();
    std::fs::remove_file(dir.path().join("berth-demo")).unwrap();
    assert!(plan(dir.path(), &project, 0).contains("No changes."));
}
