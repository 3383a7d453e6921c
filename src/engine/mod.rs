//! The engine: the only module that talks to Docker.
//!
//! It owns the connection ([`Engine::connect`]: `DOCKER_HOST` or the default
//! socket, API version negotiation, one-line errors a person can act on) and
//! observation ([`Engine::observe`]: what the engine holds for a project, as
//! plain [`Observed`] data for the diff). Later the apply executor drives the
//! engine through [`Engine::docker`]; it is also the seam for other backends
//! (remote hosts, Swarm) named in DESIGN.md.
//!
//! Every call is async (bollard on tokio); a command that is otherwise
//! synchronous runs it on [`runtime()`].

mod connect;
mod error;
mod observe;
pub mod ops;
mod runtime;

pub use connect::{DEFAULT_HOST, Engine};
pub use error::EngineError;
pub use observe::Lookup;
pub use runtime::{Session, runtime};

/// The label docker compose (and berth) puts on everything of a project; its
/// value is the project name.
pub(crate) const PROJECT_LABEL: &str = "com.docker.compose.project";
