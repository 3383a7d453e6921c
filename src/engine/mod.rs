//! The engine: the only module that talks to Docker.
//!
//! It owns where the engine is ([`Endpoint`]: the transport seam, from
//! `--host`, `--context`, `DOCKER_HOST`, docker contexts; unix, tcp, TLS,
//! ssh), the connection ([`Engine::connect`]: API version
//! negotiation, one-line errors a person can act on), observation
//! ([`Engine::observe`]: what the engine holds for a project, as plain
//! [`crate::observed::Observed`] data for the diff) and the operations the
//! Docker backend's driver calls (`ops`). Nothing here decides anything:
//! `backend::docker` puts it behind the `Backend` seam that plan and apply use.
//!
//! Every call is async (bollard on tokio); a command that is otherwise
//! synchronous runs it on [`runtime()`].

mod connect;
mod context;
mod endpoint;
mod error;
mod observe;
pub mod ops;
mod runtime;
mod ssh;

pub use connect::Engine;
pub use endpoint::{DEFAULT_HOST, Endpoint, Origin, Selection, Transport};
pub use error::EngineError;
pub use observe::Lookup;
#[cfg(test)]
pub(crate) use observe::container_from_inspect;
pub use runtime::{Session, runtime};

/// The label docker compose (and berth) puts on everything of a project; its
/// value is the project name.
pub(crate) const PROJECT_LABEL: &str = "com.docker.compose.project";
