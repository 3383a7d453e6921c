//! Swarm objects on a manager node: services (with their tasks' state),
//! configs and secrets, read as plain [`Observed`](crate::observed) data
//! and created, updated and removed through the engine's API.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use bollard::models::{ConfigSpec, SecretSpec, Service, ServiceSpec};
use bollard::query_parameters::{
    ListConfigsOptions, ListSecretsOptions, ListServicesOptions, ListTasksOptions,
    UpdateServiceOptions,
};
use serde_json::Value;

use crate::engine::{Engine, EngineError};
use crate::observed::{ObservedObject, ObservedService};
use crate::resource::swarm::NAMESPACE;

/// A config's or secret's ID, name and labels, as listed.
type ObjectRow = (
    Option<String>,
    Option<String>,
    Option<HashMap<String, String>>,
);

fn by_namespace(namespace: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{NAMESPACE}={namespace}")],
    )])
}

/// The engine's identity, and whether it is a Swarm manager (services can
/// be made there): one `docker info`.
pub async fn manager_info(
    engine: &Engine,
) -> Result<(crate::observed::EngineIdentity, bool), EngineError> {
    let info = engine
        .docker()
        .info()
        .await
        .map_err(|e| engine.error("ask the engine whether it is a Swarm manager", e))?;
    let manager = info
        .swarm
        .as_ref()
        .and_then(|s| s.control_available)
        .unwrap_or(false);
    Ok((engine.identity_of(&info), manager))
}

/// The stack's services, configs and secrets (see [`name_references`]).
pub async fn observe(
    engine: &Engine,
    namespace: &str,
) -> Result<
    (
        Vec<ObservedService>,
        Vec<ObservedObject>,
        Vec<ObservedObject>,
    ),
    EngineError,
> {
    let docker = engine.docker();
    let (services, configs, secrets) = tokio::try_join!(
        async {
            docker
                .list_services(Some(ListServicesOptions {
                    filters: Some(by_namespace(namespace)),
                    status: Some(true),
                }))
                .await
                .map_err(|e| engine.error(&format!("list the services of stack `{namespace}`"), e))
        },
        async {
            docker
                .list_configs(Some(ListConfigsOptions {
                    filters: Some(by_namespace(namespace)),
                }))
                .await
                .map_err(|e| engine.error(&format!("list the configs of stack `{namespace}`"), e))
        },
        async {
            docker
                .list_secrets(Some(ListSecretsOptions {
                    filters: Some(by_namespace(namespace)),
                }))
                .await
                .map_err(|e| engine.error(&format!("list the secrets of stack `{namespace}`"), e))
        },
    )?;
    let mut out: Vec<ObservedService> = services.into_iter().map(observed_service).collect();
    // the failing tasks' error, only for services that are short of tasks
    for s in out.iter_mut().filter(|s| s.running < s.desired) {
        if let Some(p) = task_problem(engine, &s.id).await? {
            s.problem = Some(p);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    let objects = |list: Vec<ObjectRow>| {
        let mut v: Vec<ObservedObject> = list
            .into_iter()
            .map(|(id, name, labels)| ObservedObject {
                id: id.unwrap_or_default(),
                name: name.unwrap_or_default(),
                labels: labels.unwrap_or_default().into_iter().collect(),
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    };
    let configs = objects(
        configs
            .into_iter()
            .map(|c| {
                let spec = c.spec.unwrap_or_default();
                (c.id, spec.name, spec.labels)
            })
            .collect(),
    );
    let secrets = objects(
        secrets
            .into_iter()
            .map(|c| {
                let spec = c.spec.unwrap_or_default();
                (c.id, spec.name, spec.labels)
            })
            .collect(),
    );
    Ok((out, configs, secrets))
}

/// In the services' specs, network IDs put back as the names in `networks`
/// (ID -> name), and an image ID as the reference in `images` (reference ->
/// ID) that names it now: what berth wrote, so the two compare.
pub fn name_references(
    services: &mut [ObservedService],
    networks: &BTreeMap<String, String>,
    images: &BTreeMap<String, String>,
) {
    let by_image: BTreeMap<&str, &str> = images
        .iter()
        .map(|(r, id)| (id.as_str(), r.as_str()))
        .collect();
    for s in services {
        let json = &mut s.spec;
        if let Some(Value::Array(nets)) = json.pointer_mut("/TaskTemplate/Networks") {
            for n in nets.iter_mut() {
                if let Some(Value::String(target)) = n.get_mut("Target")
                    && let Some(name) = networks.get(target.as_str())
                {
                    *target = name.clone();
                }
            }
            nets.sort_by(|a, b| a["Target"].as_str().cmp(&b["Target"].as_str()));
        }
        if let Some(Value::String(image)) = json.pointer_mut("/TaskTemplate/ContainerSpec/Image")
            && let Some(reference) = by_image.get(image.as_str())
        {
            *image = reference.to_string();
        }
    }
}

fn observed_service(s: Service) -> ObservedService {
    let spec = s.spec.unwrap_or_default();
    let name = spec.name.clone().unwrap_or_default();
    let labels = spec
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let json = serde_json::to_value(&spec).unwrap_or(Value::Null);
    let status = s.service_status.unwrap_or_default();
    let (update, message) = match s.update_status {
        Some(u) => (
            u.state
                .map(|state| state.to_string())
                .filter(|state| !matches!(state.as_str(), "completed" | "updating" | "")),
            u.message.filter(|m| !m.is_empty()),
        ),
        None => (None, None),
    };
    ObservedService {
        id: s.id.unwrap_or_default(),
        name,
        version: s.version.and_then(|v| v.index).unwrap_or(0),
        labels,
        spec: json,
        running: status.running_tasks.unwrap_or(0),
        desired: status.desired_tasks.unwrap_or(0),
        // why an update did not complete, until a task's error says more
        problem: update.as_ref().and(message),
        update,
    }
}

/// The error of the newest task of service `id` that failed or was
/// rejected, if any.
pub async fn task_problem(engine: &Engine, id: &str) -> Result<Option<String>, EngineError> {
    let tasks = engine
        .docker()
        .list_tasks(Some(ListTasksOptions {
            filters: Some(HashMap::from([(
                "service".to_string(),
                vec![id.to_string()],
            )])),
        }))
        .await
        .map_err(|e| engine.error(&format!("list the tasks of service {id}"), e))?;
    let mut failed: Vec<(String, String)> = tasks
        .into_iter()
        .filter_map(|t| {
            let status = t.status?;
            let err = status.err.filter(|e| !e.is_empty())?;
            Some((t.updated_at.unwrap_or_default(), err))
        })
        .collect();
    failed.sort();
    Ok(failed.pop().map(|(_, e)| e))
}

/// Create a service; its ID.
pub async fn create_service(engine: &Engine, spec: ServiceSpec) -> Result<String, EngineError> {
    let name = spec.name.clone().unwrap_or_default();
    let created = engine
        .docker()
        .create_service(spec, None)
        .await
        .map_err(|e| engine.error(&format!("create service `{name}`"), e))?;
    Ok(created.id.unwrap_or_default())
}

/// Update service `id` from version `version` (the engine refuses a stale
/// version: someone changed the service since it was observed).
pub async fn update_service(
    engine: &Engine,
    id: &str,
    version: u64,
    spec: ServiceSpec,
) -> Result<(), EngineError> {
    let name = spec.name.clone().unwrap_or_default();
    engine
        .docker()
        .update_service(
            id,
            spec,
            UpdateServiceOptions {
                version: version as i32,
                ..Default::default()
            },
            None,
        )
        .await
        .map_err(|e| engine.error(&format!("update service `{name}`"), e))?;
    Ok(())
}

/// A service as it is now, for an update and the wait after it.
pub struct ServiceNow {
    /// The version index an update must name.
    pub version: u64,
    pub spec: ServiceSpec,
    /// Its tasks' state (running, desired, an update that failed and the
    /// engine's message about it; not the tasks' error).
    pub seen: ObservedService,
    /// Swarm's rolling update is under way.
    pub updating: bool,
}

/// Service `id` now; `None` when it is gone.
pub async fn inspect_service(engine: &Engine, id: &str) -> Result<Option<ServiceNow>, EngineError> {
    let docker = engine.docker();
    match docker
        .list_services(Some(ListServicesOptions {
            filters: Some(HashMap::from([("id".to_string(), vec![id.to_string()])])),
            status: Some(true),
        }))
        .await
    {
        Ok(list) => {
            let Some(s) = list.into_iter().find(|s| s.id.as_deref() == Some(id)) else {
                return Ok(None);
            };
            let version = s.version.as_ref().and_then(|v| v.index).unwrap_or(0);
            let spec = s.spec.clone().unwrap_or_default();
            let updating = s
                .update_status
                .as_ref()
                .and_then(|u| u.state.as_ref())
                .is_some_and(|state| state.to_string() == "updating");
            // the tasks' error is asked only when someone reports it
            // ([`task_problem`]): a wait polls this
            let seen = observed_service(s);
            Ok(Some(ServiceNow {
                version,
                spec,
                seen,
                updating,
            }))
        }
        Err(e) => Err(engine.error(&format!("inspect service {id}"), e)),
    }
}

/// Remove a service; one already gone is fine.
pub async fn remove_service(engine: &Engine, id: &str) -> Result<(), EngineError> {
    match engine.docker().delete_service(id).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let err = engine.error(&format!("remove service `{id}`"), e);
            if err.is_not_found() { Ok(()) } else { Err(err) }
        }
    }
}

/// Create a config (`secret` false) or secret holding `data`; its ID.
pub async fn create_object(
    engine: &Engine,
    secret: bool,
    name: &str,
    labels: &BTreeMap<String, String>,
    data: &[u8],
) -> Result<String, EngineError> {
    let data = base64::engine::general_purpose::STANDARD.encode(data);
    let labels: HashMap<String, String> = labels.clone().into_iter().collect();
    let what = if secret { "secret" } else { "config" };
    let created = if secret {
        engine
            .docker()
            .create_secret(SecretSpec {
                name: Some(name.into()),
                labels: Some(labels),
                data: Some(data),
                ..Default::default()
            })
            .await
    } else {
        engine
            .docker()
            .create_config(ConfigSpec {
                name: Some(name.into()),
                labels: Some(labels),
                data: Some(data),
                ..Default::default()
            })
            .await
    };
    let created = created.map_err(|e| engine.error(&format!("create {what} `{name}`"), e))?;
    Ok(created.id)
}

/// Remove a config or secret; one already gone is fine.
pub async fn remove_object(engine: &Engine, secret: bool, id: &str) -> Result<(), EngineError> {
    let what = if secret { "secret" } else { "config" };
    let done = if secret {
        engine.docker().delete_secret(id).await
    } else {
        engine.docker().delete_config(id).await
    };
    match done {
        Ok(()) => Ok(()),
        Err(e) => {
            let err = engine.error(&format!("remove {what} `{id}`"), e);
            if err.is_not_found() { Ok(()) } else { Err(err) }
        }
    }
}

/// The tasks of service `id` that Swarm wants running: (task ID, whether
/// it runs now).
pub async fn running_tasks(engine: &Engine, id: &str) -> Result<Vec<(String, bool)>, EngineError> {
    let tasks = engine
        .docker()
        .list_tasks(Some(ListTasksOptions {
            filters: Some(HashMap::from([
                ("service".to_string(), vec![id.to_string()]),
                ("desired-state".to_string(), vec!["running".to_string()]),
            ])),
        }))
        .await
        .map_err(|e| engine.error(&format!("list the tasks of service {id}"), e))?;
    Ok(tasks
        .into_iter()
        .map(|t| {
            let running = t
                .status
                .and_then(|s| s.state)
                .is_some_and(|s| s.to_string() == "running");
            (t.id.unwrap_or_default(), running)
        })
        .collect())
}
