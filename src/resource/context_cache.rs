//! The build-context hash cache: a context whose every sent entry `lstat`s
//! as it did when it was last hashed is not read again, so an unchanged
//! context costs a walk and one `lstat` per entry instead of reading every
//! byte.
//!
//! Separate from [`super::context`], which says what a context *is* (the
//! entries sent, the hash over their bytes): this module only decides when
//! that hash can be taken from disk instead of computed, and never changes
//! its value (the state records it).
//!
//! - **Key**: the context directory and the Dockerfile in it (see
//!   `ContextKey` in `desired`). **Validity**: a sha256 over what `lstat`
//!   says of every sent entry, in order: relative path, kind, mode and, for
//!   files and symlinks, size, mtime and ctime to the nanosecond, inode and
//!   device. (Today's hash streams every file's bytes through one sha256, so
//!   per-file digests could not be combined into it: the whole context is
//!   the unit. A changed file re-reads the context, as without the cache.)
//! - **Racy contexts** (git's "racy git" rule): a file written in the same
//!   second as its stat was taken may change again without changing its
//!   stat (same size, and an mtime the filesystem stores no finer). So a
//!   record is trusted only when every file's mtime, in whole seconds, is
//!   strictly older than the cache file's mtime; and a context with a file
//!   not older than the moment this run started (the cache file's mtime is
//!   set to that moment) is re-hashed but not stored until it is.
//! - **On disk**: one small JSON file per state file, beside the state
//!   ([`beside_state`]), written (temp file, then rename) only when a record
//!   changed. A missing, unreadable, corrupt or other-version file is an
//!   empty cache; failing to write it is ignored. It is only a cache: never
//!   an error, never a wrong hash.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::context::{EntryKind, Listed, context_listing, hash_listing};

/// The file's `format`: another value (an older or newer berth) is ignored.
const FORMAT: &str = "berth-context-cache/1";

/// Records kept at most (the least recently added go first): contexts a
/// project no longer uses must not make the file grow for ever.
const MAX_RECORDS: usize = 256;

/// The cache file for the state file `state` (`state/demo.json` →
/// `state/cache/demo.contexts.json`): inside the state directory, which
/// context hashes leave out, one per project so projects sharing a state
/// directory do not overwrite each other's records.
pub fn beside_state(state: &Path) -> PathBuf {
    let stem = state
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    state
        .parent()
        .unwrap_or(Path::new("."))
        .join("cache")
        .join(format!("{stem}.contexts.json"))
}

/// One context's hash and the stat listing it was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    context: String,
    dockerfile: Option<String>,
    /// sha256 (hex) of the stat listing, see [`stat_digest`]
    stat: String,
    /// the context hash
    hash: String,
}

/// The file as written.
#[derive(Serialize, Deserialize)]
struct CacheFile {
    format: String,
    records: Vec<Record>,
    /// sha256 (hex) of `records`' JSON text: a damaged file is not trusted
    check: String,
}

fn records_check(records: &[Record]) -> String {
    super::context::json_sha256(records)
}

/// The cache for one run: the records read, what this run learnt, and the
/// temporary file the new records go to.
pub struct ContextCache {
    path: PathBuf,
    loaded: Vec<Record>,
    records: Vec<Record>,
    /// whole seconds of the cache file's mtime: the moment its records were
    /// taken (None: no file, nothing trusted)
    taken_at: Option<i64>,
    /// the temporary file, created before any context is walked, and its
    /// mtime (whole seconds and as written): this run's moment (None: the
    /// directory is not writable, nothing is stored)
    pending: Option<Pending>,
}

struct Pending {
    path: PathBuf,
    file: fs::File,
    started: SystemTime,
    started_secs: i64,
}

impl ContextCache {
    /// Read the cache file at `path` (any problem: an empty cache) and note
    /// this run's moment, as the filesystem stores it, before any context is
    /// walked.
    pub fn open(path: &Path) -> ContextCache {
        let (loaded, taken_at) = read(path).unwrap_or_default();
        ContextCache {
            path: path.to_path_buf(),
            records: loaded.clone(),
            loaded,
            taken_at,
            pending: start_pending(path).ok(),
        }
    }

    /// The hash of the context `dir` ([`super::context::context_hash`]), from
    /// the cache when every entry `lstat`s as recorded and no file is as new
    /// as the record.
    pub fn context_hash(
        &mut self,
        dir: &Path,
        dockerfile: Option<&str>,
        skip: &[PathBuf],
    ) -> io::Result<String> {
        let listing = context_listing(dir, dockerfile, skip)?;
        let stat = stat_digest(&listing);
        let newest = newest_mtime(&listing);
        let context = dir.to_string_lossy();
        let at = self
            .records
            .iter()
            .position(|r| r.context == context && r.dockerfile.as_deref() == dockerfile);
        if let Some(i) = at
            && self.records[i].stat == stat
            && self.taken_at.is_some_and(|t| older(newest, t))
        {
            return Ok(self.records[i].hash.clone());
        }
        let hash = hash_listing(&listing)?;
        if let Some(i) = at {
            self.records.remove(i);
        }
        // a file as new as this run may change again unseen: not stored
        // until it is older (the next run hashes it again)
        if self
            .pending
            .as_ref()
            .is_some_and(|p| older(newest, p.started_secs))
        {
            self.records.push(Record {
                context: context.into_owned(),
                dockerfile: dockerfile.map(str::to_string),
                stat,
                hash: hash.clone(),
            });
            if self.records.len() > MAX_RECORDS {
                self.records.remove(0);
            }
        }
        Ok(hash)
    }

    /// Write the records when they changed (temp file, then rename: a
    /// concurrent run sees the old file or the new one, never a mix). Any
    /// failure leaves the old file or none: the next run hashes again.
    pub fn save(mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        if self.records == self.loaded || write(&pending, &self.records).is_err() {
            let _ = fs::remove_file(&pending.path);
            return;
        }
        if fs::rename(&pending.path, &self.path).is_err() {
            let _ = fs::remove_file(&pending.path);
        }
    }
}

impl Drop for ContextCache {
    fn drop(&mut self) {
        // not saved (an error on the way): leave no temporary file behind
        if let Some(pending) = self.pending.take() {
            let _ = fs::remove_file(&pending.path);
        }
    }
}

/// Whether a file modified at `mtime` (whole seconds; None: no file) is
/// strictly older than `moment` (whole seconds).
fn older(mtime: Option<i64>, moment: i64) -> bool {
    mtime.is_none_or(|m| m < moment)
}

/// The records of the cache file and its mtime in whole seconds.
fn read(path: &Path) -> Option<(Vec<Record>, Option<i64>)> {
    let mut file = fs::File::open(path).ok()?;
    let mtime = file.metadata().ok()?.mtime();
    let mut text = String::new();
    io::Read::read_to_string(&mut file, &mut text).ok()?;
    let parsed: CacheFile = serde_json::from_str(&text).ok()?;
    let sound = parsed.format == FORMAT
        && parsed.check == records_check(&parsed.records)
        && parsed
            .records
            .iter()
            .all(|r| is_sha256_hex(&r.stat) && is_sha256_hex(&r.hash));
    sound.then_some((parsed.records, Some(mtime)))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A new temporary file beside the cache file: its mtime is this run's
/// moment as the filesystem keeps time.
fn start_pending(path: &Path) -> io::Result<Pending> {
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    let file = fs::File::create_new(&temp)?;
    let meta = file.metadata()?;
    Ok(Pending {
        started: meta.modified()?,
        started_secs: meta.mtime(),
        path: temp,
        file,
    })
}

/// Write the records to the temporary file, its mtime set back to the run's
/// moment (records are trusted against it, so it must not be later than
/// any `lstat` they hold).
fn write(pending: &Pending, records: &[Record]) -> io::Result<()> {
    let file = CacheFile {
        format: FORMAT.into(),
        records: records.to_vec(),
        check: records_check(records),
    };
    let mut out = &pending.file;
    out.write_all(&serde_json::to_vec(&file).map_err(io::Error::other)?)?;
    pending.file.set_modified(pending.started)
}

/// sha256 (hex) over what `lstat` said of every listed entry. Directories
/// count by name, kind and mode only: their times change whenever an entry
/// is added, also an ignored one.
fn stat_digest(listing: &[Listed]) -> String {
    let mut h = Sha256::new();
    h.update(FORMAT.as_bytes());
    for l in listing {
        let m = &l.meta;
        h.update(l.entry.name.as_bytes());
        h.update([0]);
        h.update(match l.entry.kind {
            EntryKind::Dir => b"d",
            EntryKind::File => b"f",
            EntryKind::Symlink => b"l",
        });
        h.update(m.mode.to_le_bytes());
        if l.entry.kind != EntryKind::Dir {
            for n in [
                m.size,
                m.mtime as u64,
                m.mtime_nsec as u64,
                m.ctime as u64,
                m.ctime_nsec as u64,
                m.ino,
                m.dev,
            ] {
                h.update(n.to_le_bytes());
            }
        }
    }
    hex::encode(h.finalize())
}

/// The newest mtime (whole seconds) of the listed files and symlinks.
fn newest_mtime(listing: &[Listed]) -> Option<i64> {
    listing
        .iter()
        .filter(|l| l.entry.kind != EntryKind::Dir)
        .map(|l| l.meta.mtime)
        .max()
}

#[cfg(test)]
mod tests {
    use super::super::context::{context_hash, files_read};
    use super::*;
    use std::time::Duration;

    /// A context with ignores, its files an hour old (not racy), and the
    /// state directory inside it, as `berth plan` lays them out.
    struct Project {
        dir: tempfile::TempDir,
    }

    impl Project {
        fn new() -> Project {
            let p = Project {
                dir: tempfile::tempdir().unwrap(),
            };
            for (name, text) in [
                ("Dockerfile", "FROM scratch\nCOPY . /\n"),
                (".dockerignore", "*.log\nbuild\n!build/keep\n"),
                ("app/main.rs", "fn main() {}\n"),
                ("app/lib.rs", "pub fn f() {}\n"),
                ("x.log", "noise"),
                ("build/out.o", "object"),
                ("build/keep", "kept"),
            ] {
                p.write(name, text);
            }
            fs::create_dir(p.ctx().join("empty")).unwrap();
            std::os::unix::fs::symlink("app/main.rs", p.ctx().join("link")).unwrap();
            p.age_all();
            p
        }

        fn ctx(&self) -> PathBuf {
            self.dir.path().to_path_buf()
        }

        fn skip(&self) -> Vec<PathBuf> {
            vec![self.ctx().join("state")]
        }

        fn cache_file(&self) -> PathBuf {
            beside_state(&self.ctx().join("state/demo.json"))
        }

        fn write(&self, name: &str, text: &str) {
            let path = self.ctx().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }

        /// Every entry's mtime an hour back (symlinks' own too): older than
        /// any cache written now.
        fn age_all(&self) {
            fn age(dir: &Path) {
                let hour_ago = filetime::FileTime::from_system_time(
                    SystemTime::now() - Duration::from_secs(3600),
                );
                for e in fs::read_dir(dir).unwrap() {
                    let e = e.unwrap();
                    if e.file_name() == "state" {
                        continue;
                    }
                    if e.file_type().unwrap().is_dir() {
                        age(&e.path());
                    }
                    filetime::set_symlink_file_times(e.path(), hour_ago, hour_ago).unwrap();
                }
            }
            age(&self.ctx());
        }

        /// The hash as `berth plan` takes it: through the cache, saved after.
        fn cached_hash(&self) -> String {
            let mut cache = ContextCache::open(&self.cache_file());
            let hash = cache
                .context_hash(&self.ctx(), Some("Dockerfile"), &self.skip())
                .unwrap();
            cache.save();
            hash
        }

        fn uncached_hash(&self) -> String {
            context_hash(&self.ctx(), Some("Dockerfile"), &self.skip()).unwrap()
        }

        /// [`Self::cached_hash`], and how many files it read.
        fn cached_hash_reading(&self) -> (String, usize) {
            let before = files_read();
            let hash = self.cached_hash();
            (hash, files_read() - before)
        }
    }

    fn set_mtime(path: &Path, t: SystemTime) {
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn the_cached_hash_is_the_hash_without_the_cache() {
        let p = Project::new();
        let uncached = p.uncached_hash();
        assert_eq!(p.cached_hash(), uncached, "first run, nothing cached");
        assert_eq!(p.cached_hash(), uncached, "second run, from the cache");
        assert!(p.cache_file().exists());
    }

    #[test]
    fn an_unchanged_context_is_not_read_again() {
        let p = Project::new();
        let (first, read) = p.cached_hash_reading();
        assert_eq!(
            read, 5,
            "Dockerfile, .dockerignore, two sources, build/keep"
        );
        let (second, read) = p.cached_hash_reading();
        assert_eq!((second, read), (first, 0));
        // ignored files are not part of what is compared
        p.write("x.log", "more noise");
        assert_eq!(p.cached_hash_reading(), (p.uncached_hash(), 0));
    }

    #[test]
    fn an_edit_keeping_the_size_and_the_mtime_second_is_seen() {
        let p = Project::new();
        let path = p.ctx().join("app/main.rs");
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        let before = p.cached_hash();
        fs::write(&path, "fn main() {1}").unwrap();
        assert_eq!(fs::read(&path).unwrap().len(), "fn main() {}\n".len());
        set_mtime(&path, mtime);
        let after = p.cached_hash();
        assert_ne!(after, before);
        assert_eq!(after, p.uncached_hash());
    }

    #[test]
    fn a_file_as_new_as_the_cache_is_read_again_until_it_is_older() {
        let p = Project::new();
        let path = p.ctx().join("app/main.rs");
        // written now: as new as the cache about to be written
        fs::write(&path, "fn main() {2}\n").unwrap();
        let (hash, read) = p.cached_hash_reading();
        assert_eq!((hash.as_str(), read), (p.uncached_hash().as_str(), 5));
        // not stored as clean: read again, however often, while it is this new
        let (_, read) = p.cached_hash_reading();
        assert_eq!(read, 5);
        // a racy record already stored (the cache file as new as the file) is not trusted
        set_mtime(&path, SystemTime::now() - Duration::from_secs(3600));
        let (_, read) = p.cached_hash_reading();
        assert_eq!(read, 5, "older now: hashed once more and stored");
        let (_, read) = p.cached_hash_reading();
        assert_eq!(read, 0);
        set_mtime(
            &p.cache_file(),
            SystemTime::now() - Duration::from_secs(7200),
        );
        let (hash, read) = p.cached_hash_reading();
        assert_eq!((hash, read), (p.uncached_hash(), 5));
    }

    #[test]
    fn a_corrupt_or_foreign_cache_file_is_rebuilt() {
        let p = Project::new();
        let right = p.cached_hash();
        let text = fs::read_to_string(p.cache_file()).unwrap();
        let wrong_hash = text.replacen(&right, &"0".repeat(64), 1);
        assert_ne!(wrong_hash, text);
        let damaged = [
            wrong_hash,
            text.replace(FORMAT, "berth-context-cache/999"),
            text[..text.len() / 2].to_string(),
            "\u{0}garbage".into(),
            String::new(),
        ];
        for bad in damaged {
            fs::write(p.cache_file(), &bad).unwrap();
            set_mtime(&p.cache_file(), SystemTime::now());
            let (hash, read) = p.cached_hash_reading();
            assert_eq!((hash.as_str(), read), (right.as_str(), 5), "{bad:?}");
            assert_eq!(p.cached_hash_reading(), (right.clone(), 0), "rebuilt");
        }
        // a directory where the file should be: hashed every time, no error
        fs::remove_file(p.cache_file()).unwrap();
        fs::create_dir(p.cache_file()).unwrap();
        assert_eq!(p.cached_hash_reading(), (right.clone(), 5));
        assert_eq!(p.cached_hash_reading(), (right, 5));
        let leftovers = fs::read_dir(p.cache_file().parent().unwrap())
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn files_added_removed_renamed_or_chmodded_are_seen() {
        let p = Project::new();
        let mut seen = vec![p.cached_hash()];
        let mut step = |change: &dyn Fn(&Path)| {
            change(&p.ctx());
            p.age_all();
            let (hash, read) = p.cached_hash_reading();
            assert!(read > 0, "the context is read again");
            assert_eq!(hash, p.uncached_hash());
            assert!(!seen.contains(&hash), "a new hash");
            seen.push(hash);
        };
        step(&|d| fs::write(d.join("app/new.rs"), "").unwrap());
        step(&|d| fs::remove_file(d.join("app/lib.rs")).unwrap());
        step(&|d| fs::rename(d.join("app/new.rs"), d.join("app/renamed.rs")).unwrap());
        step(&|d| {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(d.join("app/main.rs"), fs::Permissions::from_mode(0o700)).unwrap()
        });
        step(&|d| fs::create_dir(d.join("app/more")).unwrap());
        step(&|d| fs::write(d.join(".dockerignore"), "*.log\n").unwrap());
    }

    #[test]
    fn writes_to_the_state_directory_change_nothing() {
        let p = Project::new();
        let first = p.cached_hash();
        p.write("state/demo.json", "{}");
        assert_eq!(p.cached_hash_reading(), (first, 0));
    }

    #[test]
    fn each_context_and_dockerfile_has_its_own_record() {
        let p = Project::new();
        p.write("Dockerfile.dev", "FROM scratch\n");
        p.age_all();
        let other = tempfile::tempdir().unwrap();
        fs::write(other.path().join("f"), "x").unwrap();
        set_mtime(
            &other.path().join("f"),
            SystemTime::now() - Duration::from_secs(3600),
        );
        let hashes = |expect_reads: usize| {
            let before = files_read();
            let mut cache = ContextCache::open(&p.cache_file());
            let a = cache
                .context_hash(&p.ctx(), Some("Dockerfile"), &p.skip())
                .unwrap();
            let b = cache
                .context_hash(&p.ctx(), Some("Dockerfile.dev"), &p.skip())
                .unwrap();
            let c = cache.context_hash(other.path(), None, &[]).unwrap();
            cache.save();
            assert_eq!(files_read() - before, expect_reads);
            (a, b, c)
        };
        // each context has Dockerfile, Dockerfile.dev and the four others
        let first = hashes(6 + 6 + 1);
        assert_eq!(hashes(0), first);
        assert_eq!(
            first,
            (
                p.uncached_hash(),
                context_hash(&p.ctx(), Some("Dockerfile.dev"), &p.skip()).unwrap(),
                context_hash(other.path(), None, &[]).unwrap()
            )
        );
    }

    #[test]
    fn the_cache_lives_in_the_state_directory_one_file_per_state_file() {
        assert_eq!(
            beside_state(Path::new("/p/state/demo.json")),
            Path::new("/p/state/cache/demo.contexts.json")
        );
        assert_eq!(
            beside_state(Path::new("/elsewhere/prod.state.json")),
            Path::new("/elsewhere/cache/prod.state.contexts.json")
        );
    }
}
