//! `berth apply`: plan (or read a saved plan and check it is still
//! current), approve, execute through the backend, record after every step,
//! summarise. `apply --refresh-only` changes the state alone. `berth
//! destroy` reuses [`finish`].

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use super::plan::render;
use crate::apply::executor::Report;
use crate::apply::steps::steps;
use crate::backend::Job;
use crate::cli::{ApplyArgs, ChangeArgs, GlobalArgs, PlanFormat};
use crate::engine::EngineError;
use crate::error::Error;
use crate::output::{Progress, print_out};
use crate::pipeline::{PlanRequest, Planned, input_hashes};
use crate::plan::saved::SavedPlan;
use crate::plan::{Action, InPlace, Mode, Plan};
use crate::resource::ResolveOptions;

pub fn run(g: &GlobalArgs, args: &ApplyArgs) -> Result<ExitCode, Error> {
    if args.refresh_only {
        return refresh_only(g, args);
    }
    let source = super::source(g);
    let request = |options, remove_orphans| PlanRequest {
        source: &source,
        command: "berth apply",
        mode: Mode::Converge,
        options,
        refresh: true,
        remove_orphans,
        lock: super::lock(&args.change.lock),
        release_model: false,
    };
    let (planned, saved) = match &args.plan {
        Some(path) => {
            let saved = SavedPlan::read(path)?;
            if let Some(serial) = saved.rollback_to {
                return Err(Error::Usage(format!(
                    "`{}` is a rollback's plan (to deploy {serial}): apply it with `berth rollback {}`",
                    path.display(),
                    path.display()
                )));
            }
            let options = ResolveOptions {
                scale: saved.scale.clone(),
                targets: saved.targets.clone(),
                ..Default::default()
            };
            let planned = crate::pipeline::plan(request(options, saved.remove_orphans))?;
            check_fresh(&saved, &planned, path)?;
            (planned, true)
        }
        None => {
            let options = ResolveOptions {
                scale: args.scale.iter().cloned().collect(),
                targets: args.targets.clone(),
                ..Default::default()
            };
            let planned = crate::pipeline::plan(request(options, args.remove_orphans))?;
            (planned, false)
        }
    };
    let color = super::color(g, false);
    if !planned.plan.errors.is_empty() {
        print_out(&render(&planned.plan, PlanFormat::Text, color))?;
        return Err(Error::Plan(planned.plan.errors.clone()));
    }
    let losing: Vec<String> = planned
        .plan
        .changes
        .iter()
        .filter(|c| c.data_loss)
        .map(|c| c.address.to_string())
        .collect();
    if !losing.is_empty() && !args.allow_data_loss {
        print_out(&render(&planned.plan, PlanFormat::Text, color))?;
        return Err(Error::Plan(vec![format!(
            "the plan deletes or replaces {} and their data would be lost; run again with --allow-data-loss to accept that",
            losing.join(", ")
        )]));
    }
    let how = Finish {
        verb: "Apply",
        default_parallelism: crate::cli::DEFAULT_PARALLELISM,
        anonymous_volumes: false,
        watch: args.deploy.watch,
        deploys: Deploys::Record(args.deploy.keep_deploys),
    };
    finish(g, planned, &args.change, saved, how)
}

/// What a command does with the history of deploys once it succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deploys {
    /// Record a deploy when containers changed, keep the last N (and
    /// their images).
    Record(usize),
    /// Say which kept image references stay on the engine (destroy).
    ReportKept,
}

/// A saved plan applies only to the inputs and state it was made against.
pub(super) fn check_fresh(
    saved: &SavedPlan,
    planned: &Planned,
    path: &std::path::Path,
) -> Result<(), Error> {
    let mut why = Vec::new();
    if saved.state_lineage != planned.state.lineage && planned.state_exists {
        why.push(format!(
            "the state is another one (lineage {} instead of {})",
            planned.state.lineage, saved.state_lineage
        ));
    }
    if saved.state_serial != planned.state.serial {
        why.push(format!(
            "the state changed since the plan was made (serial {} -> {})",
            saved.state_serial, planned.state.serial
        ));
    }
    why.extend(saved.stale_inputs(&input_hashes(&planned.loaded, &planned.desired)));
    if why.is_empty() && planned.plan.hash() != saved.plan_hash {
        why.push(
            "the engine changed since the plan was made (planning again gives a different plan)"
                .into(),
        );
    }
    if why.is_empty() {
        return Ok(());
    }
    let remake = match saved.rollback_to {
        Some(serial) => format!("berth rollback --to {serial} -o {}", path.display()),
        None => format!("berth plan -o {}", path.display()),
    };
    Err(Error::Plan(vec![format!(
        "the saved plan `{}` is stale: {}; make a new plan with `{remake}`",
        path.display(),
        why.join("; "),
    )]))
}

/// Ask before changing anything, unless `--auto-approve` or a saved plan
/// (approved when it was reviewed).
fn approve(args: &ChangeArgs, saved: bool, verb: &str) -> Result<(), Error> {
    if args.auto_approve || saved {
        return Ok(());
    }
    let rollback = verb == "Rollback";
    if !std::io::stdin().is_terminal() {
        return Err(Error::Cancelled(if rollback {
            // a rollback's plan is not saved: it is made from the history
            "refusing to change the engine without approval: no terminal to ask on; review the plan with a terminal, or run with --auto-approve".into()
        } else {
            "refusing to change the engine without approval: no terminal to ask on; run with --auto-approve, or save a plan (`berth plan -o FILE`) and apply it (`berth apply FILE`)".into()
        }));
    }
    print!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("read the answer from standard input", e))?;
    if answer.trim() != "yes" {
        return Err(Error::Cancelled(
            if rollback {
                "rollback cancelled: nothing was changed"
            } else {
                "apply cancelled: nothing was changed"
            }
            .into(),
        ));
    }
    Ok(())
}

/// How [`finish`] ends a command.
pub struct Finish {
    /// `Apply`, `Rollback`, `Destroy`: what the summary calls it.
    pub verb: &'static str,
    pub default_parallelism: usize,
    /// Removing a container removes its anonymous volumes (`destroy --volumes`).
    pub anonymous_volumes: bool,
    /// `apply --watch`: how long to watch what the rollouts replaced.
    pub watch: Option<std::time::Duration>,
    /// What becomes of the history of deploys.
    pub deploys: Deploys,
}

/// Show the plan, approve, execute, summarise: apply's and destroy's end.
pub fn finish(
    g: &GlobalArgs,
    mut planned: Planned,
    args: &ChangeArgs,
    saved: bool,
    how: Finish,
) -> Result<ExitCode, Error> {
    let Finish {
        verb,
        default_parallelism,
        anonymous_volumes,
        watch,
        deploys,
    } = how;
    let color = super::color(g, false);
    if !planned.plan.has_changes() {
        if planned.engine_moved.is_some() {
            planned.take_backend()?;
            planned.store.save(&mut planned.state)?;
            print_out(
                "No changes. Docker matches the configuration; the state now records this engine.\n",
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        print_out("No changes. Docker matches the configuration.\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    print_out(&render(&planned.plan, PlanFormat::Text, color))?;
    approve(args, saved, verb)?;
    let list = steps(&planned.plan, &planned.desired);
    let parallelism = args.parallelism.unwrap_or(
        // a Swarm step mostly waits for the engine's tasks to converge
        if planned.loaded.backend == crate::compose::BackendKind::Swarm {
            default_parallelism.max(crate::cli::SWARM_PARALLELISM)
        } else {
            default_parallelism
        },
    );
    let ui = Progress::new(args.quiet);
    // go on with the backend the plan observed through
    let mut backend = planned.take_backend()?;
    let Planned {
        loaded,
        desired,
        store,
        mut state,
        plan,
        lock,
        ..
    } = planned;
    let lineage = state.lineage.clone();
    let previous = plan
        .changes
        .iter()
        .filter(|c| c.is_rolled())
        .filter_map(|c| Some((c.address.clone(), state.get(&c.address)?.clone())))
        .collect();
    let job = Job {
        previous,
        watch: watch.is_some(),
        project: &loaded.project,
        desired: &desired,
        plan: &plan,
        lineage: &lineage,
        steps: list,
        parallelism,
        anonymous_volumes,
    };
    let mut record = |_: &crate::apply::steps::Step, outcome: crate::apply::Outcome| {
        outcome.apply_to(&mut state);
        // a failed save fails the step: the summary names it
        store.save(&mut state)
    };
    let report = backend.execute(job, &mut record, &mut |e| ui.event(e))?;
    ui.finish();
    let mut code = summarise(&plan, &report, verb)?;
    if let Some(duration) = watch.filter(|_| report.ok()) {
        print_out(&format!(
            "\nWatching the containers the rollouts replaced for {}...\n",
            crate::compose::units::Duration(duration.as_nanos() as i64)
        ))?;
        match backend.watch(duration, &mut record)? {
            crate::backend::Watched::Nothing => {
                print_out("Nothing was rolled out (no deploy.update_config): nothing to watch.\n")?
            }
            crate::backend::Watched::Held(n) => print_out(&format!(
                "All {n} replaced container{} stayed healthy; the old ones are removed.\n",
                if n == 1 { "" } else { "s" }
            ))?,
            crate::backend::Watched::RolledBack { problem, back } => {
                let back = format!(
                    "rolled back {back} container{} to the previous version",
                    if back == 1 { "" } else { "s" }
                );
                eprintln!("error: {problem}: {back}");
                // what the watch saw, without the health check's output
                let seen = problem.split(" (").next().unwrap_or_default();
                state.last_failed_rollout = Some(crate::state::FailedRollout {
                    time: crate::state::format_rfc3339(std::time::SystemTime::now()),
                    failed: rolled(&plan),
                    outcome: format!("{seen}; {back} (apply --watch)"),
                });
                if let Err(e) = store.save(&mut state) {
                    eprintln!("warning: the rollback is not recorded in the state: {e}");
                }
                code = ExitCode::FAILURE;
            }
        }
    }
    if let Some(failed) = failed_rollout(&plan, &report) {
        state.last_failed_rollout = Some(failed);
        // the summary above said what failed; this keeps it for later
        if let Err(e) = store.save(&mut state) {
            eprintln!("warning: the failed rollout is not recorded in the state: {e}");
        }
    }
    let containers_changed = plan
        .changes
        .iter()
        .any(|c| c.address.kind == crate::resource::Kind::Container && c.action != Action::NoOp);
    // a deploy is what stays: not one the watch rolled back
    if report.ok() && code == ExitCode::SUCCESS {
        let note = match deploys {
            Deploys::Record(keep) if containers_changed => {
                record_deploy(&mut *backend, &desired, &store, &mut state, keep)
            }
            Deploys::Record(_) => None,
            Deploys::ReportKept => kept_note(&mut *backend, &state.project),
        };
        if let Some(note) = note {
            print_out(&note)?;
        }
    }
    drop(lock);
    if report.ok() && verb != "Destroy" {
        let host = backend
            .remote_host()
            .unwrap_or_else(|| "localhost".to_string());
        print_out(&published(&desired, &host))?;
    }
    Ok(code)
}

/// The containers of the plan that are rolled out (`deploy.update_config`).
fn rolled(plan: &Plan) -> Vec<crate::resource::Address> {
    plan.changes
        .iter()
        .filter(|c| c.is_rolled())
        .map(|c| c.address.clone())
        .collect()
}

/// The record of the rollouts of `plan` that failed in `report`, if any:
/// which containers, and what their `failure_action` did about it.
fn failed_rollout(
    plan: &Plan,
    report: &Report<EngineError>,
) -> Option<crate::state::FailedRollout> {
    use crate::plan::rollout::FailureAction;
    let rolled = rolled(plan);
    let failed: Vec<_> = report
        .failed
        .iter()
        .map(|(a, _)| a.clone())
        .filter(|a| rolled.contains(a))
        .collect();
    let first = plan
        .changes
        .iter()
        .find(|c| failed.first() == Some(&c.address))?;
    let outcome = match first.rollout.as_ref().map(|r| r.on_failure) {
        Some(FailureAction::Rollback) => {
            "the new container failed its gate; the old one kept serving, and the containers already replaced were rolled back (failure_action: rollback)"
        }
        Some(FailureAction::Continue) => {
            "the new container failed its gate; the old one kept serving, and the rollout went on (failure_action: continue)"
        }
        _ => {
            "the new container failed its gate; the old one kept serving, and the rest of the rollout was not done (failure_action: pause)"
        }
    };
    Some(crate::state::FailedRollout {
        time: crate::state::format_rfc3339(std::time::SystemTime::now()),
        failed,
        outcome: outcome.to_string(),
    })
}

/// After a successful apply that changed containers: record the deploy
/// (each container with the image the engine says it runs), save, and tag
/// the images of the deploys kept. What goes wrong here does not undo the
/// apply: it is said in the note returned.
fn record_deploy(
    backend: &mut dyn crate::backend::Backend,
    desired: &crate::resource::Desired,
    store: &crate::state::StateStore,
    state: &mut crate::state::State,
    keep: usize,
) -> Option<String> {
    let mut timer = crate::timing::Timer::new();
    let observed = match backend.observe(desired, state) {
        Ok(o) => o,
        Err(e) => {
            return Some(format!(
                "\nnote: this deploy is not in the history (berth rollback cannot return to it): {e}\n"
            ));
        }
    };
    let by_id: std::collections::HashMap<&str, &str> = observed
        .containers
        .iter()
        .map(|c| (c.id.as_str(), c.image_id.as_str()))
        .collect();
    let image_ids = state
        .resources
        .iter()
        .filter(|(a, _)| a.kind == crate::resource::Kind::Container)
        .filter_map(|(a, r)| Some((a.clone(), by_id.get(r.id.as_str())?.to_string())))
        .collect();
    let time = crate::state::format_rfc3339(std::time::SystemTime::now());
    state.record_deploy(time, &image_ids, keep);
    timer.lap("deploy: observe");
    if let Err(e) = store.save(state) {
        return Some(format!(
            "\nnote: this deploy is not in the history (berth rollback cannot return to it): {e}\n"
        ));
    }
    timer.lap("deploy: save");
    let wanted = crate::state::kept_references(&state.project, &state.history);
    let repository = crate::state::keep_repository(&state.project);
    let kept = backend.keep_images(&repository, &wanted);
    timer.lap("deploy: keep images");
    match kept {
        Ok(_) => None,
        Err(e) => Some(format!(
            "\nnote: the images of the deploys kept may not be kept from pruning: {e}\n"
        )),
    }
}

/// After a destroy: the image references that keep the deploys' images,
/// which stay (for a rollback after the next apply, or to remove by hand).
fn kept_note(backend: &mut dyn crate::backend::Backend, project: &str) -> Option<String> {
    let repository = crate::state::keep_repository(project);
    let kept = backend.kept_images(&repository).ok()?;
    if kept.is_empty() {
        return None;
    }
    let list: Vec<&str> = kept.keys().map(String::as_str).collect();
    Some(format!(
        "\nKept images (the recorded deploys', for `berth rollback`): {}. Remove them with `docker image rm {}`.\n",
        list.join(", "),
        list.join(" ")
    ))
}

/// Where to reach what was applied: every published port, at `machine`
/// (the engine's host: `localhost`, or a remote engine's name).
fn published(desired: &crate::resource::Desired, machine: &str) -> String {
    let mut out = String::new();
    for r in desired.resources.values() {
        let Some(c) = r.typed().container() else {
            continue;
        };
        for p in &c.service.ports {
            let Some(port) = &p.published else {
                continue;
            };
            let host = match p.host_ip.as_deref() {
                None | Some("") | Some("0.0.0.0") | Some("::") => machine,
                Some(ip) => ip,
            };
            out.push_str(&format!(
                "  {} ({}): {host}:{port} -> {}/{}\n",
                r.address, r.engine_name, p.target, p.protocol
            ));
        }
    }
    if out.is_empty() {
        out
    } else {
        format!("\nPublished ports:\n{out}")
    }
}

fn summarise(plan: &Plan, report: &Report<EngineError>, verb: &str) -> Result<ExitCode, Error> {
    let action = |a: &crate::resource::Address| {
        plan.changes
            .iter()
            .find(|c| &c.address == a)
            .map(|c| c.action)
    };
    let count = |want: Action| {
        plan.changes
            .iter()
            .filter(|c| c.action == want && report.done.contains(&c.address))
            .count()
    };
    if report.ok() {
        print_out(&format!(
            "\n{verb} complete! Resources: {} added, {} changed, {} replaced, {} destroyed.\n",
            count(Action::Create),
            count(Action::Update),
            count(Action::Replace),
            count(Action::Delete)
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = format!(
        "\n{verb} failed. The state records every finished step; run it again to finish.\n"
    );
    let mut done: Vec<String> = report.done.iter().map(ToString::to_string).collect();
    done.dedup();
    out.push_str(&format!(
        "  done: {}\n",
        if done.is_empty() {
            "nothing".into()
        } else {
            done.join(", ")
        }
    ));
    for (a, e) in &report.failed {
        let what = action(a).map(|x| x.as_str()).unwrap_or("step");
        out.push_str(&format!("  failed: {a} ({what}): {e}\n"));
    }
    let skipped: Vec<String> = report.skipped.iter().map(ToString::to_string).collect();
    out.push_str(&format!(
        "  skipped: {}\n",
        if skipped.is_empty() {
            "nothing".into()
        } else {
            skipped.join(", ")
        }
    ));
    eprint!("{out}");
    Ok(ExitCode::from(1))
}

/// `apply --refresh-only`: the state learns what the engine shows. Resources
/// gone from the engine are forgotten; objects found under another ID are
/// recorded with it. The engine is not touched.
fn refresh_only(g: &GlobalArgs, args: &ApplyArgs) -> Result<ExitCode, Error> {
    let planned = crate::pipeline::plan(PlanRequest {
        source: &super::source(g),
        command: "berth apply --refresh-only",
        mode: Mode::RefreshOnly,
        options: ResolveOptions::default(),
        refresh: true,
        remove_orphans: false,
        lock: super::lock(&args.change.lock),
        release_model: false,
    })?;
    let Planned {
        store,
        mut state,
        plan,
        ..
    } = planned;
    print_out(&render(&plan, PlanFormat::Text, super::color(g, false)))?;
    if !plan.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    approve(&args.change, false, "Apply")?;
    let (mut forgotten, mut updated) = (0, 0);
    for c in &plan.changes {
        for op in &c.ops {
            match op {
                InPlace::Forget if state.remove(&c.address).is_some() => forgotten += 1,
                InPlace::Rebind => {
                    if let (Some(r), Some(found)) = (state.resources.get_mut(&c.address), &c.id) {
                        r.id = found.clone();
                        updated += 1;
                    }
                }
                _ => {}
            }
        }
    }
    store.save(&mut state)?;
    print_out(&format!(
        "\nState refreshed: {forgotten} forgotten (gone from the engine), {updated} recorded under their new ID; the engine was not changed. Run `berth apply` to repair the rest of the drift.\n"
    ))?;
    Ok(ExitCode::SUCCESS)
}
