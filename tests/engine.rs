//! The engine module against the real Docker engine: connecting (and the
//! one-line errors when that fails) and observing what `docker` made by hand.
//!
//! Every test that touches the engine holds an [`engine_slot`] and cleans up
//! its project with a [`Cleanup`] guard, even when it fails.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use berth::engine::{Engine, EngineError, Lookup};
use berth::observed::{Observed, ObservedPort};

use crate::common::engine::{
    Cleanup, DEMO_IMAGE, demo_image, docker, engine_slot, label, unique_project,
};

/// Run an engine future to completion from a synchronous test.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    berth::engine::runtime()
        .expect("a tokio runtime")
        .block_on(future)
}

fn connect() -> Engine {
    block_on(Engine::connect(&Default::default())).unwrap_or_else(|e| panic!("{e}"))
}

fn observe(project: &str, networks: &[&str], volumes: &[&str], images: &[&str]) -> Observed {
    let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let engine = connect();
    let (networks, volumes, images) = (owned(networks), owned(volumes), owned(images));
    let lookup = Lookup {
        containers: &[],
        networks: &networks,
        volumes: &volumes,
        images: &images,
    };
    block_on(engine.observe(project, &lookup)).unwrap_or_else(|e| panic!("{e}"))
}

fn service_label(service: &str) -> String {
    format!("com.docker.compose.service={service}")
}

#[test]
fn connect_negotiates_the_engines_api_version() {
    let _slot = engine_slot();
    let engine = connect();
    // bollard speaks 1.53; the engine here speaks 1.41, and the lower wins.
    let server = docker(&["version", "-f", "{{.Server.APIVersion}}"]);
    let expected = if version_key(&server) < version_key("1.53") {
        server
    } else {
        "1.53".to_string()
    };
    assert_eq!(engine.api_version(), expected);
    assert!(engine.api_at_least(1, 41));
    assert!(!engine.api_at_least(1, 54));
    assert_eq!(engine.host(), expected_host());
}

fn version_key(v: &str) -> (u32, u32) {
    let (major, minor) = v.split_once('.').expect("an API version like 1.41");
    (major.parse().unwrap(), minor.parse().unwrap())
}

fn expected_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| berth::engine::DEFAULT_HOST.to_string())
}

#[test]
fn an_empty_project_observes_nothing() {
    let _slot = engine_slot();
    let project = unique_project("empty");
    let observed = observe(&project, &[], &[], &[]);
    assert_eq!(observed, Observed::default());
}

#[test]
fn a_running_container_is_observed_with_its_settings() {
    let _slot = engine_slot();
    let p = unique_project("run");
    let _cleanup = Cleanup::new(&p);
    let net = format!("{p}_net");
    let name = format!("{p}-web-1");
    docker(&["network", "create", "--label", &label(&p), &net]);
    let id = docker(&[
        "run",
        "-d",
        "--label",
        &label(&p),
        "--label",
        &service_label("web"),
        "--name",
        &name,
        "--network",
        &net,
        "--network-alias",
        "web",
        "--restart",
        "always",
        "--memory",
        "64m",
        "--cpus",
        "0.5",
        "-p",
        "127.0.0.1::80",
        demo_image(),
        "sleep",
    ]);
    let image_id = docker(&["image", "inspect", "-f", "{{.Id}}", DEMO_IMAGE]);

    let observed = observe(&p, &[], &[], &[]);

    assert_eq!(observed.containers.len(), 1, "{observed:#?}");
    let c = &observed.containers[0];
    assert_eq!(c.id, id);
    assert_eq!(c.name, name);
    assert_eq!(
        c.labels,
        BTreeMap::from([
            ("com.docker.compose.project".to_string(), p.clone()),
            ("com.docker.compose.service".to_string(), "web".to_string()),
            // The image's own label shows through, as the engine merges them.
            ("dev.berth.test".to_string(), "demo".to_string()),
        ])
    );
    assert_eq!(c.state, "running");
    assert_eq!(c.exit_code, None);
    assert_eq!(c.health, None);
    assert_eq!(c.image, DEMO_IMAGE);
    assert_eq!(c.image_id, image_id);
    assert_eq!(c.updatable.restart, "always");
    assert_eq!(c.updatable.memory, 64 * 1024 * 1024);
    assert_eq!(c.updatable.nano_cpus, 500_000_000);
    // Only the alias asked for: not the short container ID the engine adds.
    assert_eq!(
        c.networks,
        BTreeMap::from([(net.clone(), vec!["web".to_string()])])
    );
    assert_eq!(
        c.ports,
        vec![ObservedPort {
            host_ip: "127.0.0.1".to_string(),
            host_port: String::new(),
            container_port: 80,
            protocol: "tcp".to_string(),
        }]
    );
    assert_eq!(observed.networks.len(), 1, "{observed:#?}");
    assert_eq!(observed.networks[0].name, net);
    assert_eq!(observed.networks[0].driver, "bridge");
    assert_eq!(
        observed.networks[0].labels,
        BTreeMap::from([("com.docker.compose.project".to_string(), p.clone())])
    );
}

#[test]
fn a_stopped_container_shows_exited_and_its_exit_code() {
    let _slot = engine_slot();
    let p = unique_project("stop");
    let _cleanup = Cleanup::new(&p);
    let name = format!("{p}-job-1");
    docker(&[
        "run",
        "-d",
        "--label",
        &label(&p),
        "--name",
        &name,
        "--restart",
        "on-failure:3",
        demo_image(),
        "exit",
        "3",
    ]);
    // With on-failure:3 the engine restarts it three times, then leaves it exited.
    let deadline = Instant::now() + Duration::from_secs(30);
    let container = loop {
        let observed = observe(&p, &[], &[], &[]);
        let c = observed.containers.into_iter().next().expect("the job");
        if c.state == "exited" || Instant::now() > deadline {
            break c;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(container.name, name);
    assert_eq!(container.state, "exited");
    assert_eq!(container.exit_code, Some(3));
    assert_eq!(container.updatable.restart, "on-failure:3");
    assert_eq!(container.updatable.memory, 0);
    assert_eq!(container.ports, vec![]);
    // No user-defined network: on the default bridge, without aliases.
    assert_eq!(
        container.networks,
        BTreeMap::from([("bridge".to_string(), vec![])])
    );
}

#[test]
fn a_healthcheck_reports_health() {
    use bollard::models::{ContainerCreateBody, HealthConfig};
    use bollard::query_parameters::CreateContainerOptionsBuilder;

    let _slot = engine_slot();
    let p = unique_project("health");
    let _cleanup = Cleanup::new(&p);
    let engine = connect();
    let name = format!("{p}-web-1");
    // FROM scratch has no shell, so the check must be exec-form (`CMD`),
    // which the docker CLI cannot express: create it through bollard.
    let body = ContainerCreateBody {
        image: Some(demo_image().to_string()),
        cmd: Some(vec!["web".to_string()]),
        labels: Some(HashMap::from([(
            "com.docker.compose.project".to_string(),
            p.clone(),
        )])),
        healthcheck: Some(HealthConfig {
            test: Some(
                ["CMD", "/berth-demo", "probe", "tcp", "127.0.0.1:5000"]
                    .map(String::from)
                    .to_vec(),
            ),
            interval: Some(200_000_000),
            timeout: Some(2_000_000_000),
            retries: Some(3),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::new().name(&name).build();
    block_on(engine.docker().create_container(Some(options), body)).expect("create");
    block_on(engine.docker().start_container(&name, None)).expect("start");

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let observed = block_on(engine.observe(&p, &Lookup::default())).expect("observe");
        let health = observed.containers[0].health.clone();
        if seen.last() != Some(&health) {
            seen.push(health.clone());
        }
        if health.as_deref() == Some("healthy") || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(seen.last(), Some(&Some("healthy".to_string())), "{seen:?}");
    assert!(
        seen.iter()
            .all(|h| matches!(h.as_deref(), Some("starting" | "healthy"))),
        "{seen:?}"
    );
}

#[test]
fn only_the_projects_containers_are_observed_sorted_by_name() {
    let _slot = engine_slot();
    let p = unique_project("only");
    // A project whose name starts with ours: the label filter must be exact.
    let other = format!("{p}-other");
    let _cleanup = Cleanup::new(&p);
    let _cleanup_other = Cleanup::new(&other);
    // Created, not started: observation needs no running process.
    for (project, name) in [
        (&p, format!("{p}-web-2")),
        (&other, format!("{other}-web-1")),
        (&p, format!("{p}-web-1")),
    ] {
        docker(&[
            "create",
            "--label",
            &label(project),
            "--name",
            &name,
            demo_image(),
        ]);
    }

    let observed = observe(&p, &[], &[], &[]);

    let names: Vec<&str> = observed
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, [format!("{p}-web-1"), format!("{p}-web-2")]);
    assert!(observed.containers.iter().all(|c| c.state == "created"));
    assert!(observed.containers.iter().all(|c| c.exit_code.is_none()));
    assert!(
        observed
            .containers
            .iter()
            .all(|c| c.updatable.restart == "no")
    );
}

#[test]
fn containers_expected_by_name_count_only_when_the_project_lists_them() {
    let _slot = engine_slot();
    let p = unique_project("expect");
    let other = format!("{p}-other");
    let _cleanup = Cleanup::new(&p);
    let _cleanup_other = Cleanup::new(&other);
    // ours: expected by name and labelled; and one nobody expects (an orphan)
    let ours = format!("{p}-web-1");
    let orphan = format!("{p}-old-1");
    // named as the plan expects, but another project's: must not be observed
    let foreign = format!("{p}-db-1");
    for (project, name) in [(&p, &ours), (&p, &orphan), (&other, &foreign)] {
        docker(&[
            "create",
            "--label",
            &label(project),
            "--name",
            name,
            demo_image(),
        ]);
    }
    let expected = vec![ours.clone(), foreign.clone(), format!("{p}-missing-1")];
    let lookup = Lookup {
        containers: &expected,
        ..Lookup::default()
    };

    let observed = block_on(connect().observe(&p, &lookup)).unwrap_or_else(|e| panic!("{e}"));

    let names: Vec<&str> = observed
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, [orphan.as_str(), ours.as_str()]);
}

#[test]
fn networks_and_volumes_named_explicitly_are_found_without_our_labels() {
    let _slot = engine_slot();
    let p = unique_project("named");
    let mut cleanup = Cleanup::new(&p);
    let external = format!("{p}-ext");
    let longer = format!("{p}-ext-more"); // contains the name: must not match
    let data = format!("{p}-data");
    let data_longer = format!("{p}-data-more");
    for name in [&external, &longer] {
        cleanup.network(name);
        docker(&["network", "create", "--internal", name]);
    }
    for name in [&data, &data_longer] {
        cleanup.volume(name);
        docker(&["volume", "create", name]);
    }
    let labelled_net = format!("{p}_default");
    let labelled_vol = format!("{p}_cache");
    docker(&["network", "create", "--label", &label(&p), &labelled_net]);
    docker(&["volume", "create", "--label", &label(&p), &labelled_vol]);

    let missing = format!("{p}-missing");
    let observed = observe(
        &p,
        &[&external, &missing, &labelled_net],
        &[&data, &missing],
        &[],
    );

    let networks: Vec<(&str, bool, usize)> = observed
        .networks
        .iter()
        .map(|n| (n.name.as_str(), n.internal, n.labels.len()))
        .collect();
    assert_eq!(
        networks,
        [
            (external.as_str(), true, 0),
            (labelled_net.as_str(), false, 1)
        ]
    );
    let volumes: Vec<(&str, &str, usize)> = observed
        .volumes
        .iter()
        .map(|v| (v.name.as_str(), v.driver.as_str(), v.labels.len()))
        .collect();
    assert_eq!(
        volumes,
        [
            (data.as_str(), "local", 0),
            (labelled_vol.as_str(), "local", 1)
        ]
    );
}

#[test]
fn image_references_resolve_to_local_ids_and_missing_ones_are_absent() {
    let _slot = engine_slot();
    let image = demo_image();
    let id = docker(&["image", "inspect", "-f", "{{.Id}}", image]);
    let project = unique_project("img");

    let observed = observe(
        &project,
        &[],
        &[],
        &[image, "berth-test-demo", "berth-test-missing:never", image],
    );

    assert_eq!(
        observed.images,
        BTreeMap::from([
            (image.to_string(), id.clone()),
            // Without a tag, as the engine reads it: `latest`.
            ("berth-test-demo".to_string(), id),
        ])
    );
}

#[test]
fn a_missing_socket_is_one_line_naming_it() {
    let err = block_on(Engine::connect_to(Some("unix:///nonexistent.sock"))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot connect to the Docker engine at unix:///nonexistent.sock (from DOCKER_HOST): no such file (is dockerd running? start it, or choose another engine with -H, DOCKER_HOST or --context)"
    );
}

#[test]
fn a_socket_nobody_listens_on_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker.sock");
    // Bound, then closed: the file stays, nobody accepts.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let host = format!("unix://{}", path.display());
    let err = block_on(Engine::connect_to(Some(&host))).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot connect to the Docker engine at {host} (from DOCKER_HOST): connection refused (is dockerd running? start it, or choose another engine with -H, DOCKER_HOST or --context)"
        )
    );

    // The same over TCP: port 1 on loopback has no listener.
    let err = block_on(Engine::connect_to(Some("tcp://127.0.0.1:1"))).unwrap_err();
    assert!(matches!(err, EngineError::Connect { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "cannot connect to the Docker engine at tcp://127.0.0.1:1 (from DOCKER_HOST): connection refused (is the engine listening there? a TLS port needs DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)"
    );
}

#[test]
fn connect_honours_docker_host() {
    // Env vars are process-global: set DOCKER_HOST only in a child process,
    // which runs the test below.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "engine::connect_from_env_in_a_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .env("BERTH_TEST_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "error: cannot connect to the Docker engine at unix:///nonexistent.sock (from DOCKER_HOST): no such file (is dockerd running? start it, or choose another engine with -H, DOCKER_HOST or --context)\n"
        ),
        "{stdout}"
    );
}

#[test]
#[ignore = "run by connect_honours_docker_host with DOCKER_HOST set"]
fn connect_from_env_in_a_child() {
    if std::env::var_os("BERTH_TEST_CHILD").is_none() {
        return;
    }
    let err = block_on(Engine::connect(&Default::default())).unwrap_err();
    println!("error: {err}");
}
