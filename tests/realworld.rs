//! Real-world corpus: the compose setups of popular open-source applications, as their
//! documentation tells users to run them, through `berth config --format json` and
//! `docker compose config --format json`. Where a real file breaks berth, the parser is wrong,
//! not the file.
//!
//! Every directory under `tests/fixtures/realworld/` is one setup, in the conformance fixture
//! format (`tests/common/config_diff.rs`): the compose file(s) byte for byte as in the
//! application's repository at the commit named in `tests/fixtures/realworld/SOURCES.md`, plus
//! only what a user adds (the documented `.env`, stub secret files, an `args` file with the
//! documented `-f` files and flags). The comparison and its accepted differences
//! ([`INTENTIONAL`](crate::common::config_diff::INTENTIONAL), where a setup is named
//! `realworld/<dir>`) are the conformance suite's.
//!
//! A setup that disagrees fails the test, unless [`PENDING`] names it: those disagree because of
//! a loader defect being fixed on another branch; their differences are printed, not failed,
//! and a note says when one of them starts to agree so that its entry can be removed.

use std::path::Path;

use crate::common::config_diff::{Case, compare_all};

/// The corpus must not shrink below what the issue asks for.
const MIN_SETUPS: usize = 40;

/// Setups that disagree because of a loader defect fixed on another branch. Each entry names
/// the defect; once that branch is merged, its setups must agree and the entry goes.
const PENDING: &[Pending] = &[];

/// A setup whose disagreement is a known loader defect, fixed on `branch`.
struct Pending {
    /// The setup's directory under `tests/fixtures/realworld/`.
    setup: &'static str,
    /// Which defect (the letter of the loader branch's list) and how it shows here.
    area: &'static str,
    branch: &'static str,
}

#[test]
fn real_world_setups_match_docker_compose_config() {
    let compose_version = crate::common::require_docker_compose("the real-world corpus");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/realworld");
    let cases = crate::common::subdirs(&root)
        .into_iter()
        .map(|dir| Case {
            name: format!("realworld/{}", dir.file_name().unwrap().to_string_lossy()),
            dir,
        })
        .collect::<Vec<_>>();
    assert!(
        cases.len() >= MIN_SETUPS,
        "expected at least {MIN_SETUPS} setups in tests/fixtures/realworld/, found {}",
        cases.len()
    );
    let setup = |case: &Case| case.name.trim_start_matches("realworld/").to_owned();
    let sources = std::fs::read_to_string(root.join("SOURCES.md"))
        .expect("tests/fixtures/realworld/SOURCES.md names where every setup comes from");
    for case in &cases {
        assert!(
            sources.contains(&format!("\n| {} |", setup(case))),
            "SOURCES.md has no row for `{}`: name its repository, paths, commit, license and \
             what was added",
            setup(case)
        );
    }
    for entry in PENDING {
        assert!(
            cases.iter().any(|case| setup(case) == entry.setup),
            "PENDING names `{}`, which is not a directory of tests/fixtures/realworld/",
            entry.setup
        );
    }

    let outcomes = compare_all("realworld", &cases);
    let mut failures = Vec::new();
    let mut agree = 0;
    for (case, outcome) in cases.iter().zip(outcomes) {
        let pending = PENDING.iter().find(|entry| entry.setup == setup(case));
        match (outcome, pending) {
            (None, None) => agree += 1,
            (None, Some(entry)) => {
                agree += 1;
                println!(
                    "realworld: note: `{}` now agrees with docker compose; remove its PENDING \
                     entry ({}, branch {})",
                    entry.setup, entry.area, entry.branch
                );
            }
            (Some(section), Some(entry)) => println!(
                "realworld: pending `{}` ({}, fixed on branch {}):\n{section}",
                entry.setup, entry.area, entry.branch
            ),
            (Some(section), None) => failures.push(section),
        }
    }
    println!(
        "realworld: {agree} of {} setups agree with docker compose {compose_version}",
        cases.len()
    );
    crate::common::fail_with_all(
        &failures,
        cases.len(),
        &format!(
            "real-world setups: `berth config --format json` differs from \
             `docker compose config --format json` (docker compose {compose_version})"
        ),
    );
}
