//! Giving freed memory back to the OS between the phases of a large plan.
//!
//! The allocator keeps freed pages for reuse (the binary sets mimalloc's
//! purge delay above what a plan takes): a page given back at once is
//! faulted in and zeroed again when reused, which was a quarter of a
//! 5,000-service plan's time. But the tree and the model a plan frees are of
//! other sizes than what it builds next, and built on other threads, so
//! little of them is reused and the peak RSS became their sum: plan releases
//! them when it is done with them. The binary registers how to release memory
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
