//! Giving freed memory back to the OS between the phases of a large plan.
//!
//! The allocator keeps freed pages for reuse (mimalloc: for a second, longer
//! than a plan runs), but the tree and the model a plan frees are of other
//! sizes than the specs it builds next, so little of them is reused and the
//! peak RSS became their sum. The binary registers how to release memory
//! (the allocator is its choice); the library says when.

use std::sync::OnceLock;

static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Register how to return freed memory to the OS (once; later calls are ignored).
pub fn on_release(release: fn()) {
    let _ = RELEASE.set(release);
}

/// Return the memory freed so far to the OS, if a way was registered.
pub fn release() {
    if let Some(release) = RELEASE.get() {
        release();
    }
}

static AT_ONCE: OnceLock<fn(bool)> = OnceLock::new();

/// Register how to switch between giving freed memory back at once and
/// keeping it for reuse until [`release`] (once; later calls are ignored).
pub fn on_return_at_once(set: fn(bool)) {
    let _ = AT_ONCE.set(set);
}

/// While `at_once`, memory freed goes back to the OS as soon as the allocator
/// has a whole free page of it; otherwise freed pages are kept for reuse until
/// [`release`]. A phase that frees one large structure while it builds
/// another (plan's resolve: the model goes as the specs come) wants the
/// first; a phase that allocates and frees temporaries wants the second, or
/// every page it reuses is faulted in and zeroed again. Switching to
/// `at_once` gives back what was kept so far.
pub fn return_at_once(at_once: bool) {
    if let Some(set) = AT_ONCE.get() {
        set(at_once);
    }
}
