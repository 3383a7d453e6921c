//! The tokio runtime a synchronous command uses to drive the engine.

/// A multi-thread tokio runtime with 2 worker threads, with I/O and timers
/// enabled: enough for the engine calls of one command (they wait on the
/// engine, not on the CPU), small enough to start in well under a millisecond.
///
/// Call it once per command and `block_on` the async engine work:
///
/// ```no_run
/// let rt = berth::engine::runtime().expect("a tokio runtime");
/// let engine = rt.block_on(berth::engine::Engine::connect());
/// ```
///
/// Fails only when the OS refuses the threads.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("berth-engine")
        .enable_all()
        .build()
}
