//! Engines reached another way than the local socket, as teams reach their
//! servers: `ssh://` (through `docker system dial-stdio` on the host), docker
//! contexts (by `--context`, `DOCKER_CONTEXT` and `currentContext`), and tcp
//! with verified TLS. The endpoints are this machine's engine behind an sshd
//! and a TLS terminator the tests start (see `common::remote`).

use std::path::Path;

use crate::apply::seed_scenario;
use crate::common::Berth;
use crate::common::engine::Stack;
use crate::common::remote::{Sshd, TlsEngine};

const SLEEPER: &str = "services:
  app:
    image: berth-test-demo:latest
    command: [\"sleep\"]
";

/// Everything berth printed on standard error but warnings: the error.
fn error_lines(run: &crate::common::Run) -> Vec<String> {
    run.stderr()
        .lines()
        .filter(|l| !l.starts_with("warning:") && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_seed_scenario_over_ssh() {
    let sshd = Sshd::start();
    let base = || {
        Berth::new()
            .env("PATH", &sshd.path())
            .env("DOCKER_HOST", &sshd.url())
    };
    seed_scenario("ssh", &base);
    assert!(sshd.ssh_runs() > 0, "berth went through ssh");
}

#[test]
fn docker_contexts_are_chosen_by_flag_environment_and_current_context() {
    let sshd = Sshd::start();
    let config = tempfile::tempdir().unwrap();
    let docker = |args: &[&str]| {
        let out = std::process::Command::new("docker")
            .env("DOCKER_CONFIG", config.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    docker(&[
        "context",
        "create",
        "berth-ssh",
        "--docker",
        &format!("host={}", sshd.url()),
    ]);
    docker(&[
        "context",
        "create",
        "berth-nowhere",
        "--docker",
        "host=ssh://127.0.0.1:1",
    ]);
    let stack = Stack::new("ctx", SLEEPER);
    let berth = || {
        stack
            .berth()
            .env("PATH", &sshd.path())
            .env("DOCKER_CONFIG", config.path().to_str().unwrap())
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
    };

    let before = sshd.ssh_runs();
    berth()
        .args(["--context", "berth-ssh", "apply", "--auto-approve"])
        .run()
        .code(0);
    assert!(sshd.ssh_runs() > before, "--context went through ssh");

    let before = sshd.ssh_runs();
    berth()
        .env("DOCKER_CONTEXT", "berth-ssh")
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
    assert!(sshd.ssh_runs() > before, "DOCKER_CONTEXT went through ssh");

    docker(&["context", "use", "berth-ssh"]);
    let before = sshd.ssh_runs();
    berth().args(["plan", "--detailed-exitcode"]).run().code(0);
    assert!(sshd.ssh_runs() > before, "currentContext went through ssh");

    // the flag beats the environment, which beats the current context; a
    // failure names the endpoint and what chose it, on one line
    let run = berth()
        .env("DOCKER_CONTEXT", "berth-nowhere")
        .args(["plan"])
        .run()
        .code(1);
    let lines = error_lines(&run);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("error: cannot connect to the Docker engine at ssh://127.0.0.1:1 (from docker context `berth-nowhere`, chosen by DOCKER_CONTEXT): ssh: "),
        "{}",
        lines[0]
    );
    berth()
        .env("DOCKER_CONTEXT", "berth-nowhere")
        .args(["--context", "berth-ssh", "plan", "--detailed-exitcode"])
        .run()
        .code(0);
    let run = berth()
        .args(["--context", "no-such-context", "plan"])
        .run()
        .code(1);
    assert!(
        run.stderr()
            .contains("docker context `no-such-context` (from --context) does not exist"),
        "{}",
        run.stderr()
    );
    berth()
        .args(["--context", "berth-ssh", "destroy", "--auto-approve"])
        .run()
        .code(0);
}

#[test]
fn an_unknown_ssh_host_key_is_one_line_naming_the_endpoint() {
    let sshd = Sshd::start();
    std::fs::write(sshd.known_hosts(), "").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), SLEEPER).unwrap();
    let run = Berth::new()
        .dir(dir.path())
        .env("PATH", &sshd.path())
        .env("DOCKER_HOST", &sshd.url())
        .args(["plan"])
        .run()
        .code(1);
    let lines = error_lines(&run);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let want = format!(
        "error: cannot connect to the Docker engine at {} (from DOCKER_HOST): ssh: Host key verification failed. (check that `ssh -p {}",
        sshd.url(),
        sshd.port
    );
    assert!(lines[0].starts_with(&want), "{}", lines[0]);
    let written: Vec<_> = std::fs::read_dir(dir.path().join("state"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !written
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".json")),
        "no state written: {written:?}"
    );
}

#[test]
fn plan_and_apply_over_tls_with_the_right_certificates_only() {
    let tls = TlsEngine::start();
    let stack = Stack::new("tls", SLEEPER);
    let berth = |certs: &Path| {
        stack
            .berth()
            .env("DOCKER_HOST", &tls.url())
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", certs.to_str().unwrap())
    };
    let good = tls.certs.good();
    berth(&good).args(["apply", "--auto-approve"]).run().code(0);
    berth(&good)
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);

    for (certs, cause) in [
        (
            tls.certs.wrong_ca(),
            "invalid peer certificate: UnknownIssuer",
        ),
        (
            tls.certs.no_client_cert(),
            "received fatal alert: CertificateRequired",
        ),
        (
            tls.certs.expired(),
            "received fatal alert: CertificateExpired",
        ),
    ] {
        let run = berth(&certs).args(["plan"]).run().code(1);
        let lines = error_lines(&run);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let want = format!(
            "error: cannot connect to the Docker engine at {} (from DOCKER_HOST): {cause} (check the certificates in {}",
            tls.url(),
            certs.display()
        );
        assert!(lines[0].starts_with(&want), "{}\nwant: {want}", lines[0]);
    }
    // plain HTTP to a TLS port is refused with what to set
    let run = stack
        .berth()
        .env("DOCKER_HOST", &tls.url())
        .args(["plan"])
        .run()
        .code(1);
    assert!(
        run.stderr()
            .contains("a TLS port needs DOCKER_TLS_VERIFY=1"),
        "{}",
        run.stderr()
    );
    berth(&good)
        .args(["destroy", "--auto-approve"])
        .run()
        .code(0);
}

#[test]
fn a_state_applied_to_another_engine_is_refused_until_moved_on_purpose() {
    let stack = Stack::new("engine-id", SLEEPER);
    stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    let state_file = stack
        .dir
        .path()
        .join("state")
        .join(format!("{}.json", stack.project));
    let text = std::fs::read_to_string(&state_file).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = state["engine"]["id"]
        .as_str()
        .expect("the engine is recorded");
    assert!(!id.is_empty());
    stack
        .berth()
        .args(["show"])
        .run()
        .code(0)
        .stdout_has("# applied to the Docker engine `")
        .stdout_has(id);

    // the same state seen from another engine (its record edited to
    // another engine's, as if this host were staging and the state production's)
    std::fs::write(
        &state_file,
        text.replace(id, "PROD:ENGINE:ID").replace(
            &format!("\"name\": {}", state["engine"]["name"]),
            "\"name\": \"prod-1\"",
        ),
    )
    .unwrap();
    let before = std::fs::read(&state_file).unwrap();
    let run = stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    let lines = error_lines(&run);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0]
            .contains("was applied to the Docker engine `prod-1` (ID PROD:ENGINE:ID, data root ")
            && lines[0].contains("but this is engine `")
            && lines[0].contains(id)
            && lines[0].contains("pass --move-engine"),
        "{}",
        lines[0]
    );
    assert_eq!(
        std::fs::read(&state_file).unwrap(),
        before,
        "state untouched"
    );

    // moved on purpose: recorded, and plans go on
    stack
        .berth()
        .args(["apply", "--auto-approve", "--move-engine"])
        .run()
        .code(0)
        .stderr_has("--move-engine: the state moves from engine `prod-1`");
    let moved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    assert_eq!(moved["engine"]["id"].as_str(), Some(id));
    stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
}

/// `examples/ci/pipeline.sh`, the commands both workflows run, against the
/// server over ssh: a pull request's plan (saved, and as Markdown for the
/// comment), its apply on merge, the same plan again refused as stale, and a
/// plan with nothing to do.
#[test]
fn the_ci_example_plans_and_applies_a_saved_plan_over_ssh() {
    let sshd = Sshd::start();
    let stack = Stack::new("ci", SLEEPER);
    let out = tempfile::tempdir().unwrap();
    let outputs = out.path().join("github_output");
    let pipeline = |step: &str| {
        std::process::Command::new(crate::common::root().join("examples/ci/pipeline.sh"))
            .arg(step)
            .current_dir(stack.dir.path())
            .env("BERTH", env!("CARGO_BIN_EXE_berth"))
            .env("PATH", sshd.path())
            .env("DOCKER_HOST", sshd.url())
            .env("COMPOSE_PROJECT_NAME", &stack.project)
            .env("PIPELINE_DIR", out.path())
            .env("GITHUB_OUTPUT", &outputs)
            .env("NO_COLOR", "1")
            .env_remove("BERTH_STATE_REMOTE")
            .output()
            .unwrap()
    };
    let show = |o: &std::process::Output| {
        format!(
            "exit {:?}\nstdout: {}\nstderr: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };

    let planned = pipeline("plan");
    assert_eq!(planned.status.code(), Some(0), "{}", show(&planned));
    let markdown = std::fs::read_to_string(out.path().join("plan.md")).unwrap();
    assert!(markdown.contains("container.app[1]"), "{markdown}");
    assert!(
        std::fs::read_to_string(&outputs)
            .unwrap()
            .contains("changes=true")
    );

    let applied = pipeline("apply");
    assert_eq!(applied.status.code(), Some(0), "{}", show(&applied));
    crate::common::engine::docker(&["inspect", &format!("{}-app-1", stack.project)]);

    // the same saved plan again: the state moved on, so it is stale
    let again = pipeline("apply");
    assert_eq!(again.status.code(), Some(1), "{}", show(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("stale"),
        "{}",
        show(&again)
    );

    std::fs::remove_file(out.path().join("plan.bin")).unwrap();
    std::fs::write(&outputs, "").unwrap();
    let replanned = pipeline("plan");
    assert_eq!(replanned.status.code(), Some(0), "{}", show(&replanned));
    assert!(
        std::fs::read_to_string(&outputs)
            .unwrap()
            .contains("changes=false")
    );
    assert!(sshd.ssh_runs() > 0, "the pipeline went through ssh");
}
