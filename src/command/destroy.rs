//! `berth destroy`: remove what the state holds (of the targeted services,
//! with `--target`), whatever the files now say. Named volumes stay unless
//! `--volumes`; images stay on the engine, as after `docker compose down`.

use std::process::ExitCode;

use super::apply::{Deploys, Finish, finish};
use crate::cli::{DestroyArgs, GlobalArgs};
use crate::error::Error;
use crate::pipeline::{PlanRequest, Planned};
use crate::plan::{Action, Mode};
use crate::resource::{Kind, ResolveOptions};

pub fn run(g: &GlobalArgs, args: &DestroyArgs) -> Result<ExitCode, Error> {
    let mut planned = plan_destroy(g, args)?;
    // images stay on the engine, so the state keeps recording them
    planned.plan.changes.retain(|c| {
        c.action == Action::Delete
            && c.address.kind != Kind::Image
            && (c.address.kind != Kind::Volume || args.volumes)
    });
    let how = Finish {
        verb: "Destroy",
        default_parallelism: crate::cli::DESTROY_PARALLELISM,
        anonymous_volumes: args.volumes,
        watch: None,
        deploys: Deploys::ReportKept,
    };
    finish(g, planned, &args.change, false, how)
}

/// The plan of a destroy: nothing is desired any more (of the targeted
/// services, with targets).
fn plan_destroy(g: &GlobalArgs, args: &DestroyArgs) -> Result<Planned, Error> {
    let targets = args.targets.clone();
    let mut planned = crate::pipeline::plan(PlanRequest {
        source: &super::source(g),
        command: "berth destroy",
        mode: Mode::Destroy,
        options: ResolveOptions {
            targets: targets.clone(),
            ..Default::default()
        },
        refresh: true,
        remove_orphans: targets.is_empty(),
        lock: super::lock(&args.change.lock),
        release_model: false,
    })?;
    // what stays (with targets, the other services' resources) orders the steps
    planned.desired.resources.retain(|a, _| {
        !targets.is_empty() && a.service().is_none_or(|s| !targets.iter().any(|t| t == s))
    });
    Ok(planned)
}
