//! Entry point: parse arguments, run the command, map errors to exit codes.
//!
//! Exit codes: 0 success; 1 any error, usage errors included (2 is reserved
//! for `plan --detailed-exitcode`: changes present, as in Terraform).

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's API beyond the allocator, linked in with it (the mimalloc crate
// re-exports it only with its `extended` feature).
unsafe extern "C" {
    fn mi_collect(force: bool);
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc's option enum (15 in its v2 and v3
/// headers alike): how many milliseconds freed pages are kept before they go
/// back to the OS (10 by default).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// How long freed pages are kept for reuse: longer than a plan takes, so
/// only [`release_freed_memory`] gives them back (see `berth::memory`).
/// Giving them back at once (a delay of 0) while resolve freed the services
/// doubled a 5,000-service plan's system time (page faults: 9,000 -> 5,600
/// kept); every page faulted in is zeroed, which on a VM costs about as
/// much per megabyte as parsing one.
const KEEP_MS: std::ffi::c_long = 1000;

/// Return the calling thread's freed memory to the OS now (see `berth::memory`).
/// The loader calls it once parsing is done: the parser's leftovers are not
/// what the model is built of (5,000 services: peak RSS 64 -> 58 MB, ~4 ms).
fn release_freed_memory() {
    // SAFETY: `mi_collect(bool)` only frees and purges the calling thread's
    // unused allocator pages; no memory in use is touched
    unsafe { mi_collect(true) }
}

use berth::cli::Cli;
use clap::Parser;

fn main() -> ExitCode {
    // SAFETY: sets one allocator option to a value its documentation allows
    // (N > 0: freed pages are purged after N ms); no memory is touched
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, KEEP_MS) }
    berth::memory::on_release(release_freed_memory);
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
    match berth::command::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            let color = berth::command::color(&cli.global, true);
            eprint!("{}", e.render(color));
            ExitCode::from(1)
        }
    }
}
