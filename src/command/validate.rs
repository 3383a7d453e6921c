//! `berth validate`: load the files as a plan would, report every problem
//! located, or say what the project holds.

use std::process::ExitCode;

use crate::cli::GlobalArgs;
use crate::error::Error;
use crate::output::print_out;
use crate::pipeline::load_applicable;

pub fn run(g: &GlobalArgs) -> Result<ExitCode, Error> {
    let loaded = load_applicable(&super::source(g), &[])?;
    // the process ends next: freeing a large project only costs time
    let loaded = std::mem::ManuallyDrop::new(loaded);
    let p = &loaded.project;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    print_out(&format!(
        "valid: {}, {}, {}\n",
        plural(p.services.len(), "service"),
        plural(p.networks.len(), "network"),
        plural(p.volumes.len(), "volume")
    ))?;
    Ok(ExitCode::SUCCESS)
}
