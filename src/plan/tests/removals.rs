//! What goes: services removed from the files, scaled down, orphans, and
//! how `--target` limits deletions.

use super::*;

#[test]
fn a_service_removed_from_the_file_is_destroyed() {
    let old = desired_from(STACK, &[]);
    let yaml = STACK.replace("    depends_on: [redis]\n", "");
    let start = yaml.find("  redis:\n").unwrap();
    let end = yaml.find("networks:\n  back").unwrap();
    let yaml = format!("{}{}", &yaml[..start], &yaml[end..]).replace("volumes:\n  data: {}\n", "");
    let new = desired_from(&yaml, &[]);
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(
        actions(&p),
        [
            "volume.data delete",
            "image.redis delete",
            "container.redis[1] delete"
        ]
    );
    assert_eq!(
        change(&p, "container.redis[1]").reasons,
        [Reason::Orphan {
            why: OrphanKind::RemovedFromFile
        }]
    );
    assert!(change(&p, "volume.data").data_loss);
}

#[test]
fn scaling_up_creates_the_next_numbers_and_down_deletes_the_highest() {
    let two = desired_from(STACK, &[("redis", 2)]);
    let four = desired_from(STACK, &[("redis", 4)]);
    let up = plan_of(&four, &applied(&two), Some(&engine_for(&two)));
    assert_eq!(
        actions(&up),
        ["container.redis[3] create", "container.redis[4] create"]
    );
    let down = plan_of(&two, &applied(&four), Some(&engine_for(&four)));
    assert_eq!(
        actions(&down),
        ["container.redis[3] delete", "container.redis[4] delete"]
    );
    assert_eq!(
        change(&down, "container.redis[4]").reasons,
        [Reason::ScaledDown {
            service: "redis".into(),
            replicas: 2
        }]
    );
}

#[test]
fn unknown_labelled_containers_are_orphans_deleted_only_when_asked() {
    let d = desired_from(STACK, &[]);
    let mut o = engine_for(&d);
    let mut stray = o.containers[0].clone();
    stray.id = "stray".into();
    stray.name = "demo-old-1".into();
    stray
        .labels
        .insert(labels::ADDRESS.into(), "container.old[1]".into());
    o.containers.push(stray);
    let p = plan_of(&d, &applied(&d), Some(&o));
    assert_eq!(actions(&p), Vec::<String>::new());
    assert_eq!(
        p.orphans,
        [Orphan {
            kind: "container".into(),
            name: "demo-old-1".into(),
            id: "stray".into()
        }]
    );
    let removing = diff(&DiffInput {
        mode: crate::plan::Mode::Converge,
        desired: &d,
        state: &applied(&d),
        observed: Some(&o),
        remove_orphans: true,
        targets: &[],
    });
    assert_eq!(actions(&removing), ["container.old[1] delete"]);
}

#[test]
fn targets_limit_deletions_to_the_targeted_services() {
    let two = desired_from(STACK, &[("redis", 2)]);
    let one = desired_from(STACK, &[]);
    let p = diff(&DiffInput {
        mode: crate::plan::Mode::Converge,
        desired: &one,
        state: &applied(&two),
        observed: Some(&engine_for(&two)),
        remove_orphans: false,
        targets: &["web".to_string()],
    });
    assert_eq!(actions(&p), Vec::<String>::new());
}

/// STACK without `redis` (and so without the volume `data`).
fn without_redis() -> Desired {
    let yaml = STACK.replace("    depends_on: [redis]\n", "");
    let start = yaml.find("  redis:\n").unwrap();
    let end = yaml.find("networks:\n  back").unwrap();
    let yaml = format!("{}{}", &yaml[..start], &yaml[end..]).replace("volumes:\n  data: {}\n", "");
    desired_from(&yaml, &[])
}

/// A labelled container of the project that the state does not know.
fn orphan_of(o: &Observed, address: &str, name: &str) -> ObservedContainer {
    let mut stray = o.containers[0].clone();
    stray.id = format!("id-{name}");
    stray.name = name.into();
    stray.labels.insert(labels::ADDRESS.into(), address.into());
    stray
}

#[test]
fn a_volume_an_orphan_still_mounts_cannot_be_deleted() {
    // found by the model-based test: the engine refuses to remove a volume in
    // use, so the apply failed halfway, after removing the rest
    let old = desired_from(STACK, &[]);
    let mut o = engine_for(&old);
    let mut stray = orphan_of(&o, "container.redis[2]", "demo-redis-2");
    stray.volumes = vec!["demo_data".into()];
    o.containers.push(stray);
    let p = plan_of(&without_redis(), &applied(&old), Some(&o));
    assert_eq!(
        p.errors,
        [
            "volume `demo_data` cannot be deleted: container `demo-redis-2` using it is not part of this plan (orphans stay without `--remove-orphans`); remove it first"
        ]
    );
    // with --remove-orphans it goes first
    let removing = diff(&DiffInput {
        mode: crate::plan::Mode::Converge,
        desired: &without_redis(),
        state: &applied(&old),
        observed: Some(&o),
        remove_orphans: true,
        targets: &[],
    });
    assert_eq!(removing.errors, Vec::<String>::new());
    assert_eq!(
        change(&removing, "container.redis[2]").action,
        Action::Delete
    );
}

#[test]
fn a_network_an_orphan_is_still_on_cannot_be_deleted() {
    let old = desired_from(STACK, &[]);
    let mut o = engine_for(&old);
    let stray = orphan_of(&o, "container.web[2]", "demo-web-2");
    o.containers.push(stray);
    let new = desired_from("services:\n  web: {image: web:latest}\n", &[]);
    let p = plan_of(&new, &applied(&old), Some(&o));
    assert_eq!(change(&p, "network.back").action, Action::Delete);
    assert_eq!(
        p.errors,
        [
            "network `demo_back` cannot be deleted: container `demo-web-2` on it is not part of this plan (orphans stay without `--remove-orphans`); remove it first"
        ]
    );
}

#[test]
fn a_removed_container_recorded_under_a_stale_id_is_found_by_its_labels() {
    // found by the model-based test: with a state restored from a backup, the
    // container at the address was left running and the next plan found it an orphan
    let old = desired_from(STACK, &[]);
    let mut state = applied(&old);
    let redis: Address = "container.redis[1]".parse().unwrap();
    state.resources.get_mut(&redis).unwrap().id = "id-older".into();
    let p = plan_of(&without_redis(), &state, Some(&engine_for(&old)));
    let c = change(&p, "container.redis[1]");
    assert_eq!(c.action, Action::Delete);
    assert_eq!(c.id.as_deref(), Some("id-container.redis[1]"));
    assert_eq!(
        c.reasons[1],
        Reason::Drift(Drift::Replaced {
            recorded: "id-older".into(),
            found: "id-container.redis[1]".into()
        })
    );
}

/// An apply killed mid-rollout leaves the new container under its temporary
/// name, or the old one set aside: neither is taken for the container the
/// state records (not adopted, not an orphan); the plan removes both.
#[test]
fn an_interrupted_rollouts_leftovers_are_removed_and_never_adopted() {
    let d = desired_from(STACK, &[]);
    let mut o = engine_for(&d);
    // the record's container was set aside; the new one never took its name
    let web = o
        .containers
        .iter_mut()
        .find(|c| c.name == "demo-web-1")
        .unwrap();
    web.name = "demo-web-1-berth-prev".into();
    let next = orphan_of(&o, "container.web[1]", "demo-web-1-berth-next");
    o.containers.push(next);
    let p = plan_of(&d, &applied(&d), Some(&o));
    let leftovers: Vec<&str> = p.leftovers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        leftovers,
        ["demo-web-1-berth-prev", "demo-web-1-berth-next"]
    );
    assert!(p.orphans.is_empty(), "{:?}", p.orphans);
    // the recorded container is gone from its name: a new one is made
    assert_eq!(actions(&p), ["container.web[1] create"]);
    assert!(p.has_changes());
}
