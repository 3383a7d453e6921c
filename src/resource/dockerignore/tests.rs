//! `.dockerignore` cases decided as `docker build` decides them (the
//! integration test `tests/dockerignore.rs` checks the same against real
//! builds), line reading, path cleaning and malformed patterns.

use super::matcher::parents;
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
        let pm =
            PatternMatcher::new(&read_patterns(text)).unwrap_or_else(|e| panic!("{text:?}: {e}"));
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
