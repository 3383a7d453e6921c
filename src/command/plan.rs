//! `berth plan` and `berth drift`: what apply would change, and why; saved
//! with `-o FILE` for `berth apply FILE`.

use std::process::ExitCode;

use crate::cli::{GlobalArgs, PlanArgs, PlanFormat};
use crate::error::Error;
use crate::output::{print_out, print_out_chunks};
use crate::pipeline::{PlanRequest, Planned, input_hashes};
use crate::plan::saved::{self, SavedPlan};
use crate::plan::{Mode, Plan};
use crate::render;
use crate::resource::ResolveOptions;

/// Render a plan in the asked format.
pub fn render(plan: &Plan, format: PlanFormat, color: bool) -> String {
    match format {
        PlanFormat::Text => render::text(plan, color),
        PlanFormat::Markdown => render::markdown(plan),
        PlanFormat::Json => render::json(plan),
    }
}

pub fn run(g: &GlobalArgs, args: &PlanArgs) -> Result<ExitCode, Error> {
    if args.refresh_only && !args.refresh {
        return Err(Error::Usage(
            "--refresh-only compares the engine with the state: it cannot be combined with --refresh=false".into(),
        ));
    }
    let source = super::source(g);
    let planned = crate::pipeline::plan(PlanRequest {
        source: &source,
        command: "berth plan",
        mode: if args.refresh_only {
            Mode::RefreshOnly
        } else {
            Mode::Converge
        },
        options: ResolveOptions {
            scale: args.scale.iter().cloned().collect(),
            targets: args.targets.clone(),
            ..Default::default()
        },
        refresh: args.refresh,
        remove_orphans: args.remove_orphans,
        lock: super::lock(&args.lock),
        release_model: true,
    })?;
    let plan = &planned.plan;
    let mut timer = crate::timing::Timer::new();
    let color = super::color(g, false);
    match args.format {
        // thousands of resources: printed as laid out, not held as one String
        PlanFormat::Text => print_out_chunks(|emit| render::text_to(plan, color, emit))?,
        format => print_out(&render(plan, format, color))?,
    }
    timer.lap("render, print");
    if !plan.errors.is_empty() {
        return Err(Error::Plan(plan.errors.clone()));
    }
    if let Some(out) = &args.out {
        save(&planned, args, out)?;
    }
    let changes = plan.has_changes();
    // the process ends next: freeing a large project and plan only costs time
    std::mem::forget(planned);
    Ok(if args.detailed_exitcode && changes {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `-o FILE`: the plan with everything it was made from.
fn save(planned: &Planned, args: &PlanArgs, out: &std::path::Path) -> Result<(), Error> {
    save_plan(planned, args.remove_orphans, None, out)?;
    eprintln!(
        "Saved the plan to `{}`. To perform exactly these actions, run: berth apply {}",
        out.display(),
        out.display()
    );
    Ok(())
}

/// Write `planned`'s plan to `out` with everything it was made from
/// (`rollback_to`: the deploy a rollback's plan returns to).
pub(super) fn save_plan(
    planned: &Planned,
    remove_orphans: bool,
    rollback_to: Option<u64>,
    out: &std::path::Path,
) -> Result<(), Error> {
    let plan = &planned.plan;
    let saved = SavedPlan {
        format_version: saved::FORMAT_VERSION,
        berth_version: env!("CARGO_PKG_VERSION").to_string(),
        project: plan.project.clone(),
        plan_hash: plan.hash(),
        inputs: input_hashes(&planned.loaded, &planned.desired),
        state_lineage: planned.state.lineage.clone(),
        state_serial: planned.state.serial,
        targets: planned.options.targets.clone(),
        scale: planned.options.scale.clone(),
        remove_orphans,
        rollback_to,
        plan: plan.clone(),
    };
    saved
        .write(out)
        .map_err(|e| Error::io(format!("write plan file `{}`", out.display()), e))
}

/// `berth drift`: `plan --refresh-only`.
pub fn drift(g: &GlobalArgs, args: &PlanArgs) -> Result<ExitCode, Error> {
    let mut args = args.clone();
    args.refresh_only = true;
    run(g, &args)
}
