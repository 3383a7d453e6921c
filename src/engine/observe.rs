//! Observation: read what the engine holds for a project, once per plan.
//!
//! One list call per kind, filtered by the project label (and, for networks
//! and volumes the project names explicitly, one more list by name); every
//! listed container is inspected, at most [`INSPECT_CONCURRENCY`] at a time,
//! because only the inspect carries the restart policy, limits, aliases and
//! port bindings the diff compares. The containers the plan expects are
//! inspected by name while the list is still running. All four kinds are read
//! concurrently.
//! Images are only ever looked up locally: observation never pulls.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum, Network, Volume,
};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use futures_util::{StreamExt, TryStreamExt, stream};

use super::PROJECT_LABEL;
use super::connect::Engine;
use super::error::EngineError;
use crate::observed::{Observed, ObservedContainer, ObservedNetwork, ObservedPort, ObservedVolume};
use crate::resource::expected::{Updatable, restart_text};
use crate::resource::labels;

/// How many container inspects (or image lookups) are in flight at once.
const INSPECT_CONCURRENCY: usize = 16;

/// What to look up besides the objects carrying the project's label, by
/// engine name.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lookup<'a> {
    /// Containers the plan expects (desired and recorded): inspected by name
    /// while the project's containers are listed, so the two overlap. Only
    /// the ones the list shows are kept.
    pub containers: &'a [String],
    /// Networks the project names (external ones, or `name:`-named ones that
    /// may lack our labels), found by exact name.
    pub networks: &'a [String],
    /// As `networks`, for volumes.
    pub volumes: &'a [String],
    /// Image references: their local image IDs (never pulled).
    pub images: &'a [String],
}

impl Engine {
    /// Everything the engine holds for `project`: containers (every state),
    /// networks and volumes carrying the label
    /// `com.docker.compose.project=<project>`; also the networks and volumes
    /// named in `lookup` (absent when there are none), and the local image ID
    /// of each image reference in it (absent when there is none).
    ///
    /// The result is sorted (see [`Observed`]). A container removed between
    /// the list and its inspect is left out, as if listed a moment later.
    pub async fn observe(
        &self,
        project: &str,
        lookup: &Lookup<'_>,
    ) -> Result<Observed, EngineError> {
        let ((containers, taken), networks, volumes, images) = tokio::try_join!(
            self.observe_containers(project, lookup.containers),
            self.observe_networks(project, lookup.networks),
            self.observe_volumes(project, lookup.volumes),
            self.observe_images(lookup.images),
        )?;
        Ok(Observed {
            containers,
            networks,
            volumes,
            images,
            taken,
            ..Observed::default()
        })
    }

    /// The project's containers: listed by label while the `expected` ones
    /// are inspected by name (the list alone costs the engine ~10 ms for 100
    /// containers, the inspects ~20 ms: overlapping them is most of a no-op
    /// plan's saving). Then every listed container not inspected yet. Also
    /// the expected names that another project's container (or nobody's)
    /// holds, with its ID.
    async fn observe_containers(
        &self,
        project: &str,
        expected: &[String],
    ) -> Result<(Vec<ObservedContainer>, BTreeMap<String, String>), EngineError> {
        let list = async {
            let options = ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&project_filter(project))
                .build();
            self.docker()
                .list_containers(Some(options))
                .await
                .map_err(|e| self.error(&format!("list the containers of project `{project}`"), e))
        };
        let by_name = self.inspect_all(expected.iter().cloned());
        let (listed, by_name) = tokio::try_join!(list, by_name)?;
        let listed: BTreeSet<String> = listed.into_iter().filter_map(|c| c.id).collect();
        // named like ours but not listed: not the project's (or created since the list)
        let (by_name, unlisted): (Vec<_>, Vec<_>) =
            by_name.into_iter().partition(|c| listed.contains(&c.id));
        let taken = unlisted
            .into_iter()
            .filter(|c| c.labels.get(labels::PROJECT).map(String::as_str) != Some(project))
            .map(|c| (c.name, c.id))
            .collect();
        let mut found: BTreeMap<String, ObservedContainer> =
            by_name.into_iter().map(|c| (c.id.clone(), c)).collect();
        let rest: Vec<String> = listed
            .into_iter()
            .filter(|id| !found.contains_key(id))
            .collect();
        for c in self.inspect_all(rest.into_iter()).await? {
            found.insert(c.id.clone(), c);
        }
        let mut containers: Vec<ObservedContainer> = found.into_values().collect();
        containers.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok((containers, taken))
    }

    /// Inspect containers by ID or name, [`INSPECT_CONCURRENCY`] at a time;
    /// the ones that do not exist are left out.
    async fn inspect_all(
        &self,
        ids_or_names: impl Iterator<Item = String>,
    ) -> Result<Vec<ObservedContainer>, EngineError> {
        let inspected: Vec<Option<ObservedContainer>> = stream::iter(ids_or_names)
            .map(|id| self.inspect_container(id))
            .buffer_unordered(INSPECT_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(inspected.into_iter().flatten().collect())
    }

    /// One container by ID or name, as observation sees it; `None` when there is none.
    pub async fn inspect(
        &self,
        id_or_name: &str,
    ) -> Result<Option<ObservedContainer>, EngineError> {
        self.inspect_container(id_or_name.to_string()).await
    }

    /// `None` when the container is gone (removed since the list).
    async fn inspect_container(
        &self,
        id: String,
    ) -> Result<Option<ObservedContainer>, EngineError> {
        match self.docker().inspect_container(&id, None).await {
            Ok(inspect) => Ok(Some(container_from_inspect(inspect))),
            Err(e) => {
                let err = self.error(&format!("inspect container `{id}`"), e);
                if err.is_not_found() {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn observe_networks(
        &self,
        project: &str,
        names: &[String],
    ) -> Result<Vec<ObservedNetwork>, EngineError> {
        let labelled = async {
            let options = ListNetworksOptionsBuilder::new()
                .filters(&project_filter(project))
                .build();
            self.docker()
                .list_networks(Some(options))
                .await
                .map_err(|e| self.error(&format!("list the networks of project `{project}`"), e))
        };
        let named = async {
            if names.is_empty() {
                return Ok(Vec::new());
            }
            // The engine's name filter matches substrings (as a regular
            // expression): keep exact matches only.
            let options = ListNetworksOptionsBuilder::new()
                .filters(&name_filter(names))
                .build();
            let listed = self
                .docker()
                .list_networks(Some(options))
                .await
                .map_err(|e| self.error(&format!("look up networks {}", quoted(names)), e))?;
            Ok(listed
                .into_iter()
                .filter(|n| n.name.as_ref().is_some_and(|name| names.contains(name)))
                .collect())
        };
        let (labelled, named) = tokio::try_join!(labelled, named)?;
        let mut by_id: BTreeMap<String, ObservedNetwork> = BTreeMap::new();
        for network in labelled.into_iter().chain(named) {
            let network = network_from_list(network);
            by_id.insert(network.id.clone(), network);
        }
        let mut networks: Vec<ObservedNetwork> = by_id.into_values().collect();
        networks.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(networks)
    }

    async fn observe_volumes(
        &self,
        project: &str,
        names: &[String],
    ) -> Result<Vec<ObservedVolume>, EngineError> {
        let labelled = async {
            let options = ListVolumesOptionsBuilder::new()
                .filters(&project_filter(project))
                .build();
            self.docker()
                .list_volumes(Some(options))
                .await
                .map(|list| list.volumes.unwrap_or_default())
                .map_err(|e| self.error(&format!("list the volumes of project `{project}`"), e))
        };
        let named = async {
            if names.is_empty() {
                return Ok(Vec::new());
            }
            // As for networks: the name filter matches substrings.
            let options = ListVolumesOptionsBuilder::new()
                .filters(&name_filter(names))
                .build();
            let listed = self
                .docker()
                .list_volumes(Some(options))
                .await
                .map_err(|e| self.error(&format!("look up volumes {}", quoted(names)), e))?;
            Ok(listed
                .volumes
                .unwrap_or_default()
                .into_iter()
                .filter(|v| names.contains(&v.name))
                .collect())
        };
        let (labelled, named) = tokio::try_join!(labelled, named)?;
        // Volume names are unique on an engine: the map dedups and sorts.
        let by_name: BTreeMap<String, ObservedVolume> = labelled
            .into_iter()
            .chain(named)
            .map(volume_from_list)
            .map(|v| (v.name.clone(), v))
            .collect();
        Ok(by_name.into_values().collect())
    }

    async fn observe_images(
        &self,
        refs: &[String],
    ) -> Result<BTreeMap<String, String>, EngineError> {
        let unique: BTreeSet<&String> = refs.iter().collect();
        let found: Vec<Option<(String, String)>> = stream::iter(unique)
            .map(|reference| async move {
                match self.docker().inspect_image(reference).await {
                    Ok(image) => Ok(image.id.map(|id| (reference.clone(), id))),
                    Err(e) => {
                        let err = self.error(&format!("look up image `{reference}`"), e);
                        if err.is_not_found() {
                            Ok(None)
                        } else {
                            Err(err)
                        }
                    }
                }
            })
            .buffer_unordered(INSPECT_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }
}

/// `label=com.docker.compose.project=<project>`.
fn project_filter(project: &str) -> HashMap<&'static str, Vec<String>> {
    HashMap::from([("label", vec![format!("{PROJECT_LABEL}={project}")])])
}

/// `name=<n1>`, `name=<n2>`, ... (the engine ORs values of one filter).
fn name_filter(names: &[String]) -> HashMap<&'static str, Vec<String>> {
    HashMap::from([("name", names.to_vec())])
}

/// "`a`, `b`" for messages.
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The parts of a container inspect the diff needs.
pub(crate) fn container_from_inspect(inspect: ContainerInspectResponse) -> ObservedContainer {
    let id = inspect.id.unwrap_or_default();
    let name = inspect
        .name
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    let config = inspect.config.unwrap_or_default();
    let host = inspect.host_config.unwrap_or_default();
    let state = inspect.state.unwrap_or_default();

    let status = state.status.unwrap_or(ContainerStateStatusEnum::EMPTY);
    let exit_code = match status {
        ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD => state.exit_code,
        _ => None,
    };
    let health = state
        .health
        .and_then(|h| h.status)
        .filter(|s| !matches!(s, HealthStatusEnum::EMPTY | HealthStatusEnum::NONE))
        .map(|s| s.to_string());

    let updatable = updatable_from(&host);

    // Engines before API 1.45 add the container's short ID to the aliases of
    // every user-defined network; it was not asked for, so it is not drift.
    let short_id = id.get(..12).unwrap_or(&id);
    let networks = inspect
        .network_settings
        .and_then(|s| s.networks)
        .unwrap_or_default()
        .into_iter()
        .map(|(network, endpoint)| {
            let mut aliases: Vec<String> = endpoint
                .aliases
                .unwrap_or_default()
                .into_iter()
                .filter(|a| a != short_id)
                .collect();
            aliases.sort();
            aliases.dedup();
            (network, aliases)
        })
        .collect();

    let mut ports: Vec<ObservedPort> = host
        .port_bindings
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(key, bindings)| {
            let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let container_port = port.parse::<u32>().ok();
            let protocol = protocol.to_string();
            bindings
                .unwrap_or_default()
                .into_iter()
                .filter_map(move |b| {
                    Some(ObservedPort {
                        host_ip: b.host_ip.unwrap_or_default(),
                        host_port: b.host_port.unwrap_or_default(),
                        container_port: container_port?,
                        protocol: protocol.clone(),
                    })
                })
        })
        .collect();
    ports.sort();

    let mut volumes: Vec<String> = inspect
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| m.name)
        .collect();
    volumes.sort();
    volumes.dedup();

    ObservedContainer {
        id,
        name,
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        state: status.to_string(),
        exit_code,
        health,
        image_id: inspect.image.unwrap_or_default(),
        image: config.image.unwrap_or_default(),
        updatable,
        networks,
        ports,
        volumes,
    }
}

/// The attributes `docker update` changes, as the inspect reports them, in
/// the terms of [`Updatable`]: an unset limit is 0 however the engine spells it.
fn updatable_from(host: &bollard::models::HostConfig) -> Updatable {
    let positive = |v: Option<i64>| v.filter(|v| *v > 0).unwrap_or(0);
    Updatable {
        restart: restart_text(&host.restart_policy.clone().unwrap_or_default()),
        memory: positive(host.memory),
        memory_reservation: positive(host.memory_reservation),
        memory_swap: host.memory_swap.unwrap_or(0),
        nano_cpus: positive(host.nano_cpus),
        cpu_shares: positive(host.cpu_shares),
        cpu_period: positive(host.cpu_period),
        cpu_quota: positive(host.cpu_quota),
        cpuset_cpus: host.cpuset_cpus.clone().unwrap_or_default(),
        pids_limit: positive(host.pids_limit),
    }
}

fn network_from_list(network: Network) -> ObservedNetwork {
    ObservedNetwork {
        id: network.id.unwrap_or_default(),
        name: network.name.unwrap_or_default(),
        labels: network.labels.unwrap_or_default().into_iter().collect(),
        driver: network.driver.unwrap_or_default(),
        internal: network.internal.unwrap_or(false),
        attachable: network.attachable.unwrap_or(false),
        enable_ipv6: network.enable_ipv6.unwrap_or(false),
    }
}

fn volume_from_list(volume: Volume) -> ObservedVolume {
    ObservedVolume {
        name: volume.name,
        labels: volume.labels.into_iter().collect(),
        driver: volume.driver,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An inspect as Docker 20.10 (API 1.41) writes it, trimmed to what we read.
    const INSPECT: &str = r#"{
        "Id": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "Name": "/demo-web-1",
        "Image": "sha256:1111",
        "State": {"Status": "running", "ExitCode": 0, "Health": {"Status": "starting", "FailingStreak": 0}},
        "Config": {"Image": "web:latest", "Labels": {"b": "2", "a": "1"}},
        "Mounts": [
            {"Type": "volume", "Name": "demo_data", "Source": "/var/lib/docker/volumes/demo_data/_data", "Destination": "/data"},
            {"Type": "bind", "Source": "/srv/conf", "Destination": "/conf"},
            {"Type": "volume", "Name": "0f1e2d3c", "Source": "/var/lib/docker/volumes/0f1e2d3c/_data", "Destination": "/cache"}
        ],
        "HostConfig": {
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 0},
            "Memory": 0, "NanoCpus": 250000000,
            "PortBindings": {
                "53/udp": [{"HostIp": "", "HostPort": "5353"}],
                "80/tcp": [{"HostIp": "::1", "HostPort": "8080"}, {"HostIp": "127.0.0.1", "HostPort": "8080"}],
                "81/tcp": null
            }
        },
        "NetworkSettings": {"Networks": {
            "demo_default": {"Aliases": ["web", "0123456789ab", "demo-web-1", "web"]},
            "bridge": {"Aliases": null}
        }}
    }"#;

    fn observed(json: &str) -> ObservedContainer {
        container_from_inspect(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn inspect_becomes_plain_sorted_data() {
        let c = observed(INSPECT);
        assert_eq!(c.name, "demo-web-1");
        assert_eq!(c.state, "running");
        assert_eq!(c.exit_code, None);
        assert_eq!(c.health.as_deref(), Some("starting"));
        assert_eq!(c.image, "web:latest");
        assert_eq!(c.image_id, "sha256:1111");
        assert_eq!(c.updatable.restart, "on-failure");
        assert_eq!(c.updatable.nano_cpus, 250_000_000);
        assert_eq!(
            c.networks,
            BTreeMap::from([
                ("bridge".to_string(), vec![]),
                (
                    "demo_default".to_string(),
                    vec!["demo-web-1".to_string(), "web".to_string()]
                ),
            ])
        );
        let ports: Vec<(&str, &str, u32, &str)> = c
            .ports
            .iter()
            .map(|p| {
                (
                    p.host_ip.as_str(),
                    p.host_port.as_str(),
                    p.container_port,
                    p.protocol.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ports,
            [
                ("", "5353", 53, "udp"),
                ("127.0.0.1", "8080", 80, "tcp"),
                ("::1", "8080", 80, "tcp"),
            ]
        );
        assert_eq!(c.labels.keys().collect::<Vec<_>>(), ["a", "b"]);
        // volumes by name (anonymous ones too); bind mounts are not volumes
        assert_eq!(c.volumes, ["0f1e2d3c", "demo_data"]);
    }

    #[test]
    fn exit_codes_only_for_stopped_containers_and_policies_spelled_out() {
        let exited = INSPECT
            .replace(
                r#""Status": "running", "ExitCode": 0"#,
                r#""Status": "exited", "ExitCode": 137"#,
            )
            .replace(r#""Status": "starting""#, r#""Status": "none""#)
            .replace(r#""MaximumRetryCount": 0"#, r#""MaximumRetryCount": 5"#);
        let c = observed(&exited);
        assert_eq!(c.state, "exited");
        assert_eq!(c.exit_code, Some(137));
        assert_eq!(c.health, None);
        assert_eq!(c.updatable.restart, "on-failure:5");

        let no_policy = INSPECT.replace(r#""Name": "on-failure""#, r#""Name": """#);
        assert_eq!(observed(&no_policy).updatable.restart, "no");
    }
}
