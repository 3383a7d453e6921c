//! Build contexts: the entries `docker build` sends (its `.dockerignore`
//! rules, see [`super::dockerignore`]) and a content hash over them (paths,
//! modes and bytes), so a code change is a planned image rebuild. The build
//! context tar is written from the same list. Whether the hash can be
//! taken from disk instead is [`super::context_cache`]'s concern.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::dockerignore::{MatchInfo, PatternMatcher, clean, read_patterns};

/// What a context entry is (other kinds, such as sockets and pipes, are not
/// sent: the docker CLI cannot send a socket either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    Symlink,
}

/// One entry of a build context as the docker CLI sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// slash-separated, relative to the context
    pub name: String,
    /// where it is on disk
    pub path: PathBuf,
    pub kind: EntryKind,
}

/// The Dockerfile's path relative to the context (slash-separated, cleaned)
/// when the build reads a file inside the context: `dockerfile` as compose
/// gives it (default `Dockerfile`). `None` when it lies outside the context
/// (then, as with an inline Dockerfile, it travels as a generated file).
pub fn dockerfile_in_context(context: &Path, dockerfile: Option<&str>) -> Option<String> {
    let given = dockerfile.unwrap_or("Dockerfile");
    let rel = if Path::new(given).is_absolute() {
        let context = clean(&context.to_string_lossy());
        let given = clean(given);
        given
            .strip_prefix(&format!("{}/", context.trim_end_matches('/')))?
            .to_string()
    } else {
        clean(given)
    };
    (rel != "." && rel != ".." && !rel.starts_with("../")).then_some(rel)
}

/// The `.dockerignore` patterns of the context `dir` (none without the file).
pub fn dockerignore_patterns(dir: &Path) -> io::Result<Vec<String>> {
    match fs::read(dir.join(".dockerignore")) {
        Ok(bytes) => Ok(read_patterns(&String::from_utf8_lossy(&bytes))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot read `{}`: {e}", dir.join(".dockerignore").display()),
        )),
    }
}

/// The entries of the build context `dir` that `docker build` sends, in the
/// order it sends them (a directory, then what is in it, by name), leaving
/// out `skip` (berth's own state directory: its writes must not look like
/// code changes).
///
/// `dockerfile` is the Dockerfile inside the context the build reads (see
/// [`dockerfile_in_context`]): as the docker CLI does, it and `.dockerignore`
/// are sent even when `.dockerignore` leaves them out, and the engine's
/// builder then drops them before any `COPY` sees the context.
///
/// The walk is the docker CLI's: a path is left out when the last pattern
/// matching it or a directory above it is not an exception; a directory that
/// is left out is still walked when an exception starts with its path (its
/// entries may come back), else skipped whole.
pub fn context_files(
    dir: &Path,
    dockerfile: Option<&str>,
    skip: &[PathBuf],
) -> io::Result<Vec<Entry>> {
    let walked = walk_context(dir, dockerfile, skip, false)?;
    Ok(walked.into_iter().map(|(entry, _)| entry).collect())
}

/// The walk of [`context_files`]: each entry, with its `lstat` when `stat`.
fn walk_context(
    dir: &Path,
    dockerfile: Option<&str>,
    skip: &[PathBuf],
    stat: bool,
) -> io::Result<Vec<Walked>> {
    let mut patterns = dockerignore_patterns(dir)?;
    let invalid = |e: super::dockerignore::PatternError| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{e}, in `{}`", dir.join(".dockerignore").display()),
        )
    };
    // the docker CLI's TrimBuildFilesFromExcludes
    let original = PatternMatcher::new(&patterns).map_err(invalid)?;
    if original.matches(".dockerignore") {
        patterns.push("!.dockerignore".into());
    }
    if let Some(dockerfile) = dockerfile
        && PatternMatcher::new(&patterns)
            .map_err(invalid)?
            .matches(dockerfile)
    {
        patterns.push(format!("!{dockerfile}"));
    }
    let matcher = PatternMatcher::new(&patterns).map_err(invalid)?;
    let walk = Walk {
        matcher: &matcher,
        skip: skip
            .iter()
            .filter_map(|s| Some((s.file_name()?, s.as_path())))
            .collect(),
        stat,
    };
    walk.context(dir)
}

/// An entry of the walk and, when asked for, its `lstat` (taken through the
/// directory being read: no path lookup from the root per entry).
type Walked = (Entry, Option<Stat>);

/// What `lstat` says of an entry, as far as the hash (the mode) and its
/// cache (see [`super::context_cache`]) use it: a fraction of
/// `fs::Metadata`'s size, and tens of thousands are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// `st_mode`: kind and permission bits
    pub mode: u32,
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: i64,
    pub ctime: i64,
    pub ctime_nsec: i64,
    pub ino: u64,
    pub dev: u64,
}

impl From<&fs::Metadata> for Stat {
    fn from(m: &fs::Metadata) -> Stat {
        use std::os::unix::fs::MetadataExt;
        Stat {
            mode: m.mode(),
            size: m.size(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            ctime: m.ctime(),
            ctime_nsec: m.ctime_nsec(),
            ino: m.ino(),
            dev: m.dev(),
        }
    }
}

/// A directory to walk: its path, its name in the context ("" for the
/// context itself), and what its own patterns matched.
type Task = (PathBuf, String, MatchInfo);

/// What the walk found in one directory: the entries sent, in order, and
/// where the directories below it go among them (after how many of its own
/// entries, and their task numbers).
#[derive(Default)]
struct DirOut {
    entries: Vec<Walked>,
    below: Vec<(usize, usize)>,
}

struct Walk<'a> {
    matcher: &'a PatternMatcher,
    /// the paths left out, each with its last part (compared first)
    skip: Vec<(&'a std::ffi::OsStr, &'a Path)>,
    stat: bool,
}

impl Walk<'_> {
    /// The entries sent of the context `dir`, in the order `docker build`
    /// sends them. Each directory is a task for the first core free (an
    /// unchanged context costs only these `lstat`s), and the results are
    /// put back in the walk's order.
    fn context(&self, dir: &Path) -> io::Result<Vec<Walked>> {
        let root: Task = (dir.to_path_buf(), String::new(), MatchInfo::default());
        let found = crate::par::tree(root, |(path, rel, info): Task, spawner| {
            let parent = (!rel.is_empty()).then_some(&info);
            self.children(&path, &rel, parent, &mut |task| spawner.spawn(task))
        });
        // the first error in the walk's order, as a sequential walk meets
        // it (a directory's own, before any below it): its task number
        fn size(found: &[io::Result<DirOut>], at: usize) -> Result<usize, usize> {
            let dir = found[at].as_ref().map_err(|_| at)?;
            let mut n = dir.entries.len();
            for &(_, task) in &dir.below {
                n += size(found, task)?;
            }
            Ok(n)
        }
        fn put(found: &mut [io::Result<DirOut>], at: usize, out: &mut Vec<Walked>) {
            let Ok(dir) = &mut found[at] else {
                unreachable!("sized first: no errors")
            };
            let entries = std::mem::take(&mut dir.entries);
            let below = std::mem::take(&mut dir.below);
            let mut entries = entries.into_iter();
            let mut taken = 0;
            for (after, task) in below {
                out.extend(entries.by_ref().take(after - taken));
                taken = after;
                put(found, task, out);
            }
            out.extend(entries);
        }
        let mut found = found;
        match size(&found, 0) {
            Ok(n) => {
                let mut out = Vec::with_capacity(n);
                put(&mut found, 0, &mut out);
                Ok(out)
            }
            Err(at) => Err(found.swap_remove(at).err().expect("an error")),
        }
    }

    /// The entries sent of `dir` (named `rel` in the context; `parent`: what
    /// its patterns matched, None for the context itself), in byte order (as
    /// Go's WalkDir visits them); each directory below to be walked goes to
    /// `spawn`, which numbers it.
    fn children(
        &self,
        dir: &Path,
        rel: &str,
        parent: Option<&MatchInfo>,
        spawn: &mut dyn FnMut(Task) -> usize,
    ) -> io::Result<DirOut> {
        let mut children = fs::read_dir(dir)?
            .map(|e| e.map(|e| (e.file_name(), e)))
            .collect::<io::Result<Vec<_>>>()?;
        // names in a directory are unique: no need for a stable sort
        children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let none = MatchInfo::default();
        let mut out = DirOut {
            entries: Vec::with_capacity(children.len()),
            below: Vec::new(),
        };
        for (leaf, child) in children {
            let path = dir.join(&leaf);
            // compare whole paths only where the last part is the same
            if self
                .skip
                .iter()
                .any(|(last, s)| *last == leaf && *s == path)
            {
                continue;
            }
            let leaf = leaf
                .into_string()
                .unwrap_or_else(|leaf| leaf.to_string_lossy().into_owned());
            let name = if rel.is_empty() {
                leaf
            } else {
                let mut name = String::with_capacity(rel.len() + 1 + leaf.len());
                name.push_str(rel);
                name.push('/');
                name.push_str(&leaf);
                name
            };
            let file_type = child.file_type()?;
            let kind = if file_type.is_dir() {
                EntryKind::Dir
            } else if file_type.is_symlink() {
                EntryKind::Symlink
            } else if file_type.is_file() {
                EntryKind::File
            } else {
                continue;
            };
            let (excluded, info) = self
                .matcher
                .matches_using_parent_results(&name, parent.unwrap_or(&none));
            if excluded {
                if kind == EntryKind::Dir && self.may_come_back(&name) {
                    let task = spawn((path, name, info));
                    out.below.push((out.entries.len(), task));
                }
                continue;
            }
            let meta = match self.stat {
                true => Some(Stat::from(&child.metadata()?)),
                false => None,
            };
            let below = (kind == EntryKind::Dir).then(|| (path.clone(), name.clone(), info));
            out.entries.push((Entry { name, path, kind }, meta));
            if let Some(below) = below {
                let task = spawn(below);
                out.below.push((out.entries.len(), task));
            }
        }
        Ok(out)
    }

    /// Whether a left-out directory is still walked: an exception starts
    /// with its path, so some of its entries may come back.
    fn may_come_back(&self, name: &str) -> bool {
        let prefix = format!("{name}/");
        self.matcher.has_exceptions()
            && self
                .matcher
                .patterns()
                .iter()
                .any(|p| p.is_exception() && format!("{}/", p.as_str()).starts_with(&prefix))
    }
}

/// A sent entry and what `lstat` said of it.
pub struct Listed {
    pub entry: Entry,
    pub meta: Stat,
}

/// [`context_files`], each `lstat`ed (before any is read: a file written
/// after its `lstat` then shows a new stat, not an old one with new bytes).
pub fn context_listing(
    dir: &Path,
    dockerfile: Option<&str>,
    skip: &[PathBuf],
) -> io::Result<Vec<Listed>> {
    let walked = walk_context(dir, dockerfile, skip, true)?;
    Ok(walked
        .into_iter()
        .map(|(entry, meta)| Listed {
            entry,
            meta: meta.expect("the walk gives every entry's lstat when asked"),
        })
        .collect())
}

/// sha256 over every sent entry's relative path, kind, mode and content
/// (bytes, or a symlink's target). The state records it: any change to what
/// is hashed plans a rebuild of every built image.
pub fn context_hash(dir: &Path, dockerfile: Option<&str>, skip: &[PathBuf]) -> io::Result<String> {
    hash_listing(&context_listing(dir, dockerfile, skip)?)
}

/// [`context_hash`] of listed entries: reads every file.
pub fn hash_listing(listing: &[Listed]) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    for Listed { entry, meta } in listing {
        hasher.update(entry.name.as_bytes());
        hasher.update([0]);
        hasher.update(meta.mode.to_le_bytes());
        match entry.kind {
            EntryKind::Dir => hasher.update(b"d"),
            EntryKind::Symlink => {
                hasher.update(b"l");
                hasher.update(fs::read_link(&entry.path)?.to_string_lossy().as_bytes());
            }
            EntryKind::File => {
                hasher.update(b"f");
                update_with_file(&mut hasher, &entry.path, &mut buf)?;
            }
        }
        hasher.update([0xff]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
thread_local! {
    static FILES_READ: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many files this thread has read to hash them (tests of the cache).
#[cfg(test)]
pub(super) fn files_read() -> usize {
    FILES_READ.with(std::cell::Cell::get)
}

/// Feed a file's bytes to `hasher`, through `buf`.
pub(super) fn update_with_file(hasher: &mut Sha256, path: &Path, buf: &mut [u8]) -> io::Result<()> {
    #[cfg(test)]
    FILES_READ.with(|n| n.set(n.get() + 1));
    let mut f = fs::File::open(path)?;
    loop {
        let n = f.read(buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

/// sha256 (hex) of a value's compact JSON text, streamed into the hasher: the
/// same hash as hashing `serde_json::to_string(v)`, without building the text
/// (specs are hashed once per resource; a whole plan is megabytes).
pub fn json_sha256<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let mut w = HashWriter(Sha256::new());
    serde_json::to_writer(&mut w, v).expect("JSON values serialise");
    hex::encode(w.0.finalize())
}

/// An `io::Write` that feeds a sha256.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let path = d.path().join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        d
    }

    #[test]
    fn json_sha256_hashes_the_compact_json_text() {
        let v = serde_json::json!({"a": [1, "x\ny"], "b": {"c": null}});
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(
            json_sha256(&v),
            hex::encode(Sha256::digest(text.as_bytes()))
        );
    }

    fn names(dir: &Path, dockerfile: Option<&str>) -> Vec<String> {
        context_files(dir, dockerfile, &[])
            .unwrap()
            .into_iter()
            .map(|e| match e.kind {
                EntryKind::Dir => format!("{}/", e.name),
                _ => e.name,
            })
            .collect()
    }

    #[test]
    fn the_context_is_walked_as_the_docker_cli_walks_it() {
        let d = tree(&[
            (".dockerignore", "*.log\n"),
            ("Dockerfile", "FROM scratch\n"),
            ("a.log", ""),
            ("b/a.log", ""),
            ("b-c", ""),
        ]);
        fs::create_dir(d.path().join("empty")).unwrap();
        // directories are sent too (an empty one reaches the image), each
        // before what is in it, names in byte order; `*.log` is anchored
        assert_eq!(
            names(d.path(), Some("Dockerfile")),
            [
                ".dockerignore",
                "Dockerfile",
                "b/",
                "b/a.log",
                "b-c",
                "empty/"
            ]
        );
    }

    #[test]
    fn a_wide_deep_tree_comes_out_in_the_sequential_walks_order() {
        // directories are walked on every core: the order must not depend on it
        let d = tempfile::tempdir().unwrap();
        let mut expected = Vec::new();
        fn fill(dir: &Path, rel: &str, depth: usize, expected: &mut Vec<String>) {
            for i in 0..6 {
                // made in byte order: directories and files interleaved
                let leaf = format!("{i}{}", if i % 2 == 0 { "d" } else { "f" });
                let name = if rel.is_empty() {
                    leaf.clone()
                } else {
                    format!("{rel}/{leaf}")
                };
                if i % 2 == 0 && depth < 3 {
                    fs::create_dir(dir.join(&leaf)).unwrap();
                    expected.push(format!("{name}/"));
                    fill(&dir.join(&leaf), &name, depth + 1, expected);
                } else {
                    fs::write(dir.join(&leaf), &name).unwrap();
                    expected.push(name);
                }
            }
        }
        fill(d.path(), "", 0, &mut expected);
        for _ in 0..5 {
            assert_eq!(names(d.path(), None), expected);
        }
        let listed = context_listing(d.path(), None, &[]).unwrap();
        assert_eq!(listed.len(), expected.len());
        for l in &listed {
            let m = fs::symlink_metadata(&l.entry.path).unwrap();
            assert_eq!(l.meta, Stat::from(&m), "{}", l.entry.name);
        }
    }

    #[test]
    fn an_ignored_dockerfile_and_dockerignore_are_still_sent() {
        let d = tree(&[
            (".dockerignore", ".dockerignore\ndocker\n"),
            ("docker/Dockerfile", "FROM scratch\n"),
            ("docker/other", ""),
            ("app", ""),
        ]);
        assert_eq!(
            names(d.path(), Some("docker/Dockerfile")),
            [".dockerignore", "app", "docker/Dockerfile"]
        );
        // an inline Dockerfile: nothing of `docker/` is kept
        assert_eq!(names(d.path(), None), [".dockerignore", "app"]);
    }

    #[test]
    fn a_left_out_directory_is_walked_only_when_an_exception_starts_with_it() {
        let d = tree(&[
            ("sub/keep", ""),
            ("sub/drop", ""),
            ("other/keep", ""),
            (".dockerignore", "sub\nother\n!sub/keep\n!**/keep\n"),
        ]);
        // `!**/keep` would take `other/keep` back, but the CLI never enters `other`
        assert_eq!(names(d.path(), None), [".dockerignore", "sub/keep"]);
    }

    #[test]
    fn a_malformed_pattern_is_an_error_naming_the_file() {
        let d = tree(&[(".dockerignore", "ok\n[z\n")]);
        let err = context_files(d.path(), None, &[]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let text = err.to_string();
        assert!(
            text.contains("`[z`") && text.contains(".dockerignore"),
            "{text}"
        );
    }

    #[test]
    fn the_dockerfile_is_in_the_context_unless_it_lies_outside() {
        let ctx = Path::new("/p/app");
        assert_eq!(
            dockerfile_in_context(ctx, None).as_deref(),
            Some("Dockerfile")
        );
        assert_eq!(
            dockerfile_in_context(ctx, Some("./docker//Dockerfile.dev")).as_deref(),
            Some("docker/Dockerfile.dev")
        );
        assert_eq!(
            dockerfile_in_context(ctx, Some("/p/app/sub/Dockerfile")).as_deref(),
            Some("sub/Dockerfile")
        );
        assert_eq!(dockerfile_in_context(ctx, Some("../Dockerfile")), None);
        assert_eq!(dockerfile_in_context(ctx, Some("/p/Dockerfile")), None);
        assert_eq!(
            dockerfile_in_context(ctx, Some("/p/application/Dockerfile")),
            None
        );
    }

    #[test]
    fn ignored_files_do_not_change_the_hash() {
        let d = tree(&[
            ("Dockerfile", "FROM scratch\n"),
            ("app", "v1"),
            (".dockerignore", "*.log\n"),
            ("x.log", "a"),
        ]);
        let before = context_hash(d.path(), Some("Dockerfile"), &[]).unwrap();
        fs::write(d.path().join("x.log"), "b").unwrap();
        assert_eq!(
            context_hash(d.path(), Some("Dockerfile"), &[]).unwrap(),
            before
        );
        fs::write(d.path().join("app"), "v2").unwrap();
        assert_ne!(
            context_hash(d.path(), Some("Dockerfile"), &[]).unwrap(),
            before
        );
    }

    #[test]
    fn files_docker_sends_change_the_hash_even_where_a_gitignore_glob_would_not() {
        let d = tree(&[
            ("Dockerfile", "FROM scratch\n"),
            (".dockerignore", "*.log\n"),
            ("sub/a.log", "a"),
        ]);
        let before = context_hash(d.path(), Some("Dockerfile"), &[]).unwrap();
        // `*.log` is anchored at the root: docker build sends `sub/a.log`
        fs::write(d.path().join("sub/a.log"), "b").unwrap();
        let edited = context_hash(d.path(), Some("Dockerfile"), &[]).unwrap();
        assert_ne!(edited, before);
        // an empty directory reaches the image too
        fs::create_dir(d.path().join("empty")).unwrap();
        assert_ne!(
            context_hash(d.path(), Some("Dockerfile"), &[]).unwrap(),
            edited
        );
    }

    #[test]
    fn the_hash_is_the_one_states_record() {
        // the value berth recorded before the context-hash cache: what is
        // hashed must never move (every built image would plan a rebuild)
        let d = tree(&[
            (".dockerignore", "*.log\n"),
            ("Dockerfile", "FROM scratch\n"),
            ("a.log", "left out"),
            ("sub/b", "b"),
        ]);
        std::os::unix::fs::symlink("sub/b", d.path().join("link")).unwrap();
        for (name, mode) in [
            (".dockerignore", 0o644),
            ("Dockerfile", 0o644),
            ("sub", 0o755),
            ("sub/b", 0o600),
        ] {
            fs::set_permissions(d.path().join(name), fs::Permissions::from_mode(mode)).unwrap();
        }
        assert_eq!(
            context_hash(d.path(), Some("Dockerfile"), &[]).unwrap(),
            "aedb6909a43b89b1dea68477ac214b57fdcc05e58e111887cfabd4f04b26f14d"
        );
    }

    #[test]
    fn a_mode_change_changes_the_hash() {
        let d = tree(&[("Dockerfile", "FROM scratch\n"), ("run.sh", "echo")]);
        let before = context_hash(d.path(), Some("Dockerfile"), &[]).unwrap();
        fs::set_permissions(d.path().join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(
            context_hash(d.path(), Some("Dockerfile"), &[]).unwrap(),
            before
        );
    }
}

#[cfg(test)]
mod skip_tests {
    use super::*;

    #[test]
    fn the_state_directory_is_not_part_of_the_context() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        fs::create_dir(d.path().join("state")).unwrap();
        let skip = [d.path().join("state")];
        let before = context_hash(d.path(), Some("Dockerfile"), &skip).unwrap();
        fs::write(d.path().join("state/demo.json"), "{}").unwrap();
        assert_eq!(
            context_hash(d.path(), Some("Dockerfile"), &skip).unwrap(),
            before
        );
    }
}
