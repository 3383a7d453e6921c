//! `.dockerignore` exactly as `docker build` applies it: a port of
//! moby/patternmatcher v0.6 (the version docker CLI 28 vendors) and of its
//! `ignorefile.ReadAll`.
//!
//! - [`read_patterns`]: one pattern per line; a line starting with `#` is a
//!   comment (only in the first column); lines are trimmed, blank ones
//!   skipped; each pattern is cleaned like Go's `filepath.Clean` and a
//!   leading `/` is dropped, so patterns are relative to the context root; a
//!   leading `!` makes an exception.
//! - [`PatternMatcher`]: `*` and `?` match within one path segment, `**` any
//!   number of segments, `[...]` character classes and `\` escapes as in Go's
//!   `filepath.Match`; the last pattern that matches decides; a path is left
//!   out when it or a directory above it is (see
//!   [`PatternMatcher::matches_using_parent_results`], what the docker CLI's
//!   context walk uses, and [`PatternMatcher::matches_or_parent_matches`]).
//!
//! Patterns become a regular expression as patternmatcher builds it (with its
//! shortcuts for exact, prefix and suffix patterns, which match slightly
//! differently from the expression: `**foo` matches `barfoo`), so its quirks
//! are Docker's too.
//!
//! Split by what each part owns: `file` (a `.dockerignore` file's lines to
//! patterns, and Go's path cleaning), `compile` (one pattern to
//! patternmatcher's shortcut or expression, with Go's syntax checks) and
//! `matcher` (ordered patterns deciding a path, the ways the docker CLI and
//! the engine ask). The walk of a context is [`super::context`]'s.

mod compile;
mod file;
mod matcher;
#[cfg(test)]
mod tests;

use std::fmt;

pub use file::{clean, read_patterns};
pub use matcher::{MatchInfo, Pattern, PatternMatcher};

/// A `.dockerignore` pattern Docker rejects (`docker build` fails with
/// "syntax error in pattern" or "illegal exclusion pattern").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub pattern: String,
    pub reason: &'static str,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`.dockerignore` pattern `{}`: {} (docker build rejects it too)",
            self.pattern, self.reason
        )
    }
}

impl std::error::Error for PatternError {}
