//! Bad input: every directory under `tests/fixtures/invalid/` is one malformed project that
//! berth must reject with a message a person can act on.
//!
//! A case directory holds what the project needs (`compose.yaml`, a second `-f` file, a `.env`,
//! an `extends` or `include` target, ...) plus:
//!
//! - `args` (optional): global CLI arguments placed before the command, split on whitespace
//!   (no quoting), e.g. `-f compose.yaml -f compose.prod.yaml`;
//! - `env` (optional): `KEY=VALUE` lines put into the otherwise cleared environment (blank
//!   lines and `#` comments skipped);
//! - `expected`: one assertion per line about what `berth <args> validate` prints on stderr
//!   (blank lines and `#` comments skipped):
//!   - `error: TEXT` and `hint: TEXT`: the whole line, prefix included, appears in stderr;
//!   - `at: FILE:LINE:COL`: stderr has the line `--> FILE:LINE:COL`; a relative FILE is relative
//!     to the case directory and may be printed as written or as an absolute path;
//!   - `count: N`: the summary is exactly `error: N error(s) found`;
//!   - `compose: rejects` or `compose: accepts`: what `docker compose <args> config` does with
//!     the same input, checked on every run so that the record stays true.
//!
//!   `{dir}` in an assertion stands for the case directory's absolute path.
//!
//! Every case must also: exit with code 1, never panic, print nothing on stdout, give every
//! error a hint, and fail the same way under `config --format json`. The failures of all cases
//! are reported together, each with berth's full stderr.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The corpus must not shrink below what the issue asks for.
const MIN_CASES: usize = 60;

/// Variables passed through to `docker compose` (it finds its CLI plugin through them); berth
/// gets only `PATH`, `HOME` and `NO_COLOR=1`, plus the case's `env`.
const COMPOSE_PASSED_THROUGH_ENV: &[&str] = &["PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"];

/// Placeholder for the case directory in `expected` assertions.
const DIR_PLACEHOLDER: &str = "{dir}";

#[test]
fn invalid_inputs_are_rejected_with_located_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let cases = crate::common::subdirs(&root);
    assert!(
        cases.len() >= MIN_CASES,
        "expected at least {MIN_CASES} cases in tests/fixtures/invalid/, found {}",
        cases.len()
    );
    let compose = crate::common::require_docker_compose("the bad-input suite");

    let failures = cases
        .iter()
        .filter_map(|dir| Case::new(dir).and_then(|case| case.check()).err())
        .collect::<Vec<_>>();
    crate::common::fail_with_all(
        &failures,
        cases.len(),
        &format!("bad-input cases failed (docker compose {compose})"),
    );
}

/// What `docker compose config` does with a case.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Compose {
    Rejects,
    Accepts,
}

/// The parsed `expected` file.
struct Expected {
    /// `error:` and `hint:` lines, prefix included, `{dir}` expanded.
    texts: Vec<String>,
    /// `at:` locations, `{dir}` expanded.
    locations: Vec<String>,
    count: Option<usize>,
    compose: Compose,
}

impl Expected {
    fn parse(text: &str, dir: &str) -> Result<Self, String> {
        let mut texts = Vec::new();
        let mut locations = Vec::new();
        let mut count = None;
        let mut compose = None;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let problem = |what: &str| format!("`expected` line {}: {what}: `{line}`", number + 1);
            let (kind, value) = line
                .split_once(": ")
                .ok_or_else(|| problem("not `KIND: VALUE`"))?;
            let value = value.replace(DIR_PLACEHOLDER, dir);
            match kind {
                "error" | "hint" => texts.push(format!("{kind}: {value}")),
                "at" => locations.push(value),
                "count" => {
                    let n = value.parse().map_err(|_| problem("not a number"))?;
                    if count.replace(n).is_some() {
                        return Err(problem("a second `count`"));
                    }
                }
                "compose" => {
                    let verdict = match value.as_str() {
                        "rejects" => Compose::Rejects,
                        "accepts" => Compose::Accepts,
                        _ => return Err(problem("write `compose: rejects` or `compose: accepts`")),
                    };
                    if compose.replace(verdict).is_some() {
                        return Err(problem("a second `compose`"));
                    }
                }
                _ => return Err(problem("unknown kind (error, hint, at, count, compose)")),
            }
        }
        if !texts.iter().any(|t| t.starts_with("error: ")) {
            return Err("`expected` has no `error:` line".to_owned());
        }
        let compose = compose.ok_or("`expected` has no `compose: rejects|accepts` line")?;
        Ok(Expected {
            texts,
            locations,
            count,
            compose,
        })
    }
}

/// One directory of the corpus, with its inputs read.
struct Case {
    name: String,
    dir: PathBuf,
    /// `dir` as berth sees it (`std::env::current_dir` resolves symlinks).
    dir_text: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    expected: Expected,
}

impl Case {
    /// Reads the case; `Err` is its section of the report when the fixture itself is broken.
    fn new(dir: &Path) -> Result<Case, String> {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let broken = |problem: String| format!("── {name}\n   the fixture is broken: {problem}\n");
        let dir_text = fs::canonicalize(dir)
            .map_err(|error| broken(format!("cannot resolve the directory: {error}")))?
            .to_string_lossy()
            .into_owned();
        let args = match fs::read_to_string(dir.join("args")) {
            Ok(text) => text.split_whitespace().map(str::to_owned).collect(),
            Err(_) => Vec::new(),
        };
        let env = match fs::read_to_string(dir.join("env")) {
            Ok(text) => text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(|line| {
                    line.split_once('=')
                        .map(|(key, value)| (key.to_owned(), value.to_owned()))
                        .ok_or_else(|| broken(format!("`env`: `{line}` is not KEY=VALUE")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            Err(_) => Vec::new(),
        };
        let expected = fs::read_to_string(dir.join("expected"))
            .map_err(|error| broken(format!("cannot read `expected`: {error}")))
            .and_then(|text| Expected::parse(&text, &dir_text).map_err(broken))?;
        Ok(Case {
            name,
            dir: dir.to_path_buf(),
            dir_text,
            args,
            env,
            expected,
        })
    }

    /// Runs berth (and docker compose); `Err` holds this case's section of the report.
    fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();

        let validate = self.berth(&["validate"]);
        let stderr = String::from_utf8_lossy(&validate.stderr);
        problems.extend(self.check_failure("validate", &validate));
        problems.extend(self.check_stderr(&stderr));

        let config = self.berth(&["config", "--format", "json"]);
        problems.extend(self.check_failure("config --format json", &config));

        problems.extend(self.check_compose());

        if problems.is_empty() {
            return Ok(());
        }
        let mut section = format!("── {} (`{}`)\n", self.name, self.invocation("validate"));
        for problem in &problems {
            let _ = writeln!(section, "   - {problem}");
        }
        let _ = writeln!(section, "   stderr of `validate`:");
        for line in stderr.lines() {
            let _ = writeln!(section, "     | {line}");
        }
        Err(section)
    }

    /// `berth <args> <command>` in the case directory, with a cleared environment.
    fn berth(&self, command: &[&str]) -> Output {
        let mut berth = Command::new(env!("CARGO_BIN_EXE_berth"));
        berth
            .current_dir(&self.dir)
            .env_clear()
            .env("NO_COLOR", "1");
        for key in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(key) {
                berth.env(key, value);
            }
        }
        berth
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .args(&self.args)
            .args(command)
            .output()
            .unwrap_or_else(|error| panic!("cannot run berth: {error}"))
    }

    /// Exit code 1, no panic, nothing on stdout.
    fn check_failure(&self, command: &str, output: &Output) -> Vec<String> {
        let mut problems = Vec::new();
        if output.status.code() != Some(1) {
            problems.push(format!(
                "`{command}` exited with {} instead of code 1",
                output.status
            ));
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("panicked") {
            problems.push(format!("`{command}` panicked"));
        }
        if !output.stdout.is_empty() {
            problems.push(format!(
                "`{command}` printed on stdout: {:?}",
                String::from_utf8_lossy(&output.stdout)
            ));
        }
        problems
    }

    /// The `expected` assertions, and a hint for every error.
    fn check_stderr(&self, stderr: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for text in &self.expected.texts {
            if !stderr.contains(text.as_str()) {
                problems.push(format!("missing `{text}`"));
            }
        }
        for location in &self.expected.locations {
            let mut accepted = vec![location.clone()];
            if !Path::new(location).is_absolute() {
                accepted.push(format!("{}/{location}", self.dir_text));
            }
            let found = stderr.lines().any(|line| {
                line.trim()
                    .strip_prefix("--> ")
                    .is_some_and(|at| accepted.iter().any(|want| want == at))
            });
            if !found {
                problems.push(format!("missing `--> {location}`"));
            }
        }
        let summaries = stderr
            .lines()
            .filter(|line| is_summary(line))
            .collect::<Vec<_>>();
        match (self.expected.count, summaries.as_slice()) {
            (_, []) => problems.push("no `error: N errors found` summary".to_owned()),
            (Some(n), [summary]) => {
                let want = format!("error: {n} error{} found", if n == 1 { "" } else { "s" });
                if *summary != want {
                    problems.push(format!("expected `{want}`, found `{summary}`"));
                }
            }
            (_, [_]) => {}
            (_, _) => problems.push(format!("{} summary lines", summaries.len())),
        }
        let errors = stderr
            .lines()
            .filter(|line| line.starts_with("error: ") && !is_summary(line))
            .count();
        let hints = stderr
            .lines()
            .filter(|line| line.trim_start().starts_with("= hint: "))
            .count();
        if hints < errors {
            problems.push(format!(
                "{} of {errors} errors have no `= hint:`",
                errors - hints
            ));
        }
        problems
    }

    /// `docker compose <args> config` agrees with the case's `compose:` record.
    fn check_compose(&self) -> Option<String> {
        let mut compose = Command::new("docker");
        compose.current_dir(&self.dir).env_clear();
        for key in COMPOSE_PASSED_THROUGH_ENV {
            if let Some(value) = std::env::var_os(key) {
                compose.env(key, value);
            }
        }
        let output = compose
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .arg("compose")
            .args(&self.args)
            .arg("config")
            .output()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run docker compose ({error}); run `{}`",
                    crate::common::INSTALL_COMPOSE
                )
            });
        let actual = if output.status.success() {
            Compose::Accepts
        } else {
            Compose::Rejects
        };
        (actual != self.expected.compose).then(|| {
            let said = String::from_utf8_lossy(&output.stderr);
            let command = ["docker", "compose"]
                .into_iter()
                .chain(self.args.iter().map(String::as_str))
                .chain(["config"])
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "`expected` says `compose: {}` but `{command}` {} ({}){}",
                verdict(self.expected.compose),
                verdict(actual),
                output.status,
                if said.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", said.trim())
                }
            )
        })
    }

    /// The command line, for the report.
    fn invocation(&self, command: &str) -> String {
        let env = self
            .env
            .iter()
            .map(|(key, value)| format!("{key}={value} "))
            .collect::<String>();
        let args = self
            .args
            .iter()
            .map(|arg| format!("{arg} "))
            .collect::<String>();
        format!("{env}berth {args}{command}")
    }
}

/// Whether `line` is the closing `error: N error(s) found`.
fn is_summary(line: &str) -> bool {
    line.strip_prefix("error: ")
        .and_then(|rest| rest.split_once(' '))
        .is_some_and(|(n, rest)| {
            n.parse::<usize>().is_ok() && (rest == "error found" || rest == "errors found")
        })
}

fn verdict(compose: Compose) -> &'static str {
    match compose {
        Compose::Rejects => "rejects",
        Compose::Accepts => "accepts",
    }
}
