//! Entry point: parse arguments, run the command, map errors to exit codes.

use std::process::ExitCode;

use berth::cli::Cli;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match berth::run::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", e.render());
            ExitCode::from(1)
        }
    }
}
