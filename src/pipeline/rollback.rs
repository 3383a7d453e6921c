//! What `berth rollback` asks for: a recorded deploy's containers in place
//! of the files' ones, each created from the image ID it ran (pinned: the
//! tag may point elsewhere now); networks, volumes and images as the state
//! records them, so that a rollback changes containers only.
//!
//! The history keeps sensitive values sealed (keyed hashes), never the
//! values; nor does it keep the content of config files. A value is taken
//! from the files when its seal (or content hash) is what the deploy ran;
//! when it is not, the rollback is refused, naming the value, not showing it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::compose::model::Project;
use crate::resource::sensitive::SEALED_PREFIX;
use crate::resource::{Address, Desired, Kind, Resource};
use crate::state::{Deploy, State};

/// Puts `deploy`'s containers, their images pinned by ID, in `desired` in
/// place of the files' containers, and every other resource as `state`
/// records it. Every problem, one line each.
pub fn rollback_desired(
    desired: &mut Desired,
    state: &State,
    project: &Project,
    deploy: &Deploy,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let files = std::mem::take(&mut desired.resources);
    let mut out: BTreeMap<Address, Resource> = BTreeMap::new();
    for (address, r) in &state.resources {
        if address.kind == Kind::Container {
            continue;
        }
        let typed = match r.typed(address.kind) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("`{address}` in the state: {e}"));
                continue;
            }
        };
        let mut kept = Resource::with_typed(
            address.clone(),
            r.name.clone(),
            r.spec.clone(),
            typed,
            r.spec_hash.clone(),
        );
        if let Some(f) = files.get(address) {
            kept.external = f.external;
            kept.depends_on = f.depends_on.clone();
        }
        out.insert(address.clone(), kept);
    }
    let latest = state.history.last();
    let serial = deploy.serial;
    for (address, ran) in &deploy.containers {
        let service = address.service().unwrap_or(&address.name);
        if !project.services.contains_key(service) {
            problems.push(format!(
                "`{address}` of deploy {serial}: service `{service}` is no longer in the compose files; rollback restores containers of the services the files define (add it back, or `berth apply` without it)"
            ));
            continue;
        }
        // the files' container at this address, else one of its service
        // (its sensitive values and files are the service's)
        let now = files.get(address).or_else(|| {
            files
                .values()
                .find(|r| r.address.kind == Kind::Container && r.address.service() == Some(service))
        });
        let mut spec = ran.spec.clone();
        restore(&mut spec, now, address, serial, &mut problems);
        if let Some(Value::Object(uses)) = spec.get("uses") {
            for used in uses.keys() {
                let Ok(a) = used.parse::<Address>() else {
                    continue;
                };
                if matches!(a.kind, Kind::Network | Kind::Volume) && !out.contains_key(&a) {
                    problems.push(format!(
                        "`{address}` of deploy {serial} uses `{a}`, which the state no longer records: `berth apply` a configuration with it first"
                    ));
                }
            }
        }
        // as it runs now (the latest deploy ran it, and the state records
        // it so): left alone, not replaced by the same container pinned
        let unchanged = state
            .get(address)
            .is_some_and(|r| r.spec_hash == ran.spec_hash)
            && latest
                .and_then(|l| l.containers.get(address))
                .is_some_and(|l| l.spec_hash == ran.spec_hash && l.image_id == ran.image_id);
        if !unchanged && let Some(object) = spec.as_object_mut() {
            object.insert("image".into(), Value::String(ran.image_id.clone()));
        }
        let name = spec
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut depends_on: Vec<Address> = spec
            .get("uses")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.keys())
            .filter_map(|k| k.parse::<Address>().ok())
            // networks and volumes: the image is pinned (or, left alone, in
            // use), so a rebuilt or retagged image replaces nothing here
            .filter(|a| a.kind != Kind::Image && out.contains_key(a))
            .collect();
        let deployed = |a: &Address| deploy.containers.contains_key(a);
        if let Some(now) = now {
            depends_on.extend(
                now.depends_on
                    .iter()
                    .filter(|a| a.kind == Kind::Container && deployed(a))
                    .cloned(),
            );
        }
        depends_on.sort();
        depends_on.dedup();
        let mut r = Resource::from_spec(
            address.clone(),
            name,
            spec,
            depends_on,
            desired.seal.as_deref(),
        );
        if let Some(now) = now.filter(|n| n.address == *address) {
            r.restart_with = now
                .restart_with
                .iter()
                .filter(|a| deployed(a))
                .cloned()
                .collect();
            r.shares_with = now
                .shares_with
                .iter()
                .filter(|a| deployed(a))
                .cloned()
                .collect();
        }
        out.insert(address.clone(), r);
    }
    if !problems.is_empty() {
        desired.resources = files;
        return Err(problems);
    }
    desired.resources = out;
    Ok(())
}

/// Puts back into `spec` (a recorded spec) the values the record keeps
/// only as hashes, from `now` (the files' container of the same service),
/// where they are what the deploy ran; a problem for each that is not.
fn restore(
    spec: &mut Value,
    now: Option<&Resource>,
    address: &Address,
    serial: u64,
    problems: &mut Vec<String>,
) {
    let mut sealed = Vec::new();
    sealed_paths(spec, &mut Vec::new(), &mut sealed);
    for path in sealed {
        let pointer = pointer(&path);
        let shown = path.join(".");
        let value = now
            .filter(|n| n.recorded().pointer(&pointer) == spec.pointer(&pointer))
            .and_then(|n| n.spec.value().pointer(&pointer).cloned());
        match (value, spec.pointer_mut(&pointer)) {
            (Some(v), Some(slot)) => *slot = v,
            _ => problems.push(format!(
                "`{address}`: `{shown}` (sensitive) is not what deploy {serial} ran, and the state keeps no sensitive values, only their keyed hashes: set it back to the value deploy {serial} ran and roll back again, or change it forward with `berth apply`"
            )),
        }
    }
    // config files are recorded by content hash: their content is the files'
    let configs: Vec<(String, Value)> = spec
        .get("files")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("config."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, hash) in configs {
        let same = now
            .and_then(|n| n.spec.value().get("files"))
            .and_then(|f| f.get(&key))
            .is_some_and(|h| *h == hash);
        if !same {
            problems.push(format!(
                "`{address}`: the content of `{key}` is not what deploy {serial} ran (the state records its hash, not its content): put the file back as it was and roll back again, or change it forward with `berth apply`"
            ));
        }
    }
}

/// The paths (object keys, array indexes) of every sealed string in `v`.
fn sealed_paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::String(s) if s.starts_with(SEALED_PREFIX) => out.push(at.clone()),
        Value::Object(m) => {
            for (k, v) in m {
                at.push(k.clone());
                sealed_paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                at.push(i.to_string());
                sealed_paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// A JSON pointer (RFC 6901) of `path`.
fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::resource::sensitive::SealKey;
    use crate::resource::{ResolveOptions, resolve};
    use crate::state::StateResource;

    const ID_V1: &str = "sha256:1111";
    const ID_V2: &str = "sha256:2222";

    fn key() -> Arc<SealKey> {
        Arc::new(SealKey::from_passphrase("team"))
    }

    fn resolved(yaml: &str) -> (Project, Desired) {
        let project = crate::compose::project_from_yaml(yaml, "demo");
        let options = ResolveOptions {
            seal: Some(key()),
            ..Default::default()
        };
        let desired = resolve(&project, &options).unwrap();
        (project, desired)
    }

    /// The state after applying `desired` with every container running `image`.
    fn applied(state: &mut State, desired: &Desired, image: &str) {
        state.resources.clear();
        let mut images = BTreeMap::new();
        for r in desired.resources.values() {
            state.insert(r.address.clone(), StateResource::recorded(r, "id"));
            if r.address.kind == Kind::Container {
                images.insert(r.address.clone(), image.to_string());
            }
        }
        state.record_deploy("t".into(), &images, 5);
        state.serial += 1;
    }

    const V1: &str = "services:\n  web:\n    image: web:latest\n    environment:\n      DB_PASSWORD: hunter2\n      MODE: one\n  db:\n    image: db:latest\n";

    #[test]
    fn the_deploys_containers_come_back_with_their_images_pinned() {
        let (project, v1) = resolved(V1);
        let (_, v2) = resolved(&V1.replace("MODE: one", "MODE: two"));
        let mut state = State::new("demo");
        applied(&mut state, &v1, ID_V1);
        applied(&mut state, &v2, ID_V2);
        let mut desired = v2.clone();
        let target = state.rollback_target(None).unwrap().clone();
        rollback_desired(&mut desired, &state, &project, &target).unwrap();
        let web = &desired.resources[&Address::container("web", 1)];
        let spec = web.typed().container().unwrap();
        assert_eq!(spec.image, ID_V1, "pinned by ID");
        assert_eq!(
            spec.service.environment["MODE"].as_deref(),
            Some("one"),
            "deploy 1's value"
        );
        assert_eq!(
            spec.service.environment["DB_PASSWORD"].as_deref(),
            Some("hunter2"),
            "the sealed value, from the files: its seal is deploy 1's"
        );
        assert_eq!(
            web.recorded()["environment"]["DB_PASSWORD"],
            v1.resources[&Address::container("web", 1)].recorded()["environment"]["DB_PASSWORD"]
        );
        assert_eq!(web.depends_on, [Address::network("default")]);
        // everything else as the state records it
        let net = &desired.resources[&Address::network("default")];
        assert_eq!(net.spec_hash, state.get(&net.address).unwrap().spec_hash);
    }

    #[test]
    fn a_container_that_runs_as_the_deploy_ran_it_is_not_pinned() {
        let (project, v1) = resolved(V1);
        let (_, v2) = resolved(&V1.replace("MODE: one", "MODE: two"));
        let mut state = State::new("demo");
        applied(&mut state, &v1, ID_V1);
        applied(&mut state, &v2, ID_V1);
        let mut desired = v2.clone();
        let target = state.rollback_target(None).unwrap().clone();
        rollback_desired(&mut desired, &state, &project, &target).unwrap();
        let db = Address::container("db", 1);
        assert_eq!(
            desired.resources[&db].spec_hash,
            state.get(&db).unwrap().spec_hash
        );
        let web = &desired.resources[&Address::container("web", 1)];
        assert_eq!(web.typed().container().unwrap().image, ID_V1);
    }

    #[test]
    fn a_changed_sensitive_value_is_refused_by_name_never_shown() {
        let (_, v1) = resolved(V1);
        let changed = V1.replace("hunter2", "s3cret!");
        let (project, v2) = resolved(&changed);
        let mut state = State::new("demo");
        applied(&mut state, &v1, ID_V1);
        applied(&mut state, &v2, ID_V2);
        let mut desired = v2.clone();
        let target = state.rollback_target(None).unwrap().clone();
        let problems = rollback_desired(&mut desired, &state, &project, &target).unwrap_err();
        assert_eq!(
            problems,
            [
                "`container.web[1]`: `environment.DB_PASSWORD` (sensitive) is not what deploy 1 ran, and the state keeps no sensitive values, only their keyed hashes: set it back to the value deploy 1 ran and roll back again, or change it forward with `berth apply`"
            ]
        );
        assert!(!problems[0].contains("hunter2") && !problems[0].contains("s3cret"));
        assert_eq!(desired, v2, "nothing changed");
    }

    #[test]
    fn a_service_gone_from_the_files_is_refused() {
        let (_, v1) = resolved(V1);
        let (project, v2) = resolved(
            "services:\n  web:\n    image: web:latest\n    environment:\n      DB_PASSWORD: hunter2\n      MODE: one\n",
        );
        let mut state = State::new("demo");
        applied(&mut state, &v1, ID_V1);
        applied(&mut state, &v2, ID_V2);
        let mut desired = v2.clone();
        let target = state.rollback_target(None).unwrap().clone();
        let problems = rollback_desired(&mut desired, &state, &project, &target).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with(
                "`container.db[1]` of deploy 1: service `db` is no longer in the compose files"
            ),
            "{}",
            problems[0]
        );
    }
}
