//! Exit promptly on SIGTERM and SIGINT, or note them for a program that
//! wants to finish its work first (`load` prints its result).
//!
//! PID 1 in a container gets no default signal dispositions: without a
//! handler, SIGTERM is ignored and every `docker stop` waits out its 10 s
//! grace period before SIGKILL. std has no signal API, so this declares the
//! two libc functions it needs instead of pulling in the `libc` crate.

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};

const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;
/// `SIG_ERR`, i.e. `(sighandler_t) -1`.
const SIG_ERR: usize = usize::MAX;

unsafe extern "C" {
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
    fn write(fd: c_int, buf: *const u8, count: usize) -> isize;
    fn _exit(status: c_int) -> !;
}

/// Only async-signal-safe calls here: `write(2)` a fixed message, `_exit(0)`.
extern "C" fn on_signal(signum: c_int) {
    let msg: &[u8] = if signum == SIGTERM {
        b"berth-demo: received SIGTERM, exiting\n"
    } else {
        b"berth-demo: received SIGINT, exiting\n"
    };
    // SAFETY: both functions are async-signal-safe; `msg` is a static buffer.
    unsafe {
        write(2, msg.as_ptr(), msg.len());
        _exit(0);
    }
}

/// Installs handlers that make the process exit with status 0 on SIGTERM or
/// SIGINT.
pub fn exit_on_termination() {
    for signum in [SIGTERM, SIGINT] {
        // SAFETY: `on_signal` has the C handler signature and only performs
        // async-signal-safe operations.
        if unsafe { signal(signum, on_signal) } == SIG_ERR {
            eprintln!("berth-demo: failed to install handler for signal {signum}");
        }
    }
}

/// Set by [`on_signal_note`]; read through [`termination_requested`].
static TERMINATION: AtomicBool = AtomicBool::new(false);

/// Only an atomic store: async-signal-safe.
extern "C" fn on_signal_note(_signum: c_int) {
    TERMINATION.store(true, Ordering::SeqCst);
}

/// Installs handlers that only note SIGTERM and SIGINT; the program polls
/// [`termination_requested`] and finishes in its own time.
pub fn note_termination() {
    for signum in [SIGTERM, SIGINT] {
        // SAFETY: `on_signal_note` has the C handler signature and only
        // stores to an atomic, which is async-signal-safe.
        if unsafe { signal(signum, on_signal_note) } == SIG_ERR {
            eprintln!("berth-demo: failed to install handler for signal {signum}");
        }
    }
}

/// Whether SIGTERM or SIGINT arrived since [`note_termination`].
pub fn termination_requested() -> bool {
    TERMINATION.load(Ordering::SeqCst)
}
