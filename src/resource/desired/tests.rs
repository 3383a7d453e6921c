//! Resolving a small stack: addresses, engine names, dependencies, scale and
//! targets, and hashes that follow the code.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::compose::model::Project;
use crate::compose::{LoadOptions, load};

fn project(dir: &Path, yaml: &str) -> Project {
    std::fs::write(dir.join("compose.yaml"), yaml).unwrap();
    load(LoadOptions {
        working_dir: dir.to_path_buf(),
        project_name: Some("demo".into()),
        ..Default::default()
    })
    .unwrap()
    .project
}

const STACK: &str = "services:\n  web:\n    build: ./web\n    ports: [\"5000:5000\"]\n    depends_on: [redis]\n    networks: [back]\n  redis:\n    image: redis:alpine\n    networks: [back]\n    volumes: [\"data:/data\"]\nnetworks:\n  back: {}\nvolumes:\n  data: {}\n";

fn stack() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("web")).unwrap();
    std::fs::write(d.path().join("web/Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(d.path().join("web/app"), "v1").unwrap();
    d
}

fn addresses(d: &Desired) -> Vec<String> {
    d.resources.keys().map(ToString::to_string).collect()
}

#[test]
fn every_resource_gets_an_address_and_an_engine_name() {
    let d = stack();
    let desired = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
    assert_eq!(
        addresses(&desired),
        [
            "network.back",
            "volume.data",
            "image.redis",
            "image.web",
            "container.redis[1]",
            "container.web[1]"
        ]
    );
    let names: Vec<&str> = desired
        .resources
        .values()
        .map(|r| r.engine_name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "demo_back",
            "demo_data",
            "redis:alpine",
            "demo-web",
            "demo-redis-1",
            "demo-web-1"
        ]
    );
}

#[test]
fn containers_depend_on_their_image_networks_volumes_and_dependencies() {
    let d = stack();
    let desired = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
    let deps = |a: &str| -> Vec<String> {
        desired.resources[&a.parse().unwrap()]
            .depends_on
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        deps("container.web[1]"),
        ["network.back", "image.web", "container.redis[1]"]
    );
    assert_eq!(
        deps("container.redis[1]"),
        ["network.back", "volume.data", "image.redis"]
    );
}

#[test]
fn scale_and_targets() {
    let d = stack();
    let p = project(d.path(), STACK);
    let opts = ResolveOptions {
        scale: BTreeMap::from([("redis".to_string(), 3)]),
        targets: vec!["redis".into()],
        ..Default::default()
    };
    let desired = resolve(&p, &opts).unwrap();
    assert_eq!(
        addresses(&desired),
        [
            "network.back",
            "volume.data",
            "image.redis",
            "container.redis[1]",
            "container.redis[2]",
            "container.redis[3]"
        ]
    );
    let bad = ResolveOptions {
        targets: vec!["nope".into()],
        ..Default::default()
    };
    assert!(
        resolve(&p, &bad)
            .unwrap_err()
            .to_string()
            .contains("--target names unknown service `nope`")
    );
}

#[test]
fn taking_the_services_resolves_the_same() {
    let d = stack();
    let p = project(d.path(), STACK);
    for targets in [vec![], vec!["redis".to_string()]] {
        let opts = ResolveOptions {
            scale: BTreeMap::from([("redis".to_string(), 2)]),
            targets,
            ..Default::default()
        };
        let mut taken = p.clone();
        let desired = resolve_taking_services(&mut taken, &opts).unwrap();
        assert_eq!(desired, resolve(&p, &opts).unwrap());
    }
}

#[test]
fn a_code_change_changes_the_image_and_the_container_that_runs_it() {
    let d = stack();
    let before = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
    std::fs::write(d.path().join("web/app"), "v2").unwrap();
    let after = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
    let hash = |d: &Desired, a: &str| d.resources[&a.parse().unwrap()].spec_hash.clone();
    assert_ne!(hash(&before, "image.web"), hash(&after, "image.web"));
    assert_ne!(
        hash(&before, "container.web[1]"),
        hash(&after, "container.web[1]")
    );
    assert_eq!(
        hash(&before, "container.redis[1]"),
        hash(&after, "container.redis[1]")
    );
}

#[test]
fn specs_are_canonical_and_hashes_stable() {
    let d = stack();
    let a = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
    let b = resolve(&project(d.path(), STACK), &ResolveOptions::default()).unwrap();
    assert_eq!(a, b);
    let web = &a.resources[&"container.web[1]".parse().unwrap()];
    let keys: Vec<&String> = web.spec.value().as_object().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(web.spec.value()["ports"][0]["published"], "5000");
    assert_eq!(web.spec.value()["name"], "demo-web-1");
}

/// A container's spec is written as text straight from its service; the text
/// must be the JSON earlier versions built as a value (the service's JSON
/// less what does not shape the container, then berth's own keys), or every
/// recorded hash would change. Checked on every fixture project.
#[test]
fn container_specs_are_the_json_earlier_versions_hashed() {
    let mut checked = 0;
    for (dir, loaded, desired) in super::fixtures::resolved_fixtures() {
        for r in desired.resources.values() {
            if r.address.kind != crate::resource::Kind::Container {
                continue;
            }
            let s = &loaded.project.services[&r.address.name];
            let Value::Object(mut old) = serde_json::to_value(&**s).unwrap() else {
                panic!("a service serialises as an object");
            };
            for key in [
                "build",
                "profiles",
                "scale",
                "depends_on",
                "container_name",
                "pull_policy",
                "image",
            ] {
                old.remove(key);
            }
            if let Some(Value::Object(deploy)) = old.get_mut("deploy") {
                deploy.remove("replicas");
            }
            let now = r.spec.value();
            for key in ["name", "image", "number", "files", "uses"] {
                if let Some(v) = now.get(key) {
                    old.insert(key.into(), v.clone());
                }
            }
            let old = canonical(Value::Object(old));
            let at = format!("{}: {}", dir.display(), r.address);
            assert_eq!(**now, old, "{at}");
            assert_eq!(r.spec.text(), Some(old.to_string().as_str()), "{at}");
            assert_eq!(r.spec_hash, spec_hash(&old), "{at}");
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} containers checked");
}
