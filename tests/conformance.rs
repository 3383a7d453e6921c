//! Conformance: `berth config --format json` against `docker compose config --format json`.
//!
//! Every directory under `tests/fixtures/compose/` is one fixture, run by both tools with the
//! fixture as working directory and a scrubbed environment:
//!
//! - `compose.yaml`, plus whatever it needs (`.env`, env_files, `compose.override.yaml`, extra
//!   `-f` files, `extends`/`include` targets, config and secret files);
//! - `args` (optional): global CLI arguments placed before `config`, split on whitespace
//!   (no quoting), e.g. `-f compose.yaml -f compose.prod.yaml --profile debug`;
//! - `env` (optional): `KEY=VALUE` lines put into the environment of both tools (blank lines and
//!   `#` comments skipped).
//!
//! `examples/getting-started` is run the same way when it exists.
//!
//! Both outputs are parsed as JSON and compared value by value (`tests/common/config_diff.rs`,
//! shared with the real-world corpus in `realworld.rs`). A difference fails the test unless
//! [`INTENTIONAL`](crate::common::config_diff::INTENTIONAL) accepts it; the failures of all
//! fixtures are reported together, as a list of JSON pointers with compose's and berth's values.

use std::path::Path;

use crate::common::config_diff::{Case, compare_all};

#[test]
fn berth_config_matches_docker_compose_config() {
    let compose_version = crate::common::require_docker_compose("the conformance suite");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cases = crate::common::subdirs(&root.join("tests/fixtures/compose"))
        .into_iter()
        .map(|dir| Case {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir,
        })
        .collect::<Vec<_>>();
    assert!(
        cases.len() >= 40,
        "expected at least 40 fixtures in tests/fixtures/compose/, found {}",
        cases.len()
    );

    let example = root.join("examples/getting-started");
    if example.is_dir() {
        cases.push(Case {
            name: "examples/getting-started".to_owned(),
            dir: example,
        });
    } else {
        println!(
            "conformance: skipping examples/getting-started: the directory does not exist yet"
        );
    }

    let total = cases.len();
    let failures = compare_all("conformance", &cases)
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    crate::common::fail_with_all(
        &failures,
        total,
        &format!(
            "fixtures: `berth config --format json` differs from \
             `docker compose config --format json` (docker compose {compose_version})"
        ),
    );
}
