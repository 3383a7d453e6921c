//! Build contexts: a content hash over the files `docker build` would send
//! (paths, modes and bytes, honouring `.dockerignore`), so a code change is a
//! planned image rebuild.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use sha2::{Digest, Sha256};

/// One `.dockerignore` rule: a glob, negated with a leading `!`.
struct Rule {
    matcher: GlobMatcher,
    negate: bool,
}

/// `.dockerignore` rules in order; the last matching rule decides.
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> DockerIgnore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            // Docker cleans patterns and matches them against slash-separated relative paths
            let pattern = pattern.trim_start_matches("./").trim_start_matches('/');
            let pattern = pattern.trim_end_matches('/');
            if pattern.is_empty() {
                continue;
            }
            if let Ok(glob) = Glob::new(pattern) {
                rules.push(Rule {
                    matcher: glob.compile_matcher(),
                    negate,
                });
            }
        }
        DockerIgnore { rules }
    }

    /// Whether `rel` (slash-separated, relative to the context) is left out.
    /// A directory that is left out also leaves out what is below it.
    pub fn excludes(&self, rel: &str) -> bool {
        let mut excluded = false;
        for rule in &self.rules {
            // a pattern matches the path itself or any parent directory of it
            let mut matched = rule.matcher.is_match(rel);
            if !matched {
                let mut parent = rel;
                while let Some((p, _)) = parent.rsplit_once('/') {
                    if rule.matcher.is_match(p) {
                        matched = true;
                        break;
                    }
                    parent = p;
                }
            }
            if matched {
                excluded = !rule.negate;
            }
        }
        excluded
    }
}

/// The files of a build context that `docker build` would send, sorted,
/// leaving out `skip` (berth's own state directory: its writes must not look
/// like code changes).
pub fn context_files(dir: &Path, skip: &[PathBuf]) -> std::io::Result<Vec<(String, PathBuf)>> {
    let ignore = match fs::read_to_string(dir.join(".dockerignore")) {
        Ok(t) => DockerIgnore::parse(&t),
        Err(_) => DockerIgnore::parse(""),
    };
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), dir.to_path_buf())];
    while let Some((rel, path)) = stack.pop() {
        for entry in fs::read_dir(&path)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child_rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let file_type = entry.file_type()?;
            if skip.iter().any(|s| *s == entry.path()) {
                continue;
            }
            // the Dockerfile and .dockerignore are always sent
            let always = child_rel == "Dockerfile" || child_rel == ".dockerignore";
            if !always && ignore.excludes(&child_rel) && !file_type.is_dir() {
                continue;
            }
            if file_type.is_dir() {
                if ignore.excludes(&child_rel) && !ignore.rules.iter().any(|r| r.negate) {
                    continue;
                }
                stack.push((child_rel, entry.path()));
            } else {
                out.push((child_rel, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// sha256 over every sent file's relative path, mode and bytes.
pub fn context_hash(dir: &Path, skip: &[PathBuf]) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    for (rel, path) in context_files(dir, skip)? {
        let meta = fs::symlink_metadata(&path)?;
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        hasher.update(meta.permissions().mode().to_le_bytes());
        if meta.file_type().is_symlink() {
            hasher.update(fs::read_link(&path)?.to_string_lossy().as_bytes());
        } else {
            let mut f = fs::File::open(&path)?;
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        }
        hasher.update([0xff]);
    }
    Ok(hex(&hasher.finalize()))
}

/// sha256 (hex) of a value's compact JSON text, streamed into the hasher: the
/// same hash as hashing `serde_json::to_string(v)`, without building the text
/// (specs are hashed once per resource; a whole plan is megabytes).
pub fn json_sha256<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let mut w = HashWriter(Sha256::new());
    serde_json::to_writer(&mut w, v).expect("JSON values serialise");
    hex(&w.0.finalize())
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

/// Lowercase hex of a digest. (A table lookup: formatting byte by byte with
/// `write!` showed up in profiles, it runs for every resource's spec hash.)
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn json_sha256_hashes_the_compact_json_text() {
        let v = serde_json::json!({"a": [1, "x\ny"], "b": {"c": null}});
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(json_sha256(&v), hex(&Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn dockerignore_rules_apply_in_order() {
        let ig = DockerIgnore::parse("# comment\n*.log\ntarget\n!keep.log\ndocs/**/*.md\n");
        assert!(ig.excludes("a.log"));
        assert!(!ig.excludes("keep.log"));
        assert!(ig.excludes("target/debug/x"));
        assert!(ig.excludes("docs/a/b.md"));
        assert!(!ig.excludes("src/main.rs"));
    }

    #[test]
    fn ignored_files_do_not_change_the_hash() {
        let d = tree(&[
            ("Dockerfile", "FROM scratch\n"),
            ("app", "v1"),
            (".dockerignore", "*.log\n"),
            ("x.log", "a"),
        ]);
        let before = context_hash(d.path(), &[]).unwrap();
        fs::write(d.path().join("x.log"), "b").unwrap();
        assert_eq!(context_hash(d.path(), &[]).unwrap(), before);
        fs::write(d.path().join("app"), "v2").unwrap();
        assert_ne!(context_hash(d.path(), &[]).unwrap(), before);
    }

    #[test]
    fn a_mode_change_changes_the_hash() {
        let d = tree(&[("Dockerfile", "FROM scratch\n"), ("run.sh", "echo")]);
        let before = context_hash(d.path(), &[]).unwrap();
        fs::set_permissions(d.path().join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(context_hash(d.path(), &[]).unwrap(), before);
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
        let before = context_hash(d.path(), &skip).unwrap();
        fs::write(d.path().join("state/demo.json"), "{}").unwrap();
        assert_eq!(context_hash(d.path(), &skip).unwrap(), before);
    }
}
