//! Container drift: how the container on the engine differs from the expected
//! view of what was applied (state, health, image, updatable attributes,
//! networks, labels, published ports), and the smallest repair for each.
//!
//! Separate because it compares the engine's inspect, not specs: the other
//! comparisons are between the state and the files.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Differ;
use crate::observed::ObservedContainer;
use crate::plan::reason::Drift;
use crate::plan::{Action, InPlace};
use crate::resource::expected::updatable;
use crate::resource::{Address, ContainerSpec};

/// What drift found on one container, and the smallest repair.
#[derive(Default)]
pub(super) struct ContainerDrift {
    pub(super) action: Action,
    pub(super) ops: BTreeSet<InPlace>,
    pub(super) drifts: Vec<Drift>,
}

impl ContainerDrift {
    fn push(&mut self, action: Action, op: Option<InPlace>, drift: Drift) {
        self.action = self.action.max(action);
        self.ops.extend(op);
        self.drifts.push(drift);
    }
}

/// A published port: host IP, host port, container port, protocol.
type PortKey = (String, String, u32, String);

/// The published ports a spec asks for; `None` with a port range (the engine
/// picks from it at start, so what it shows cannot be compared).
fn expected_ports(spec: &ContainerSpec) -> Option<BTreeSet<PortKey>> {
    let mut out = BTreeSet::new();
    for p in &spec.service.ports {
        let published = p.published.clone().unwrap_or_default();
        if published.contains('-') {
            return None;
        }
        out.insert((
            p.host_ip.clone().unwrap_or_default(),
            published,
            p.target,
            p.protocol.clone(),
        ));
    }
    Some(out)
}

fn show_ports(ports: &BTreeSet<PortKey>) -> Vec<String> {
    ports
        .iter()
        .map(|(ip, host, target, proto)| {
            let ip = if ip.is_empty() {
                String::new()
            } else {
                format!("{ip}:")
            };
            format!("{ip}{host}:{target}/{proto}")
        })
        .collect()
}

impl Differ<'_> {
    /// How the container on the engine differs from `applied`'s expected view,
    /// and what repairs it: in place where the engine allows (start, `docker
    /// update` to `desired`'s attributes), else a replacement.
    pub(super) fn container_drift(
        &self,
        applied: &ContainerSpec,
        desired: &ContainerSpec,
        c: &ObservedContainer,
    ) -> ContainerDrift {
        let mut out = ContainerDrift::default();
        let attribute = |path: &str, applied: Value, observed: Value| Drift::Attribute {
            path: path.to_string(),
            applied,
            observed,
        };
        if c.state != "running" {
            out.push(
                Action::Update,
                Some(InPlace::Start),
                Drift::NotRunning {
                    state: c.state.clone(),
                    exit_code: c.exit_code,
                },
            );
        } else if c.health.as_deref() == Some("unhealthy") {
            out.push(Action::Replace, None, Drift::Unhealthy);
        }
        let engine = self
            .engine
            .as_ref()
            .expect("drift is computed only when refreshed");
        if let Some(current) = engine.observed.images.get(&applied.image)
            && *current != c.image_id
            && !c.image_id.is_empty()
        {
            out.push(
                Action::Replace,
                None,
                Drift::ImageChanged {
                    reference: applied.image.clone(),
                    running: c.image_id.clone(),
                    current: current.clone(),
                },
            );
        }
        let expected = updatable(applied);
        let differences = expected.differences(&c.updatable);
        if !differences.is_empty() {
            let repair = if c.updatable.can_update_to(&updatable(desired)) {
                Action::Update
            } else {
                Action::Replace
            };
            for (path, applied, observed) in differences {
                out.push(
                    repair,
                    Some(InPlace::EngineUpdate),
                    attribute(path, json!(applied), json!(observed)),
                );
            }
        }
        // no network_mode and no networks: the engine's default, nothing to compare
        if applied.service.network_mode.is_none() && !applied.service.networks.is_empty() {
            let expected: BTreeSet<String> = applied
                .service
                .networks
                .keys()
                .map(|k| {
                    self.input
                        .desired
                        .resources
                        .get(&Address::network(k))
                        .map(|n| n.engine_name.clone())
                        .unwrap_or_else(|| format!("{}_{k}", self.input.desired.project))
                })
                .collect();
            let seen: BTreeSet<String> = c.networks.keys().cloned().collect();
            if expected != seen {
                out.push(
                    Action::Replace,
                    None,
                    attribute("networks", json!(expected), json!(seen)),
                );
            }
        }
        for (k, v) in &applied.service.labels {
            let have = c.labels.get(k).map(|s| json!(s)).unwrap_or(Value::Null);
            if have != json!(v) {
                out.push(
                    Action::Replace,
                    None,
                    attribute(&format!("labels.{k}"), json!(v), have),
                );
            }
        }
        if let Some(expected) = expected_ports(applied) {
            let seen: BTreeSet<PortKey> = c
                .ports
                .iter()
                .map(|p| {
                    (
                        p.host_ip.clone(),
                        p.host_port.clone(),
                        p.container_port,
                        p.protocol.clone(),
                    )
                })
                .collect();
            if expected != seen {
                out.push(
                    Action::Replace,
                    None,
                    attribute(
                        "ports",
                        json!(show_ports(&expected)),
                        json!(show_ports(&seen)),
                    ),
                );
            }
        }
        out
    }
}
