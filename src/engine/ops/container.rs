//! Containers: create one as its expected view says
//! ([`crate::resource::expected`]), start, stop, remove, update in place,
//! rename, and wait for health or exit.
//!
//! API 1.44 takes all networks at create; older engines (20.10 is API 1.41)
//! take one, so the others are connected right after create, before
//! [`start`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerStateStatusEnum, ContainerUpdateBody, HealthStatusEnum, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, RenameContainerOptions, StopContainerOptions,
    UploadToContainerOptions,
};

use super::failed;
use crate::compose::model::Project;
use crate::engine::{Engine, EngineError};
use crate::resource::desired::Resource;
use crate::resource::expected::{Expected, Injected, Updatable};
use crate::resource::labels as l;

/// How often [`wait_healthy`] and [`wait_exit`] look at the container.
const POLL: Duration = Duration::from_millis(200);

/// The labels compose and berth put on a container, beside the spec's own
/// `labels:`: compose's project, service, container number, one-off,
/// working dir, config files, depends_on, image, version (berth's) and
/// config hash (berth's spec hash: `docker compose ps` lists only containers
/// that carry one), and berth's address, spec hash and lineage. `image_id` is
/// the ID of the image it runs (compose's `com.docker.compose.image`).
pub fn container_labels(
    project: &Project,
    resource: &Resource,
    image_id: &str,
    lineage: &str,
) -> BTreeMap<String, String> {
    let service = resource.address.service().unwrap_or_default();
    let number = resource.typed().container().map_or(1, |c| c.number);
    let depends_on = project
        .services
        .get(service)
        .map(|s| {
            s.depends_on
                .iter()
                .map(|(name, d)| {
                    let condition = serde_json::to_value(d.condition)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    format!("{name}:{condition}:{}", d.restart)
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let config_files = project
        .config_files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    BTreeMap::from([
        (l::PROJECT.to_string(), project.name.clone()),
        (l::SERVICE.to_string(), service.to_string()),
        (l::CONTAINER_NUMBER.to_string(), number.to_string()),
        (l::ONEOFF.to_string(), "False".to_string()),
        (
            l::WORKING_DIR.to_string(),
            project.working_dir.display().to_string(),
        ),
        (l::CONFIG_FILES.to_string(), config_files),
        (l::DEPENDS_ON.to_string(), depends_on),
        (l::IMAGE.to_string(), image_id.to_string()),
        (
            l::VERSION.to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        (l::CONFIG_HASH.to_string(), resource.spec_hash.clone()),
        (l::ADDRESS.to_string(), resource.address.to_string()),
        (l::SPEC_HASH.to_string(), resource.spec_hash.clone()),
        (l::LINEAGE.to_string(), lineage.to_string()),
    ])
}

/// Create the container `expected` describes (not started); its ID. On
/// engines before API 1.44 the networks beyond the first are connected here,
/// before start; if that fails the container is removed again, so no
/// half-wired container is left.
pub async fn create(
    engine: &Engine,
    name: &str,
    platform: Option<&str>,
    expected: &Expected,
) -> Result<String, EngineError> {
    let all_at_create = engine.api_at_least(1, 44);
    let mut body = expected.body.clone();
    let later: Vec<_> = if all_at_create {
        body.networking_config = (!expected.networks.is_empty()).then(|| NetworkingConfig {
            endpoints_config: Some(expected.networks.iter().cloned().collect()),
        });
        Vec::new()
    } else {
        if expected
            .networks
            .first()
            .is_some_and(|(_, e)| e.mac_address.is_some())
        {
            return Err(failed(
                format!("create container `{name}`"),
                "`mac_address` needs Docker Engine API 1.44 or later (this engine is older); remove it or upgrade the engine",
            ));
        }
        expected.networks.iter().skip(1).cloned().collect()
    };
    let options = CreateContainerOptions {
        name: Some(name.to_string()),
        platform: platform.unwrap_or_default().to_string(),
    };
    let created = engine
        .docker()
        .create_container(Some(options), body)
        .await
        .map_err(|e| engine.error(&format!("create container `{name}`"), e))?;
    for (network, endpoint) in later {
        if let Err(e) = super::network::connect(engine, &network, &created.id, endpoint).await {
            let _ = remove(engine, &created.id, true).await;
            return Err(e);
        }
    }
    Ok(created.id)
}

/// Copy a config or secret given by `content:` or `environment:` into the
/// (created, not started) container, as compose does.
pub async fn copy_in(engine: &Engine, id: &str, file: &Injected) -> Result<(), EngineError> {
    let doing = format!("copy `{}` into container `{id}`", file.target);
    let mut header = tar::Header::new_gnu();
    header.set_size(file.content.len() as u64);
    header.set_mode(file.mode);
    header.set_uid(file.uid);
    header.set_gid(file.gid);
    header.set_mtime(0);
    let mut archive = tar::Builder::new(Vec::new());
    archive
        .append_data(
            &mut header,
            file.target.trim_start_matches('/'),
            file.content.as_slice(),
        )
        .and_then(|()| archive.finish())
        .map_err(|e| failed(&doing, e.to_string()))?;
    let bytes = archive
        .into_inner()
        .map_err(|e| failed(&doing, e.to_string()))?;
    let options = UploadToContainerOptions {
        path: "/".to_string(),
        copy_uidgid: Some((file.uid != 0 || file.gid != 0).to_string()),
        ..Default::default()
    };
    engine
        .docker()
        .upload_to_container(id, Some(options), bollard::body_full(bytes.into()))
        .await
        .map_err(|e| engine.error(&doing, e))
}

/// Start the container; one already running is fine.
pub async fn start(engine: &Engine, id: &str) -> Result<(), EngineError> {
    engine
        .docker()
        .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(|e| engine.error(&format!("start container `{id}`"), e))
}

/// Stop the container with `signal` (else its configured stop signal), then
/// SIGKILL after `grace` (else its configured timeout, 10 s by default). One
/// already stopped or gone is fine.
pub async fn stop(
    engine: &Engine,
    id: &str,
    signal: Option<&str>,
    grace: Option<Duration>,
) -> Result<(), EngineError> {
    let options = StopContainerOptions {
        signal: signal.map(str::to_string),
        t: grace.map(|g| g.as_secs().min(i32::MAX as u64) as i32),
    };
    match engine.docker().stop_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let err = engine.error(&format!("stop container `{id}`"), e);
            if matches!(
                err,
                EngineError::Api {
                    status: 404 | 304,
                    ..
                }
            ) {
                Ok(())
            } else {
                Err(err)
            }
        }
    }
}

/// Remove the container (`force`: even when running); one already gone is
/// fine. Anonymous volumes are kept, as `docker compose down` keeps them.
pub async fn remove(engine: &Engine, id: &str, force: bool) -> Result<(), EngineError> {
    remove_with(engine, id, force, false).await
}

/// [`remove`], and with `anonymous_volumes` its anonymous volumes too (as
/// `docker compose down --volumes` removes them).
pub async fn remove_with(
    engine: &Engine,
    id: &str,
    force: bool,
    anonymous_volumes: bool,
) -> Result<(), EngineError> {
    let options = RemoveContainerOptions {
        force,
        v: anonymous_volumes,
        ..Default::default()
    };
    match engine.docker().remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let err = engine.error(&format!("remove container `{id}`"), e);
            if err.is_not_found() { Ok(()) } else { Err(err) }
        }
    }
}

/// Change what the engine can change on a live container to `to`: restart
/// policy, memory, CPU and pids limits (see [`Updatable`]).
pub async fn update_in_place(engine: &Engine, id: &str, to: &Updatable) -> Result<(), EngineError> {
    let body = ContainerUpdateBody {
        restart_policy: Some(to.restart_policy()),
        memory: Some(to.memory),
        memory_swap: (to.memory_swap != 0).then_some(to.memory_swap),
        memory_reservation: Some(to.memory_reservation),
        nano_cpus: Some(to.nano_cpus),
        cpu_shares: Some(to.cpu_shares),
        cpu_period: Some(to.cpu_period),
        cpu_quota: Some(to.cpu_quota),
        cpuset_cpus: (!to.cpuset_cpus.is_empty()).then(|| to.cpuset_cpus.clone()),
        pids_limit: (to.pids_limit != 0).then_some(to.pids_limit),
        ..Default::default()
    };
    engine
        .docker()
        .update_container(id, body)
        .await
        .map(|_| ())
        .map_err(|e| engine.error(&format!("update container `{id}`"), e))
}

/// Rename the container `id` to `new_name`.
pub async fn rename(engine: &Engine, id: &str, new_name: &str) -> Result<(), EngineError> {
    engine
        .docker()
        .rename_container(
            id,
            RenameContainerOptions {
                name: new_name.to_string(),
            },
        )
        .await
        .map_err(|e| engine.error(&format!("rename container `{id}` to `{new_name}`"), e))
}

/// Wait until the engine reports the container healthy. Fails naming the
/// container and its last health-check output when it turns unhealthy,
/// stops, has no healthcheck, or is not healthy within `timeout`.
pub async fn wait_healthy(engine: &Engine, id: &str, timeout: Duration) -> Result<(), EngineError> {
    let started = Instant::now();
    loop {
        let c = inspect(engine, id).await?;
        let doing = format!("wait for container `{}` to be healthy", name_of(&c, id));
        let state = c.state.unwrap_or_default();
        let Some(health) = state.health else {
            return Err(failed(doing, "it has no healthcheck"));
        };
        let last = last_check(&health);
        match health.status {
            Some(HealthStatusEnum::HEALTHY) => return Ok(()),
            Some(HealthStatusEnum::UNHEALTHY) => {
                let streak = health.failing_streak.unwrap_or(0);
                return Err(failed(
                    doing,
                    format!(
                        "it is unhealthy after {streak} failed check{}; {last}",
                        if streak == 1 { "" } else { "s" }
                    ),
                ));
            }
            _ => {}
        }
        if matches!(
            state.status,
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
        ) {
            return Err(failed(
                doing,
                format!(
                    "it exited with code {} before turning healthy; {last}",
                    state.exit_code.unwrap_or(-1)
                ),
            ));
        }
        if started.elapsed() >= timeout {
            return Err(failed(
                doing,
                format!("it is not healthy after {:.0?}; {last}", timeout),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The container's name as the engine gives it, without its `/`.
fn name_of(c: &bollard::models::ContainerInspectResponse, id: &str) -> String {
    c.name
        .as_deref()
        .unwrap_or(id)
        .trim_start_matches('/')
        .to_string()
}

/// The last health check's exit code and output, on one line.
fn last_check(health: &bollard::models::Health) -> String {
    health
        .log
        .as_ref()
        .and_then(|log| log.last())
        .map(|r| {
            let output = r.output.as_deref().unwrap_or_default();
            let output = output.split_whitespace().collect::<Vec<_>>().join(" ");
            let output: String = output.chars().take(300).collect();
            format!("last check exited {}: {output}", r.exit_code.unwrap_or(-1))
        })
        .unwrap_or_else(|| "no check has run yet".to_string())
}

/// How many times the engine has restarted the container.
pub async fn restart_count(engine: &Engine, id: &str) -> Result<i64, EngineError> {
    Ok(inspect(engine, id).await?.restart_count.unwrap_or(0))
}

/// What is wrong with a container that should be serving: unhealthy,
/// restarted since it had restarted `restarts` times, or not running.
/// `None` when it is fine (or starting: not unhealthy yet).
pub async fn trouble(engine: &Engine, id: &str, restarts: i64) -> Option<String> {
    let c = match inspect(engine, id).await {
        Ok(c) => c,
        Err(e) if e.is_not_found() => return Some("is gone".into()),
        Err(e) => return Some(format!("cannot be inspected: {e}")),
    };
    let state = c.state.unwrap_or_default();
    if let Some(health) = &state.health
        && health.status == Some(HealthStatusEnum::UNHEALTHY)
    {
        return Some(format!("turned unhealthy ({})", last_check(health)));
    }
    if c.restart_count.unwrap_or(0) > restarts || state.restarting == Some(true) {
        return Some(format!(
            "restarted (last exit code {})",
            state.exit_code.unwrap_or(-1)
        ));
    }
    if state.running != Some(true) {
        return Some(format!(
            "exited with code {}",
            state.exit_code.unwrap_or(-1)
        ));
    }
    None
}

/// The engine's inspect of a container, for the waits.
async fn inspect(
    engine: &Engine,
    id: &str,
) -> Result<bollard::models::ContainerInspectResponse, EngineError> {
    engine
        .docker()
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .map_err(|e| engine.error(&format!("inspect container `{id}`"), e))
}

/// Wait until the container has exited; its exit code. (Polls rather than
/// holding the engine's wait call open past the request timeout.) Fails
/// naming the container when it has not exited within `timeout`.
pub async fn wait_exit(engine: &Engine, id: &str, timeout: Duration) -> Result<i64, EngineError> {
    let started = Instant::now();
    loop {
        let c = inspect(engine, id).await?;
        let state = c.state.unwrap_or_default();
        if matches!(
            state.status,
            Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
        ) {
            return Ok(state.exit_code.unwrap_or(-1));
        }
        if started.elapsed() >= timeout {
            return Err(failed(
                format!("wait for container `{id}` to exit"),
                format!(
                    "it is still running after {:.0?} (`docker logs {id}` shows what it is doing)",
                    timeout
                ),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Wait `monitor` and check the container kept running all along: not
/// exited, not restarting, not restarted (its restart count unchanged). The
/// gate of a container without a healthcheck in a rollout.
pub async fn wait_running(engine: &Engine, id: &str, monitor: Duration) -> Result<(), EngineError> {
    let started = Instant::now();
    let first = inspect(engine, id).await?;
    let doing = format!(
        "keep container `{}` running for {:.0?}",
        name_of(&first, id),
        monitor
    );
    let restarts = first.restart_count.unwrap_or(0);
    loop {
        if let Some(problem) = trouble(engine, id, restarts).await {
            return Err(failed(doing, format!("it {problem}")));
        }
        if started.elapsed() >= monitor {
            return Ok(());
        }
        tokio::time::sleep(POLL.min(monitor.saturating_sub(started.elapsed()))).await;
    }
}

/// The last `lines` lines the container wrote (stdout and stderr), for a
/// failure report; empty when the engine cannot say.
pub async fn log_tail(engine: &Engine, id: &str, lines: usize) -> Vec<String> {
    use futures_util::StreamExt;
    let options = bollard::query_parameters::LogsOptions {
        stdout: true,
        stderr: true,
        tail: lines.to_string(),
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut stream = engine.docker().logs(id, Some(options));
    while let Some(Ok(chunk)) = stream.next().await {
        let text = String::from_utf8_lossy(&chunk.into_bytes()).into_owned();
        out.extend(text.lines().map(str::to_string));
    }
    let skip = out.len().saturating_sub(lines);
    out.split_off(skip)
}
