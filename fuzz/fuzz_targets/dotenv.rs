//! The env file parsers (`.env`, `--env-file`, `env_file:` in both formats)
//! on arbitrary text, with a few variables set.
//!
//! Beyond "no panic": an error points at a line of the input (1-based, at
//! most one past the last line) and a column from 1; `format: raw` keys are
//! never empty and hold no space or tab.
#![no_main]

use std::collections::BTreeMap;

use berth::compose::dotenv::{self, EnvFileError};
use berth::compose::interpolate::Vars;
use libfuzzer_sys::fuzz_target;

fn vars() -> Vars {
    let map: BTreeMap<String, String> = [("HOME", "/root"), ("TAG", "1.0"), ("EMPTY", "")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Vars::new(map)
}

fn check_location(text: &str, e: &EnvFileError) {
    let lines = text.split('\n').count() as u32;
    assert!(
        e.line >= 1 && e.line <= lines + 1,
        "line {} of {lines}",
        e.line
    );
    assert!(e.col >= 1, "column {}", e.col);
    assert!(!e.message.is_empty());
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match dotenv::parse(text, &vars()) {
        Ok(pairs) => {
            for (key, _) in &pairs {
                assert!(!key.is_empty());
            }
        }
        Err(e) => check_location(text, &e),
    }
    match dotenv::parse_raw(text) {
        Ok(pairs) => {
            for (key, _) in &pairs {
                assert!(
                    !key.is_empty() && !key.contains([' ', '\t']),
                    "raw key {key:?}"
                );
            }
        }
        Err(e) => check_location(text, &e),
    }
});
