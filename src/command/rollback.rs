//! `berth rollback [--to SERIAL]`: plan the return to a recorded deploy
//! (its containers, each from the image ID it ran), then approve and apply
//! as `berth apply` does: the same diff, executor and summary. The deploy
//! is recorded in the history like any other.

use std::cell::RefCell;
use std::process::ExitCode;

use super::apply::{Deploys, Finish, finish};
use super::plan::render;
use crate::cli::{GlobalArgs, PlanFormat, RollbackArgs};
use crate::compose::Loaded;
use crate::error::Error;
use crate::output::print_out;
use crate::pipeline::{PlanRequest, rollback_desired};
use crate::plan::Mode;
use crate::resource::{Desired, Kind, ResolveOptions};
use crate::state::State;

pub fn run(g: &GlobalArgs, args: &RollbackArgs) -> Result<ExitCode, Error> {
    let target: RefCell<Option<(u64, String)>> = RefCell::new(None);
    let rewrite = |desired: &mut Desired, state: &State, loaded: &Loaded| {
        let deploy = state
            .rollback_target(args.to)
            .map_err(|m| Error::Plan(vec![m]))?;
        rollback_desired(desired, state, &loaded.project, deploy).map_err(Error::Plan)?;
        *target.borrow_mut() = Some((deploy.serial, deploy.time.clone()));
        Ok(())
    };
    let mut planned = crate::pipeline::plan_with(
        PlanRequest {
            source: &super::source(g),
            command: "berth rollback",
            mode: Mode::Converge,
            options: ResolveOptions::default(),
            refresh: true,
            remove_orphans: false,
            lock: super::lock(&args.change.lock),
            release_model: false,
        },
        Some(&rewrite),
    )?;
    // the containers run pinned image IDs: no image is built or pulled
    planned
        .plan
        .changes
        .retain(|c| c.address.kind != Kind::Image);
    let color = super::color(g, false);
    if !planned.plan.errors.is_empty() {
        print_out(&render(&planned.plan, PlanFormat::Text, color))?;
        return Err(Error::Plan(planned.plan.errors.clone()));
    }
    if let Some((serial, time)) = target.take() {
        print_out(&format!(
            "Rolling back to deploy {serial} ({time}): its containers, each from the image it ran.\n\n"
        ))?;
    }
    let how = Finish {
        verb: "Rollback",
        default_parallelism: crate::cli::DEFAULT_PARALLELISM,
        anonymous_volumes: false,
        watch: args.watch,
        deploys: Deploys::Record(args.keep_deploys),
    };
    finish(g, planned, &args.change, false, how)
}
