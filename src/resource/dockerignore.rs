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

use std::fmt;

use regex::Regex;

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

/// The patterns of a `.dockerignore` file's text, as `ignorefile.ReadAll`
/// returns them (exceptions keep their leading `!`).
pub fn read_patterns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.lines() {
        // a comment only when `#` is the very first character
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = String::new();
        if !pattern.is_empty() {
            cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
        }
        if invert {
            cleaned.insert(0, '!');
        }
        out.push(cleaned);
    }
    out
}

/// Go's `filepath.Clean` (slash-separated): the shortest equivalent path,
/// without `.` segments, repeated slashes or `..` that can be resolved.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// How a pattern is matched: patternmatcher's shortcuts, or its expression.
#[derive(Debug)]
enum Kind {
    /// no wildcard: the path must equal the pattern
    Exact,
    /// `literal**`: the path starts with the literal
    Prefix(String),
    /// `**literal`: the path ends with the literal (or is it, less its `/`)
    Suffix(String),
    Regex(Regex),
}

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
fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// The checks of Go's `filepath.Match`, which patternmatcher runs on every
/// pattern: character classes must be closed and not empty, ranges need both
/// ends, `\` must escape something.
fn check_syntax(pattern: &str) -> Result<(), &'static str> {
    const BAD: &str = "syntax error in pattern";
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    // one character of a class, possibly escaped
    let esc = |i: &mut usize| -> Result<(), &'static str> {
        match chars.get(*i) {
            None | Some('-') | Some(']') => return Err(BAD),
            Some('\\') => {
                *i += 1;
                if *i >= chars.len() {
                    return Err(BAD);
                }
            }
            _ => {}
        }
        *i += 1;
        if *i >= chars.len() {
            return Err(BAD);
        }
        Ok(())
    };
    while i < chars.len() {
        match chars[i] {
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut ranges = 0;
                loop {
                    if chars.get(i) == Some(&']') && ranges > 0 {
                        i += 1;
                        break;
                    }
                    esc(&mut i)?;
                    if chars[i] == '-' {
                        i += 1;
                        esc(&mut i)?;
                    }
                    ranges += 1;
                }
            }
            '\\' => {
                if i + 1 >= chars.len() {
                    return Err(BAD);
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// patternmatcher's `compile`: the expression, or one of its shortcuts.
fn compile(pattern: &str) -> Result<Kind, &'static str> {
    #[derive(PartialEq)]
    enum Detected {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut re = String::from("^");
    let mut detected = Detected::Exact;
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut step = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        if ch == '*' {
            if chars.get(i) == Some(&'*') {
                i += 1;
                // `**/` is `**`
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    // a trailing `**` takes everything
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        re.push_str(".*");
                        detected = Detected::Regex;
                    }
                } else {
                    // any number of segments, even none
                    re.push_str("(.*/)?");
                    detected = Detected::Regex;
                }
                if step == 0 {
                    detected = Detected::Suffix;
                }
            } else {
                re.push_str("[^/]*");
                detected = Detected::Regex;
            }
        } else if ch == '?' {
            re.push_str("[^/]");
            detected = Detected::Regex;
        } else if ".+()|{}$".contains(ch) {
            re.push('\\');
            re.push(ch);
        } else if ch == '\\' {
            re.push('\\');
            if let Some(&next) = chars.get(i) {
                re.push(next);
                i += 1;
                detected = Detected::Regex;
            }
        } else if ch == '[' || ch == ']' {
            re.push(ch);
            detected = Detected::Regex;
        } else {
            re.push(ch);
        }
        step += 1;
    }
    Ok(match detected {
        Detected::Exact => Kind::Exact,
        Detected::Prefix => Kind::Prefix(pattern[..pattern.len() - 2].to_string()),
        Detected::Suffix => Kind::Suffix(pattern[2..].to_string()),
        Detected::Regex => {
            re.push('$');
            Kind::Regex(Regex::new(&rust_syntax(&re)).map_err(|_| "syntax error in pattern")?)
        }
    })
}

/// Go's expression syntax (RE2) in the `regex` crate's: the two read classes
/// differently. Inside `[...]` Go takes `[` (other than `[:name:]`), `&`, `~`
/// and a second `-` literally; the `regex` crate nests classes and has the
/// operators `&&`, `~~` and `--`. Everything else is written alike.
fn rust_syntax(go: &str) -> String {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len());
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        match ch {
            '\\' => {
                out.push(ch);
                if let Some(&next) = chars.get(i) {
                    out.push(next);
                    i += 1;
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(ch);
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // a `]` first in a class is a member
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '[' if chars.get(i) == Some(&':') => {
                // `[:alpha:]`, copied whole
                let rest: String = chars[i - 1..].iter().collect();
                match rest.find(":]") {
                    Some(end) if end > 1 => {
                        out.push_str(&rest[..end + 2]);
                        i += rest[..end + 2].chars().count() - 1;
                    }
                    _ => out.push_str("\\["),
                }
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(ch);
            }
            '-' if in_class && out.ends_with('-') => out.push_str("\\-"),
            ']' if in_class => {
                in_class = false;
                out.push(ch);
            }
            ']' => out.push_str("\\]"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the docker CLI's context walk leaves `path` out: every
    /// directory above it is matched first, handing its result down.
    fn walk_excludes(pm: &PatternMatcher, path: &str) -> bool {
        let mut info = MatchInfo::default();
        for dir in parents(path) {
            info = pm.matches_using_parent_results(dir, &info).1;
        }
        pm.matches_using_parent_results(path, &info).0
    }

    /// (`.dockerignore` text, path, left out?) for the walk, which is also
    /// what `matches_or_parent_matches` says unless the case is marked.
    const CASES: &[(&str, &str, bool)] = &[
        // lines: comments in the first column only, trimmed, blanks skipped
        ("# a.txt\n", "# a.txt", false),
        ("  # a.txt\n", "# a.txt", true),
        ("\n   \n\t\n", "a", false),
        ("  a.txt  \n", "a.txt", true),
        ("\u{feff}a.txt\r\n", "a.txt", true),
        // anchored at the context root; a leading `/` and `./` change nothing
        ("a.txt", "sub/a.txt", false),
        ("/a.txt", "a.txt", true),
        ("./sub//a.txt", "sub/a.txt", true),
        ("sub/../a.txt", "a.txt", true),
        ("sub/", "sub/x", true),
        // `*` and `?` stay within one segment
        ("*.log", "a.log", true),
        ("*.log", "sub/a.log", false),
        ("*/*.log", "sub/a.log", true),
        ("*/*.log", "a/b/c.log", false),
        ("a?c", "abc", true),
        ("a?c", "a/c", false),
        ("*", "anything/below", true),
        // `**`: any number of segments, even none
        ("**/*.log", "a.log", true),
        ("**/*.log", "a/b/c.log", true),
        ("a/**/z", "a/z", true),
        ("a/**/z", "a/b/c/z", true),
        ("a/**", "a/b", true),
        ("a/**", "ab", false),
        ("**", "x/y", true),
        (
            "**/node_modules",
            "web/node_modules/left-pad/index.js",
            true,
        ),
        // patternmatcher's suffix shortcut: `**foo` is "ends with foo"
        ("**foo", "barfoo", true),
        ("**/foo", "barfoo", false),
        // classes and escapes, as filepath.Match
        ("[abc].txt", "b.txt", true),
        ("[abc].txt", "d.txt", false),
        ("[a-c].txt", "c.txt", true),
        ("[^a-c].txt", "d.txt", true),
        ("[^a-c].txt", "a.txt", false),
        ("[!a].txt", "!.txt", true),
        ("[!a].txt", "b.txt", false),
        ("\\*.txt", "*.txt", true),
        ("\\*.txt", "a.txt", false),
        ("a\\?", "a?", true),
        // regular-expression characters are literal
        ("a+b.(c)", "a+b.(c)", true),
        ("a.b", "axb", false),
        ("x$", "x$", true),
        // exceptions: the last match wins
        ("*.md\n!README.md", "README.md", false),
        ("*.md\n!README.md", "CHANGES.md", true),
        ("!README.md\n*.md", "README.md", true),
        ("*.md\n!README.md\nREADME.md", "README.md", true),
        // a directory left out leaves out what is below it ...
        ("build", "build/out/x.o", true),
        ("build", "buildx/y", false),
        ("sub/*", "sub/dir/file", true),
        // ... unless an exception takes it back
        ("sub\n!sub/keep", "sub/keep", false),
        ("sub\n!sub/keep", "sub/keep/deep/file", false),
        ("sub\n!sub/keep", "sub/other", true),
        ("*\n!src\nsrc/*.tmp", "src/a.tmp", true),
        ("*\n!src\nsrc/*.tmp", "src/a.rs", false),
        ("*\n!src\nsrc/*.tmp", "lib/a.rs", true),
        // an exception for the directory above, as the walk hands it down
        ("*/f\n!d", "d/f", true),
    ];

    #[test]
    fn patterns_decide_as_docker_build_does() {
        let mut wrong = Vec::new();
        for (text, path, excluded) in CASES {
            let pm = PatternMatcher::new(&read_patterns(text))
                .unwrap_or_else(|e| panic!("{text:?}: {e}"));
            if walk_excludes(&pm, path) != *excluded {
                wrong.push(format!("{text:?} on {path:?}: want excluded={excluded}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn matches_or_parent_matches_checks_every_parent_against_every_pattern() {
        let pm = PatternMatcher::new(&["*/f", "!d"]).unwrap();
        // unlike the walk (see the last case above), the exception sees `d`
        assert!(!pm.matches_or_parent_matches("d/f"));
        let pm = PatternMatcher::new(&["a/b"]).unwrap();
        assert!(pm.matches_or_parent_matches("a/b/c/d"));
        assert!(!pm.matches_or_parent_matches("a/bc"));
    }

    #[test]
    fn the_deprecated_matches_checks_one_parent_only() {
        // `*` has one segment: only `a` is tried, never `a/b`
        let pm = PatternMatcher::new(&["*/b"]).unwrap();
        assert!(pm.matches("a/b/c"));
        let pm = PatternMatcher::new(&["b"]).unwrap();
        assert!(!pm.matches("a/b/c"));
        assert!(pm.matches_or_parent_matches("b/c"));
        assert!(!pm.matches("."), "the context itself is never left out");
    }

    #[test]
    fn read_patterns_cleans_each_line_as_ignorefile_does() {
        let text = "\u{feff}# c\n /abs/path/ \n!  ./keep//me \n..\n/\n!\nx/./y/../z\n";
        assert_eq!(
            read_patterns(text),
            ["abs/path", "!keep/me", "..", "/", "!", "x/z"]
        );
    }

    #[test]
    fn clean_is_go_filepath_clean() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("a//b/./c/", "a/b/c"),
            ("a/../..", ".."),
            ("../../a", "../../a"),
            ("/../a", "/a"),
            ("/", "/"),
            ("a/b/../../c", "c"),
        ] {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn malformed_patterns_are_errors_naming_the_pattern() {
        for bad in ["[", "a[", "[]", "[a-]", "[z", "a\\", "[\\", "!"] {
            let err = PatternMatcher::new(&[bad]).expect_err(bad);
            assert!(err.to_string().contains("docker build rejects it"), "{err}");
        }
        for good in ["[a-z]", "[\\]]", "[*]", "[[]", "a]", "[a&&b]", "[a~~b]"] {
            PatternMatcher::new(&[good]).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn class_members_rust_reads_as_operators_stay_literal() {
        let pm = PatternMatcher::new(&["[a&&b]", "[[]x", "f[~]"]).unwrap();
        for (path, excluded) in [
            ("&", true),
            ("a", true),
            ("[x", true),
            ("f~", true),
            ("c", false),
        ] {
            assert_eq!(pm.matches_or_parent_matches(path), excluded, "{path}");
        }
    }
}
