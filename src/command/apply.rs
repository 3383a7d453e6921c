//! `berth apply` and `berth destroy`: plan, approve, execute, record.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use crate::apply::driver::EngineDriver;
use crate::apply::executor::{Event, Report, execute};
use crate::apply::steps::steps;
use crate::cli::{ApplyArgs, ChangeArgs, DestroyArgs, GlobalArgs, LockArgs, PlanFormat};
use crate::command::plan::{Planned, compute, input_hashes, render};
use crate::plan::saved::SavedPlan;
use crate::plan::{Action, InPlace, Mode, Plan};
use crate::resource::{Kind, ResolveOptions};
use crate::run::{Error, print_out, use_color};

pub fn run(g: &GlobalArgs, args: &ApplyArgs) -> Result<ExitCode, Error> {
    if args.refresh_only {
        return refresh_only(g, args);
    }
    let (planned, saved) = match &args.plan {
        Some(path) => {
            let saved = SavedPlan::read(path).map_err(Error::Io)?;
            let options = ResolveOptions {
                scale: saved.scale.clone(),
                targets: saved.targets.clone(),
                ..Default::default()
            };
            let planned = compute(
                g,
                "berth apply",
                Mode::Converge,
                options,
                true,
                saved.remove_orphans,
                &args.change.lock,
            )?;
            check_fresh(&saved, &planned, path)?;
            (planned, true)
        }
        None => {
            let options = ResolveOptions {
                scale: args.scale.iter().cloned().collect(),
                targets: args.targets.clone(),
                ..Default::default()
            };
            let planned = compute(
                g,
                "berth apply",
                Mode::Converge,
                options,
                true,
                args.remove_orphans,
                &args.change.lock,
            )?;
            (planned, false)
        }
    };
    if !planned.plan.errors.is_empty() {
        print_out(&render(
            &planned.plan,
            PlanFormat::Text,
            use_color(g, false),
        ))?;
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
        print_out(&render(
            &planned.plan,
            PlanFormat::Text,
            use_color(g, false),
        ))?;
        return Err(Error::Plan(vec![format!(
            "the plan deletes or replaces {} and their data would be lost; run again with --allow-data-loss to accept that",
            losing.join(", ")
        )]));
    }
    let default = crate::cli::DEFAULT_PARALLELISM;
    finish(g, planned, &args.change, saved, "Apply", default, false)
}

/// A saved plan applies only to the inputs and state it was made against.
fn check_fresh(saved: &SavedPlan, planned: &Planned, path: &std::path::Path) -> Result<(), Error> {
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
    Err(Error::Plan(vec![format!(
        "the saved plan `{}` is stale: {}; make a new plan with `berth plan -o {}`",
        path.display(),
        why.join("; "),
        path.display()
    )]))
}

pub fn destroy(g: &GlobalArgs, args: &DestroyArgs) -> Result<ExitCode, Error> {
    let options = ResolveOptions {
        targets: args.targets.clone(),
        ..Default::default()
    };
    let mut planned = compute_destroy(g, options, &args.change.lock)?;
    // named volumes are kept unless asked; images stay on the engine (as after
    // `docker compose down`), so the state keeps recording them
    planned.plan.changes.retain(|c| {
        c.action == Action::Delete
            && c.address.kind != Kind::Image
            && (c.address.kind != Kind::Volume || args.volumes)
    });
    let default = crate::cli::DESTROY_PARALLELISM;
    finish(
        g,
        planned,
        &args.change,
        false,
        "Destroy",
        default,
        args.volumes,
    )
}

/// The plan of a destroy: nothing is desired any more (of the targeted services, with targets).
fn compute_destroy(
    g: &GlobalArgs,
    options: ResolveOptions,
    lock: &LockArgs,
) -> Result<Planned, Error> {
    let targets = options.targets.clone();
    let mut planned = compute(
        g,
        "berth destroy",
        Mode::Destroy,
        options,
        true,
        targets.is_empty(),
        lock,
    )?;
    // what stays (with targets, the other services' resources) orders the steps
    planned.desired.resources.retain(|a, _| {
        !targets.is_empty() && a.service().is_none_or(|s| !targets.iter().any(|t| t == s))
    });
    Ok(planned)
}

fn approve(plan: &Plan, args: &ChangeArgs, saved: bool) -> Result<(), Error> {
    if args.auto_approve || saved {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Io(
            "refusing to change the engine without approval: no terminal to ask on; run with --auto-approve, or save a plan (`berth plan -o FILE`) and apply it (`berth apply FILE`)".into(),
        ));
    }
    let _ = plan;
    print!("\nDo you want to perform these actions? Only 'yes' will be accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Io(e.to_string()))?;
    if answer.trim() != "yes" {
        return Err(Error::Io("apply cancelled: nothing was changed".into()));
    }
    Ok(())
}

fn finish(
    g: &GlobalArgs,
    planned: Planned,
    args: &ChangeArgs,
    saved: bool,
    verb: &str,
    default_parallelism: usize,
    anonymous_volumes: bool,
) -> Result<ExitCode, Error> {
    let color = use_color(g, false);
    if !planned.plan.has_changes() {
        print_out("No changes. Docker matches the configuration.\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    print_out(&render(&planned.plan, PlanFormat::Text, color))?;
    approve(&planned.plan, args, saved)?;
    let Planned {
        loaded,
        desired,
        store,
        mut state,
        plan,
        lock,
        session,
        ..
    } = planned;
    let list = steps(&plan, &desired);
    let mut driver = EngineDriver::new(&loaded.project, &desired, &plan, &state.lineage)?;
    if anonymous_volumes {
        driver = driver.removing_anonymous_volumes();
    }
    let driver = Arc::new(driver);
    // go on with the connection the plan observed on (`--refresh=false`: a new one)
    let mut session = match session {
        Some(s) => s,
        None => crate::command::plan::start_session()?,
    };
    let engine = session.engine()?;
    driver.attach(engine);
    let ui = Progress::new(args.quiet);
    let report = session.block_on(execute(
        driver.clone(),
        list,
        args.parallelism.unwrap_or(default_parallelism),
        |step, outcome| {
            outcome.apply_to(&mut state, step);
            // a failed save fails the step: the summary names it
            store.save(&mut state).map_err(|e| e.to_string())
        },
        |e| ui.event(e),
    ));
    drop(lock);
    ui.finish();
    let code = summarise(&plan, &report, verb)?;
    if report.ok() && verb == "Apply" {
        print_out(&published(&desired))?;
    }
    Ok(code)
}

/// Where to reach what was applied: every published port.
fn published(desired: &crate::resource::Desired) -> String {
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
                None | Some("") | Some("0.0.0.0") => "localhost",
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

fn summarise(plan: &Plan, report: &Report, verb: &str) -> Result<ExitCode, Error> {
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

/// Progress: a live line per resource on a terminal, timestamped lines otherwise.
struct Progress {
    quiet: bool,
    live: Option<indicatif::MultiProgress>,
    bars: std::sync::Mutex<std::collections::BTreeMap<String, indicatif::ProgressBar>>,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        let live = (!quiet && std::io::stderr().is_terminal()).then(indicatif::MultiProgress::new);
        Progress {
            quiet,
            live,
            bars: Default::default(),
        }
    }

    fn stamp() -> String {
        let now = crate::state::format_rfc3339(std::time::SystemTime::now());
        now.get(11..19).unwrap_or(&now).to_string()
    }

    fn event(&self, e: Event) {
        let text = describe(&e);
        let key = match &e {
            Event::Started { address, .. }
            | Event::Finished { address, .. }
            | Event::Failed { address, .. } => address.to_string(),
        };
        if let Some(live) = &self.live {
            let mut bars = self.bars.lock().expect("progress lock");
            match e {
                Event::Started { .. } => {
                    let bar = live.add(indicatif::ProgressBar::new_spinner());
                    bar.set_style(
                        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                            .expect("template"),
                    );
                    bar.enable_steady_tick(std::time::Duration::from_millis(120));
                    bar.set_message(text);
                    bars.insert(key, bar);
                }
                Event::Finished { .. } => {
                    if let Some(bar) = bars.remove(&key) {
                        // the line already says how long it took
                        bar.set_style(
                            indicatif::ProgressStyle::with_template("  {msg}").expect("template"),
                        );
                        bar.finish_with_message(text);
                    }
                }
                Event::Failed { .. } => {
                    if let Some(bar) = bars.remove(&key) {
                        bar.abandon_with_message(text);
                    }
                }
            }
            return;
        }
        if self.quiet && !matches!(e, Event::Failed { .. }) {
            return;
        }
        eprintln!("{} {text}", Self::stamp());
    }

    /// Finished lines stay on screen (as Terraform's do); only spinners of
    /// steps that never finished are dropped.
    fn finish(&self) {
        for (_, bar) in std::mem::take(&mut *self.bars.lock().expect("progress lock")) {
            bar.abandon();
        }
    }
}

/// One progress line: `container.web[1]: created after 0.3s`.
fn describe(e: &Event) -> String {
    match e {
        Event::Started { address, what } => format!("{address}: {what}..."),
        Event::Finished {
            address,
            what,
            elapsed,
        } => format!(
            "{address}: {} after {:.1}s",
            done_word(what),
            elapsed.as_secs_f64()
        ),
        Event::Failed {
            address,
            what,
            error,
        } => format!("{address}: {what} failed: {error}"),
    }
}

fn done_word(what: &str) -> &'static str {
    match what {
        "creating" => "created",
        "starting" => "started",
        "destroying" => "destroyed",
        _ => "updated",
    }
}

/// `apply --refresh-only`: the state learns what the engine shows. Resources
/// gone from the engine are forgotten; objects found under another ID are
/// recorded with it. The engine is not touched.
fn refresh_only(g: &GlobalArgs, args: &ApplyArgs) -> Result<ExitCode, Error> {
    let planned = compute(
        g,
        "berth apply --refresh-only",
        Mode::RefreshOnly,
        ResolveOptions::default(),
        true,
        false,
        &args.change.lock,
    )?;
    let Planned {
        store,
        mut state,
        plan,
        ..
    } = planned;
    print_out(&render(&plan, PlanFormat::Text, use_color(g, false)))?;
    if !plan.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    approve(&plan, &args.change, false)?;
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
