//! Which backend runs a project: the plain Docker engine (containers, as
//! `docker compose up`) or Docker Swarm (services, as `docker stack
//! deploy`). Chosen by `--backend` / `BERTH_BACKEND`, else the compose
//! file's `x-berth: {backend: ...}`, else the plain engine. Here, below
//! every other layer, because the loader reads the file's choice and checks
//! the attributes against the backend chosen (Swarm ignores some that the
//! plain engine applies, as `docker stack deploy` does).

use serde::{Deserialize, Serialize};

/// A backend berth can plan and apply for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Containers on one Docker engine, as `docker compose up`.
    #[default]
    Docker,
    /// Services on a Docker Swarm, as `docker stack deploy`.
    Swarm,
}

impl BackendKind {
    pub const ALL: [BackendKind; 2] = [BackendKind::Docker, BackendKind::Swarm];

    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Docker => "docker",
            BackendKind::Swarm => "swarm",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BackendKind::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| format!("unknown backend `{s}`; backends: docker, swarm"))
    }
}
