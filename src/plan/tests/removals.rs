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
