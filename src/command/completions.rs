//! `berth completions SHELL`: the shell's completion script, generated from
//! the clap definitions, on standard output. Reads no compose file and never
//! talks to the engine.

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::Error;
use crate::output::print_out;

pub fn run(shell: Shell) -> Result<ExitCode, Error> {
    print_out(&script(shell))?;
    Ok(ExitCode::SUCCESS)
}

/// The completion script for `shell`. Rendered into memory first: the
/// generators panic on a failed write, and a closed pipe is not an error.
pub fn script(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_owned();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_completes_the_subcommands() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let s = script(shell);
            for sub in ["plan", "apply", "destroy", "completions", "man"] {
                assert!(s.contains(sub), "{shell} completion lacks `{sub}`");
            }
        }
    }

    #[test]
    fn plan_formats_are_completed_as_values() {
        let s = script(Shell::Fish);
        assert!(s.contains("markdown"), "{s}");
    }
}
