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
use crate::plan::saved::SavedPlan;
use crate::resource::{Desired, Kind, ResolveOptions};
use crate::state::State;

pub fn run(g: &GlobalArgs, args: &RollbackArgs) -> Result<ExitCode, Error> {
    // a saved rollback plan: the same deploy, planned again, must give it
    let saved = match &args.plan {
        Some(path) => {
            let saved = SavedPlan::read(path)?;
            let Some(serial) = saved.rollback_to else {
                return Err(Error::Usage(format!(
                    "`{}` is not a rollback's plan: apply it with `berth apply {}`",
                    path.display(),
                    path.display()
                )));
            };
            Some((path, saved, serial))
        }
        None => None,
    };
    let to = saved.as_ref().map(|(_, _, serial)| *serial).or(args.to);
    let target: RefCell<Option<(u64, String)>> = RefCell::new(None);
    let rewrite = |desired: &mut Desired, state: &State, loaded: &Loaded| {
        if loaded.backend == crate::compose::BackendKind::Swarm {
            return Err(Error::Usage(
                "berth rollback returns a plain engine's containers to a recorded deploy; a Swarm service rolls back by itself (`deploy.update_config.failure_action: rollback`, or `docker service rollback SERVICE`), or apply the files of the deploy to return to".into(),
            ));
        }
        let deploy = state
            .rollback_target(to)
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
    let target = target.take();
    if let Some(out) = &args.out {
        print_out(&render(&planned.plan, PlanFormat::Text, color))?;
        super::plan::save_plan(&planned, false, target.as_ref().map(|t| t.0), out)?;
        eprintln!(
            "Saved the rollback's plan to `{}`. To perform exactly these actions, run: berth rollback {}",
            out.display(),
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some((path, saved, _)) = &saved {
        super::apply::check_fresh(saved, &planned, path)?;
    }
    if let Some((serial, time)) = target {
        print_out(&format!(
            "Rolling back to deploy {serial} ({time}): its containers, each from the image it ran.\n\n"
        ))?;
    }
    let how = Finish {
        verb: "Rollback",
        default_parallelism: crate::cli::DEFAULT_PARALLELISM,
        anonymous_volumes: false,
        watch: args.deploy.watch,
        deploys: Deploys::Record(args.deploy.keep_deploys),
    };
    finish(g, planned, &args.change, saved.is_some(), how)
}
