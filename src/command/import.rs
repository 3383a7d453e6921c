//! `berth import`: adopt what `docker compose up` (or `docker run`) created,
//! building the state from what the engine shows.
//!
//! Objects are matched by compose's labels (project, service, container
//! number) or by name, and their observed attributes (restart policy, memory
//! and CPU limits, image) are compared with the desired ones. What agrees is
//! recorded as desired, so the next plan says `No changes`; what differs is
//! recorded as observed, so the next plan names the attribute to change.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::{GlobalArgs, ImportArgs};
use crate::error::Error;
use crate::observed::{Observed, ObservedContainer};
use crate::output::print_out;
use crate::pipeline::{PlanRequest, Planned};
use crate::resource::desired::{canonical, spec_hash};
use crate::resource::expected::with_updatable;
use crate::resource::{Address, Kind, ResolveOptions, Resource, labels};
use crate::state::StateResource;

pub fn run(g: &GlobalArgs, args: &ImportArgs) -> Result<ExitCode, Error> {
    let mut planned = crate::pipeline::plan(PlanRequest {
        source: &super::source(g),
        command: "berth import",
        mode: crate::plan::Mode::Converge,
        options: ResolveOptions::default(),
        // observed below, for every object of the project
        refresh: false,
        remove_orphans: false,
        lock: super::lock(&args.lock),
        release_model: false,
    })?;
    let mut backend = planned.take_backend()?;
    let Planned {
        desired,
        store,
        mut state,
        options,
        ..
    } = planned;
    let observed = backend.observe(&desired, &state)?;
    let single = match (&args.address, &args.id) {
        (Some(a), Some(id)) => {
            let address: Address = a
                .parse()
                .map_err(|e: crate::resource::address::BadAddress| Error::Usage(e.to_string()))?;
            if address.kind != Kind::Container {
                return Err(Error::Usage(format!(
                    "`{address}`: only containers can be imported by ID"
                )));
            }
            Some((address, id.clone()))
        }
        (None, None) => None,
        _ => {
            return Err(Error::Usage(
                "import takes both ADDRESS and ID, or neither".into(),
            ));
        }
    };
    let mut imported = Vec::new();
    for r in desired.resources.values() {
        if let Some((address, _)) = &single
            && *address != r.address
        {
            continue;
        }
        if state.get(&r.address).is_some() {
            continue;
        }
        let found = match &single {
            Some((_, id)) => backend
                .container(id)?
                .map(|c| Found::Container(Box::new(c))),
            None => find(&observed, r, &desired.project),
        };
        let name = match &found {
            Some(Found::Swarm { name, .. }) => name.clone(),
            _ => r.engine_name.clone(),
        };
        let Some((id, recorded)) = found.map(|f| record(r, f)) else {
            continue;
        };
        // as every record: sensitive values sealed
        let recorded = match &options.seal {
            Some(key) => crate::resource::sensitive::seal(&recorded, key).unwrap_or(recorded),
            None => recorded,
        };
        state.insert(
            r.address.clone(),
            StateResource {
                id,
                name,
                spec_hash: spec_hash(&recorded),
                spec: recorded,
            },
        );
        imported.push(r.address.to_string());
    }
    if let Some((address, id)) = &single
        && imported.is_empty()
    {
        return Err(Error::Usage(format!(
            "nothing imported: `{address}` is not in the compose files, is already in the state, or `{id}` is not a container"
        )));
    }
    if imported.is_empty() {
        print_out(
            "Nothing to import: every resource is already in the state or not on the engine.\n",
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    store.save(&mut state)?;
    let mut out = String::new();
    for a in &imported {
        out.push_str(&format!("Imported {a}\n"));
    }
    out.push_str(&format!(
        "\n{} resources imported. Run `berth plan` to see where the engine differs from the files.\n",
        imported.len()
    ));
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// What the engine holds for one resource.
enum Found {
    Object(String),
    Image(String),
    Container(Box<ObservedContainer>),
    /// A Swarm service, config or secret, under the name it has (a stack
    /// made by `docker stack deploy` names configs and secrets without
    /// berth's content hash).
    Swarm {
        id: String,
        name: String,
    },
}

fn find(observed: &Observed, r: &Resource, project: &str) -> Option<Found> {
    match r.address.kind {
        Kind::Network => observed
            .networks
            .iter()
            .find(|n| n.name == r.engine_name)
            .map(|n| Found::Object(n.id.clone())),
        Kind::Volume => observed
            .volumes
            .iter()
            .find(|v| v.name == r.engine_name)
            .map(|v| Found::Object(v.name.clone())),
        Kind::Image => observed
            .images
            .get(&r.engine_name)
            .map(|id| Found::Image(id.clone())),
        Kind::Service => observed
            .services
            .iter()
            .find(|s| s.name == r.engine_name)
            .map(|s| Found::Swarm {
                id: s.id.clone(),
                name: s.name.clone(),
            }),
        Kind::Config | Kind::Secret => {
            let list = if r.address.kind == Kind::Config {
                &observed.configs
            } else {
                &observed.secrets
            };
            // berth's name, else the one `docker stack deploy` gives it
            let stack_name = format!("{project}_{}", r.address.name);
            let compose_name = r.typed().object().map(|o| o.compose_name.clone());
            list.iter()
                .find(|o| o.name == r.engine_name)
                .or_else(|| {
                    list.iter()
                        .find(|o| o.name == stack_name || Some(&o.name) == compose_name.as_ref())
                })
                .map(|o| Found::Swarm {
                    id: o.id.clone(),
                    name: o.name.clone(),
                })
        }
        Kind::Container => {
            let service = r.address.service().unwrap_or_default();
            let number = r.address.index.unwrap_or(1).to_string();
            observed
                .containers
                .iter()
                .find(|c| {
                    c.labels.get(labels::PROJECT).map(String::as_str) == Some(project)
                        && c.labels.get(labels::SERVICE).map(String::as_str) == Some(service)
                        && c.labels.get(labels::CONTAINER_NUMBER) == Some(&number)
                })
                .or_else(|| observed.containers.iter().find(|c| c.name == r.engine_name))
                .map(|c| Found::Container(Box::new(c.clone())))
        }
    }
}

/// The ID and the spec to record: the desired spec, with the restart policy
/// and limits the engine shows put in its place where they differ.
fn record(r: &Resource, found: Found) -> (String, Value) {
    match found {
        Found::Object(id) | Found::Image(id) | Found::Swarm { id, .. } => {
            (id, (**r.recorded()).clone())
        }
        Found::Container(c) => {
            let spec = match r.typed().container() {
                Some(desired) => {
                    let seen = with_updatable(desired, &c.updatable);
                    canonical(serde_json::to_value(&seen).expect("typed specs serialise"))
                }
                None => (**r.spec.value()).clone(),
            };
            (c.id, spec)
        }
    }
}
