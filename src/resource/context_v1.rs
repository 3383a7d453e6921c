//! The build-context hash of berth 0.1.0 (glob-based `.dockerignore`, files
//! only), kept for one purpose: migrating a format-1 state. A built image
//! recorded by berth 0.1.0 whose context still hashes, by this old rule, to
//! what was recorded has not changed since it was applied; the migration then
//! records the current hash of the same files, so the upgrade alone plans no
//! rebuild. Nothing else may use it: berth hashes contexts with
//! [`super::context`] (Docker's `.dockerignore` rules).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use sha2::{Digest, Sha256};

use super::context::update_with_file;

/// One `.dockerignore` rule: a glob, negated with a leading `!`.
struct Rule {
    matcher: GlobMatcher,
    negate: bool,
}

/// `.dockerignore` rules in order; the last matching rule decides.
struct DockerIgnore {
    rules: Vec<Rule>,
}

impl DockerIgnore {
    fn parse(text: &str) -> DockerIgnore {
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
    fn excludes(&self, rel: &str) -> bool {
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
fn context_files(dir: &Path, skip: &[PathBuf]) -> std::io::Result<Vec<(String, PathBuf)>> {
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

/// sha256 over every sent file's relative path, mode and bytes, as berth
/// 0.1.0 hashed it.
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
            update_with_file(&mut hasher, &path, &mut buf)?;
        }
        hasher.update([0xff]);
    }
    Ok(hex::encode(hasher.finalize()))
}
