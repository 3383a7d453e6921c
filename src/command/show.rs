//! `berth show [PLANFILE]`: a saved plan, or what the state records.

use std::process::ExitCode;

use super::plan::render;
use crate::cli::{GlobalArgs, PlanFormat, ShowArgs};
use crate::error::Error;
use crate::output::print_out;
use crate::pipeline::{load, state_path};
use crate::plan::saved::SavedPlan;
use crate::state::StateStore;

pub fn run(g: &GlobalArgs, args: &ShowArgs) -> Result<ExitCode, Error> {
    if let Some(path) = &args.plan {
        let saved = SavedPlan::read(path)?;
        print_out(&render(&saved.plan, args.format, super::color(g, false)))?;
        return Ok(ExitCode::SUCCESS);
    }
    let source = super::source(g);
    let loaded = load(&source, &[])?;
    let store = StateStore::new(state_path(&source, &loaded));
    let Some(state) = store.load(&loaded.project.name)? else {
        print_out(&format!(
            "No state for project `{}` yet (`{}` does not exist): nothing has been applied.\n",
            loaded.project.name,
            store.path().display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    };
    let out = match args.format {
        PlanFormat::Json => serde_json::to_string_pretty(&state).expect("state serialises") + "\n",
        PlanFormat::Text | PlanFormat::Markdown => {
            let mut s = format!(
                "# state of project `{}`: serial {}, lineage {}\n",
                state.project, state.serial, state.lineage
            );
            match &state.engine {
                Some(engine) => s.push_str(&format!("# applied to the Docker engine {engine}\n")),
                None => s.push_str("# no engine recorded yet (the next apply records it)\n"),
            }
            for (address, r) in &state.resources {
                let id: String = r.id.chars().take(12).collect();
                s.push_str(&format!("{address}  {}  {id}\n", r.name));
            }
            s
        }
    };
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}
