//! The command line as a user meets it: flags, exit codes, output streams.

use crate::common::{Berth, root};

fn example() -> std::path::PathBuf {
    root().join("examples/getting-started")
}

#[test]
fn validate_summarises_the_example() {
    Berth::new()
        .dir(example())
        .args(["validate"])
        .run()
        .code(0)
        .stdout_is("valid: 2 services, 1 network, 0 volumes\n")
        .stderr_has("the attribute `version` is obsolete");
}

#[test]
fn config_lists_services_volumes_and_networks() {
    Berth::new()
        .args([
            "-f",
            "examples/getting-started/compose.yaml",
            "config",
            "--services",
        ])
        .dir(root())
        .run()
        .code(0)
        .stdout_is("redis\nweb\n");
    Berth::new()
        .dir(example())
        .args(["config", "--networks"])
        .run()
        .code(0)
        .stdout_is("service-network\n");
}

#[test]
fn config_prints_canonical_yaml_by_default_and_json_on_request() {
    let yaml = Berth::new().dir(example()).args(["config"]).run().code(0);
    assert!(
        yaml.stdout().starts_with("name: getting-started\n"),
        "{}",
        yaml.stdout()
    );
    let json = Berth::new()
        .dir(example())
        .args(["config", "--format", "json"])
        .run()
        .code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    assert_eq!(v["services"]["web"]["ports"][0]["published"], "5000");
    assert_eq!(v["networks"]["service-network"]["name"], "service-network");
}

#[test]
fn a_compose_file_can_come_from_stdin() {
    Berth::new()
        .dir(example())
        .args(["-f", "-", "-p", "piped", "config", "--services"])
        .stdin("services:\n  only:\n    image: x\n")
        .run()
        .code(0)
        .stdout_is("only\n");
}

#[test]
fn bad_input_exits_1_with_a_located_error_and_nothing_on_stdout() {
    Berth::new()
        .dir(example())
        .args(["-f", "-", "-p", "bad", "config"])
        .stdin("services:\n  web:\n    image: x\n    ports: [\"80:abc\"]\n")
        .run()
        .code(1)
        .stdout_is("")
        .stderr_has("error: services.web.ports[0]: invalid port `80:abc`")
        .stderr_has("--> -:4:13")
        .stderr_has("= hint:")
        .stderr_lacks("\u{1b}[");
}

#[test]
fn usage_errors_exit_1_not_2() {
    // 2 means "changes present" under `plan --detailed-exitcode`
    Berth::new()
        .args(["--no-such-flag"])
        .run()
        .code(1)
        .stderr_has("unexpected argument");
    Berth::new()
        .args(["--version"])
        .run()
        .code(0)
        .stdout_has("berth ");
}

#[test]
fn a_missing_compose_file_is_one_clear_line() {
    Berth::new()
        .dir(root())
        .args(["-f", "nope.yaml", "validate"])
        .run()
        .code(1)
        .stderr_has("error: cannot read compose file `nope.yaml`: no such file");
}

#[test]
fn a_name_key_is_normalised_like_compose_with_a_warning() {
    Berth::new()
        .dir(example())
        .args(["-f", "-", "config", "--format", "json"])
        .stdin("name: \"Bad Name\"\nservices:\n  web:\n    image: x\n")
        .run()
        .code(0)
        .stdout_has("\"name\": \"badname\"")
        .stderr_has("using `badname` as Docker Compose does");
}

/// Where neither a compose file nor an engine can be found: `completions`
/// and `man` must need neither.
fn nowhere() -> (tempfile::TempDir, Berth) {
    let empty = tempfile::tempdir().unwrap();
    let berth = Berth::new()
        .dir(empty.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    (empty, berth)
}

#[test]
fn bash_completion_names_the_subcommands() {
    let (_dir, berth) = nowhere();
    berth
        .args(["completions", "bash"])
        .run()
        .code(0)
        .stdout_has("complete -F _berth")
        .stdout_has("plan")
        .stdout_has("apply")
        .stdout_has("force-unlock");
}

#[test]
fn zsh_completion_is_a_compdef_file() {
    let (_dir, berth) = nowhere();
    let run = berth.args(["completions", "zsh"]).run().code(0);
    assert!(
        run.stdout().starts_with("#compdef berth"),
        "zsh completion starts with: {:?}",
        run.stdout().lines().next()
    );
}

#[test]
fn fish_powershell_and_elvish_completions_are_printed() {
    for (shell, marker) in [
        ("fish", "complete -c berth"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[berth]"),
    ] {
        let (_dir, berth) = nowhere();
        berth
            .args(["completions", shell])
            .run()
            .code(0)
            .stdout_has(marker)
            .stdout_has("plan");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error_naming_the_shells() {
    // usage errors exit 1 like every error (see usage_errors_exit_1_not_2)
    let (_dir, berth) = nowhere();
    berth
        .args(["completions", "tcsh"])
        .run()
        .code(1)
        .stdout_is("")
        .stderr_has("invalid value 'tcsh'")
        .stderr_has("bash");
}

#[test]
fn man_prints_a_roff_page_that_lists_the_subcommands() {
    let (_dir, berth) = nowhere();
    berth
        .args(["man"])
        .run()
        .code(0)
        .stdout_has(".TH berth 1")
        .stdout_has("plan")
        .stdout_has("apply")
        .stdout_has("Terraform\\-style plan/apply");
}

#[test]
fn man_dir_writes_a_page_per_subcommand() {
    let (dir, berth) = nowhere();
    let out = dir.path().join("man/man1");
    berth
        .args(["man", "--dir"])
        .arg(out.to_str().unwrap())
        .run()
        .code(0)
        .stdout_has("berth.1\n")
        .stdout_has("berth-plan.1\n");
    for page in [
        "berth.1",
        "berth-plan.1",
        "berth-apply.1",
        "berth-state-rm.1",
    ] {
        let text = std::fs::read_to_string(out.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page} is not a man page");
    }
    assert!(
        !out.join("berth-help.1").exists(),
        "clap's help has no page"
    );
}

/// A state applied with one backend is never planned with the other: the
/// plain engine's containers would be planned as Swarm services beside them
/// (or the other way round), and destroy would miss them.
#[test]
fn a_state_of_the_plain_engine_is_refused_by_swarm_and_the_other_way_round() {
    use berth::resource::desired::spec_hash;
    use berth::state::{State, StateResource, StateStore};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: shop\nservices:\n  web:\n    image: web:1\n",
    )
    .unwrap();
    let store = StateStore::new(dir.path().join("state/shop.json"));
    let mut state = State::new("shop");
    let spec = serde_json::json!({"driver": "bridge", "name": "shop_default"});
    state.insert(
        "network.default".parse().unwrap(),
        StateResource {
            id: "n1".into(),
            name: "shop_default".into(),
            spec_hash: spec_hash(&spec),
            spec,
        },
    );
    store.save(&mut state).unwrap();
    let before = std::fs::read(store.path()).unwrap();
    let plan = |backend: Option<&str>, x_berth: &str| {
        std::fs::write(
            dir.path().join("compose.yaml"),
            format!("name: shop\n{x_berth}services:\n  web:\n    image: web:1\n"),
        )
        .unwrap();
        let berth = Berth::new().dir(dir.path());
        let berth = match backend {
            Some(b) => berth.args(["--backend", b]),
            None => berth,
        };
        berth.args(["plan", "--refresh=false"]).run()
    };
    let refused = "was applied with the docker backend, but this plan is for the swarm backend; nothing was changed";
    plan(Some("swarm"), "").code(1).stderr_has(refused);
    plan(None, "x-berth:\n  backend: swarm\n")
        .code(1)
        .stderr_has(refused);
    // the flag wins over the file
    plan(Some("docker"), "x-berth:\n  backend: swarm\n").code(0);
    assert_eq!(
        std::fs::read(store.path()).unwrap(),
        before,
        "the state changed"
    );

    // and a Swarm state is refused by the plain engine
    let mut state = store.load("shop").unwrap().unwrap();
    state.backend = berth::compose::BackendKind::Swarm;
    store.save(&mut state).unwrap();
    plan(None, "")
        .code(1)
        .stderr_has("was applied with the swarm backend, but this plan is for the docker backend");
    plan(Some("swarm"), "").code(0);
}
