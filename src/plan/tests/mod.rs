//! The diff's specification over a table of situations, every action and
//! every reason kind, one file a subject: [`changes`], [`drift`],
//! [`ownership`], [`dependents`], [`removals`], [`modes`], and berth 0.1.0's
//! states ([`state_v1`]).
//!
//! This module builds what they start from, as plain data (no engine): a
//! project, the state after applying it, and what the engine shows then.

mod changes;
mod dependents;
mod drift;
mod modes;
mod ownership;
mod removals;
mod state_v1;

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::observed::{Observed, ObservedContainer, ObservedNetwork, ObservedPort, ObservedVolume};
use crate::resource::expected::updatable;
use crate::resource::{Address, Desired, Kind, ResolveOptions, labels, resolve};
use crate::state::{State, StateResource};

const STACK: &str = "services:
  web:
    image: web:latest
    ports: [\"5000:5000\"]
    restart: unless-stopped
    environment: {DB_PASSWORD: hunter2, MODE: prod}
    depends_on: [redis]
    networks: [back]
  redis:
    image: redis:alpine
    networks: [back]
    volumes: [\"data:/data\"]
networks:
  back: {}
volumes:
  data: {}
";

fn desired_from(yaml: &str, scale: &[(&str, u32)]) -> Desired {
    let project = crate::compose::project_from_yaml(yaml, "demo");
    let opts = ResolveOptions {
        scale: scale.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        ..Default::default()
    };
    resolve(&project, &opts).unwrap()
}

fn id(a: &Address) -> String {
    format!("id-{a}")
}

/// The state after a successful apply of `d`.
fn applied(d: &Desired) -> State {
    let mut s = State::new("demo");
    for r in d.resources.values() {
        let id = if r.address.kind == Kind::Image {
            format!("sha256:{}", r.address.name)
        } else {
            id(&r.address)
        };
        s.insert(r.address.clone(), StateResource::recorded(r, id));
    }
    s
}

/// What the engine shows right after that apply.
fn engine_for(d: &Desired) -> Observed {
    let mut o = Observed::default();
    let project = || ("com.docker.compose.project".to_string(), "demo".to_string());
    for r in d.resources.values() {
        match r.address.kind {
            Kind::Network => o.networks.push(ObservedNetwork {
                id: id(&r.address),
                name: r.engine_name.clone(),
                labels: BTreeMap::from([project()]),
                driver: "bridge".into(),
                ..Default::default()
            }),
            Kind::Volume => o.volumes.push(ObservedVolume {
                name: r.engine_name.clone(),
                labels: BTreeMap::from([project()]),
                driver: "local".into(),
            }),
            Kind::Image => {
                o.images
                    .insert(r.engine_name.clone(), format!("sha256:{}", r.address.name));
            }
            // the plain engine's plans only
            Kind::Config | Kind::Secret | Kind::Service => {}
            Kind::Container => {
                let spec = r.spec.value();
                let mut labels = BTreeMap::from([
                    project(),
                    (labels::ADDRESS.to_string(), r.address.to_string()),
                    (labels::SPEC_HASH.to_string(), r.spec_hash.clone()),
                ]);
                for (k, v) in spec
                    .get("labels")
                    .and_then(|l| l.as_object())
                    .into_iter()
                    .flatten()
                {
                    labels.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
                }
                let networks = spec["networks"]
                    .as_object()
                    .into_iter()
                    .flat_map(|n| n.keys())
                    .map(|k| (format!("demo_{k}"), vec![r.address.name.clone()]))
                    .collect();
                let ports = spec
                    .get("ports")
                    .and_then(|p| p.as_array())
                    .into_iter()
                    .flatten()
                    .map(|p| ObservedPort {
                        host_ip: String::new(),
                        host_port: p["published"].as_str().unwrap().to_string(),
                        container_port: p["target"].as_u64().unwrap() as u32,
                        protocol: "tcp".into(),
                    })
                    .collect();
                let image = spec["image"].as_str().unwrap().to_string();
                o.containers.push(ObservedContainer {
                    id: id(&r.address),
                    name: r.engine_name.clone(),
                    labels,
                    state: "running".into(),
                    image_id: format!("sha256:{}", r.address.name),
                    image,
                    // what a faithful apply leaves: the expected view
                    updatable: updatable(r.typed().container().unwrap()),
                    networks,
                    ports,
                    ..Default::default()
                });
            }
        }
    }
    o
}

fn plan_of(desired: &Desired, state: &State, observed: Option<&Observed>) -> Plan {
    diff(&DiffInput {
        mode: crate::plan::Mode::Converge,
        desired,
        state,
        observed,
        remove_orphans: false,
        targets: &[],
    })
}

/// `address action` for every resource that is not a no-op.
fn actions(p: &Plan) -> Vec<String> {
    p.changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| format!("{} {}", c.address, c.action.as_str()))
        .collect()
}

fn change<'a>(p: &'a Plan, address: &str) -> &'a Change {
    let a: Address = address.parse().unwrap();
    p.changes.iter().find(|c| c.address == a).unwrap()
}

fn container_mut<'a>(o: &'a mut Observed, name: &str) -> &'a mut ObservedContainer {
    o.containers.iter_mut().find(|c| c.name == name).unwrap()
}
