//! Ordered `.dockerignore` patterns deciding whether a path is left out: the
//! last matching pattern wins, and a directory left out takes what is below
//! it, asked in the three ways Docker asks (the CLI's context walk, with its
//! parents' results handed down; every parent tried; the deprecated
//! one-parent `Matches` the CLI and the engine still use for the Dockerfile
//! and `.dockerignore`).

use super::PatternError;
use super::compile::{Kind, check_syntax, compile};
use super::file::clean;

/// One cleaned pattern.
#[derive(Debug)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    kind: Kind,
    /// how many slash-separated segments the pattern has (for [`PatternMatcher::matches`])
    segments: usize,
}

impl Pattern {
    /// The pattern as cleaned, without its `!`.
    pub fn as_str(&self) -> &str {
        &self.cleaned
    }

    /// Whether this is an exception (`!pattern`), re-including what it matches.
    pub fn is_exception(&self) -> bool {
        self.exclusion
    }

    fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.cleaned,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str()) || (suffix.starts_with('/') && path == &suffix[1..])
            }
            Kind::Regex(re) => re.is_match(path),
        }
    }
}

/// What a directory's patterns matched, handed to its entries
/// (patternmatcher's `MatchInfo`). The default knows nothing of parents.
#[derive(Debug, Clone, Default)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

/// Ordered `.dockerignore` patterns; the last one that matches decides.
#[derive(Debug)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl PatternMatcher {
    /// Compile `patterns` (as [`read_patterns`] returns them) as
    /// patternmatcher's `New` does.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<PatternMatcher, PatternError> {
        let mut out = Vec::new();
        let mut exclusions = false;
        for p in patterns {
            let p = p.as_ref().trim();
            if p.is_empty() {
                continue;
            }
            let mut p = clean(p);
            let exclusion = p.starts_with('!');
            if exclusion {
                if p.len() == 1 {
                    return Err(PatternError {
                        pattern: p,
                        reason: "illegal exclusion pattern: `!` alone",
                    });
                }
                p.remove(0);
                exclusions = true;
            }
            let bad = |reason| PatternError {
                pattern: p.clone(),
                reason,
            };
            check_syntax(&p).map_err(bad)?;
            let kind = compile(&p).map_err(bad)?;
            out.push(Pattern {
                segments: p.split('/').count(),
                cleaned: p,
                exclusion,
                kind,
            });
        }
        Ok(PatternMatcher {
            patterns: out,
            exclusions,
        })
    }

    /// Whether any pattern is an exception.
    pub fn has_exceptions(&self) -> bool {
        self.exclusions
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether the slash-separated `path` is left out, given what its
    /// directory matched: the walk of the docker CLI's context tar
    /// (`MatchesUsingParentResults`). With the default `parent`, each pattern
    /// is also tried on every directory above `path`.
    ///
    /// A pattern skipped for a directory (an exception while the directory
    /// was not left out, or a pattern while it already was) does not count as
    /// matched for its entries: that is Docker's behaviour, and can differ
    /// from [`Self::matches_or_parent_matches`] (`*/f` then `!d` leaves out
    /// `d/f` here, keeps it there).
    pub fn matches_using_parent_results(
        &self,
        path: &str,
        parent: &MatchInfo,
    ) -> (bool, MatchInfo) {
        let known = !parent.parent_matched.is_empty();
        let mut matched = false;
        let mut info = MatchInfo {
            parent_matched: vec![false; self.patterns.len()],
        };
        for (i, pattern) in self.patterns.iter().enumerate() {
            let mut hit = known && parent.parent_matched[i];
            if !hit {
                if pattern.exclusion != matched {
                    continue;
                }
                hit =
                    pattern.matches(path) || (!known && parents(path).any(|d| pattern.matches(d)));
            }
            info.parent_matched[i] = hit;
            if hit {
                matched = !pattern.exclusion;
            }
        }
        (matched, info)
    }

    /// Whether `path` is left out: each pattern is tried on the path and on
    /// every directory above it (`MatchesOrParentMatches`).
    pub fn matches_or_parent_matches(&self, path: &str) -> bool {
        let mut matched = false;
        for pattern in &self.patterns {
            if pattern.exclusion != matched {
                continue;
            }
            if pattern.matches(path) || parents(path).any(|d| pattern.matches(d)) {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// patternmatcher's deprecated `Matches`: each pattern is tried on the
    /// path and on the one directory above it that has as many segments as
    /// the pattern. The docker CLI still uses it to decide whether to keep
    /// the Dockerfile and `.dockerignore` in the context, and the engine's
    /// classic builder to decide whether to drop them from it.
    pub fn matches(&self, path: &str) -> bool {
        let path = clean(path);
        if path == "." {
            return false;
        }
        let parent = match path.rsplit_once('/') {
            Some((dir, _)) => dir,
            None => ".",
        };
        let parent_segments: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for pattern in &self.patterns {
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.matches(&path);
            if !hit && parent != "." && pattern.segments <= parent_segments.len() {
                hit = pattern.matches(&parent_segments[..pattern.segments].join("/"));
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }
}

/// The directories above a slash-separated path, outermost first: `a`, `a/b`
/// for `a/b/c`.
pub(super) fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}
