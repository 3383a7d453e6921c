//! No secret in any file berth writes: environment variables and build
//! arguments named like secrets, and secret files, are sealed with a key kept
//! out of the state (`BERTH_STATE_KEY`, else `state/<project>.key`), so the
//! state, saved plans, `show`, `state pull` and every output hold none,
//! while a changed value still plans a replacement.

use crate::common::engine::Stack;

const SECRETS: &str = "services:
  app:
    image: berth-test-demo:latest
    command: [\"sleep\"]
    environment:
      DB_PASSWORD: hunter2-plain
      API_TOKEN: tok-plain-value
      MODE: prod
    secrets: [db]
secrets:
  db:
    file: ./db.txt
";

const VALUES: [&str; 3] = ["hunter2-plain", "tok-plain-value", "file-secret-content"];

/// Every file under `dir` but the key file, with any of `VALUES` it holds.
fn leaks(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "key")
                || p.file_name()
                    .is_some_and(|n| n == "compose.yaml" || n == "db.txt")
            {
                continue;
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                for v in VALUES {
                    if text.contains(v) {
                        out.push(format!("{} holds {v}", p.display()));
                    }
                }
            }
        }
    }
    out
}

fn no_values(what: &str, text: &str) {
    for v in VALUES {
        assert!(!text.contains(v), "{what} holds {v}:\n{text}");
    }
}

#[test]
fn no_file_or_output_berth_writes_holds_a_secret() {
    let stack = Stack::new("secrets", SECRETS);
    let dir = stack.dir.path();
    std::fs::write(dir.join("db.txt"), "file-secret-content\n").unwrap();

    let run = stack
        .berth()
        .args(["apply", "--auto-approve"])
        .run()
        .code(0);
    no_values("apply's output", &(run.stdout() + &run.stderr()));
    let env = crate::common::engine::docker(&[
        "inspect",
        "-f",
        "{{json .Config.Env}}",
        &format!("{}-app-1", stack.project),
    ]);
    assert!(
        env.contains("DB_PASSWORD=hunter2-plain"),
        "the engine gets the value: {env}"
    );

    let run = stack
        .berth()
        .args(["plan", "--detailed-exitcode"])
        .run()
        .code(0);
    no_values("plan", &(run.stdout() + &run.stderr()));
    for args in [
        &["show"][..],
        &["show", "--format", "json"],
        &["state", "pull"],
        &["state", "show", "container.app[1]"],
        &["plan", "--format", "json"],
        &["plan", "--format", "markdown"],
    ] {
        let run = stack.berth().args(args).run().code(0);
        no_values(&format!("berth {args:?}"), &(run.stdout() + &run.stderr()));
    }

    // a changed value still replaces the container, and still shows no value
    let text = std::fs::read_to_string(dir.join("compose.yaml")).unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        text.replace("hunter2-plain", "hunter3-plain"),
    )
    .unwrap();
    let run = stack
        .berth()
        .args(["plan", "-o", "saved.plan", "--detailed-exitcode"])
        .run()
        .code(2);
    assert!(
        run.stdout()
            .contains("~ environment.DB_PASSWORD: (sensitive) -> (sensitive)"),
        "{}",
        run.stdout()
    );
    assert!(!run.stdout().contains("hunter3-plain"));
    let run = stack.berth().args(["apply", "saved.plan"]).run().code(0);
    assert!(!(run.stdout() + &run.stderr()).contains("hunter3-plain"));
    let leaked = leaks(dir);
    assert!(leaked.is_empty(), "{leaked:?}");
    let saved = std::fs::read_to_string(dir.join("saved.plan")).unwrap();
    assert!(!saved.contains("hunter3-plain"));

    // the key is kept out of the repository, and another key is refused
    let ignore = std::fs::read_to_string(dir.join("state/.gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*.key"), "{ignore}");
    let run = stack
        .berth()
        .env("BERTH_STATE_KEY", "someone else's key")
        .args(["plan"])
        .run()
        .code(1);
    assert!(
        run.stderr().contains("was sealed with key"),
        "{}",
        run.stderr()
    );
    stack
        .berth()
        .args(["destroy", "--auto-approve"])
        .run()
        .code(0);
}
