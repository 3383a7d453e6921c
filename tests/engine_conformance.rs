//! Engine conformance: `berth apply` does on the engine what `docker compose up -d` does.
//!
//! Every directory under `tests/fixtures/engine/` is one project (`compose.yaml` and the files
//! it reads), copied to a temp directory and brought up twice, one tool after the other so that
//! fixed names, host ports and subnets never clash: `docker compose -p ec-<fixture>-c up -d`,
//! then `berth -p ec-<fixture>-b apply --auto-approve`. After each, every container, network and
//! volume of the project is inspected and [normalised](Normaliser) (IDs, the project name,
//! engine-assigned addresses, per-tool labels, order of unordered lists, equivalent spellings);
//! the two sides are then compared attribute by attribute. After berth's apply, `berth plan
//! --detailed-exitcode` must exit 0 and a second apply must say `No changes.`.
//!
//! The changes table ([`CHANGES`]) edits one attribute of `fixtures/engine/changes` at a time:
//! `berth plan --format json` must plan the expected action for the expected reason, and the
//! container berth leaves must be the one `docker compose up -d` creates from the edited file.
//!
//! A difference fails the test unless [`INTENTIONAL`] (meaningless, with the reason) or
//! [`KNOWN_BERTH_BUGS`] (reported, not failing, until fixed) lists it. All differences of all
//! fixtures are reported together, as fixture / resource / JSON pointer / compose / berth.
//! A known bug that no longer shows fails too: remove its entry.
//!
//! Attributes the local engine cannot run are in [`NOT_RUNNABLE_HERE`], not in fixtures.
//!
//! ```sh
//! cargo test --test integration engine_conformance -- --nocapture   # known bugs are printed too
//! BERTH_EC_ONLY=volumes,changes/cpus cargo test --test integration engine_conformance
//! ```
//!
//! Each fixture runs the two tools one after the other, and the two tests take turns (also
//! with the suite of another checkout: [`engine_turn`]): at most four networks of the suite
//! exist at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::common::Berth;
use crate::common::config_diff::{glob_matches, show_within};
use crate::common::engine::{Cleanup, demo_image, try_docker};

/// Differences that are meaningless: the two containers behave the same. Each with its reason.
const INTENTIONAL: &[Accepted] = &[
    Accepted {
        fixture: "*",
        resource: "network *",
        path: "/Labels/com.docker.compose.config-hash",
        what: "compose hashes its own Go structs (NetworkHash); a label with berth's hash would \
               differ and make `docker compose up` recreate the network, while compose takes a \
               network without the label as matching (reconcile.go: an empty ConfigHash), so \
               berth leaves it out",
        sometimes: false,
    },
    Accepted {
        fixture: "*",
        resource: "volume *",
        path: "/Labels/com.docker.compose.config-hash",
        what: "as for networks (VolumeHash): without the label compose takes the volume as matching",
        sometimes: false,
    },
    Accepted {
        fixture: "shared-namespaces",
        resource: "container borrower[1]",
        path: "/HostConfig/VolumesFrom",
        what: "compose drops the mode of `volumes_from: [SERVICE:ro]` (its getVolumesFrom keeps a \
               mode only when the entry has three parts), so it mounts read-write; berth mounts \
               read-only, as the file says",
        sometimes: false,
    },
    Accepted {
        fixture: "*",
        resource: "container *",
        path: "/Config/AttachStdout",
        what: "compose creates every container attached to stdout and stderr, also for `up -d`; \
               the flags only say what `docker start --attach` connects to, and a detached \
               service's output goes to its log driver either way",
        sometimes: false,
    },
    Accepted {
        fixture: "*",
        resource: "container *",
        path: "/Config/AttachStderr",
        what: "as AttachStdout",
        sometimes: false,
    },
];

/// Differences caused by berth bugs: reported on every run, not failing, until the fix lands
/// (then the entry must go: a known bug that no longer shows fails the suite, unless it is
/// marked `sometimes`, a race).
#[rustfmt::skip]
const KNOWN_BERTH_BUGS: &[Accepted] = &[
    Accepted {
        sometimes: true,
        ..bug("shared-namespaces", "berth destroy", "/exit",
            "a race, seen on some runs: the default network still has `active endpoints` after destroy's \
             retries (the engine's stale endpoint count, DESIGN.md, Engine facts)")
    },
    bug("mac-address|changes/mac_address", "*", "/**",
        "mac_address refused on engines before API 1.44, so the container is not created; compose sets \
         Config.MacAddress, which API 1.41 honours"),
];

const fn bug(
    fixture: &'static str,
    resource: &'static str,
    path: &'static str,
    what: &'static str,
) -> Accepted {
    Accepted {
        fixture,
        resource,
        path,
        what,
        sometimes: false,
    }
}

/// Attributes this engine (Docker 20.10, API 1.41, cgroup v1, fuse-overlayfs, runc only, no
/// GPU) cannot run, so no fixture uses them: (attribute as written in compose.yaml, why).
const NOT_RUNNABLE_HERE: &[(&str, &str)] = &[
    (
        "storage_opt",
        "the engine refuses `--storage-opt` on fuse-overlayfs (it needs overlay2 on xfs with pquota)",
    ),
    (
        "subpath",
        "volume subpath needs API 1.45; this engine speaks 1.41",
    ),
    (
        "cpu_rt_runtime",
        "the kernel has no CONFIG_RT_GROUP_SCHED: the engine refuses real-time CPU limits",
    ),
    (
        "cpu_rt_period",
        "the kernel has no CONFIG_RT_GROUP_SCHED: the engine refuses real-time CPU limits",
    ),
    (
        "weight_device",
        "the kernel has no CFQ/BFQ weights: the engine discards blkio weights, so both tools \
         would show 0 and the comparison would prove nothing",
    ),
    ("cpu_count", "Windows containers only"),
    ("cpu_percent", "Windows containers only"),
    ("credential_spec", "Windows containers only"),
    (
        "isolation: process",
        "Windows containers only (Linux accepts `default` alone, which logging-runtime uses)",
    ),
    (
        "runtime: runsc",
        "only runc is installed (logging-runtime uses `runtime: runc`)",
    ),
    (
        "start_interval",
        "healthcheck.start_interval needs Engine 25 (API 1.44): compose refuses it on 20.10",
    ),
    (
        "privileged: true",
        "this engine runs without the capabilities a privileged container gets: runc fails \
         with `unable to apply caps: operation not permitted` (security uses `privileged: false`)",
    ),
    ("gpus", "no GPU and no NVIDIA runtime"),
    ("capabilities: [gpu]", "no GPU and no NVIDIA runtime"),
    (
        "driver: overlay",
        "overlay networks need swarm mode; the plain engine has bridge, host, none, macvlan",
    ),
    ("use_api_socket", "needs Docker Desktop"),
    (
        "build:",
        "compose v2 builds only through buildx, which this machine lacks",
    ),
];

/// One accepted difference. Patterns: `fixture` and `resource` are globs (`*` = any run of
/// characters; `a|b` = either); `path` is a JSON pointer whose segments are globs and whose
/// final `**` matches any rest.
struct Accepted {
    fixture: &'static str,
    resource: &'static str,
    path: &'static str,
    what: &'static str,
    /// A race: the difference shows on some runs only, so its absence proves no fix.
    sometimes: bool,
}

impl Accepted {
    fn accepts(&self, d: &Difference) -> bool {
        let any = |pattern: &str, text: &str| pattern.split('|').any(|p| glob_matches(p, text));
        any(self.fixture, &d.fixture)
            && any(self.resource, &d.resource)
            && pointer_matches(self.path, &d.path)
    }
}

/// The edits of the changes table, each applied alone to `fixtures/engine/changes/`: in
/// `compose.yaml` unless `.in_file(...)`; the plan must `replace` (unless `.update()`) the
/// container `app[1]` (unless `.at(...)`) with a `config` reason at the attribute named (unless
/// `.reason(...)`); other resources may change only as its dependents.
#[rustfmt::skip]
const CHANGES: &[Change] = &[
    edit("environment", "MODE: one", "MODE: two").reason("environment.MODE"),
    edit("env_file content", "FROM_FILE=one", "FROM_FILE=two").in_file("app.env").reason("environment.FROM_FILE"),
    edit("labels", "tier: one", "tier: two").reason("labels.tier"),
    edit("entrypoint", r#"entrypoint: ["/berth-demo"]"#, r#"entrypoint: ["/./berth-demo"]"#),
    edit("command", r#"["sleep", "3600"]"#, r#"["sleep", "7200"]"#),
    edit("restart", r#"restart: "no""#, "restart: always").update(),
    edit("mem_limit", "mem_limit: 64m", "mem_limit: 96m").update(),
    edit("memswap_limit", "memswap_limit: 100m", "memswap_limit: 160m").update(),
    edit("cpus", "cpus: 0.5", "cpus: 0.75").update(),
    edit("cpuset", r#"cpuset: "0""#, r#"cpuset: "0-1""#).update(),
    edit("cpu_shares", "cpu_shares: 512", "cpu_shares: 768").update(),
    edit("mem_reservation", "mem_reservation: 32m", "mem_reservation: 40m").update(),
    edit("pids_limit", "pids_limit: 64", "pids_limit: 80").update(),
    edit("shm_size", "shm_size: 16m", "shm_size: 32m"),
    edit("oom_score_adj", "oom_score_adj: 100", "oom_score_adj: 200"),
    edit("user", r#"user: "1000""#, r#"user: "1001""#),
    edit("group_add", r#"group_add: ["1234"]"#, r#"group_add: ["1234", "5678"]"#),
    edit("working_dir", "working_dir: /w1", "working_dir: /w2"),
    edit("hostname", "hostname: one", "hostname: two"),
    edit("domainname", "domainname: one.example", "domainname: two.example"),
    edit("mac_address", "hostname: one", "hostname: one\n    mac_address: \"02:42:ac:11:00:02\""),
    edit("tty", "tty: false", "tty: true"),
    edit("stdin_open", "stdin_open: false", "stdin_open: true"),
    edit("init", "init: false", "init: true"),
    edit("read_only", "read_only: false", "read_only: true"),
    edit("stop_signal", "stop_signal: SIGTERM", "stop_signal: SIGINT"),
    edit("stop_grace_period", "stop_grace_period: 5s", "stop_grace_period: 7s"),
    edit("cap_add", "cap_add: [NET_ADMIN]", "cap_add: [NET_ADMIN, SYS_TIME]"),
    edit("cap_drop", "cap_drop: [MKNOD]", "cap_drop: [MKNOD, NET_RAW]"),
    edit("security_opt", r#"["label=disable"]"#, r#"["label=disable", "no-new-privileges:true"]"#),
    edit("devices", "/dev/null:/dev/ec-null", "/dev/zero:/dev/ec-null"),
    edit("ports", r#"ports: ["5000"]"#, r#"ports: ["127.0.0.1::5000"]"#).reason("ports[0]"),
    edit("expose", r#"expose: ["7000"]"#, r#"expose: ["7000", "7001"]"#),
    edit("sysctls", r#"net.core.somaxconn: "1024""#, r#"net.core.somaxconn: "2048""#),
    edit("ulimits", "nofile: 1024", "nofile: 2048").reason("ulimits.nofile"),
    edit("extra_hosts", r#"["h1:10.0.0.1"]"#, r#"["h1:10.0.0.2"]"#),
    edit("dns", "dns: [10.0.0.53]", "dns: [10.0.0.54]"),
    edit("dns_search", "dns_search: [one.example]", "dns_search: [two.example]"),
    edit("dns_opt", r#"dns_opt: ["ndots:1"]"#, r#"dns_opt: ["ndots:2"]"#),
    edit("tmpfs", "tmpfs: [/run]", "tmpfs: [/run, /cache]"),
    edit("logging", "max-size: 1m", "max-size: 2m").reason("logging.options"),
    edit("healthcheck", "interval: 30s", "interval: 20s").reason("healthcheck.interval"),
    edit("network alias", "aliases: [alias-one]", "aliases: [alias-two]").reason("networks.back.aliases"),
    edit("volume target", "data:/data", "data:/data2").reason("volumes[0].target"),
    edit("volume read_only", "data:/data", "data:/data:ro").reason("volumes[0].read_only"),
    edit("config content", "listen 80;", "listen 81;").in_file("app.conf").reason("files.config.app_conf"),
    edit("secret content", "one", "two").in_file("token.txt").reason("files.secret.token"),
    edit("network labels", "  back: {}", "  back:\n    labels: {tier: two}").at("network.back").reason("labels"),
    edit("oom_kill_disable", "hostname: one", "hostname: one\n    oom_kill_disable: true"),
    edit("mem_swappiness", "hostname: one", "hostname: one\n    mem_swappiness: 10"),
    edit("cgroup_parent", "hostname: one", "hostname: one\n    cgroup_parent: ec-parent"),
    edit("userns_mode", "hostname: one", "hostname: one\n    userns_mode: host"),
    edit("ipc", "hostname: one", "hostname: one\n    ipc: shareable"),
    edit("runtime", "hostname: one", "hostname: one\n    runtime: runc"),
    edit("platform", "hostname: one", "hostname: one\n    platform: linux/amd64"),
    edit("volumes_from", "hostname: one", "hostname: one\n    volumes_from: [limited]"),
    edit("network internal", "  back: {}", "  back:\n    internal: true").at("network.back").reason("internal"),
    edit("network driver_opts", "  back: {}", "  back:\n    driver_opts: {com.docker.network.driver.mtu: \"1400\"}")
        .at("network.back").reason("driver_opts"),
    edit("volume labels", "  data: {}", "  data:\n    labels: {tier: two}").at("volume.data").reason("labels").data_loss(),
    edit("deploy memory", "memory: 48m", "memory: 56m").at("container.limited[1]").update().reason("deploy.resources.limits.memory"),
    edit("deploy cpus", r#"cpus: "0.25""#, r#"cpus: "0.3""#).at("container.limited[1]").update().reason("deploy.resources.limits.cpus"),
    edit("deploy pids", "pids: 32", "pids: 40").at("container.limited[1]").update().reason("deploy.resources.limits.pids"),
    edit("deploy reservation", "memory: 16m", "memory: 20m").at("container.limited[1]").update().reason("deploy.resources.reservations.memory"),
    edit("deploy restart_policy", "max_attempts: 3", "max_attempts: 5").at("container.limited[1]").update().reason("deploy.restart_policy.max_attempts"),
];

/// One row of [`CHANGES`]: in `file`, replace `from` (which must occur once) by `to`; the plan
/// must `action` the resource at `address` with a `config` reason whose path starts with
/// `reason`.
struct Change {
    name: &'static str,
    file: &'static str,
    from: &'static str,
    to: &'static str,
    address: &'static str,
    action: &'static str,
    reason: &'static str,
    /// Apply with `--allow-data-loss` (the edit replaces a named volume).
    data_loss: bool,
}

/// A change of `name` in compose.yaml that replaces `app[1]` for a reason at `name`.
const fn edit(name: &'static str, from: &'static str, to: &'static str) -> Change {
    Change {
        name,
        file: "compose.yaml",
        from,
        to,
        address: "container.app[1]",
        action: "replace",
        reason: name,
        data_loss: false,
    }
}

impl Change {
    const fn update(self) -> Change {
        Change {
            action: "update",
            ..self
        }
    }

    const fn reason(self, reason: &'static str) -> Change {
        Change { reason, ..self }
    }

    const fn at(self, address: &'static str) -> Change {
        Change { address, ..self }
    }

    const fn in_file(self, file: &'static str) -> Change {
        Change { file, ..self }
    }

    const fn data_loss(self) -> Change {
        Change {
            data_loss: true,
            ..self
        }
    }
}

/// The suite's turn on the engine, held for a whole test: its project names, host ports,
/// subnets and fixed names (`ec-basics-named`, `ec-external-net`, ...) are the same in every
/// checkout, so the two tests, and the suites of two checkouts testing at once on one engine,
/// take turns (an OS file lock, released when the file is dropped, also on panic).
fn engine_turn() -> std::fs::File {
    let path = std::env::temp_dir().join("berth-engine-conformance.lock");
    let file = std::fs::File::create(&path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
    file
}

/// `BERTH_EC_ONLY=minimal,changes/cpus` runs only those fixtures and changes (while working on
/// one); the check for known bugs that no longer show is then skipped.
const ONLY: &str = "BERTH_EC_ONLY";

/// Environment variables passed to both tools; everything else is cleared.
const PASSED_THROUGH_ENV: &[&str] = &["PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"];

/// Labels whose value is per tool (a hash, a version, berth's bookkeeping): compared by
/// presence, not value.
const PER_TOOL_LABELS: &[&str] = &[
    "com.docker.compose.config-hash",
    "com.docker.compose.version",
];

/// Labels only berth sets, by design (DESIGN.md, Labels): left out of the comparison.
const BERTH_LABEL_PREFIX: &str = "dev.berth.";

#[test]
fn berth_apply_matches_docker_compose_up() {
    let _turn = engine_turn();
    crate::common::require_docker_compose("the engine conformance suite");
    demo_image();
    let started = Instant::now();

    let fixtures = fixture_dirs();
    assert!(
        fixtures.len() >= 12,
        "expected at least 12 fixtures in tests/fixtures/engine/, found {}",
        fixtures.len()
    );
    for (attribute, why) in NOT_RUNNABLE_HERE {
        for dir in &fixtures {
            let text = std::fs::read_to_string(dir.join("compose.yaml")).unwrap();
            assert!(
                !text.contains(attribute),
                "{} uses `{attribute}`, which this engine cannot run ({why})",
                dir.display()
            );
        }
    }

    let only = std::env::var(ONLY).ok();
    let mut differences = Vec::new();
    let mut compared = 0;
    let mut run = 0;
    for dir in &fixtures {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(only) = &only
            && !only.split(',').any(|o| o == name)
        {
            continue;
        }
        let fixture_started = Instant::now();
        let outcome = run_fixture(&name, dir);
        run += 1;
        compared += outcome.compared;
        println!(
            "engine conformance: {name}: {} attributes compared, {} differences ({:.1?})",
            outcome.compared,
            outcome.differences.len(),
            fixture_started.elapsed()
        );
        differences.extend(outcome.differences);
    }
    println!(
        "engine conformance: {run} fixtures, {compared} attributes compared in {:.1?}",
        started.elapsed()
    );
    judge(
        "`berth apply` differs from `docker compose up -d`",
        differences,
        |entry| !entry.fixture.starts_with("changes/") && only.is_none(),
    );
}

#[test]
fn edits_plan_the_right_action_and_converge_like_compose() {
    let _turn = engine_turn();
    crate::common::require_docker_compose("the engine conformance suite");
    demo_image();
    let started = Instant::now();

    let source = fixtures_root().join("changes");
    let copy = copy_fixture(&source);
    let dir = copy.path();
    let c_project = "ec-changes-c";
    let b_project = "ec-changes-b";
    let _c_cleanup = Cleanup::new(c_project);
    let _b_cleanup = Cleanup::new(b_project);
    let _ = compose(dir, c_project, &["down", "-v", "--remove-orphans"]);

    // The differences the unedited file already shows are the other test's business: here
    // only what an edit adds counts.
    let compose_base = compose_snapshot(dir, c_project);
    berth(dir, b_project, &["apply", "--auto-approve"])
        .unwrap_or_else(|e| panic!("berth apply of the changes fixture failed:\n{e}"));
    let berth_base = snapshot(b_project, dir);
    let mut base_differences = BTreeSet::new();
    compare("changes", &compose_base, &berth_base, &mut Vec::new())
        .into_iter()
        .for_each(|d| {
            base_differences.insert(d.key());
        });

    let only = std::env::var(ONLY).ok();
    let mut differences = Vec::new();
    let mut compared = 0;
    let mut cases = 0;
    for case in CHANGES {
        let fixture = format!("changes/{}", case.name);
        if let Some(only) = &only
            && !only.split(',').any(|o| o == fixture)
        {
            continue;
        }
        cases += 1;
        let base = std::fs::read_to_string(source.join(case.file)).unwrap();
        assert_eq!(
            base.matches(case.from).count(),
            1,
            "change `{}`: `{}` must occur exactly once in changes/{}",
            case.name,
            case.from,
            case.file
        );
        let edited = base.replacen(case.from, case.to, 1);
        std::fs::write(dir.join(case.file), &edited).unwrap();

        let compose_edited = compose_snapshot(dir, c_project);
        differences.extend(check_plan(&fixture, dir, b_project, case));
        let apply: &[&str] = if case.data_loss {
            &["apply", "--auto-approve", "--allow-data-loss"]
        } else {
            &["apply", "--auto-approve"]
        };
        match berth(dir, b_project, apply) {
            Err(e) => differences.push(Difference::tool(&fixture, "berth apply", e)),
            Ok(_) => {
                let berth_edited = snapshot(b_project, dir);
                let mut count = Vec::new();
                let mut found = compare(&fixture, &compose_edited, &berth_edited, &mut count);
                compared += count.len();
                found.retain(|d| !base_differences.contains(&d.key()));
                differences.extend(found);
                differences.extend(no_changes_left(&fixture, dir, b_project, true));
            }
        }

        std::fs::write(dir.join(case.file), &base).unwrap();
        if let Err(e) = berth(dir, b_project, apply) {
            differences.push(Difference::tool(
                &fixture,
                "berth apply (back to the base)",
                e,
            ));
        }
    }
    let _ = berth(dir, b_project, &["destroy", "--auto-approve", "--volumes"]);
    println!(
        "engine conformance: {cases} changes, {compared} attributes compared in {:.1?}",
        started.elapsed()
    );
    judge(
        "edits: berth's plan or result differs from what is expected",
        differences,
        |entry| entry.fixture.starts_with("changes/") && only.is_none(),
    );
}

/// What one fixture gave: its differences and how many attributes were compared.
struct Outcome {
    differences: Vec<Difference>,
    compared: usize,
}

fn run_fixture(name: &str, source: &Path) -> Outcome {
    let copy = copy_fixture(source);
    let dir = copy.path();
    let c_project = format!("ec-{name}-c");
    let b_project = format!("ec-{name}-b");
    let _externals = Externals::create(dir);
    let _c_cleanup = Cleanup::new(&c_project);
    let _b_cleanup = Cleanup::new(&b_project);
    let mut differences = Vec::new();

    let compose_side = compose_snapshot(dir, &c_project);
    if let Some(Value::String(error)) = compose_side.get("error") {
        return Outcome {
            differences: vec![Difference::tool(name, "docker compose up", error.clone())],
            compared: 0,
        };
    }

    let berth_side = match berth(dir, &b_project, &["apply", "--auto-approve"]) {
        Ok(_) => snapshot(&b_project, dir),
        Err(e) => {
            differences.push(Difference::tool(name, "berth apply", e));
            snapshot(&b_project, dir)
        }
    };
    let mut compared = Vec::new();
    differences.extend(compare(name, &compose_side, &berth_side, &mut compared));
    differences.extend(no_changes_left(name, dir, &b_project, false));
    if let Err(e) = berth(dir, &b_project, &["destroy", "--auto-approve", "--volumes"]) {
        differences.push(Difference::tool(name, "berth destroy", e));
    }
    Outcome {
        differences,
        compared: compared.len(),
    }
}

/// `docker compose up -d` in `dir`, the project inspected, then `down -v`: the snapshot
/// (or `{"error": ...}` when up failed).
fn compose_snapshot(dir: &Path, project: &str) -> BTreeMap<String, Value> {
    let up = compose(dir, project, &["up", "-d", "--quiet-pull"]);
    let snap = match up {
        Ok(_) => snapshot(project, dir),
        Err(e) => BTreeMap::from([("error".to_owned(), Value::String(e))]),
    };
    if let Err(e) = compose(dir, project, &["down", "-v", "--remove-orphans"]) {
        eprintln!("docker compose down of {project}: {e}");
    }
    snap
}

/// After an apply: `plan --detailed-exitcode` exits 0, and (unless `plan_only`) a second apply
/// says there is nothing to do.
fn no_changes_left(fixture: &str, dir: &Path, project: &str, plan_only: bool) -> Vec<Difference> {
    let mut out = Vec::new();
    let plan = berth_run(dir, project, &["plan", "--detailed-exitcode"]);
    if plan.0.status.code() != Some(0) {
        out.push(Difference {
            fixture: fixture.to_owned(),
            resource: "berth plan --detailed-exitcode after apply".to_owned(),
            path: "/exit".to_owned(),
            compose: Some(json!(0)),
            berth: Some(json!(format!(
                "{:?}: {}{}",
                plan.0.status.code(),
                plan.stdout(),
                plan.stderr()
            ))),
        });
    }
    if !plan_only {
        let again = berth_run(dir, project, &["apply", "--auto-approve"]);
        if !again.0.status.success() || !again.stdout().contains("No changes.") {
            out.push(Difference {
                fixture: fixture.to_owned(),
                resource: "second berth apply".to_owned(),
                path: "/output".to_owned(),
                compose: Some(json!("No changes.")),
                berth: Some(json!(format!("{}{}", again.stdout(), again.stderr()))),
            });
        }
    }
    out
}

/// The plan of an edit: the container of the edited service must get `case.action`, with a
/// `config` reason at `case.reason`.
fn check_plan(fixture: &str, dir: &Path, project: &str, case: &Change) -> Vec<Difference> {
    let run = berth_run(dir, project, &["plan", "--format", "json"]);
    let difference = |path: &str, want: Value, have: Value| Difference {
        fixture: fixture.to_owned(),
        resource: "berth plan --format json".to_owned(),
        path: path.to_owned(),
        compose: Some(want),
        berth: Some(have),
    };
    if !run.0.status.success() {
        return vec![difference(
            "/exit",
            json!(0),
            json!(format!("{}{}", run.stdout(), run.stderr())),
        )];
    }
    let plan: Value = match serde_json::from_str(&run.stdout()) {
        Ok(plan) => plan,
        Err(e) => return vec![difference("", json!("JSON"), json!(e.to_string()))],
    };
    let changed: Vec<&Value> = plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["action"] != "no-op" && c["action"] != "read")
        .collect();
    let address = case.address;
    let mut out = Vec::new();
    // anything else may change only because what it depends on does
    let others: Vec<String> = changed
        .iter()
        .filter(|c| c["address"] != address)
        .filter(|c| {
            !c["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|r| r["kind"] == "dependency")
        })
        .map(|c| format!("{} {}", c["action"].as_str().unwrap_or("?"), c["address"]))
        .collect();
    if !others.is_empty() {
        out.push(difference("/other_changes", json!([]), json!(others)));
    }
    let Some(target) = changed.iter().find(|c| c["address"] == address) else {
        out.push(difference(
            &format!("/{address}/action"),
            json!(case.action),
            json!("no-op"),
        ));
        return out;
    };
    if target["action"] != case.action {
        out.push(difference(
            &format!("/{address}/action"),
            json!(case.action),
            target["action"].clone(),
        ));
    }
    let reasons: Vec<String> = target["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| match r["kind"].as_str() {
            Some("config") => r["path"].as_str().unwrap_or_default().to_owned(),
            other => format!("({})", other.unwrap_or("?")),
        })
        .collect();
    if !reasons.iter().any(|r| r.starts_with(case.reason)) {
        out.push(difference(
            &format!("/{address}/reasons"),
            json!(case.reason),
            json!(reasons),
        ));
    }
    out
}

/// Report every difference; fail on those neither table accepts and on known bugs that did
/// not show (in the entries `mine` selects: the other test owns the rest).
fn judge(title: &str, differences: Vec<Difference>, mine: impl Fn(&Accepted) -> bool) {
    let mut intentional = vec![0_usize; INTENTIONAL.len()];
    let mut known = vec![0_usize; KNOWN_BERTH_BUGS.len()];
    let mut failing = Vec::new();
    let mut known_report = String::new();
    for d in &differences {
        if let Some(i) = INTENTIONAL.iter().position(|a| a.accepts(d)) {
            intentional[i] += 1;
        } else if let Some(i) = KNOWN_BERTH_BUGS.iter().position(|a| a.accepts(d)) {
            known[i] += 1;
            let _ = writeln!(known_report, "{}  [{}]", d.line(), KNOWN_BERTH_BUGS[i].what);
        } else {
            failing.push(d);
        }
    }
    for (entry, count) in INTENTIONAL.iter().zip(&intentional) {
        if *count > 0 {
            println!(
                "engine conformance: intentional ({count}): {} {} {}: {}",
                entry.fixture, entry.resource, entry.path, entry.what
            );
        }
    }
    if !known_report.is_empty() {
        println!("engine conformance: known berth bugs (not failing):\n{known_report}");
    }
    let fixed: Vec<&Accepted> = KNOWN_BERTH_BUGS
        .iter()
        .zip(&known)
        .filter(|(entry, count)| **count == 0 && !entry.sometimes && mine(entry))
        .map(|(entry, _)| entry)
        .collect();
    let mut report = String::new();
    if !failing.is_empty() {
        let _ = writeln!(
            report,
            "{title}: {} differences (fixture / resource / path / compose / berth)",
            failing.len()
        );
        for d in &failing {
            let _ = writeln!(report, "{}", d.line());
        }
    }
    if !fixed.is_empty() {
        let _ = writeln!(
            report,
            "\nKNOWN_BERTH_BUGS entries that no longer show (fixed? remove them):"
        );
        for entry in fixed {
            let _ = writeln!(
                report,
                "  {} / {} / {}: {}",
                entry.fixture, entry.resource, entry.path, entry.what
            );
        }
    }
    assert!(report.is_empty(), "{report}");
}

// ---------------------------------------------------------------------------------------------
// Running the tools

fn fixtures_root() -> PathBuf {
    crate::common::root().join("tests/fixtures/engine")
}

fn fixture_dirs() -> Vec<PathBuf> {
    crate::common::subdirs(&fixtures_root())
}

/// A copy of a fixture directory (the tools write state and resolve `./` paths in it).
fn copy_fixture(source: &Path) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    let dir = tempfile::Builder::new().prefix("ec-").tempdir().unwrap();
    copy(source, dir.path());
    dir
}

/// Networks and volumes a fixture declares `external: true` with a `name:` starting with
/// `ec-`: created before the fixture runs, removed (by the guard) after.
struct Externals {
    networks: Vec<String>,
    volumes: Vec<String>,
}

impl Externals {
    fn create(dir: &Path) -> Externals {
        let config = Command::new("docker")
            .args(["compose", "config", "--format", "json", "--no-interpolate"])
            .current_dir(dir)
            .output()
            .expect("docker compose runs");
        let config: Value = serde_json::from_slice(&config.stdout).unwrap_or(Value::Null);
        let external = |kind: &str| -> Vec<String> {
            config[kind]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| v["external"] == true)
                .filter_map(|(_, v)| v["name"].as_str().map(str::to_owned))
                .filter(|n| n.starts_with("ec-"))
                .collect()
        };
        let made = Externals {
            networks: external("networks"),
            volumes: external("volumes"),
        };
        for n in &made.networks {
            let _ = try_docker(&["network", "create", n]);
        }
        for v in &made.volumes {
            let _ = try_docker(&["volume", "create", v]);
        }
        made
    }
}

impl Drop for Externals {
    fn drop(&mut self) {
        for n in &self.networks {
            let _ = try_docker(&["network", "rm", n]);
        }
        for v in &self.volumes {
            let _ = try_docker(&["volume", "rm", "-f", v]);
        }
    }
}

/// `docker compose -p PROJECT ARGS` in `dir`, scrubbed environment: stdout, or the output
/// when it fails.
fn compose(dir: &Path, project: &str, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new("docker");
    cmd.env_clear();
    for key in PASSED_THROUGH_ENV {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    let out = cmd
        .arg("compose")
        .args(["-p", project])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("docker compose runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("docker compose {}: {text}", args.join(" ")))
    }
}

fn berth_run(dir: &Path, project: &str, args: &[&str]) -> crate::common::Run {
    Berth::new().dir(dir).args(["-p", project]).args(args).run()
}

/// `berth -p PROJECT ARGS` in `dir`: stdout, or everything it printed when it fails.
fn berth(dir: &Path, project: &str, args: &[&str]) -> Result<String, String> {
    let run = berth_run(dir, project, args);
    if run.0.status.success() {
        Ok(run.stdout())
    } else {
        Err(format!(
            "berth {} exited {:?}:\n{}{}",
            args.join(" "),
            run.0.status.code(),
            run.stdout(),
            run.stderr()
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Inspecting and normalising

/// Every container, network and volume of `project`, inspected and normalised, keyed by
/// resource (`container app[1]`, `network <project>_back`, `volume <project>_data`).
fn snapshot(project: &str, dir: &Path) -> BTreeMap<String, Value> {
    let filter = format!("label=com.docker.compose.project={project}");
    let list = |args: &[&str]| -> Vec<String> {
        try_docker(args)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let inspect = |kind: &[&str], ids: &[String]| -> Vec<Value> {
        if ids.is_empty() {
            return Vec::new();
        }
        let mut args = kind.to_vec();
        args.extend(ids.iter().map(String::as_str));
        let text = try_docker(&args).unwrap_or_else(|e| panic!("docker {kind:?}: {e}"));
        serde_json::from_str::<Vec<Value>>(&text).unwrap()
    };
    let containers = inspect(
        &["inspect", "--type", "container"],
        &list(&["ps", "-aq", "--no-trunc", "--filter", &filter]),
    );
    let networks = inspect(
        &["network", "inspect"],
        &list(&["network", "ls", "-q", "--no-trunc", "--filter", &filter]),
    );
    let mut volume_names = list(&["volume", "ls", "-q", "--filter", &filter]);
    // volumes the containers use without the project label (anonymous ones)
    for c in &containers {
        for m in c["Mounts"].as_array().into_iter().flatten() {
            if m["Type"] == "volume"
                && let Some(name) = m["Name"].as_str()
                && !volume_names.iter().any(|v| v == name)
                && !name.starts_with("ec-external")
            {
                volume_names.push(name.to_owned());
            }
        }
    }
    let volumes = inspect(&["volume", "inspect"], &volume_names);

    let config = Command::new("docker")
        .args(["compose", "config", "--format", "json"])
        .current_dir(dir)
        .output()
        .expect("docker compose runs");
    let config: Value = serde_json::from_slice(&config.stdout).unwrap_or(Value::Null);
    let normaliser = Normaliser::new(project, &containers);

    let mut out = BTreeMap::new();
    for c in &containers {
        let (key, value) = normaliser.container(c);
        out.insert(key, value);
    }
    for n in &networks {
        let (key, value) = normaliser.network(n, &config);
        out.insert(key, value);
    }
    for v in &volumes {
        let (key, value) = normaliser.volume(v);
        out.insert(key, value);
    }
    out
}

/// Rewrites what differs between two correct deployments of the same file: object IDs and
/// names (to `<service[n]>` and `<project>`), engine-assigned values, per-tool labels, list
/// order where the engine ignores it, and equivalent spellings.
struct Normaliser {
    project: String,
    /// (full container ID, name, token) of every container of the project.
    containers: Vec<(String, String, String)>,
}

/// HostConfig lists whose order the engine ignores.
const UNORDERED: &[&str] = &[
    "/HostConfig/CapAdd",
    "/HostConfig/CapDrop",
    "/HostConfig/GroupAdd",
    "/HostConfig/SecurityOpt",
    "/HostConfig/Links",
    "/HostConfig/VolumesFrom",
    "/HostConfig/ExtraHosts",
    "/HostConfig/Devices",
    "/HostConfig/Ulimits",
    "/HostConfig/DnsOptions",
    "/HostConfig/BlkioDeviceReadBps",
    "/HostConfig/BlkioDeviceWriteBps",
    "/HostConfig/BlkioDeviceReadIOps",
    "/HostConfig/BlkioDeviceWriteIOps",
    "/Config/Env",
];

impl Normaliser {
    fn new(project: &str, containers: &[Value]) -> Normaliser {
        let containers = containers
            .iter()
            .map(|c| {
                let id = c["Id"].as_str().unwrap_or_default().to_owned();
                let name = c["Name"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_owned();
                let labels = &c["Config"]["Labels"];
                let token = match (
                    labels["com.docker.compose.service"].as_str(),
                    labels["com.docker.compose.container-number"].as_str(),
                ) {
                    (Some(s), Some(n)) => format!("<{s}[{n}]>"),
                    _ => format!("<{name}>"),
                };
                (id, name, token)
            })
            .collect();
        Normaliser {
            project: project.to_owned(),
            containers,
        }
    }

    /// A string with container IDs and names, the project name and other IDs replaced.
    fn text(&self, s: &str) -> String {
        let mut s = s.to_owned();
        for (id, name, token) in &self.containers {
            s = s.replace(id.as_str(), token);
            if id.len() >= 12 {
                s = s.replace(&id[..12], token);
            }
            if s == *name || s == format!("/{name}") {
                s = token.clone();
            }
            if let Some(rest) = s.strip_prefix("container:")
                && rest == name
            {
                s = format!("container:{token}");
            }
            // links: `/<linked>:/<self>/<alias>`
            s = s.replace(&format!("/{name}:"), &format!("/{token}:"));
            s = s.replace(&format!("/{name}/"), &format!("/{token}/"));
            if s.starts_with(&format!("{name}:")) {
                s = s.replacen(name.as_str(), token, 1);
            }
        }
        s = s.replace(&self.project, "<project>");
        hex_ids(&s)
    }

    fn strings(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.strings(i)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    self.strings(&mut v);
                    map.insert(self.text(&k), v);
                }
            }
            _ => {}
        }
    }

    fn container(&self, c: &Value) -> (String, Value) {
        let mut c = c.clone();
        let key = {
            let labels = &c["Config"]["Labels"];
            match (
                labels["com.docker.compose.service"].as_str(),
                labels["com.docker.compose.container-number"].as_str(),
            ) {
                (Some(s), Some(n)) => format!("container {s}[{n}]"),
                _ => format!("container {}", c["Name"].as_str().unwrap_or_default()),
            }
        };
        let mut networks = Map::new();
        for (name, endpoint) in c["NetworkSettings"]["Networks"]
            .as_object()
            .cloned()
            .unwrap_or_default()
        {
            let mut kept = Map::new();
            // addresses, gateways, MACs and endpoint IDs are the engine's; what was asked
            // for is in IPAMConfig (and Config.MacAddress)
            for field in ["Aliases", "IPAMConfig", "Links", "DriverOpts"] {
                kept.insert(field.to_owned(), endpoint[field].clone());
            }
            networks.insert(name, Value::Object(kept));
        }
        let mut labels = c["Config"]["Labels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        labels.retain(|k, _| !k.starts_with(BERTH_LABEL_PREFIX));
        for k in PER_TOOL_LABELS {
            if let Some(v) = labels.get_mut(*k) {
                *v = json!("<per tool>");
            }
        }
        // compose writes depends_on in Go's random map order
        if let Some(Value::String(deps)) = labels.get_mut("com.docker.compose.depends_on") {
            let mut parts: Vec<&str> = deps.split(',').collect();
            parts.sort();
            *deps = parts.join(",");
        }
        c["Config"]["Labels"] = Value::Object(labels);
        let mut mounts = c["Mounts"].clone();
        for m in mounts.as_array_mut().into_iter().flatten() {
            let anonymous = m["Name"].as_str().is_some_and(is_hex_id);
            if anonymous {
                m["Name"] = json!("<anonymous>");
                m["Source"] = json!("<anonymous>");
            }
        }
        let mut out = json!({
            "Name": c["Name"],
            "Path": c["Path"],
            "Args": c["Args"],
            "State": { "Status": c["State"]["Status"] },
            "Platform": c["Platform"],
            "AppArmorProfile": c["AppArmorProfile"],
            "Config": c["Config"],
            "HostConfig": c["HostConfig"],
            "Mounts": mounts,
            "NetworkSettings": { "Networks": networks },
        });
        self.strings(&mut out);
        equivalent_spellings(&mut out);
        request_mounts(&mut out["HostConfig"]);
        if let Some(Value::Array(mounts)) = out.get_mut("Mounts") {
            for m in mounts.iter_mut() {
                // `Mode` repeats the request's spelling (`rw` from a bind string, `z` from a
                // Mounts entry, `` for a tmpfs); its meaning is in RW and Propagation (no
                // SELinux here to relabel for `z`)
                if let Some(m) = m.as_object_mut() {
                    m.remove("Mode");
                }
            }
            mounts.sort_by_key(|m| m["Destination"].to_string());
        }
        for path in UNORDERED {
            if let Some(Value::Array(items)) = out.pointer_mut(path) {
                items.sort_by_key(|v| v.to_string());
            }
        }
        for endpoint in out["NetworkSettings"]["Networks"]
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            if let Some(Value::Array(a)) = endpoint.get_mut("Aliases") {
                a.sort_by_key(|v| v.to_string());
            }
            if let Some(Value::Array(a)) = endpoint.get_mut("Links") {
                a.sort_by_key(|v| v.to_string());
            }
        }
        empty_is_null(&mut out);
        (key, out)
    }

    fn network(&self, n: &Value, config: &Value) -> (String, Value) {
        let mut labels = n["Labels"].as_object().cloned().unwrap_or_default();
        labels.retain(|k, _| !k.starts_with(BERTH_LABEL_PREFIX));
        for k in PER_TOOL_LABELS {
            if let Some(v) = labels.get_mut(*k) {
                *v = json!("<per tool>");
            }
        }
        let mut ipam = n["IPAM"].clone();
        // without `ipam.config` in the file the engine picks the subnet from its pools
        let key = n["Labels"]["com.docker.compose.network"]
            .as_str()
            .unwrap_or_default();
        let declared = config["networks"][key]["ipam"]["config"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        if !declared && ipam["Config"].is_array() {
            ipam["Config"] = json!("<assigned by the engine>");
        }
        let mut out = json!({
            "Name": n["Name"],
            "Driver": n["Driver"],
            "Scope": n["Scope"],
            "EnableIPv6": n["EnableIPv6"],
            "IPAM": ipam,
            "Internal": n["Internal"],
            "Attachable": n["Attachable"],
            "Ingress": n["Ingress"],
            "ConfigOnly": n["ConfigOnly"],
            "Options": n["Options"],
            "Labels": labels,
        });
        self.strings(&mut out);
        empty_is_null(&mut out);
        (
            format!("network {}", self.text(n["Name"].as_str().unwrap_or("?"))),
            out,
        )
    }

    fn volume(&self, v: &Value) -> (String, Value) {
        let mut labels = v["Labels"].as_object().cloned().unwrap_or_default();
        labels.retain(|k, _| !k.starts_with(BERTH_LABEL_PREFIX));
        for k in PER_TOOL_LABELS {
            if let Some(v) = labels.get_mut(*k) {
                *v = json!("<per tool>");
            }
        }
        let name = v["Name"].as_str().unwrap_or("?");
        let key = if is_hex_id(name) {
            // an anonymous volume: named after the container path that uses it
            "volume <anonymous>".to_owned()
        } else {
            format!("volume {}", self.text(name))
        };
        let mut out = json!({
            "Driver": v["Driver"],
            "Scope": v["Scope"],
            "Options": v["Options"],
            "Labels": labels,
        });
        self.strings(&mut out);
        empty_is_null(&mut out);
        (key, out)
    }
}

fn is_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every run of 64 hex digits (an ID no other rule named) as `<id>`.
fn hex_ids(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if run == 64 {
            out.push_str("<id>");
            i += run;
        } else if run > 0 {
            out.push_str(&s[i..i + run]);
            i += run;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Capabilities with or without `CAP_`, in any case, are the same capability; restart policy
/// `""` is `no`.
fn equivalent_spellings(c: &mut Value) {
    if c["HostConfig"]["RestartPolicy"]["Name"] == "" {
        c["HostConfig"]["RestartPolicy"]["Name"] = json!("no");
    }
    for key in ["CapAdd", "CapDrop"] {
        if let Some(Value::Array(caps)) = c["HostConfig"].get_mut(key) {
            for cap in caps.iter_mut() {
                if let Some(s) = cap.as_str() {
                    let upper = s.to_ascii_uppercase();
                    *cap = json!(upper.strip_prefix("CAP_").unwrap_or(&upper));
                }
            }
        }
    }
}

/// `HostConfig.Binds` (`src:dst:opts` strings) and `HostConfig.Mounts` (objects) are two
/// spellings of one request: both become one list of mount objects in `HostConfig.Mounts`,
/// sorted by target, with read-only, propagation and nocopy as plain fields. What only the
/// string form does, creating a missing host directory, shows as `CreateHostPath`.
fn request_mounts(host_config: &mut Value) {
    let mut all = Vec::new();
    let binds = host_config
        .as_object_mut()
        .and_then(|h| h.remove("Binds"))
        .unwrap_or(Value::Null);
    for bind in binds.as_array().into_iter().flatten() {
        let text = bind.as_str().unwrap_or_default();
        let mut parts = text.splitn(3, ':');
        let source = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or_default();
        let options: Vec<&str> = parts.next().unwrap_or_default().split(',').collect();
        let is_bind = source.starts_with('/');
        let propagation = options.iter().find(|o| {
            [
                "shared", "rshared", "slave", "rslave", "private", "rprivate",
            ]
            .contains(o)
        });
        all.push(json!({
            "Type": if is_bind { "bind" } else { "volume" },
            "Source": source,
            "Target": target,
            "ReadOnly": options.contains(&"ro"),
            "Propagation": propagation,
            "NoCopy": options.contains(&"nocopy"),
            "CreateHostPath": is_bind,
        }));
    }
    let mounts = host_config
        .as_object_mut()
        .and_then(|h| h.remove("Mounts"))
        .unwrap_or(Value::Null);
    for m in mounts.as_array().into_iter().flatten() {
        let mut m = m.as_object().cloned().unwrap_or_default();
        let read_only = m
            .remove("ReadOnly")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let mut bind = m
            .remove("BindOptions")
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        let mut volume = m
            .remove("VolumeOptions")
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        let propagation = bind.remove("Propagation").filter(|p| p != "");
        let create = bind
            .remove("CreateMountpoint")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let nocopy = volume
            .remove("NoCopy")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        m.insert("ReadOnly".into(), json!(read_only));
        m.insert("Propagation".into(), json!(propagation));
        m.insert("NoCopy".into(), json!(nocopy));
        m.insert(
            "CreateHostPath".into(),
            json!(create && m["Type"] == "bind"),
        );
        if m["Type"] != "bind" {
            m.insert("CreateHostPath".into(), json!(false));
        }
        // what is left of the options (labels, driver config, tmpfs options) is compared as is
        if !bind.is_empty() {
            m.insert("BindOptions".into(), Value::Object(bind));
        }
        if !volume.is_empty() {
            m.insert("VolumeOptions".into(), Value::Object(volume));
        }
        all.push(Value::Object(m));
    }
    all.sort_by_key(|m| m["Target"].to_string());
    host_config["Mounts"] = Value::Array(all);
}

/// An empty list or map and `null` mean the same to the engine (Go's nil slice and map).
fn empty_is_null(v: &mut Value) {
    match v {
        Value::Array(items) if items.is_empty() => *v = Value::Null,
        Value::Object(map) if map.is_empty() => *v = Value::Null,
        Value::Array(items) => items.iter_mut().for_each(empty_is_null),
        Value::Object(map) => map.values_mut().for_each(empty_is_null),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing

/// One difference: where, and what each side holds (`None`: absent).
#[derive(Debug)]
struct Difference {
    fixture: String,
    resource: String,
    path: String,
    compose: Option<Value>,
    berth: Option<Value>,
}

impl Difference {
    /// A tool that failed outright.
    fn tool(fixture: &str, what: &str, error: String) -> Difference {
        Difference {
            fixture: fixture.to_owned(),
            resource: what.to_owned(),
            path: "/exit".to_owned(),
            compose: Some(json!("success")),
            berth: Some(json!(error)),
        }
    }

    fn key(&self) -> (String, String, String, String) {
        (
            self.resource.clone(),
            self.path.clone(),
            show(self.compose.as_ref()),
            show(self.berth.as_ref()),
        )
    }

    fn line(&self) -> String {
        let berth = if self.path == "/exit" {
            // a tool's whole output: the error is at its end
            self.berth
                .as_ref()
                .and_then(Value::as_str)
                .map(|s| {
                    let lines: Vec<&str> = s.trim_end().lines().collect();
                    let tail = &lines[lines.len().saturating_sub(8)..];
                    tail.join("\n      ")
                })
                .unwrap_or_else(|| show(self.berth.as_ref()))
        } else {
            show(self.berth.as_ref())
        };
        format!(
            "  {} / {} / {} / {} / {}",
            self.fixture,
            self.resource,
            if self.path.is_empty() {
                "/"
            } else {
                &self.path
            },
            show(self.compose.as_ref()),
            berth
        )
    }
}

/// The differences between the two snapshots of `fixture`; `compared` collects every leaf
/// attribute looked at.
fn compare(
    fixture: &str,
    compose: &BTreeMap<String, Value>,
    berth: &BTreeMap<String, Value>,
    compared: &mut Vec<String>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let keys: BTreeSet<&String> = compose.keys().chain(berth.keys()).collect();
    for key in keys {
        let (c, b) = (compose.get(key), berth.get(key));
        if c.is_none() || b.is_none() {
            compared.push(key.clone());
            out.push(Difference {
                fixture: fixture.to_owned(),
                resource: key.clone(),
                path: String::new(),
                compose: c.map(|_| json!("exists")),
                berth: b.map(|_| json!("exists")),
            });
            continue;
        }
        let mut leaves = Vec::new();
        diff("", c, b, &mut leaves, compared);
        out.extend(leaves.into_iter().map(|(path, c, b)| Difference {
            fixture: fixture.to_owned(),
            resource: key.clone(),
            path,
            compose: c,
            berth: b,
        }));
    }
    out
}

type Leaf = (String, Option<Value>, Option<Value>);

fn diff(
    path: &str,
    compose: Option<&Value>,
    berth: Option<&Value>,
    out: &mut Vec<Leaf>,
    compared: &mut Vec<String>,
) {
    match (compose, berth) {
        (Some(Value::Object(left)), Some(Value::Object(right))) => {
            let keys: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
            for key in keys {
                diff(
                    &child(path, key),
                    left.get(key),
                    right.get(key),
                    out,
                    compared,
                );
            }
        }
        (Some(Value::Array(left)), Some(Value::Array(right)))
            if left.iter().any(Value::is_object) && left.len() == right.len() =>
        {
            for (i, (l, r)) in left.iter().zip(right).enumerate() {
                diff(
                    &child(path, &i.to_string()),
                    Some(l),
                    Some(r),
                    out,
                    compared,
                );
            }
        }
        (left, right) => {
            compared.push(path.to_owned());
            // absent and null are the same in an inspect (Go's omitempty)
            let null = |v: Option<&Value>| v.is_none_or(Value::is_null);
            if left != right && !(null(left) && null(right)) {
                out.push((path.to_owned(), left.cloned(), right.cloned()));
            }
        }
    }
}

/// `path` extended by one JSON pointer segment (RFC 6901 escaping).
fn child(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// Whether `pointer` matches `pattern`: segment by segment, each a glob (`*` alone matches any
/// one segment), a final `**` matching any rest.
fn pointer_matches(pattern: &str, pointer: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let pointer: Vec<&str> = pointer.split('/').collect();
    if pattern.last() == Some(&"**") {
        let fixed = &pattern[..pattern.len() - 1];
        return pointer.len() >= fixed.len()
            && fixed
                .iter()
                .zip(&pointer)
                .all(|(want, have)| glob_matches(want, have));
    }
    pattern.len() == pointer.len()
        && pattern
            .iter()
            .zip(&pointer)
            .all(|(want, have)| glob_matches(want, have))
}

/// A value as one line of the report.
fn show(value: Option<&Value>) -> String {
    show_within(value, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normaliser_names_containers_by_service_and_hides_the_project() {
        let id = "a".repeat(64);
        let c = json!({"Id": id, "Name": "/ec-x-c-app-1",
            "Config": {"Labels": {"com.docker.compose.service": "app",
                                   "com.docker.compose.container-number": "1"}}});
        let n = Normaliser::new("ec-x-c", &[c]);
        assert_eq!(n.text(&format!("container:{id}")), "container:<app[1]>");
        assert_eq!(n.text("container:ec-x-c-app-1"), "container:<app[1]>");
        assert_eq!(n.text(&id[..12]), "<app[1]>");
        assert_eq!(n.text("ec-x-c_back"), "<project>_back");
        assert_eq!(n.text(&format!("sha256:{}", "b".repeat(64))), "sha256:<id>");
    }

    #[test]
    fn patterns_match_segments_and_rests() {
        assert!(pointer_matches("/HostConfig/*", "/HostConfig/CpuShares"));
        assert!(!pointer_matches("/HostConfig/*", "/HostConfig/Ulimits/0"));
        assert!(pointer_matches(
            "/HostConfig/**",
            "/HostConfig/Ulimits/0/Soft"
        ));
        assert!(glob_matches("container *", "container app[1]"));
    }

    #[test]
    fn empty_lists_and_maps_read_as_null_and_caps_lose_their_prefix() {
        let mut v = json!({"HostConfig": {"CapAdd": ["cap_net_admin", "SYS_TIME"], "Dns": []}});
        equivalent_spellings(&mut v);
        empty_is_null(&mut v);
        assert_eq!(
            v,
            json!({"HostConfig": {"CapAdd": ["NET_ADMIN", "SYS_TIME"], "Dns": null}})
        );
    }

    #[test]
    fn every_change_names_an_action_berth_plans() {
        for case in CHANGES {
            assert!(
                ["update", "replace"].contains(&case.action),
                "{}: {}",
                case.name,
                case.action
            );
        }
    }
}
