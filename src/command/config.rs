//! `berth config`: the project in canonical form (long syntax, absolute
//! paths), as `docker compose config` prints it, or only its names.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{ConfigArgs, ConfigFormat, GlobalArgs};
use crate::compose;
use crate::error::Error;
use crate::output::stdout_result;
use crate::pipeline::load;

pub fn run(g: &GlobalArgs, args: &ConfigArgs) -> Result<ExitCode, Error> {
    let loaded = load(&super::source(g), &args.service_names)?;
    let mut project = loaded.project;
    if !args.service_names.is_empty() {
        project
            .services
            .retain(|name, _| args.service_names.contains(name));
    }
    let lists: [(bool, Vec<&String>); 3] = [
        (args.services, project.services.keys().collect()),
        (args.volumes, project.volumes.keys().collect()),
        (args.networks, project.networks.keys().collect()),
    ];
    let stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = if lists.iter().any(|(on, _)| *on) {
        let mut out = stdout;
        lists
            .into_iter()
            .filter(|(on, _)| *on)
            .flat_map(|(_, names)| names)
            .try_for_each(|name| writeln!(out, "{name}"))
            .and_then(|()| out.flush())
    } else {
        // streamed, not built in memory: a large project's output is megabytes
        compose::write_config(&project, args.format == ConfigFormat::Json, stdout)
    };
    // the process ends next: freeing a large project only costs time
    std::mem::forget(project);
    stdout_result(written)?;
    Ok(ExitCode::SUCCESS)
}
