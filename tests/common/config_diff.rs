//! `berth config --format json` against `docker compose config --format json`: the comparison
//! shared by the conformance suite (`tests/fixtures/compose/`) and the real-world corpus
//! (`tests/fixtures/realworld/`).
//!
//! A case is a directory run by both tools as working directory, with a scrubbed environment:
//!
//! - the compose file(s), plus whatever they need (`.env`, env_files, `compose.override.yaml`,
//!   extra `-f` files, `extends`/`include` targets, config and secret files);
//! - `args` (optional): global CLI arguments placed before `config`, split on whitespace
//!   (no quoting), e.g. `-f compose.yaml -f compose.prod.yaml --profile debug`;
//! - `env` (optional): `KEY=VALUE` lines put into the environment of both tools (blank lines and
//!   `#` comments skipped).
//!
//! Both outputs are parsed as JSON and compared value by value. A difference is a failure
//! unless [`INTENTIONAL`] accepts it; a failure is reported as a list of JSON pointers with
//! compose's and berth's values.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Differences between the two outputs that are meaningless, each with the reason.
///
/// Every entry is a promise: a consumer of `config --format json` cannot tell the two outputs
/// apart in a way that matters. Keep this table as small as possible; fix the loader instead
/// of adding an entry whenever compose's output is the better one.
///
/// Fixture names: a conformance fixture is named by its directory (`extends-same-file`), a
/// real-world setup by `realworld/` and its directory (`realworld/sentry`).
pub const INTENTIONAL: &[Intentional] = &[
    Intentional {
        fixtures: "*",
        path: "/services/*/command",
        accept: Accept::NullAsAbsent,
        reason: "compose prints `\"command\": null` for every service without a command (Go's \
                 nil slice); null and absent both mean \"use the image's CMD\"",
    },
    Intentional {
        fixtures: "*",
        path: "/services/*/entrypoint",
        accept: Accept::NullAsAbsent,
        reason: "compose prints `\"entrypoint\": null` for every service without an entrypoint; \
                 null and absent both mean \"use the image's ENTRYPOINT\" (an explicit `[]` \
                 still has to match)",
    },
];

/// One accepted difference: which fixtures, where in the document, what kind, and why.
pub struct Intentional {
    /// Fixture name, or a glob over it where `*` matches any run of characters (`"*"` = all).
    pub fixtures: &'static str,
    /// JSON pointer (RFC 6901) in which a `*` segment matches exactly one key or index.
    pub path: &'static str,
    pub accept: Accept,
    pub reason: &'static str,
}

/// The kind of difference an [`Intentional`] entry accepts; nothing wider.
#[derive(Clone, Copy)]
pub enum Accept {
    /// One side has `null` where the other has no key at all.
    NullAsAbsent,
    /// Any difference at the given path (for attributes berth passes through unmodelled).
    Any,
}

impl Accept {
    fn accepts(self, difference: &Difference) -> bool {
        match self {
            Accept::Any => true,
            Accept::NullAsAbsent => matches!(
                (&difference.compose, &difference.berth),
                (Some(Value::Null), None) | (None, Some(Value::Null))
            ),
        }
    }
}

/// Environment variables passed through from the test's own environment; all others are cleared
/// so that a developer's `COMPOSE_*` or interpolation variables cannot leak into a fixture.
const PASSED_THROUGH_ENV: &[&str] = &["PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"];

/// Most differences printed per fixture before the rest are summarised as a count.
const MAX_DIFFERENCES_SHOWN: usize = 40;

/// Runs every case through both tools. Returns, in the order of `cases`, each case's section of
/// the failure report (`None` when the outputs agree up to [`INTENTIONAL`]), after printing how
/// many differences each [`INTENTIONAL`] entry accepted. `suite` names the caller in messages.
pub fn compare_all(suite: &str, cases: &[Case]) -> Vec<Option<String>> {
    for entry in INTENTIONAL {
        assert!(
            entry.path.starts_with('/') && !entry.reason.trim().is_empty(),
            "INTENTIONAL entry for `{}` needs a JSON pointer and a reason",
            entry.path
        );
    }
    let mut accepted = vec![0_usize; INTENTIONAL.len()];
    let outcomes = cases
        .iter()
        .map(|case| case.run(&mut accepted).err())
        .collect();
    for (entry, count) in INTENTIONAL.iter().zip(&accepted) {
        println!(
            "{suite}: accepted {count} differences at {} in fixtures `{}`: {}",
            entry.path, entry.fixtures, entry.reason
        );
    }
    outcomes
}

/// One directory to run both tools in.
pub struct Case {
    /// The name in reports and in [`INTENTIONAL`]'s `fixtures`.
    pub name: String,
    pub dir: PathBuf,
}

impl Case {
    /// Runs both tools; `Err` holds this fixture's section of the failure report.
    /// `accepted` counts, per [`INTENTIONAL`] entry, the differences it let through.
    fn run(&self, accepted: &mut [usize]) -> Result<(), String> {
        let args = self.args();
        let env = self.env();
        let invocation = args
            .iter()
            .map(String::as_str)
            .chain(["config", "--format", "json"])
            .collect::<Vec<_>>()
            .join(" ");
        let heading = format!("── {} (`{invocation}`)\n", self.name);

        let compose = scrubbed_command(OsStr::new("docker"), &self.dir, &env)
            .arg("compose")
            .args(&args)
            .args(["config", "--format", "json"])
            .output();
        let compose = match parse_output("docker compose", compose) {
            Ok(value) => value,
            Err(problem) => return Err(format!("{heading}   the fixture is broken: {problem}\n")),
        };

        let berth = scrubbed_command(OsStr::new(env!("CARGO_BIN_EXE_berth")), &self.dir, &env)
            .args(&args)
            .args(["config", "--format", "json"])
            .output();
        let berth = match parse_output("berth", berth) {
            Ok(value) => value,
            Err(problem) => return Err(format!("{heading}   {problem}\n")),
        };

        let mut differences = Vec::new();
        diff("", Some(&compose), Some(&berth), &mut differences);
        differences.retain(|difference| match self.intentional(difference) {
            Some(entry) => {
                accepted[entry] += 1;
                false
            }
            None => true,
        });
        if differences.is_empty() {
            return Ok(());
        }

        let mut section = heading;
        for difference in differences.iter().take(MAX_DIFFERENCES_SHOWN) {
            let path = if difference.path.is_empty() {
                "/"
            } else {
                &difference.path
            };
            let _ = writeln!(section, "   {path}");
            let _ = writeln!(section, "       compose: {}", show(difference.compose));
            let _ = writeln!(section, "       berth:   {}", show(difference.berth));
        }
        if differences.len() > MAX_DIFFERENCES_SHOWN {
            let _ = writeln!(
                section,
                "   … and {} more differences",
                differences.len() - MAX_DIFFERENCES_SHOWN
            );
        }
        Err(section)
    }

    /// The index of the [`INTENTIONAL`] entry that accepts `difference`, if any.
    fn intentional(&self, difference: &Difference) -> Option<usize> {
        INTENTIONAL.iter().position(|entry| {
            glob_matches(entry.fixtures, &self.name)
                && pointer_matches(entry.path, &difference.path)
                && entry.accept.accepts(difference)
        })
    }

    /// Extra global arguments from the optional `args` file.
    fn args(&self) -> Vec<String> {
        match fs::read_to_string(self.dir.join("args")) {
            Ok(text) => text.split_whitespace().map(str::to_owned).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Extra environment from the optional `env` file.
    fn env(&self) -> Vec<(String, String)> {
        let Ok(text) = fs::read_to_string(self.dir.join("env")) else {
            return Vec::new();
        };
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| match line.split_once('=') {
                Some((key, value)) => (key.to_owned(), value.to_owned()),
                None => panic!(
                    "{}: `{line}` is not KEY=VALUE",
                    self.dir.join("env").display()
                ),
            })
            .collect()
    }
}

/// A command with a cleared environment, except [`PASSED_THROUGH_ENV`] and `extra`.
fn scrubbed_command(program: &OsStr, dir: &Path, extra: &[(String, String)]) -> Command {
    let mut command = Command::new(program);
    command.current_dir(dir).env_clear();
    for key in PASSED_THROUGH_ENV {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    command.envs(extra.iter().map(|(key, value)| (key, value)));
    command
}

/// The JSON document a tool printed, or a one-paragraph description of why there is none.
fn parse_output(tool: &str, output: std::io::Result<Output>) -> Result<Value, String> {
    let output = output.map_err(|error| format!("cannot run {tool}: {error}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = if stderr.trim().is_empty() {
        String::new()
    } else {
        format!("\n   stderr:\n{}", indent(stderr.trim_end(), 20))
    };
    if !output.status.success() {
        return Err(format!("{tool} failed ({}){stderr}", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.trim().is_empty() {
        return Err(format!("{tool} succeeded but printed nothing{stderr}"));
    }
    serde_json::from_str(&stdout).map_err(|error| {
        format!(
            "{tool} printed invalid JSON ({error}); stdout:\n{}{stderr}",
            indent(stdout.trim_end(), 20)
        )
    })
}

/// The first `max_lines` lines of `text`, indented for the report.
fn indent(text: &str, max_lines: usize) -> String {
    let mut lines = text
        .lines()
        .take(max_lines)
        .map(|line| format!("     | {line}"))
        .collect::<Vec<_>>();
    let total = text.lines().count();
    if total > max_lines {
        lines.push(format!("     | … ({} more lines)", total - max_lines));
    }
    lines.join("\n")
}

/// One place where the two documents disagree; `None` means the key or index is absent.
struct Difference<'a> {
    /// JSON pointer (RFC 6901); empty for the document root.
    path: String,
    compose: Option<&'a Value>,
    berth: Option<&'a Value>,
}

/// Collects every leaf-level difference between `compose` and `berth` below `path`.
///
/// Objects are compared key by key and arrays index by index, so a report names the exact
/// field; a value present on one side only is reported once, at its own path.
fn diff<'a>(
    path: &str,
    compose: Option<&'a Value>,
    berth: Option<&'a Value>,
    out: &mut Vec<Difference<'a>>,
) {
    match (compose, berth) {
        (Some(Value::Object(left)), Some(Value::Object(right))) => {
            for (key, value) in left {
                diff(&child(path, key), Some(value), right.get(key), out);
            }
            for (key, value) in right {
                if !left.contains_key(key) {
                    diff(&child(path, key), None, Some(value), out);
                }
            }
        }
        (Some(Value::Array(left)), Some(Value::Array(right))) => {
            for index in 0..left.len().max(right.len()) {
                diff(
                    &child(path, &index.to_string()),
                    left.get(index),
                    right.get(index),
                    out,
                );
            }
        }
        (left, right) if left == right => {}
        (left, right) => out.push(Difference {
            path: path.to_owned(),
            compose: left,
            berth: right,
        }),
    }
}

/// `parent` extended by one segment, escaped as RFC 6901 requires.
fn child(parent: &str, segment: &str) -> String {
    format!("{parent}/{}", segment.replace('~', "~0").replace('/', "~1"))
}

/// Whether a pointer pattern (with `*` segments) matches a concrete, escaped pointer.
fn pointer_matches(pattern: &str, pointer: &str) -> bool {
    let pattern = pattern.split('/').collect::<Vec<_>>();
    let pointer = pointer.split('/').collect::<Vec<_>>();
    pattern.len() == pointer.len()
        && pattern
            .iter()
            .zip(&pointer)
            .all(|(want, have)| *want == "*" || want == have)
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(text) = text.strip_prefix(prefix) else {
                return false;
            };
            (0..=text.len())
                .filter(|&start| text.is_char_boundary(start))
                .any(|start| glob_matches(rest, &text[start..]))
        }
    }
}

/// A value as one line of the report.
pub fn show(value: Option<&Value>) -> String {
    show_within(value, 200)
}

/// A value as one line of a report, cut after `max_chars` characters.
pub fn show_within(value: Option<&Value>, max_chars: usize) -> String {
    let Some(value) = value else {
        return "(absent)".to_owned();
    };
    let text = value.to_string();
    if text.chars().count() <= max_chars {
        return text;
    }
    let mut short = text.chars().take(max_chars).collect::<String>();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn diff_names_each_differing_leaf() {
        let compose = json!({"services": {"web": {"ports": [{"target": 80}], "image": "a", "command": null}}});
        let berth = json!({"services": {"web": {"ports": [{"target": 81}, {"target": 82}], "image": "a", "x/y": 1}}});
        let mut differences = Vec::new();
        diff("", Some(&compose), Some(&berth), &mut differences);
        let rendered = differences
            .iter()
            .map(|d| format!("{} {} {}", d.path, show(d.compose), show(d.berth)))
            .collect::<Vec<_>>();
        assert_eq!(
            rendered,
            [
                "/services/web/command null (absent)",
                "/services/web/ports/0/target 80 81",
                "/services/web/ports/1 (absent) {\"target\":82}",
                "/services/web/x~1y (absent) 1",
            ]
        );
    }

    #[test]
    fn patterns_match_whole_segments_and_globs() {
        assert!(pointer_matches(
            "/services/*/command",
            "/services/web/command"
        ));
        assert!(!pointer_matches(
            "/services/*/command",
            "/services/web/command/0"
        ));
        assert!(!pointer_matches("/services/*/command", "/services/command"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("merge-*", "merge-multiple-files"));
        assert!(glob_matches("*-syntax", "ports-short-syntax"));
        assert!(!glob_matches("merge-*", "extends-same-file"));
    }

    #[test]
    fn null_as_absent_accepts_nothing_else() {
        let null = Value::Null;
        let empty = json!([]);
        let difference = |compose, berth| Difference {
            path: "/services/web/entrypoint".to_owned(),
            compose,
            berth,
        };
        assert!(Accept::NullAsAbsent.accepts(&difference(Some(&null), None)));
        assert!(Accept::NullAsAbsent.accepts(&difference(None, Some(&null))));
        assert!(!Accept::NullAsAbsent.accepts(&difference(Some(&empty), None)));
        assert!(!Accept::NullAsAbsent.accepts(&difference(Some(&null), Some(&empty))));
    }
}
