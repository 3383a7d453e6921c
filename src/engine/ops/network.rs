//! Networks: create one from its canonical spec (the compose `networks:`
//! entry), connect a container to it, remove it.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{
    EndpointSettings, Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest,
};

use super::merged_labels;
use crate::engine::{Engine, EngineError};
use crate::resource::spec::NetworkSpec;

/// How long [`remove`] keeps retrying a network the engine says still "has
/// active endpoints" right after its containers went (DESIGN.md, Engine facts).
pub const REMOVE_RETRY_FOR: Duration = Duration::from_secs(10);

/// Create the network `name` from `spec` (driver, driver_opts, ipam,
/// internal, attachable, enable_ipv6, labels) with `labels` added; its ID.
///
/// API 1.41 lets two networks share a name unless asked not to, and bollard's
/// request type has no `CheckDuplicate`: an existing network of that name is
/// refused here (409) instead of silently duplicated.
pub async fn create(
    engine: &Engine,
    name: &str,
    spec: &NetworkSpec,
    labels: &BTreeMap<String, String>,
) -> Result<String, EngineError> {
    let doing = format!("create network `{name}`");
    if let Ok(existing) = engine
        .docker()
        .inspect_network(
            name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        && existing.name.as_deref() == Some(name)
    {
        return Err(EngineError::Api {
            doing,
            status: 409,
            message: format!("a network named `{name}` already exists"),
        });
    }
    let map = |m: &BTreeMap<String, String>| -> Option<HashMap<String, String>> {
        (!m.is_empty()).then(|| m.clone().into_iter().collect())
    };
    let pools: Vec<IpamConfig> = spec
        .ipam
        .config
        .iter()
        .map(|p| IpamConfig {
            subnet: p.subnet.clone(),
            ip_range: p.ip_range.clone(),
            gateway: p.gateway.clone(),
            auxiliary_addresses: map(&p.aux_addresses),
        })
        .collect();
    let request = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some(spec.driver.clone().unwrap_or_else(|| "bridge".to_string())),
        internal: Some(spec.internal),
        attachable: Some(spec.attachable),
        enable_ipv6: spec.enable_ipv6,
        options: map(&spec.driver_opts),
        ipam: Some(Ipam {
            driver: Some(
                spec.ipam
                    .driver
                    .clone()
                    .unwrap_or_else(|| "default".to_string()),
            ),
            config: (!pools.is_empty()).then_some(pools),
            options: map(&spec.ipam.options),
        }),
        labels: Some(merged_labels(&spec.labels, labels)),
        ..Default::default()
    };
    let created = engine
        .docker()
        .create_network(request)
        .await
        .map_err(|e| engine.error(&doing, e))?;
    Ok(created.id)
}

/// Remove the network `name_or_id`. One already gone is fine. "has active
/// endpoints" is retried with backoff for up to [`REMOVE_RETRY_FOR`]: the
/// engine says so for a while after the last container left.
pub async fn remove(engine: &Engine, name_or_id: &str) -> Result<(), EngineError> {
    let doing = format!("remove network `{name_or_id}`");
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        match engine.docker().remove_network(name_or_id).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                let err = engine.error(&doing, e);
                if err.is_not_found() {
                    return Ok(());
                }
                let busy = matches!(&err, EngineError::Api { message, .. }
                    if message.contains("active endpoints"));
                if !busy {
                    return Err(err);
                }
                if started.elapsed() + pause > REMOVE_RETRY_FOR {
                    return Err(stale_endpoints(engine, name_or_id, err).await);
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// A network that still "has active endpoints" after the retries: when no
/// container is attached any more, say it is the engine's stale endpoint
/// count (moby/moby#43286, seen on Docker 20.10 after many containers left a
/// network at once; only a daemon restart resets it), and what to do.
async fn stale_endpoints(engine: &Engine, name_or_id: &str, err: EngineError) -> EngineError {
    let attached = engine
        .docker()
        .inspect_network(name_or_id, None)
        .await
        .map(|n| n.containers.map_or(0, |c| c.len()));
    match (attached, err) {
        (
            Ok(0),
            EngineError::Api {
                doing,
                status,
                message,
            },
        ) => EngineError::Api {
            doing,
            status,
            message: format!(
                "{message} (no container is attached: the engine's endpoint count is stale, a Docker 20.10 bug, moby/moby#43286; restart the Docker daemon, then run berth again to finish)"
            ),
        },
        (_, err) => err,
    }
}

/// Connect `container` to `network` with `aliases` (and a fixed address when
/// given): for the networks beyond the first on engines before API 1.44.
pub async fn connect(
    engine: &Engine,
    network: &str,
    container: &str,
    endpoint: EndpointSettings,
) -> Result<(), EngineError> {
    engine
        .docker()
        .connect_network(
            network,
            NetworkConnectRequest {
                container: container.to_string(),
                endpoint_config: Some(endpoint),
            },
        )
        .await
        .map_err(|e| engine.error(&format!("connect `{container}` to network `{network}`"), e))
}

/// Leave one network named `name`. The engine (API < 1.44) allows several
/// networks of one name, and a create still in flight when an apply was
/// killed can race the next apply's create; containers then fail to start
/// ("network is ambiguous"). Keep the one containers use, else the oldest;
/// remove the other, empty ones. Returns the ID kept.
pub async fn settle(engine: &Engine, name: &str) -> Result<Option<String>, EngineError> {
    let options = bollard::query_parameters::ListNetworksOptionsBuilder::new()
        .filters(&HashMap::from([("name", vec![name.to_string()])]))
        .build();
    let listed = engine
        .docker()
        .list_networks(Some(options))
        .await
        .map_err(|e| engine.error(&format!("look up network `{name}`"), e))?;
    let mut same: Vec<(bool, String, String)> = Vec::new();
    for n in listed
        .into_iter()
        .filter(|n| n.name.as_deref() == Some(name))
    {
        let Some(id) = n.id else { continue };
        let inspected = engine
            .docker()
            .inspect_network(
                &id,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
            .map_err(|e| engine.error(&format!("inspect network `{name}`"), e))?;
        let used = inspected.containers.is_some_and(|c| !c.is_empty());
        same.push((!used, n.created.unwrap_or_default(), id));
    }
    // used first, then oldest
    same.sort();
    let Some((_, _, keep)) = same.first().cloned() else {
        return Ok(None);
    };
    for (unused, _, id) in same.iter().skip(1) {
        if *unused {
            remove(engine, id).await?;
        }
    }
    Ok(Some(keep))
}
