//! The engine operations (`berth::engine::ops`) against the real Docker
//! engine: networks, volumes and containers made from specs that went
//! through the real loader and resolver, images built from a temp context,
//! and the failures a person must be able to read (unhealthy, build error,
//! no registry).
//!
//! Every test holds an [`engine_slot`] and cleans up with a [`Cleanup`]
//! guard (plus [`ImageGuard`] for tags), even when it fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use berth::compose::model::Project;
use berth::compose::{LoadOptions, load};
use berth::engine::Engine;
use berth::engine::ops::{container, image, network, owner_labels, volume};
use berth::resource::address::Kind;
use berth::resource::desired::{Desired, ResolveOptions, Resource, resolve};
use berth::resource::expected;

use crate::common::engine::{Cleanup, demo_image, docker, engine_slot, try_docker, unique_project};

const LINEAGE: &str = "test-lineage";

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    berth::engine::runtime()
        .expect("a tokio runtime")
        .block_on(future)
}

fn connect() -> Engine {
    block_on(Engine::connect(&Default::default())).unwrap_or_else(|e| panic!("{e}"))
}

/// Load `yaml` as project `name` from `dir` and resolve it.
fn resolved(dir: &Path, name: &str, yaml: &str) -> (Project, Desired) {
    std::fs::write(dir.join("compose.yaml"), yaml).unwrap();
    let loaded = load(LoadOptions {
        working_dir: dir.to_path_buf(),
        project_name: Some(name.to_string()),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{e:?}"));
    let desired =
        resolve(&loaded.project, &ResolveOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    (loaded.project, desired)
}

fn resource<'a>(desired: &'a Desired, address: &str) -> &'a Resource {
    &desired.resources[&address.parse().unwrap()]
}

/// Create the project's networks and volumes, as the executor will.
fn create_networks_and_volumes(engine: &Engine, project: &Project, desired: &Desired) {
    for r in desired.resources.values() {
        match r.address.kind {
            Kind::Network => {
                let labels = owner_labels(&project.name, r, LINEAGE);
                block_on(network::create(
                    engine,
                    &r.engine_name,
                    r.typed().network().unwrap(),
                    &labels,
                ))
                .unwrap_or_else(|e| panic!("{e}"));
            }
            Kind::Volume => {
                let labels = owner_labels(&project.name, r, LINEAGE);
                block_on(volume::create(
                    engine,
                    &r.engine_name,
                    r.typed().volume().unwrap(),
                    &labels,
                ))
                .unwrap_or_else(|e| panic!("{e}"));
            }
            _ => {}
        }
    }
}

/// Create (not start) `container.<service>[1]`; its ID.
fn create_container(
    engine: &Engine,
    project: &Project,
    desired: &Desired,
    service: &str,
) -> String {
    let r = resource(desired, &format!("container.{service}[1]"));
    let image_id = block_on(image::inspect_id(engine, demo_image()))
        .unwrap()
        .expect("the demo image exists");
    let labels = container::container_labels(project, r, &image_id, LINEAGE);
    let spec = r.typed().container().unwrap();
    let files = expected::file_mounts(spec, project);
    let view = expected::expected(spec, service, project, &labels, &files);
    block_on(container::create(engine, &r.engine_name, None, &view))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn inspect(what: &str, format: &str) -> String {
    docker(&["inspect", "-f", format, what])
}

/// Removes an image tag when dropped (also when the test panics).
struct ImageGuard(String);

impl Drop for ImageGuard {
    fn drop(&mut self) {
        let _ = try_docker(&["rmi", "-f", &self.0]);
    }
}

#[test]
fn a_container_lands_with_every_attribute_on_two_networks_and_compose_lists_it() {
    let _slot = engine_slot();
    let project = unique_project("ops-ctr");
    let _cleanup = Cleanup::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "services:
  app:
    image: {image}
    command: [\"kv\"]
    environment:
      GREETING: hello
      EMPTY: \"\"
    labels:
      dev.example.team: core
    ports: [\"127.0.0.1::6379\"]
    volumes: [\"data:/data\"]
    restart: unless-stopped
    mem_limit: 64m
    stop_grace_period: 1s
    healthcheck:
      test: [\"CMD\", \"/berth-demo\", \"probe\", \"tcp\", \"127.0.0.1:6379\"]
      interval: 1s
      timeout: 2s
      retries: 5
    networks:
      front:
        aliases: [app-alias]
      back: {{}}
networks:
  front: {{}}
  back: {{}}
volumes:
  data: {{}}
",
        image = demo_image()
    );
    let (p, desired) = resolved(dir.path(), &project, &yaml);
    let engine = connect();
    let started = Instant::now();
    create_networks_and_volumes(&engine, &p, &desired);
    let id = create_container(&engine, &p, &desired, "app");
    block_on(container::start(&engine, &id)).unwrap_or_else(|e| panic!("{e}"));
    block_on(container::wait_healthy(
        &engine,
        &id,
        Duration::from_secs(30),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let up = started.elapsed();

    let name = format!("{project}-app-1");
    assert_eq!(inspect(&id, "{{.Name}}"), format!("/{name}"));
    let env = inspect(&id, "{{json .Config.Env}}");
    assert!(
        env.contains("\"GREETING=hello\"") && env.contains("\"EMPTY=\""),
        "{env}"
    );
    let labels = inspect(&id, "{{json .Config.Labels}}");
    for expected in [
        "\"dev.example.team\":\"core\"".to_string(),
        format!("\"com.docker.compose.project\":\"{project}\""),
        "\"com.docker.compose.service\":\"app\"".to_string(),
        "\"com.docker.compose.container-number\":\"1\"".to_string(),
        "\"com.docker.compose.oneoff\":\"False\"".to_string(),
        "\"dev.berth.address\":\"container.app[1]\"".to_string(),
        format!(
            "\"dev.berth.spec-hash\":\"{}\"",
            resource(&desired, "container.app[1]").spec_hash
        ),
        format!("\"dev.berth.lineage\":\"{LINEAGE}\""),
    ] {
        assert!(labels.contains(&expected), "{expected} not in {labels}");
    }
    assert_eq!(
        inspect(&id, "{{.HostConfig.RestartPolicy.Name}}"),
        "unless-stopped"
    );
    assert_eq!(inspect(&id, "{{.HostConfig.Memory}}"), "67108864");
    assert_eq!(
        inspect(
            &id,
            "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}"
        ),
        format!("volume {project}_data /data")
    );
    // both networks, each with the service name, the container name and the spec's aliases
    let front = inspect(
        &id,
        &format!("{{{{json (index .NetworkSettings.Networks \"{project}_front\").Aliases}}}}"),
    );
    let back = inspect(
        &id,
        &format!("{{{{json (index .NetworkSettings.Networks \"{project}_back\").Aliases}}}}"),
    );
    for aliases in [&front, &back] {
        assert!(
            aliases.contains("\"app\"") && aliases.contains(&format!("\"{name}\"")),
            "{aliases}"
        );
    }
    assert!(front.contains("\"app-alias\""), "{front}");
    assert_eq!(
        docker(&[
            "network",
            "inspect",
            "-f",
            "{{index .Labels \"com.docker.compose.network\"}}",
            &format!("{project}_front")
        ]),
        "front"
    );
    let binding = inspect(&id, "{{json (index .NetworkSettings.Ports \"6379/tcp\")}}");
    assert!(binding.contains("\"HostIp\":\"127.0.0.1\""), "{binding}");
    assert!(!binding.contains("\"HostPort\":\"\""), "{binding}");
    // docker compose sees berth's container as one of the project's
    let listed = docker(&[
        "compose",
        "-p",
        &project,
        "ps",
        "--format",
        "{{.Name}} {{.Service}}",
    ]);
    assert_eq!(listed, format!("{name} app"));

    // in place: restart policy, memory, CPUs
    let to = expected::Updatable {
        restart: "on-failure:3".into(),
        memory: 128 << 20,
        memory_swap: 256 << 20,
        nano_cpus: 500_000_000,
        ..Default::default()
    };
    block_on(container::update_in_place(&engine, &id, &to)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        inspect(
            &id,
            "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}"
        ),
        "on-failure:3 134217728 500000000"
    );
    block_on(container::rename(&engine, &id, &format!("{name}-old")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inspect(&id, "{{.Name}}"), format!("/{name}-old"));
    block_on(container::stop(
        &engine,
        &id,
        None,
        Some(Duration::from_secs(1)),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inspect(&id, "{{.State.Status}}"), "exited");

    // removal, and removing again is fine
    block_on(container::remove(&engine, &id, false)).unwrap_or_else(|e| panic!("{e}"));
    block_on(container::remove(&engine, &id, false)).unwrap_or_else(|e| panic!("{e}"));
    for net in ["front", "back"] {
        let net = format!("{project}_{net}");
        block_on(network::remove(&engine, &net)).unwrap_or_else(|e| panic!("{e}"));
        block_on(network::remove(&engine, &net)).unwrap_or_else(|e| panic!("{e}"));
    }
    let vol = format!("{project}_data");
    block_on(volume::remove(&engine, &vol)).unwrap_or_else(|e| panic!("{e}"));
    block_on(volume::remove(&engine, &vol)).unwrap_or_else(|e| panic!("{e}"));
    assert!(try_docker(&["network", "inspect", &format!("{project}_front")]).is_err());
    assert!(try_docker(&["volume", "inspect", &vol]).is_err());
    eprintln!(
        "created, started and healthy in {up:?} (API {})",
        engine.api_version()
    );
}

#[test]
fn an_existing_network_of_the_same_name_is_refused_not_duplicated() {
    let _slot = engine_slot();
    let project = unique_project("ops-dup");
    let mut cleanup = Cleanup::new(&project);
    let name = format!("{project}_net");
    cleanup.network(&name);
    let engine = connect();
    let spec = berth::resource::spec::NetworkSpec {
        name: name.clone(),
        ..Default::default()
    };
    block_on(network::create(&engine, &name, &spec, &BTreeMap::new()))
        .unwrap_or_else(|e| panic!("{e}"));
    let err = block_on(network::create(&engine, &name, &spec, &BTreeMap::new())).unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(
        docker(&["network", "ls", "-q", "--filter", &format!("name=^{name}$")])
            .lines()
            .count(),
        1
    );
}

#[test]
fn an_unhealthy_container_fails_naming_it_with_the_probe_output() {
    let _slot = engine_slot();
    let project = unique_project("ops-sick");
    let _cleanup = Cleanup::new(&project);
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "services:
  sick:
    image: {}
    command: [\"sleep\"]
    healthcheck:
      test: [\"CMD\", \"/berth-demo\", \"probe\", \"tcp\", \"127.0.0.1:1\"]
      interval: 1s
      timeout: 1s
      retries: 1
  done:
    image: {}
    command: [\"exit\", \"3\"]
",
        demo_image(),
        demo_image()
    );
    let (p, desired) = resolved(dir.path(), &project, &yaml);
    let engine = connect();
    create_networks_and_volumes(&engine, &p, &desired);
    let sick = create_container(&engine, &p, &desired, "sick");
    let done = create_container(&engine, &p, &desired, "done");
    block_on(container::start(&engine, &sick)).unwrap_or_else(|e| panic!("{e}"));
    block_on(container::start(&engine, &done)).unwrap_or_else(|e| panic!("{e}"));

    let started = Instant::now();
    let err = block_on(container::wait_healthy(
        &engine,
        &sick,
        Duration::from_secs(30),
    ))
    .unwrap_err();
    let message = err.to_string();
    eprintln!("{message}");
    assert!(
        message.starts_with(&format!(
            "failed to wait for container `{project}-sick-1` to be healthy: it is unhealthy"
        )),
        "{message}"
    );
    assert!(
        message.contains("probe tcp 127.0.0.1:1: failed"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );

    // a container without a healthcheck cannot turn healthy; one that exits reports its code
    let bound = Duration::from_secs(30);
    assert_eq!(
        block_on(container::wait_exit(&engine, &done, bound)).unwrap(),
        3
    );
    // a wait has a bound, and says what it waited for when it gives up
    let err = block_on(container::wait_exit(
        &engine,
        &sick,
        Duration::from_millis(300),
    ))
    .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "failed to wait for container `{sick}` to exit: it is still running after"
        )),
        "{err}"
    );
    let err = block_on(container::wait_healthy(
        &engine,
        &done,
        Duration::from_secs(5),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("has no healthcheck"), "{err}");
}

#[test]
fn a_build_sends_the_context_without_ignored_files_and_tags_the_image() {
    let _slot = engine_slot();
    let project = unique_project("ops-build");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "kept").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "ignored").unwrap();
    std::fs::write(dir.path().join(".dockerignore"), "secret.txt\n").unwrap();
    let yaml = format!(
        "services:
  app:
    build:
      context: .
      dockerfile_inline: |
        FROM {}
        ARG FLAVOUR
        COPY keep.txt /keep.txt
        LABEL dev.berth.test.flavour=$$FLAVOUR
      args:
        FLAVOUR: mint
      labels:
        dev.berth.test.built: \"yes\"
",
        demo_image()
    );
    let (p, desired) = resolved(dir.path(), &project, &yaml);
    let r = resource(&desired, "image.app");
    let tag = r.engine_name.clone();
    assert_eq!(tag, format!("{project}-app"));
    let _image = ImageGuard(tag.clone());
    let engine = connect();
    let labels = BTreeMap::from([("com.docker.compose.project".to_string(), p.name.clone())]);
    let mut lines = Vec::new();
    let started = Instant::now();
    let id = block_on(image::build(
        &engine,
        &tag,
        r.typed().image().unwrap().build.as_ref().unwrap(),
        &labels,
        &[],
        |l| lines.push(l.to_string()),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("built in {:?}", started.elapsed());
    assert_eq!(docker(&["image", "inspect", "-f", "{{.Id}}", &tag]), id);
    let image_labels = docker(&["image", "inspect", "-f", "{{json .Config.Labels}}", &tag]);
    for expected in [
        "\"dev.berth.test.flavour\":\"mint\"",
        "\"dev.berth.test.built\":\"yes\"",
        &format!("\"com.docker.compose.project\":\"{project}\""),
    ] {
        assert!(
            image_labels.contains(expected),
            "{expected} not in {image_labels}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("COPY keep.txt")),
        "{lines:?}"
    );

    // the ignored file never reached the builder: copying it is a build error, on one line
    let failing = berth::resource::spec::BuildSpec {
        context: dir.path().display().to_string(),
        context_hash: String::new(),
        dockerfile: None,
        dockerfile_content: Some(format!(
            "FROM {}\nCOPY secret.txt /secret.txt\n",
            demo_image()
        )),
        args: BTreeMap::new(),
        target: None,
        labels: BTreeMap::new(),
        network: None,
    };
    let bad_tag = format!("{project}-bad");
    let _bad = ImageGuard(bad_tag.clone());
    let err = block_on(image::build(
        &engine,
        &bad_tag,
        &failing,
        &BTreeMap::new(),
        &[],
        |_| {},
    ))
    .unwrap_err();
    let message = err.to_string();
    eprintln!("{message}");
    assert!(
        message.starts_with(&format!("failed to build image `{bad_tag}`: COPY failed")),
        "{message}"
    );
    assert!(message.contains("secret.txt"), "{message}");
    assert!(message.contains("last output:"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn pulling_without_a_registry_fails_fast_naming_the_image() {
    let _slot = engine_slot();
    let engine = connect();
    let started = Instant::now();
    let err = block_on(image::pull(&engine, "redis:alpine")).unwrap_err();
    let message = err.to_string();
    eprintln!("{message}");
    assert!(
        message.starts_with("failed to pull image `redis:alpine`: "),
        "{message}"
    );
    assert!(message.contains("no registry is reachable"), "{message}");
    assert!(message.contains("build the image locally"), "{message}");
    assert!(!message.contains('\n'), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_container_takes_every_attribute_the_model_holds() {
    let _slot = engine_slot();
    let project = unique_project("ops-all");
    let _cleanup = Cleanup::new(&project);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), "s3cret").unwrap();
    std::fs::write(dir.path().join("app.conf"), "conf").unwrap();
    let yaml = format!(
        "services:
  all:
    image: {}
    entrypoint: [\"/berth-demo\"]
    command: [\"sleep\"]
    user: \"1000:1000\"
    working_dir: /tmp
    hostname: allhost
    init: true
    read_only: true
    shm_size: 32m
    cpus: 0.5
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    devices: [\"/dev/null:/dev/mynull\"]
    extra_hosts: [\"somehost=10.1.2.3\"]
    dns: [\"10.0.0.53\"]
    ulimits:
      nofile: {{soft: 1024, hard: 2048}}
    sysctls:
      net.core.somaxconn: 1024
    logging:
      driver: json-file
      options:
        max-size: 1m
    security_opt: [\"no-new-privileges:true\"]
    stop_signal: SIGINT
    stop_grace_period: 3s
    tmpfs: [\"/scratch:size=1m\"]
    tty: true
    stdin_open: true
    expose: [\"7000\"]
    volumes:
      - type: tmpfs
        target: /cache
        tmpfs: {{size: 2m}}
      - type: bind
        source: .
        target: /src
        read_only: true
    secrets: [token]
    configs:
      - source: conf
        target: /etc/app.conf
secrets:
  token:
    file: ./token.txt
configs:
  conf:
    file: ./app.conf
",
        demo_image()
    );
    let (p, desired) = resolved(dir.path(), &project, &yaml);
    let engine = connect();
    create_networks_and_volumes(&engine, &p, &desired);
    let id = create_container(&engine, &p, &desired, "all");
    block_on(container::start(&engine, &id)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inspect(&id, "{{.State.Status}}"), "running");
    let host = "{{.HostConfig.Init}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.ShmSize}} \
                {{.HostConfig.NanoCpus}} {{.HostConfig.CapAdd}} {{.HostConfig.CapDrop}} \
                {{.HostConfig.ExtraHosts}} {{.HostConfig.Dns}} {{.HostConfig.SecurityOpt}} \
                {{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}} \
                {{index .HostConfig.Sysctls \"net.core.somaxconn\"}} {{.HostConfig.Tmpfs}}";
    assert_eq!(
        inspect(&id, host),
        "true true 33554432 500000000 [NET_ADMIN] [MKNOD] [somehost:10.1.2.3] [10.0.0.53] \
         [no-new-privileges:true] json-file 1m 1024 map[/scratch:size=1m]"
    );
    assert_eq!(
        inspect(
            &id,
            "{{range .HostConfig.Ulimits}}{{.Name}}={{.Soft}}:{{.Hard}}{{end}} {{range .HostConfig.Devices}}{{.PathOnHost}}>{{.PathInContainer}}:{{.CgroupPermissions}}{{end}}"
        ),
        "nofile=1024:2048 /dev/null>/dev/mynull:rwm"
    );
    let config = "{{.Config.User}} {{.Config.WorkingDir}} {{.Config.Hostname}} {{.Config.StopSignal}} \
                  {{.Config.StopTimeout}} {{.Config.Tty}} {{.Config.OpenStdin}} {{.Config.Entrypoint}} \
                  {{.Config.Cmd}} {{json .Config.ExposedPorts}}";
    assert_eq!(
        inspect(&id, config),
        "1000:1000 /tmp allhost SIGINT 3 true true [/berth-demo] [sleep] {\"7000/tcp\":{}}"
    );
    let mounts = inspect(
        &id,
        "{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.RW}};{{end}}",
    );
    let dir_path = dir.path().canonicalize().unwrap();
    for expected in [
        "tmpfs  /cache true;".to_string(),
        format!("bind {} /src false;", dir_path.display()),
        format!(
            "bind {} /run/secrets/token false;",
            dir_path.join("token.txt").display()
        ),
        format!(
            "bind {} /etc/app.conf false;",
            dir_path.join("app.conf").display()
        ),
    ] {
        assert!(mounts.contains(&expected), "{expected} not in {mounts}");
    }
    block_on(container::stop(&engine, &id, Some("SIGKILL"), None))
        .unwrap_or_else(|e| panic!("{e}"));
    block_on(container::remove(&engine, &id, true)).unwrap_or_else(|e| panic!("{e}"));
}
