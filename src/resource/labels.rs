//! The labels berth and docker compose put on what they create. The engine's
//! labels are the ground truth of ownership: a container labelled with our
//! project and address is ours even when the state file lost it.
//!
//! Separate because both sides use the same names: apply writes them on what
//! it creates, the diff and import read them back from the engine.

pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
pub const CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
pub const ONEOFF: &str = "com.docker.compose.oneoff";
pub const NETWORK: &str = "com.docker.compose.network";
pub const VOLUME: &str = "com.docker.compose.volume";
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
pub const IMAGE: &str = "com.docker.compose.image";
pub const VERSION: &str = "com.docker.compose.version";
/// Compose's hash of a service's config; `docker compose ps` lists only
/// containers that carry it, so berth sets it (to its spec hash).
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";

/// berth's own: the resource address (`container.web[1]`).
pub const ADDRESS: &str = "dev.berth.address";
/// berth's own: the spec hash the object was created from.
pub const SPEC_HASH: &str = "dev.berth.spec-hash";
/// berth's own: the lineage of the state that created it.
pub const LINEAGE: &str = "dev.berth.lineage";

/// The name a rollout gives the new container until it has passed its gate
/// (`<name>-berth-next`), and the old one while the rollout may still go
/// back to it (`<name>-berth-prev`). A container under such a name that an
/// apply finds is left over from an interrupted rollout: it goes.
pub const ROLLOUT_NEXT: &str = "-berth-next";
pub const ROLLOUT_PREV: &str = "-berth-prev";

/// Whether a container name is a rollout's temporary one.
pub fn is_rollout_temporary(name: &str) -> bool {
    let name = name.trim_start_matches('/');
    name.ends_with(ROLLOUT_NEXT) || name.ends_with(ROLLOUT_PREV)
}
