//! The on-disk layout of a state file, by `format_version`.
//!
//! Reading looks at `format_version` first (as Terraform's `statefile.Read`
//! does), refuses a newer format, and hands the bytes to the reader of that
//! version, which migrates older formats in memory.
//!
//! - Format 1 (berth 0.1.0): a container's recorded spec listed every
//!   attribute of its service, also those that berth did not apply
//!   (`domainname`, `cpu_shares`, `group_add`, `oom_score_adj`, ...: kept as
//!   written), and `ipc`/`pid: service:x` as written (the engine refused it).
//! - Format 2: every recorded spec is the typed spec of its kind, and it
//!   records only what was applied. Migrating from 1 removes from each
//!   container's record what berth 0.1.0 never applied (and recomputes its
//!   hash), so the next plan says exactly that: those attributes will now be
//!   applied. A record without them is unchanged, and plans no change.
//! - Format 3: format 2 and the engine the state was applied to (`engine`:
//!   its ID, name and address). A format 2 state reads as one with no engine
//!   recorded; the next apply records it. (A new number, so that an older
//!   berth refuses the file as newer instead of tripping on the field.)
//! - Format 4: sensitive values (environment variables and build arguments
//!   named like secrets, secret file hashes) are sealed (`hmac-sha256:...`)
//!   under a key kept out of the state, whose ID is `sealed_with`. Earlier
//!   formats are read as they are; the pipeline seals their values (and
//!   recomputes the hashes that change) before planning, so the upgrade plans
//!   nothing, and the next save writes format 4.
//! - Format 5: format 4 and the `history` of deploys (see `history.rs`),
//!   written after `resources` when there is one. Earlier formats read as
//!   one with no deploys recorded yet; the next apply that changes
//!   containers records the first. (A new number, so that an older berth
//!   refuses the file instead of dropping the history it cannot read.)
//!
//! Writing always produces the current format: pretty JSON, fields in a fixed
//! order, resources sorted by address, a final newline, so that two states
//! differ in `diff` exactly where they differ.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{State, StateError, StateResource};
use crate::resource::Address;

/// The state file format this berth writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 5;

/// What every format has to say about itself, read before anything else.
#[derive(Debug, Deserialize)]
pub(super) struct Head {
    format_version: Option<u64>,
    pub(super) lineage: Option<String>,
    pub(super) serial: Option<u64>,
}

/// Reads the head of a state file and checks that this berth can read its
/// format. Scans the whole text, so invalid JSON anywhere is found here.
pub(super) fn read_head(path: &Path, bytes: &[u8]) -> Result<Head, StateError> {
    // Before JSON: serde_json would call a bad byte outside a string
    // "expected value" and count its column in bytes.
    if let Err(e) = crate::utf8::check(bytes) {
        return Err(StateError::NotUtf8 {
            path: path.to_path_buf(),
            byte: e.byte,
            line: e.line,
            column: e.column,
        });
    }
    // serde reads a struct from a JSON array too; a state is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| json_error(path, &e))?;
        return Err(StateError::Malformed {
            path: path.to_path_buf(),
            detail: "it is not a JSON object".into(),
        });
    }
    let head: Head = serde_json::from_slice(bytes).map_err(|e| json_error(path, &e))?;
    match head.format_version {
        None => Err(StateError::Malformed {
            path: path.to_path_buf(),
            detail: "missing field `format_version`".into(),
        }),
        Some(v) if v > u64::from(FORMAT_VERSION) => Err(StateError::NewerFormat {
            path: path.to_path_buf(),
            found: v,
        }),
        Some(0) => Err(StateError::UnknownFormat {
            path: path.to_path_buf(),
            found: 0,
        }),
        Some(_) => Ok(head),
    }
}

/// Parses a state file of any format this berth reads, migrated to the current one.
pub(crate) fn decode(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
    let head = read_head(path, bytes)?;
    match head.format_version {
        Some(1) => read_v1(path, bytes).map(|s| migrate_v1(s, path.parent())),
        // older formats read as the current one (format 2: no engine
        // recorded; before 5: no history)
        Some(2..=4) => read_v2(path, bytes).map(migrate_v4),
        Some(5) => read_v2(path, bytes).map(|s| State {
            format_version: FORMAT_VERSION,
            ..s
        }),
        // read_head refused everything else.
        other => unreachable!("format {other:?} passed read_head"),
    }
}

/// Format 1 has format 2's layout; its container records are migrated.
fn read_v1(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
    serde_json::from_slice(bytes).map_err(|e| json_error(path, &e))
}

fn read_v2(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
    serde_json::from_slice(bytes).map_err(|e| json_error(path, &e))
}

/// Formats 2 to 4 → 5: no deploys recorded yet. (A history in a file that
/// claims an older format was not written by berth: it is dropped, not
/// trusted.)
fn migrate_v4(state: State) -> State {
    State {
        format_version: FORMAT_VERSION,
        history: Vec::new(),
        ..state
    }
}

/// Service attributes berth 0.1.0 recorded but never applied.
const NOT_APPLIED_BY_V1: &[&str] = &[
    "cgroup",
    "cgroup_parent",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpuset",
    "device_cgroup_rules",
    "dns_opt",
    "domainname",
    "external_links",
    "group_add",
    "isolation",
    "links",
    "mac_address",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "oom_kill_disable",
    "oom_score_adj",
    "pids_limit",
    "runtime",
    "storage_opt",
    "userns_mode",
    "uts",
    "volumes_from",
];

/// Format 1 → 2: each container record keeps only what berth 0.1.0 applied,
/// and a built image whose context has not changed since it was applied
/// records the context's hash by today's rule (berth 0.1.0 hashed contexts
/// with its own `.dockerignore` reading; see [`crate::resource::context_v1`]).
/// `state_dir` is left out of context hashes, as resolve leaves it out.
fn migrate_v1(mut state: State, state_dir: Option<&Path>) -> State {
    use crate::resource::Kind;
    let skip: Vec<std::path::PathBuf> = state_dir
        .map(|d| crate::paths::clean(d).into())
        .into_iter()
        .collect();
    let mut rehashed: BTreeMap<String, String> = BTreeMap::new();
    for (address, r) in state.resources.iter_mut() {
        if address.kind != Kind::Image {
            continue;
        }
        let Some(build) = r.spec.get_mut("build").and_then(|b| b.as_object_mut()) else {
            continue;
        };
        let (Some(context), Some(recorded)) = (
            build.get("context").and_then(|c| c.as_str()).map(Path::new),
            build.get("context_hash").and_then(|c| c.as_str()),
        ) else {
            continue;
        };
        let unchanged = crate::resource::context_v1::context_hash(context, &skip)
            .is_ok_and(|then| then == recorded);
        if !unchanged {
            continue; // changed since (or unreadable): the plan rebuilds it, as it should
        }
        // as resolve keys it: the Dockerfile when it lies in the context
        let dockerfile = match build.get("dockerfile").and_then(|d| d.as_str()) {
            Some(f) => crate::resource::context::dockerfile_in_context(context, Some(f)),
            None => None,
        };
        let Ok(now) = crate::resource::context::context_hash(context, dockerfile.as_deref(), &skip)
        else {
            continue;
        };
        build.insert("context_hash".into(), now.into());
        r.spec_hash = crate::resource::desired::spec_hash(&r.spec);
        rehashed.insert(address.to_string(), r.spec_hash.clone());
    }
    for (address, r) in state.resources.iter_mut() {
        if address.kind != Kind::Container {
            continue;
        }
        let Some(spec) = r.spec.as_object_mut() else {
            continue;
        };
        let mut changed = false;
        if let Some(uses) = spec.get_mut("uses").and_then(|u| u.as_object_mut()) {
            for (used, hash) in uses.iter_mut() {
                if let Some(now) = rehashed.get(used) {
                    *hash = now.clone().into();
                    changed = true;
                }
            }
        }
        for key in NOT_APPLIED_BY_V1 {
            changed |= spec.remove(*key).is_some();
        }
        // passed as written, which the engine refused: the container never ran
        for key in ["ipc", "pid"] {
            if spec
                .get(key)
                .and_then(|v| v.as_str())
                .is_some_and(|m| m.starts_with("service:"))
            {
                spec.remove(key);
                changed = true;
            }
        }
        if changed {
            r.spec_hash = crate::resource::desired::spec_hash(&r.spec);
        }
    }
    migrate_v4(state)
}

/// The current format, borrowing the state being saved with the serial it will
/// have once saved (the in-memory state changes only after a successful save).
/// The history follows, written by [`encode_with`].
#[derive(Serialize)]
struct FileV1<'a> {
    format_version: u32,
    lineage: &'a str,
    serial: u64,
    berth_version: &'a str,
    project: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<&'a crate::observed::EngineIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backend: Option<crate::compose::BackendKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sealed_with: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_failed_rollout: Option<&'a super::FailedRollout>,
    resources: &'a BTreeMap<Address, StateResource>,
}

/// The bytes of `state` as written with serial `serial` by this berth (a
/// save uses [`encode_with`], reusing the encoded history).
#[cfg(test)]
pub(crate) fn encode(state: &State, serial: u64) -> Vec<u8> {
    encode_with(state, serial, &encode_history(&state.history))
}

/// The `history` field's value as [`encode`] writes it (pretty JSON,
/// indented as a field of the file's object). A save reuses it while the
/// history does not change: an apply saves after every step, and the
/// history is most of the file.
pub(crate) fn encode_history(history: &[super::Deploy]) -> Vec<u8> {
    if history.is_empty() {
        return Vec::new();
    }
    let bytes = serde_json::to_vec_pretty(history).expect("a history always serializes to JSON");
    // a newline in JSON text is always between tokens (strings escape theirs)
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    for b in bytes {
        out.push(b);
        if b == b'\n' {
            out.extend_from_slice(b"  ");
        }
    }
    out
}

/// [`encode`], with the history already encoded by [`encode_history`].
pub(crate) fn encode_with(state: &State, serial: u64, history: &[u8]) -> Vec<u8> {
    let file = FileV1 {
        format_version: FORMAT_VERSION,
        lineage: &state.lineage,
        serial,
        berth_version: env!("CARGO_PKG_VERSION"),
        project: &state.project,
        engine: state.engine.as_ref(),
        // the plain engine is what a state without the field means
        backend: (state.backend != crate::compose::BackendKind::Docker).then_some(state.backend),
        sealed_with: state.sealed_with.as_ref(),
        last_failed_rollout: state.last_failed_rollout.as_ref(),
        resources: &state.resources,
    };
    let mut bytes = serde_json::to_vec_pretty(&file).expect("a state always serializes to JSON");
    if !history.is_empty() {
        // `...\n}` becomes `...,\n  "history": [...]\n}`
        debug_assert!(bytes.ends_with(b"\n}"));
        bytes.truncate(bytes.len() - 2);
        bytes.extend_from_slice(b",\n  \"history\": ");
        bytes.extend_from_slice(history);
        bytes.extend_from_slice(b"\n}");
    }
    bytes.push(b'\n');
    bytes
}

fn json_error(path: &Path, e: &serde_json::Error) -> StateError {
    // serde_json appends " at line L column C"; we say it our way.
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    match e.classify() {
        serde_json::error::Category::Data => StateError::Malformed {
            path: path.to_path_buf(),
            detail: format!("line {}, column {}: {message}", e.line(), e.column()),
        },
        _ => StateError::NotJson {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn demo() -> State {
        let mut state = State::new("demo");
        state.lineage = "0b7cbbc5-5d1a-4b8e-9a43-7e2f1c7f4a10".into();
        state.serial = 6;
        for (address, id, name) in [
            ("container.web[1]", "4f1c9e", "web"),
            ("network.front", "9a8b7c", "service-network"),
            ("container.web[10]", "77aa01", "demo-web-10"),
            ("container.web[2]", "5d2e0f", "demo-web-2"),
        ] {
            state.resources.insert(
                address.parse().unwrap(),
                StateResource {
                    id: id.into(),
                    name: name.into(),
                    spec_hash: "e3b0".into(),
                    spec: json!({"b": 1, "a": [true]}),
                },
            );
        }
        state
    }

    #[test]
    fn the_file_layout_is_fixed_order_pretty_json_with_sorted_addresses() {
        let text = String::from_utf8(encode(&demo(), 7)).unwrap();
        let expected = r#"{
  "format_version": 5,
  "lineage": "0b7cbbc5-5d1a-4b8e-9a43-7e2f1c7f4a10",
  "serial": 7,
  "berth_version": "VERSION",
  "project": "demo",
  "resources": {
    "network.front": {
      "id": "9a8b7c",
      "name": "service-network",
      "spec_hash": "e3b0",
      "spec": {
        "a": [
          true
        ],
        "b": 1
      }
    },
    "container.web[1]": {
      "id": "4f1c9e",
      "name": "web",
      "spec_hash": "e3b0",
      "spec": {
        "a": [
          true
        ],
        "b": 1
      }
    },
    "container.web[2]": {
      "id": "5d2e0f",
      "name": "demo-web-2",
      "spec_hash": "e3b0",
      "spec": {
        "a": [
          true
        ],
        "b": 1
      }
    },
    "container.web[10]": {
      "id": "77aa01",
      "name": "demo-web-10",
      "spec_hash": "e3b0",
      "spec": {
        "a": [
          true
        ],
        "b": 1
      }
    }
  }
}
"#
        .replace("VERSION", env!("CARGO_PKG_VERSION"));
        assert_eq!(text, expected);
    }

    #[test]
    fn the_state_types_serialize_as_the_file_does() {
        let mut state = demo();
        state.serial = 7;
        let derived: serde_json::Value = serde_json::to_value(&state).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&encode(&demo(), 7)).unwrap();
        assert_eq!(derived, written);
    }

    #[test]
    fn decoding_what_was_encoded_gives_the_state_back() {
        let state = demo();
        let back = decode(Path::new("s.json"), &encode(&state, state.serial)).unwrap();
        assert_eq!(back, state);
    }

    #[test]
    fn a_format_2_state_is_format_3_in_memory() {
        // found by fuzzing (fuzz/fuzz_targets/state.rs): it kept format_version 2
        let text = String::from_utf8(encode(&demo(), 6)).unwrap();
        let v2 = text.replacen(
            &format!("\"format_version\": {FORMAT_VERSION}"),
            "\"format_version\": 2",
            1,
        );
        assert_ne!(v2, text);
        let state = decode(Path::new("s.json"), v2.as_bytes()).unwrap();
        assert_eq!(state.format_version, FORMAT_VERSION);
        assert_eq!(state, demo());
    }

    fn with_history() -> State {
        let mut state = demo();
        let images = BTreeMap::from([
            (Address::container("web", 1), "sha256:aa".to_string()),
            (Address::container("web", 2), "sha256:aa".to_string()),
        ]);
        state.record_deploy("2026-12-01T17:00:00Z".into(), &images, 5);
        state
    }

    #[test]
    fn the_history_is_written_after_the_resources_and_read_back() {
        let state = with_history();
        let text = String::from_utf8(encode(&state, 7)).unwrap();
        let history = text.find("\"history\": [").expect("written");
        assert!(history > text.find("\"resources\"").unwrap());
        assert!(text.contains(
            "\"serial\": 7,\n      \"time\": \"2026-12-01T17:00:00Z\",\n      \"containers\": {\n        \"container.web[1]\": {\n          \"spec_hash\": \"e3b0\",\n          \"image_id\": \"sha256:aa\","
        ), "{text}");
        let back = decode(Path::new("s.json"), &encode(&state, state.serial)).unwrap();
        assert_eq!(back, state);
        assert_eq!(back.history[0].containers.len(), 2);
    }

    #[test]
    fn the_history_is_written_as_serde_writes_the_state() {
        let mut state = with_history();
        state.record_deploy("2026-12-01T18:00:00Z".into(), &BTreeMap::new(), 5);
        state.serial = 9;
        let mut want = serde_json::to_vec_pretty(&state).unwrap();
        want.push(b'\n');
        assert_eq!(
            String::from_utf8(encode(&state, 9)).unwrap(),
            String::from_utf8(want).unwrap()
        );
        let cached = encode_history(&state.history);
        assert_eq!(encode_with(&state, 9, &cached), encode(&state, 9));
    }

    #[test]
    fn an_older_format_reads_as_format_5_with_no_deploys() {
        let text = String::from_utf8(encode(&demo(), 6)).unwrap();
        for old in 1..FORMAT_VERSION {
            let older = text.replacen(
                &format!("\"format_version\": {FORMAT_VERSION}"),
                &format!("\"format_version\": {old}"),
                1,
            );
            let state = decode(Path::new("s.json"), older.as_bytes()).unwrap();
            assert_eq!(state.format_version, FORMAT_VERSION, "format {old}");
            assert!(state.history.is_empty(), "format {old}");
        }
        // a history in a file of an older format was not written by berth
        let text = String::from_utf8(encode(&with_history(), 6)).unwrap();
        let v4 = text.replacen(
            &format!("\"format_version\": {FORMAT_VERSION}"),
            "\"format_version\": 4",
            1,
        );
        let state = decode(Path::new("s.json"), v4.as_bytes()).unwrap();
        assert!(state.history.is_empty());
        assert_eq!(state.resources, demo().resources);
    }

    fn error(text: &str) -> String {
        decode(Path::new("state/demo.json"), text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn invalid_json_is_located() {
        assert_eq!(
            error("{\n  \"format_version\": 1,\n  \"lineage\": ,\n}"),
            "state file `state/demo.json` is not valid JSON (line 3, column 14: expected value); it was not changed: fix it, or restore `state/demo.json.backup` with `berth state restore`"
        );
        assert_eq!(
            error(""),
            "state file `state/demo.json` is not valid JSON (line 1, column 0: EOF while parsing a value); it was not changed: fix it, or restore `state/demo.json.backup` with `berth state restore`"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_located_by_line_and_column() {
        let bytes = b"{\n  \"format_version\": 3,\n  \"l\xc3\xa9\xff\xfe\": 1\n}\n";
        assert_eq!(
            decode(Path::new("state/demo.json"), bytes)
                .unwrap_err()
                .to_string(),
            "state file `state/demo.json` is not valid UTF-8: byte 0xff at line 3, column 6 (state/demo.json:3:6); it was not changed: save it as UTF-8, or restore `state/demo.json.backup` with `berth state restore`"
        );
    }

    #[test]
    fn json_that_is_not_a_state_is_refused_with_the_reason() {
        assert_eq!(
            error("{\"project\": \"demo\"}"),
            "state file `state/demo.json` is not a berth state file (missing field `format_version`); it was not changed: fix it, or restore `state/demo.json.backup` with `berth state restore`"
        );
        assert_eq!(
            error(" [1, \"0b7c\", 3]"),
            "state file `state/demo.json` is not a berth state file (it is not a JSON object); it was not changed: fix it, or restore `state/demo.json.backup` with `berth state restore`"
        );
        assert_eq!(
            error("{\"format_version\": \"1\"}"),
            "state file `state/demo.json` is not a berth state file (line 1, column 22: invalid type: string \"1\", expected u64); it was not changed: fix it, or restore `state/demo.json.backup` with `berth state restore`"
        );
        let text = String::from_utf8(encode(&demo(), 1)).unwrap();
        assert!(
            error(&text.replace("\"network.front\"", "\"net.front\""))
                .contains("`net.front` is not a resource address"),
        );
        assert!(
            error(&text.replacen("\"serial\"", "\"colour\": 1, \"serial\"", 1))
                .contains("unknown field `colour`"),
        );
        // a key serde quotes is kept on the message's one line
        assert!(
            error(&text.replacen("\"serial\"", "\"col\\nour\": 1, \"serial\"", 1))
                .contains("unknown field `col\\nour`"),
        );
    }

    #[test]
    fn formats_are_checked_before_anything_else() {
        assert_eq!(
            error("{\"format_version\": 6, \"whatever\": \"a future berth writes\"}"),
            format!(
                "state file `state/demo.json` was written by a newer berth (format 6; this berth reads up to {FORMAT_VERSION}); upgrade berth"
            )
        );
        assert_eq!(
            error("{\"format_version\": 0}"),
            "state file `state/demo.json` has format_version 0, which no berth writes; it was not changed: fix it, or restore `state/demo.json.backup` with `berth state restore`"
        );
    }
}
