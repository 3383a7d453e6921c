//! Command-line definitions only (clap derive). Flags follow `docker compose`
//! so nothing surprises its users; each flag's documentation sits beside it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "Terraform-style plan/apply for Docker Compose projects",
    long_about = "berth reads your compose files exactly as Docker Compose does, shows what will change and why, and applies it.\n\nExit codes: 0 success, 1 error."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags shared by every command, named as in `docker compose`.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Compose configuration files (repeatable; `-` reads standard input). Default: COMPOSE_FILE, else compose.yaml and friends found upward from here.
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Project name. Default: COMPOSE_PROJECT_NAME, else the `name:` key, else the project directory's name.
    #[arg(short = 'p', long = "project-name", global = true, value_name = "NAME")]
    pub project_name: Option<String>,
    /// Alternate working directory for the project. Default: the directory of the first compose file.
    #[arg(long = "project-directory", global = true, value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// Alternate environment files (repeatable). Default: `.env` in the project directory.
    #[arg(long = "env-file", global = true, value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Activate a profile (repeatable). Default: COMPOSE_PROFILES.
    #[arg(long = "profile", global = true, value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// State file. Default: state/<project>.json beside the compose file.
    #[arg(
        long = "state",
        global = true,
        env = "BERTH_STATE",
        value_name = "PATH"
    )]
    pub state: Option<PathBuf>,
    /// Docker engine to talk to (unix:///path, tcp://HOST:PORT, ssh://[USER@]HOST[:PORT]), as `docker -H`. Default: DOCKER_HOST, else the docker context (DOCKER_CONTEXT, else `currentContext` in ~/.docker/config.json), else unix:///var/run/docker.sock. TLS for tcp:// with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH.
    #[arg(short = 'H', long = "host", global = true, value_name = "URL")]
    pub host: Option<String>,
    /// Docker context to use, as `docker --context` (overrides DOCKER_HOST, DOCKER_CONTEXT and the current context).
    #[arg(
        long = "context",
        global = true,
        value_name = "NAME",
        conflicts_with = "host"
    )]
    pub context: Option<String>,
    /// Let a state that was applied to another Docker engine move to the one reached now (a re-created host). Without it, berth refuses to plan or apply a state against another engine than the one it records.
    #[arg(long = "move-engine", global = true)]
    pub move_engine: bool,
    /// What runs the project: `docker` (containers on one engine, as `docker compose up`) or `swarm` (services on a Docker Swarm, as `docker stack deploy`). Default: BERTH_BACKEND, else `x-berth: {backend: ...}` in the compose file, else docker.
    #[arg(
        long = "backend",
        global = true,
        env = "BERTH_BACKEND",
        value_name = "BACKEND"
    )]
    pub backend: Option<crate::compose::BackendKind>,
    /// Do not colour the output (NO_COLOR is honoured too).
    #[arg(long = "no-color", global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the compose files and report every problem with its file, line and column.
    Validate,
    /// Print the project in canonical form (long syntax, absolute paths), as `docker compose config` does.
    Config(ConfigArgs),
    /// Show what apply would change, and why: every resource to create, update, replace or destroy.
    ///
    /// Exit codes: 0 success, 1 error; with --detailed-exitcode, 0 no changes, 1 error, 2 changes present.
    Plan(PlanArgs),
    /// Drift check: compare the engine with the state only, ignoring file changes
    /// (`plan --refresh-only`). With --detailed-exitcode, exit 2 means drift.
    Drift(PlanArgs),
    /// Make Docker match the files: plan, ask, then create, update, replace and destroy.
    Apply(ApplyArgs),
    /// Return the containers to a recorded deploy (by default the one before the latest), each run from the image ID it ran then: plan, ask, apply.
    ///
    /// The state keeps the last few deploys (`--keep-deploys`); `berth state history` lists them. Networks, volumes and images are left as they are. Sensitive values are kept only as keyed hashes: each is taken from the files when it is what the deploy ran, and the rollback is refused when it is not.
    Rollback(RollbackArgs),
    /// Remove everything the project created (named volumes only with --volumes).
    Destroy(DestroyArgs),
    /// Adopt what `docker compose up` created (or one container: `import container.web[1] ID`) into the state.
    Import(ImportArgs),
    /// Show a saved plan file, or (without one) what the state records.
    Show(ShowArgs),
    /// Read and edit the state: `state list`, `show`, `rm`, `mv`, `pull`.
    #[command(subcommand)]
    State(StateCommand),
    /// Clear a stale lock note. berth's lock is an OS file lock that ends with its process, so a live lock is never broken: it names its holder instead.
    ForceUnlock,
    /// Print a shell completion script to standard output, e.g. `berth completions bash > ~/.local/share/bash-completion/completions/berth`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print berth's man page (roff) to standard output, e.g. `berth man | man -l -`; with --dir, write berth.1 and one page per subcommand there.
    Man {
        /// Write the pages into DIR (created if missing) instead of printing the main page.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Flags of commands that read the state and may lock it.
#[derive(Debug, Args, Clone)]
pub struct LockArgs {
    /// How long to wait for the state lock (`0s`: fail at once if another berth holds it).
    #[arg(long = "lock-timeout", value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// Take the state lock (`--lock=false` skips it; only when nothing else can run).
    #[arg(long = "lock", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub lock: bool,
}

#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    /// Save the plan to FILE, for `berth apply FILE` and `berth show FILE`.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes (0: none, 1: error), as Terraform's -detailed-exitcode.
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Limit the plan to these services and what they need (repeatable).
    #[arg(long = "target", value_name = "SERVICE")]
    pub targets: Vec<String>,
    /// Run N replicas of SERVICE (repeatable), over `scale`/`deploy.replicas`.
    #[arg(long = "scale", value_name = "SERVICE=N", value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
    /// Observe the engine for drift (`--refresh=false`: compare files with state only).
    #[arg(long = "refresh", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// Also delete containers labelled with the project that neither state nor files know.
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Compare the engine with the state only: what changed outside berth (drift).
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// How many deploys the state's history keeps by default (`--keep-deploys`).
pub const DEFAULT_KEEP_DEPLOYS: usize = 5;

/// At most this many steps at once by default (Terraform's `-parallelism`).
pub const DEFAULT_PARALLELISM: usize = 10;

/// A destroy's default: stopping a container mostly waits (for its exit, up
/// to its grace period, and on the engine's clean-up, which it does one at a
/// time), so more in flight keeps the engine busy, as `docker compose down`
/// stops them all at once. Measured on 100 services: 9.4-9.8 s at 32 against
/// 11.0-12.2 s at 10 (BENCHMARKS.md).
pub const DESTROY_PARALLELISM: usize = 32;

/// On Docker Swarm a step mostly polls while the engine starts the tasks
/// (creating a service returns at once; apply waits for it to converge), so
/// more in flight costs the engine little and lets the tasks start together.
pub const SWARM_PARALLELISM: usize = 32;

/// Flags of commands that change the engine.
#[derive(Debug, Args, Clone)]
pub struct ChangeArgs {
    /// Do not ask for approval.
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
    /// How many steps may run at once [default: 10; destroy and Docker Swarm: 32].
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,
    /// Plain progress lines only for failures and the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `berth plan -o FILE`: apply exactly it (refused when stale).
    #[arg(value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
    /// Limit to these services and what they need (repeatable).
    #[arg(long = "target", value_name = "SERVICE")]
    pub targets: Vec<String>,
    /// Run N replicas of SERVICE (repeatable).
    #[arg(long = "scale", value_name = "SERVICE=N", value_parser = parse_scale)]
    pub scale: Vec<(String, u32)>,
    /// Also delete containers labelled with the project that neither state nor files know.
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Allow steps that delete or replace a named volume (its data is lost).
    #[arg(long = "allow-data-loss")]
    pub allow_data_loss: bool,
    /// Accept what the engine shows into the state instead of changing the engine
    /// (resources gone from the engine are forgotten), as Terraform's -refresh-only.
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    #[command(flatten)]
    pub deploy: DeployArgs,
    #[command(flatten)]
    pub change: ChangeArgs,
}

/// What `apply` and `rollback` do once the containers are deployed.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Afterwards, watch the containers the rollouts replaced for DURATION
    /// (`30s`, `2m`): when one turns unhealthy, restarts or exits, every
    /// rollout goes back to the old containers (exit 1).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub watch: Option<std::time::Duration>,
    /// How many deploys the state's history keeps for `berth rollback` (their images are tagged berth-keep/<project>:<serial>-<service> so that pruning leaves them; 0 keeps none).
    #[arg(long = "keep-deploys", value_name = "N", env = "BERTH_KEEP_DEPLOYS", default_value_t = DEFAULT_KEEP_DEPLOYS)]
    pub keep_deploys: usize,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// A plan saved with `berth rollback -o FILE`: apply exactly it (refused when stale).
    #[arg(value_name = "PLANFILE", conflicts_with_all = ["to", "out"])]
    pub plan: Option<PathBuf>,
    /// The serial of the deploy to return to (default: the deploy before the latest).
    #[arg(long = "to", value_name = "SERIAL")]
    pub to: Option<u64>,
    /// Save the rollback's plan to FILE instead of applying it, for review
    /// and `berth rollback FILE`.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub deploy: DeployArgs,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Also remove named volumes (their data is lost).
    #[arg(long)]
    pub volumes: bool,
    /// Only these services (repeatable).
    #[arg(long = "target", value_name = "SERVICE")]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Import only this container (with ID): e.g. `container.web[1]`.
    #[arg(value_name = "ADDRESS")]
    pub address: Option<String>,
    /// The container's ID or name on the engine.
    #[arg(value_name = "ID")]
    pub id: Option<String>,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `berth plan -o FILE`.
    #[arg(value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses the state records.
    List,
    /// Show one resource as the state records it.
    Show {
        /// e.g. `container.web[1]`, `network.default`.
        #[arg(value_name = "ADDRESS")]
        address: String,
    },
    /// Forget resources without touching the engine (Docker keeps them; berth stops managing them).
    ///
    /// Nothing is removed unless every ADDRESS is in the state. A container that is still on the engine and still in the compose file carries berth's labels, so the next plan adopts it again: remove the service from the file too, or the container with docker, to stop managing it.
    Rm {
        /// One or more, e.g. `container.web[1]`, `network.default`.
        #[arg(value_name = "ADDRESS", required = true)]
        addresses: Vec<String>,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Rename a resource in the state, e.g. after renaming a service in the file.
    ///
    /// This is how to keep a renamed service's containers: after renaming `web` to `api` in the file, `berth state mv container.web[1] container.api[1]` (once per replica, and `image.web image.api` for its image) makes the next plan find the same container, which keeps its engine name and ID; it is updated or replaced only if its spec changed. NEW must not be in the state yet, and a resource keeps its kind (a container cannot become a network).
    Mv {
        /// The address in the state now, e.g. `container.web[1]`.
        #[arg(value_name = "OLD")]
        from: String,
        /// The address it should have, e.g. `container.api[1]`.
        #[arg(value_name = "NEW")]
        to: String,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// List the deploys the state's history records, oldest first: serial, time, containers, and which are the latest and `berth rollback`'s default.
    History,
    /// Print the state file as it is on disk (JSON), e.g. `berth state pull > backup.json`.
    Pull,
    /// Make the backup (`<state>.backup`, the version before the last save) the state again, e.g. after the state file was damaged.
    ///
    /// The backup must read as a state of this project. The file it replaces, damaged or not, is kept as `<state>.before-restore`. Then run `berth plan`: containers the newer state recorded carry berth's labels, so the plan adopts them instead of creating them twice.
    Restore {
        #[command(flatten)]
        lock: LockArgs,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PlanFormat {
    Text,
    Markdown,
    Json,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = crate::compose::units::Duration::parse(s)?;
    u64::try_from(d.0)
        .map(std::time::Duration::from_nanos)
        .map_err(|_| format!("`{s}` is negative"))
}

fn parse_scale(s: &str) -> Result<(String, u32), String> {
    let (service, n) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not SERVICE=N"))?;
    let n = n
        .parse::<u32>()
        .map_err(|_| format!("`{n}` in `{s}` is not a number of replicas"))?;
    Ok((service.to_string(), n))
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ConfigFormat::Yaml)]
    pub format: ConfigFormat,
    /// Print the service names, one per line.
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line.
    #[arg(long)]
    pub volumes: bool,
    /// Print the network names, one per line.
    #[arg(long)]
    pub networks: bool,
    /// Only these services (and they are active even when their profiles are not).
    #[arg(value_name = "SERVICE")]
    pub service_names: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ConfigFormat {
    Yaml,
    Json,
}
