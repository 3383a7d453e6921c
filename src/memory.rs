//! Giving freed memory back to the OS between the phases of a large plan.
//!
//! The allocator keeps freed pages for reuse (the binary sets mimalloc's
//! purge delay above what a plan takes): a page given back at once is
//! faulted in and zeroed again when reused, which was a quarter of a
//! 5,000-service plan's time. What the parser leaves behind is released once
//! parsing is done (it is not what the model is built of, and the peak comes
//! while the tree and the model are both held); what resolve frees is kept,
//! and the diff and the text are built in it. The binary registers how to
//! release memory (the allocator is its choice); the library says when.

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
