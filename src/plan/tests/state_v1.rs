//! States written by berth 0.1.0 (format 1), read by this berth and planned
//! against the project they were applied from: the upgrade alone changes
//! nothing that was applied faithfully.

use std::collections::BTreeMap;
use std::path::Path;

use crate::state::State;

fn v1_fixture(name: &str) -> (State, serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/state-v1")
        .join(name)
        .join("state.json");
    let bytes = std::fs::read(&path).unwrap();
    let raw: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    (crate::state::decode(&path, &bytes).unwrap(), raw)
}

/// The fixture's project, under the name it was applied as.
fn project_of(name: &str, project: &str) -> crate::resource::Desired {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/state-v1")
        .join(name);
    let loaded = crate::compose::load(crate::compose::LoadOptions {
        working_dir: dir,
        project_name: Some(project.into()),
        ..Default::default()
    })
    .unwrap();
    crate::resource::resolve(&loaded.project, &Default::default()).unwrap()
}

fn plan(name: &str, state: &State) -> crate::plan::Plan {
    crate::plan::diff(&crate::plan::DiffInput {
        mode: crate::plan::Mode::Converge,
        desired: &project_of(name, &state.project),
        state,
        observed: None,
        remove_orphans: false,
        targets: &[],
    })
}

/// A state written by berth 0.1.0 for a project that uses only what that
/// berth applied: read as format 2, nothing changes, and it plans nothing.
#[test]
fn a_format_1_state_of_a_faithfully_applied_project_plans_no_change() {
    let (state, raw) = v1_fixture("upgrade");
    assert_eq!(state.format_version, crate::state::FORMAT_VERSION);
    for (address, r) in &state.resources {
        let key = address.to_string();
        assert_eq!(r.spec, raw["resources"][&key]["spec"], "{key}");
        assert_eq!(r.spec_hash, raw["resources"][&key]["spec_hash"], "{key}");
        assert!(r.typed(address.kind).is_ok(), "{key} reads as a typed spec");
    }
    let p = plan("upgrade", &state);
    assert!(!p.has_changes(), "{:#?}", p.changes);
}

/// What berth 0.1.0 recorded but did not apply leaves the record, so the
/// plan after the upgrade names it: limits in place, the rest replaced.
#[test]
fn a_format_1_state_forgets_what_berth_0_1_did_not_apply() {
    let (state, raw) = v1_fixture("dropped");
    let app = &state.resources[&"container.app[1]".parse().unwrap()];
    for key in [
        "domainname",
        "cpu_shares",
        "group_add",
        "oom_score_adj",
        "pids_limit",
        "ipc",
    ] {
        assert!(
            raw["resources"]["container.app[1]"]["spec"]
                .get(key)
                .is_some()
        );
        assert!(app.spec.get(key).is_none(), "{key} is no longer recorded");
    }
    assert_eq!(
        app.spec_hash,
        crate::resource::desired::spec_hash(&app.spec)
    );
    let p = plan("dropped", &state);
    let app = p
        .changes
        .iter()
        .find(|c| c.address.to_string() == "container.app[1]")
        .unwrap();
    assert_eq!(app.action, crate::plan::Action::Replace);
    let paths: Vec<String> = app
        .reasons
        .iter()
        .filter_map(|r| match r {
            crate::plan::Reason::Config { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect();
    for key in ["domainname", "ipc", "oom_score_adj"] {
        assert!(
            paths.iter().any(|p| p.starts_with(key)),
            "{key} in {paths:?}"
        );
    }
    let db = p
        .changes
        .iter()
        .find(|c| c.address.to_string() == "container.db[1]")
        .unwrap();
    assert_eq!(db.action, crate::plan::Action::NoOp, "{:#?}", db.reasons);
}

/// A format-1 state as berth 0.1.0 wrote it for `desired`: the same
/// records, with built contexts hashed by berth 0.1.0's rule.
fn as_written_by_v1(desired: &crate::resource::Desired, state_dir: &Path) -> Vec<u8> {
    let mut state = State::new(&desired.project);
    let mut old_hashes = BTreeMap::new();
    for r in desired.resources.values() {
        let mut rec = crate::state::StateResource::recorded(r, format!("id-{}", r.address));
        if let Some(build) = rec.spec.get_mut("build") {
            let context = build["context"].as_str().unwrap().to_string();
            let skip = vec![state_dir.to_path_buf()];
            build["context_hash"] =
                crate::resource::context_v1::context_hash(Path::new(&context), &skip)
                    .unwrap()
                    .into();
            rec.spec_hash = crate::resource::desired::spec_hash(&rec.spec);
            old_hashes.insert(r.address.to_string(), rec.spec_hash.clone());
        }
        if let Some(uses) = rec.spec.get_mut("uses").and_then(|u| u.as_object_mut()) {
            for (a, h) in uses.iter_mut() {
                if let Some(old) = old_hashes.get(a) {
                    *h = old.clone().into();
                }
            }
            rec.spec_hash = crate::resource::desired::spec_hash(&rec.spec);
        }
        state.insert(r.address.clone(), rec);
    }
    let mut bytes = crate::state::encode(&state, 3);
    let text = String::from_utf8(bytes.clone()).unwrap();
    bytes = text
        .replacen(
            &format!("\"format_version\": {}", crate::state::FORMAT_VERSION),
            "\"format_version\": 1",
            1,
        )
        .into_bytes();
    bytes
}

/// Built images: the upgrade alone plans no rebuild (berth 0.1.0 hashed
/// contexts by another `.dockerignore` rule), but a change made since does.
#[test]
fn a_format_1_state_keeps_built_images_whose_context_did_not_change() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("app/sub")).unwrap();
    std::fs::write(root.join("app/Dockerfile"), "FROM scratch\nCOPY . /\n").unwrap();
    std::fs::write(root.join("app/.dockerignore"), "*.log\n").unwrap();
    std::fs::write(root.join("app/main.txt"), "v1").unwrap();
    std::fs::write(root.join("app/sub/a.log"), "kept by Docker's rule").unwrap();
    std::fs::write(
        root.join("compose.yaml"),
        "services:\n  app:\n    build: ./app\n",
    )
    .unwrap();
    let state_dir = root.join("state");
    let resolve = || {
        let loaded = crate::compose::load(crate::compose::LoadOptions {
            working_dir: root.to_path_buf(),
            project_name: Some("built".into()),
            ..Default::default()
        })
        .unwrap();
        let opts = crate::resource::ResolveOptions {
            context_skip: vec![state_dir.clone()],
            ..Default::default()
        };
        crate::resource::resolve(&loaded.project, &opts).unwrap()
    };
    let desired = resolve();
    let now = desired.resources[&"image.app".parse().unwrap()]
        .spec
        .value()["build"]["context_hash"]
        .clone();
    let then = crate::resource::context_v1::context_hash(
        &root.join("app"),
        std::slice::from_ref(&state_dir),
    )
    .unwrap();
    assert_ne!(now, then, "the two rules send different files (sub/a.log)");
    let bytes = as_written_by_v1(&desired, &state_dir);
    let path = state_dir.join("built.json");
    let plan_against = |state: &State| {
        crate::plan::diff(&crate::plan::DiffInput {
            mode: crate::plan::Mode::Converge,
            desired: &resolve(),
            state,
            observed: None,
            remove_orphans: false,
            targets: &[],
        })
    };

    let migrated = crate::state::decode(&path, &bytes).unwrap();
    let p = plan_against(&migrated);
    assert!(!p.has_changes(), "{:#?}", p.changes);

    // edited after the apply, before the upgrade: still a rebuild
    std::fs::write(root.join("app/main.txt"), "v2").unwrap();
    let migrated = crate::state::decode(&path, &bytes).unwrap();
    let p = plan_against(&migrated);
    let actions: Vec<String> = p
        .changes
        .iter()
        .filter(|c| c.action != crate::plan::Action::NoOp)
        .map(|c| format!("{} {}", c.address, c.action.as_str()))
        .collect();
    assert_eq!(actions, ["image.app replace", "container.app[1] replace"]);
}
