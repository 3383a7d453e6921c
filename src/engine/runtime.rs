//! The tokio runtime a synchronous command uses to drive the engine, and the
//! [`Session`] that connects on it in the background.

use std::future::Future;

use tokio::task::JoinHandle;

use super::connect::Engine;
use super::endpoint::Selection;
use super::error::EngineError;

/// A multi-thread tokio runtime with 2 worker threads, with I/O and timers
/// enabled: enough for the engine calls of one command (they wait on the
/// engine, not on the CPU), small enough to start in well under a millisecond.
///
/// Call it once per command and `block_on` the async engine work:
///
/// ```no_run
/// let rt = berth::engine::runtime().expect("a tokio runtime");
/// let engine = rt.block_on(berth::engine::Engine::connect(&Default::default()));
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

/// A runtime and the connection being made on it: a command starts one
/// before it loads the files, so connecting (negotiating the API version
/// costs the engine 5-15 ms: its `/version` asks containerd and runc for
/// theirs) overlaps the loading, and plan and apply share the connection.
///
/// ```no_run
/// let mut session = berth::engine::Session::start(Default::default()).expect("a tokio runtime");
/// // ... load the files ...
/// let engine = session.engine().expect("the engine answers");
/// let observed = session.block_on(engine.observe("demo", &Default::default()));
/// ```
pub struct Session {
    runtime: tokio::runtime::Runtime,
    connecting: Option<JoinHandle<Result<Engine, EngineError>>>,
    engine: Option<Engine>,
    selection: Selection,
}

impl Session {
    /// Start connecting ([`Engine::connect`]) to the engine `selection` and
    /// the environment name, in the background. Fails only when the OS
    /// refuses the runtime's threads.
    pub fn start(selection: Selection) -> std::io::Result<Session> {
        let runtime = runtime()?;
        let sel = selection.clone();
        let connecting = Some(runtime.spawn(async move { Engine::connect(&sel).await }));
        Ok(Session {
            runtime,
            connecting,
            engine: None,
            selection,
        })
    }

    /// The connected engine, waiting for the connection if it is still being
    /// made; its error (unreachable, permission denied, ...) otherwise.
    pub fn engine(&mut self) -> Result<Engine, EngineError> {
        if let Some(engine) = &self.engine {
            return Ok(engine.clone());
        }
        let engine = match self.connecting.take() {
            Some(connecting) => match self.runtime.block_on(connecting) {
                Ok(connected) => connected?,
                // the task panicked or was cancelled: connect again, in the foreground
                Err(_) => self.runtime.block_on(Engine::connect(&self.selection))?,
            },
            None => self.runtime.block_on(Engine::connect(&self.selection))?,
        };
        self.engine = Some(engine.clone());
        Ok(engine)
    }

    /// Run engine work to completion on the session's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}
