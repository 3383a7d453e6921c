//! Entry point: parse arguments, run the command, map errors to exit codes.
//!
//! Exit codes: 0 success; 1 any error, usage errors included (2 is reserved
//! for `plan --detailed-exitcode`: changes present, as in Terraform).

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use berth::cli::Cli;
use clap::Parser;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match berth::run::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", e.render());
            ExitCode::from(1)
        }
    }
}
