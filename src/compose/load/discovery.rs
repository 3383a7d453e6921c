//! Which files make the project, and the variables they are read with. The
//! two decide each other, as in Compose: the `.env` of the directory berth
//! starts from may say `COMPOSE_FILE`, and the files found decide the project
//! directory, whose own `.env` is read next.

use std::path::{Path, PathBuf};

use super::{Loader, absolute};
use crate::compose::diagnostic::Diagnostic;
use crate::compose::env_layers::EnvLayers;
use crate::compose::interpolate::Vars;

/// File names Compose looks for, in order, in the working directory and its parents.
pub const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

impl Loader<'_> {
    /// The compose files, the project directory, and the environment: the shell
    /// over the env files of the directory berth starts from, over those of the
    /// project directory.
    pub(super) fn files_and_environment(
        &mut self,
    ) -> Result<(Vec<PathBuf>, PathBuf, EnvLayers), Diagnostic> {
        let shell = EnvLayers::fixed(self.opts.environ.clone());
        let start_dir = self.start_dir();
        let environment = self.with_env_files(&start_dir, shell)?;
        let files = self.config_files(environment.vars())?;
        let project_dir = self.project_dir(&files);
        let environment = if project_dir == start_dir || !self.opts.env_files.is_empty() {
            environment
        } else {
            self.with_env_files(&project_dir, environment.settle())?
        };
        Ok((files, project_dir, environment))
    }

    /// Where Compose looks for `.env` before it knows the compose files: the
    /// project directory if given, else the first `-f` file's directory, else
    /// the working directory.
    fn start_dir(&self) -> PathBuf {
        if let Some(d) = &self.opts.project_directory {
            return absolute(&self.opts.working_dir, d);
        }
        self.project_dir(&self.opts.files)
    }

    /// `-f` flags, else `COMPOSE_FILE` (from the shell or an env file), else the
    /// first default name found upward from the project directory (or the working one).
    fn config_files(&mut self, environment: &Vars) -> Result<Vec<PathBuf>, Diagnostic> {
        if !self.opts.files.is_empty() {
            return Ok(self.opts.files.clone());
        }
        let lookup = |key: &str| environment.get(key).filter(|v| !v.is_empty());
        if let Some(list) = lookup("COMPOSE_FILE") {
            let sep = lookup("COMPOSE_PATH_SEPARATOR").unwrap_or(":");
            return Ok(list
                .split(sep)
                .filter(|s| !s.is_empty())
                .map(|s| absolute(&self.opts.working_dir, Path::new(s)))
                .collect());
        }
        // from the project directory when one is given, as Compose does
        let start = self.start_dir();
        let mut dir = Some(start.clone());
        while let Some(d) = dir {
            if let Some(files) = self.default_files_in(&d) {
                return Ok(files);
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        Err(Diagnostic::new(
            None,
            "",
            format!(
                "no configuration file provided: none of {} found in `{}` or its parents",
                DEFAULT_FILES.join(", "),
                start.display()
            ),
        )
        .with_hint("run berth in the directory of your compose file, or name it with `-f FILE`"))
    }

    /// The first default file of `dir`, with its override file if there is one.
    fn default_files_in(&self, dir: &Path) -> Option<Vec<PathBuf>> {
        let name = DEFAULT_FILES
            .iter()
            .find(|name| self.host.is_file(&dir.join(name)))?;
        let mut files = vec![dir.join(name)];
        let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name);
        let over = ["yaml", "yml"]
            .iter()
            .map(|ext| dir.join(format!("{stem}.override.{ext}")))
            .find(|over| self.host.is_file(over));
        files.extend(over);
        Some(files)
    }

    pub(super) fn project_dir(&self, files: &[PathBuf]) -> PathBuf {
        if let Some(d) = &self.opts.project_directory {
            return absolute(&self.opts.working_dir, d);
        }
        match files.first() {
            Some(f) if f.as_os_str() != "-" => absolute(&self.opts.working_dir, f)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| self.opts.working_dir.clone()),
            _ => self.opts.working_dir.clone(),
        }
    }
}
