//! Plan modes other than a refreshed converge: `--refresh=false`,
//! `--refresh-only` and `destroy`.

use super::*;

#[test]
fn without_refresh_only_configuration_counts() {
    let d = desired_from(STACK, &[]);
    let p = plan_of(&d, &applied(&d), None);
    assert!(!p.refreshed);
    assert!(!p.has_changes());
}

#[test]
fn refresh_only_plans_against_the_state_and_only_touches_the_state() {
    let old = desired_from(STACK, &[]);
    // the files changed since the apply: refresh-only does not care
    let new = desired_from(&STACK.replace("5000:5000", "8080:5000"), &[]);
    let mut o = engine_for(&old);
    o.containers.retain(|c| c.name != "demo-redis-1");
    let p = diff(&DiffInput {
        mode: Mode::RefreshOnly,
        desired: &new,
        state: &applied(&old),
        observed: Some(&o),
        remove_orphans: false,
        targets: &[],
    });
    assert_eq!(actions(&p), ["container.redis[1] create"]);
    assert_eq!(change(&p, "container.redis[1]").ops, [InPlace::Forget]);
}

#[test]
fn destroy_plans_every_resource_away_and_keeps_the_untargeted_ones() {
    let d = desired_from(STACK, &[]);
    let destroy = |targets: &[String]| {
        diff(&DiffInput {
            mode: Mode::Destroy,
            desired: &d,
            state: &applied(&d),
            observed: Some(&engine_for(&d)),
            remove_orphans: targets.is_empty(),
            targets,
        })
    };
    let all = destroy(&[]);
    assert!(
        all.changes.iter().all(|c| c.action == Action::Delete),
        "{:#?}",
        all.changes
    );
    assert_eq!(all.changes.len(), d.resources.len());
    let web = destroy(&["web".to_string()]);
    assert_eq!(
        actions(&web),
        ["image.web delete", "container.web[1] delete"]
    );
}
