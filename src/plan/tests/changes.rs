//! Configuration changes: what the files ask for against what was applied,
//! without drift: creates, no-ops, replacements, updates in place, and how
//! the plan shows them (masked, serialised).

use super::*;

#[test]
fn from_nothing_everything_is_created() {
    let d = desired_from(STACK, &[]);
    let p = plan_of(&d, &State::new("demo"), Some(&Observed::default()));
    assert_eq!(
        actions(&p),
        [
            "network.back create",
            "volume.data create",
            "image.redis create",
            "image.web create",
            "container.redis[1] create",
            "container.web[1] create"
        ]
    );
    assert!(p.changes.iter().all(|c| c.reasons == [Reason::New]));
    assert_eq!(
        p.summary(),
        Summary {
            add: 6,
            change: 0,
            replace: 0,
            destroy: 0
        }
    );
}

#[test]
fn an_applied_and_untouched_stack_has_no_changes() {
    let d = desired_from(STACK, &[]);
    let p = plan_of(&d, &applied(&d), Some(&engine_for(&d)));
    assert_eq!(actions(&p), Vec::<String>::new());
    assert!(!p.has_changes());
    assert!(p.orphans.is_empty());
}

#[test]
fn a_changed_port_replaces_only_that_container_and_says_why() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(&STACK.replace("\"5000:5000\"", "\"8080:5000\""), &[]);
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(actions(&p), ["container.web[1] replace"]);
    assert_eq!(
        change(&p, "container.web[1]").reasons,
        [Reason::Config {
            path: "ports[0].published".into(),
            old: Some(json!("5000")),
            new: Some(json!("8080"))
        }]
    );
}

#[test]
fn every_replaced_container_carries_how_it_is_rolled_out() {
    let rolling = "    networks: [back]\n    deploy:\n      update_config: {order: start-first}\n";
    let old = desired_from(&STACK.replacen("    networks: [back]\n", rolling, 1), &[]);
    let new = desired_from(
        &STACK
            .replacen("    networks: [back]\n", rolling, 1)
            .replace("MODE: prod", "MODE: test"),
        &[],
    );
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(actions(&p), ["container.web[1] replace"]);
    let rollout = change(&p, "container.web[1]").rollout.clone().unwrap();
    // start-first was asked, but port 5000 on the host fits one container at a time
    assert_eq!(
        crate::plan::rollout::describe(&rollout),
        "stop-first, 1 at a time, gate: running for 5 s, on failure: pause (stop-first: it publishes host port 5000, which the old and new container cannot both hold)"
    );
}

#[test]
fn a_changed_rollout_policy_alone_is_only_recorded() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(
        &STACK.replacen(
            "    networks: [back]\n",
            "    networks: [back]\n    deploy:\n      update_config: {order: start-first}\n",
            1,
        ),
        &[],
    );
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(actions(&p), ["container.web[1] update"]);
    let c = change(&p, "container.web[1]");
    assert!(c.ops.is_empty(), "{:?}", c.ops);
    assert!(c.rollout.is_none());
}

#[test]
fn a_restart_policy_change_is_an_update_in_place() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(&STACK.replace("unless-stopped", "always"), &[]);
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(
        actions(&p),
        ["container.web[1] update"],
        "{:#?}",
        change(&p, "container.web[1]").reasons
    );
}

#[test]
fn a_changed_restart_policy_alone_is_updated_in_place() {
    let d = desired_from(STACK, &[]);
    let mut o = engine_for(&d);
    container_mut(&mut o, "demo-web-1").updatable.restart = "always".into();
    let p = plan_of(&d, &applied(&d), Some(&o));
    assert_eq!(actions(&p), ["container.web[1] update"]);
    assert_eq!(change(&p, "container.web[1]").ops, [InPlace::EngineUpdate]);
}

#[test]
fn a_replaced_volume_is_marked_data_loss() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(
        &STACK.replace(
            "  data: {}",
            "  data: {driver_opts: {type: tmpfs, device: tmpfs}}",
        ),
        &[],
    );
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    assert!(change(&p, "volume.data").data_loss);
    assert_eq!(change(&p, "volume.data").action, Action::Replace);
}

#[test]
fn limits_changed_in_the_file_are_updated_in_place_and_lifting_one_replaces() {
    let yaml = "services:\n  app:\n    image: app:1\n    mem_limit: 64m\n    pids_limit: 50\n";
    let old = desired_from(yaml, &[]);
    let raised = desired_from(&yaml.replace("64m", "128m").replace("50", "80"), &[]);
    let p = plan_of(&raised, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(actions(&p), ["container.app[1] update"]);
    assert_eq!(change(&p, "container.app[1]").ops, [InPlace::EngineUpdate]);
    let lifted = desired_from(&yaml.replace("    mem_limit: 64m\n", ""), &[]);
    let p = plan_of(&lifted, &applied(&old), Some(&engine_for(&old)));
    assert_eq!(actions(&p), ["container.app[1] replace"]);
}

#[test]
fn sensitive_values_never_reach_the_plan() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(&STACK.replace("hunter2", "correcthorse"), &[]);
    let p = plan_of(&new, &applied(&old), Some(&engine_for(&old)));
    let web = change(&p, "container.web[1]");
    assert_eq!(
        web.reasons,
        [Reason::Config {
            path: "environment.DB_PASSWORD".into(),
            old: Some(json!("(sensitive)")),
            new: Some(json!("(sensitive)"))
        }]
    );
    let text = serde_json::to_string(&p).unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("correcthorse"),
        "{text}"
    );
}

#[test]
fn plans_serialise_and_read_back_with_the_same_hash() {
    let old = desired_from(STACK, &[]);
    let new = desired_from(&STACK.replace("\"5000:5000\"", "\"8080:5000\""), &[]);
    let mut o = engine_for(&old);
    container_mut(&mut o, "demo-redis-1").state = "exited".into();
    let p = plan_of(&new, &applied(&old), Some(&o));
    let text = serde_json::to_string(&p).unwrap();
    let back: Plan = serde_json::from_str(&text).unwrap();
    let mut without_hashes = p.clone();
    for c in &mut without_hashes.changes {
        c.after_hash = None; // never written: it would expose masked values to guessing
    }
    assert_eq!(back, without_hashes);
    assert_eq!(back.hash(), p.hash());
    assert!(!text.contains("after_hash"));
}
