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
