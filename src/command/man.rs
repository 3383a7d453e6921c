//! `berth man`: the man page, generated from the clap definitions: the main
//! page (roff) on standard output, or with `--dir DIR` `berth.1` and one page
//! per subcommand (`berth-plan.1`, `berth-state-mv.1`, ...) written there.
//! Reads no compose file and never talks to the engine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Error;
use crate::output::print_out;

pub fn run(dir: Option<&Path>) -> Result<ExitCode, Error> {
    match dir {
        None => print_out(&page())?,
        Some(dir) => {
            let written = write_pages(dir)?;
            let list: String = written
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            print_out(&list)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The command tree the pages describe: clap's `help` subcommand is left
/// out, as `clap_mangen::generate_to` leaves it out.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The main page, `berth(1)`, as roff.
pub fn page() -> String {
    let mut buf = Vec::new();
    clap_mangen::Man::new(command())
        .render(&mut buf)
        .expect("writing into memory cannot fail");
    String::from_utf8_lossy(&buf).into_owned()
}

/// Write `berth.1` and a page per subcommand, nested ones included, into
/// `dir` (created if missing); the paths written, the main page first.
pub fn write_pages(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("create directory `{}`", dir.display()), e))?;
    let mut written = Vec::new();
    write_tree(command(), dir, &mut written)?;
    Ok(written)
}

fn write_tree(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<(), Error> {
    let man = clap_mangen::Man::new(cmd.clone());
    let path = dir.join(man.get_filename());
    man.generate_to(dir)
        .map_err(|e| Error::io(format!("write `{}`", path.display()), e))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_tree(sub.clone(), dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_roff_and_lists_the_subcommands() {
        let page = page();
        assert!(page.contains(".TH berth 1"), "{page}");
        for sub in ["plan", "apply", "destroy", "state", "completions"] {
            assert!(page.contains(sub), "the page does not mention `{sub}`");
        }
        assert!(
            !page.contains("berth\\-help"),
            "clap's help subcommand has no page"
        );
    }

    #[test]
    fn dir_gets_the_main_page_and_one_per_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_pages(&dir.path().join("man1")).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names[0], "berth.1");
        for page in [
            "berth-plan.1",
            "berth-apply.1",
            "berth-state-mv.1",
            "berth-man.1",
        ] {
            assert!(names.iter().any(|n| n == page), "no {page} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
        for path in &written {
            let text = std::fs::read_to_string(path).unwrap();
            assert!(text.contains(".TH"), "{} is not a man page", path.display());
        }
    }
}
