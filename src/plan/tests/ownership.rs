//! Objects the state does not record: labelled ones adopted, external ones
//! only read, one that belongs to nobody refused.

use super::*;

#[test]
fn a_labelled_container_missing_from_state_is_adopted_not_duplicated() {
    let d = desired_from(STACK, &[]);
    let mut state = applied(&d);
    state.remove(&"container.web[1]".parse().unwrap());
    let p = plan_of(&d, &state, Some(&engine_for(&d)));
    assert_eq!(actions(&p), ["container.web[1] update"]);
    assert_eq!(
        change(&p, "container.web[1]").reasons,
        [Reason::Adopted {
            id: "id-container.web[1]".into(),
            matches: true
        }]
    );
}

#[test]
fn an_adopted_container_missing_a_network_is_replaced_not_recorded() {
    let yaml =
        "services:\n  app:\n    image: app:1\n    networks: [a, b]\nnetworks:\n  a: {}\n  b: {}\n";
    let d = desired_from(yaml, &[]);
    let mut o = engine_for(&d);
    let app = container_mut(&mut o, "demo-app-1");
    app.networks.remove("demo_b");
    app.state = "created".into();
    // the networks and the image were recorded; the container was not (killed mid-create)
    let mut state = applied(&d);
    state.remove(&"container.app[1]".parse().unwrap());
    let p = plan_of(&d, &state, Some(&o));
    assert_eq!(actions(&p), ["container.app[1] replace"]);
    // complete but never started: recorded and started
    let mut o = engine_for(&d);
    container_mut(&mut o, "demo-app-1").state = "created".into();
    let p = plan_of(&d, &state, Some(&o));
    assert_eq!(actions(&p), ["container.app[1] update"]);
    assert_eq!(change(&p, "container.app[1]").ops, [InPlace::Start]);
}

#[test]
fn external_networks_are_read_and_must_exist() {
    let yaml = STACK.replace("  back: {}", "  back: {external: true}");
    let d = desired_from(&yaml, &[]);
    let p = plan_of(&d, &State::new("demo"), Some(&Observed::default()));
    assert_eq!(change(&p, "network.back").action, Action::Read);
    assert_eq!(
        change(&p, "network.back").reasons,
        [Reason::ExternalMissing]
    );
    assert_eq!(p.errors.len(), 1);
    assert!(p.errors[0].contains("external network `back` does not exist"));
}

#[test]
fn a_network_that_belongs_to_no_project_is_a_plan_error() {
    let d = desired_from(STACK, &[]);
    let mut o = Observed::default();
    o.networks.push(ObservedNetwork {
        id: "n1".into(),
        name: "demo_back".into(),
        ..Default::default()
    });
    let p = plan_of(&d, &State::new("demo"), Some(&o));
    assert!(p.errors[0].contains(
        "a network named `demo_back` already exists and does not belong to project `demo`"
    ));
}

#[test]
fn a_container_name_held_by_someone_else_is_a_plan_error_not_a_removal() {
    // found by the model-based test: apply removes whatever holds the name
    // before it creates (a leftover of ours, it assumed), so a `redis` run
    // by hand, or another project's `container_name: redis`, was destroyed
    let d = desired_from(STACK, &[]);
    let mut o = Observed::default();
    o.taken
        .insert("demo-web-1".into(), "0123456789abcdef0123".into());
    let p = plan_of(&d, &State::new("demo"), Some(&o));
    assert_eq!(
        p.errors,
        [
            "a container named `demo-web-1` (ID 0123456789ab) already exists and does not belong to project `demo`; remove or rename it, or give `web` another `container_name`"
        ]
    );
    // kept as it is, it is no conflict
    let kept = plan_of(
        &d,
        &applied(&d),
        Some(&{
            let mut o = engine_for(&d);
            o.taken.insert("demo-web-1".into(), "0123".into());
            o
        }),
    );
    assert_eq!(kept.errors, Vec::<String>::new());
}
