//! The project's env files (`--env-file`, else `.env`) layered under the shell
//! environment with [`EnvLayers`], and the variables interpolation sees.
//! Separate because an env file is read, and its errors located, the same way
//! for the project and for an included project.

use std::path::{Path, PathBuf};

use super::{Loader, absolute};
use crate::compose::diagnostic::Diagnostic;
use crate::compose::dotenv::EnvFileError;
use crate::compose::env_layers::EnvLayers;
use crate::compose::interpolate::Vars;
use crate::compose::source::Span;
use crate::paths::io_reason;

impl Loader<'_> {
    /// `environment` over the env files for `dir` (`--env-file`, else `dir/.env`).
    pub(super) fn with_env_files(
        &mut self,
        dir: &Path,
        mut environment: EnvLayers,
    ) -> Result<EnvLayers, Diagnostic> {
        let explicit = !self.opts.env_files.is_empty();
        let files: Vec<PathBuf> = if explicit {
            self.opts
                .env_files
                .iter()
                .map(|f| absolute(&self.opts.working_dir, f))
                .collect()
        } else {
            vec![dir.join(".env")]
        };
        for file in files {
            let text = match self.host.read_to_string(&file) {
                Ok(t) => t,
                Err(e) if crate::utf8::not_utf8(&e).is_some() => {
                    let bad = crate::utf8::not_utf8(&e).expect("checked above");
                    let display = file.display().to_string();
                    return Err(Diagnostic::not_utf8(
                        &mut self.sources,
                        &file,
                        display,
                        "env file",
                        bad,
                        "",
                    ));
                }
                Err(_) if !explicit => continue,
                Err(e) => {
                    return Err(Diagnostic::new(
                        None,
                        "",
                        format!(
                            "env file `{}` cannot be read: {}",
                            file.display(),
                            io_reason(&e)
                        ),
                    )
                    .with_hint("check the path given to --env-file"));
                }
            };
            if !self.inputs.contains(&file) {
                self.inputs.push(file.clone());
            }
            if let Err(e) = environment.add_env_file(&text) {
                return Err(self.invalid_env_file(&file, text, e, ""));
            }
        }
        Ok(environment)
    }

    /// An env file that does not parse, located at the line that is wrong.
    pub(super) fn invalid_env_file(
        &mut self,
        file: &Path,
        text: String,
        e: EnvFileError,
        path: &str,
    ) -> Diagnostic {
        let id = self.sources.add(file, file.display().to_string(), text);
        let span = Span {
            file: id,
            line: e.line,
            col: e.col,
            offset: 0,
            len: 1,
        };
        Diagnostic::at(span, path, format!("invalid env file: {}", e.message))
            .with_hint("env files hold `KEY=VALUE` lines")
    }

    /// The variables interpolation sees: the environment and env files, and, like
    /// Compose, the name given with -p as `COMPOSE_PROJECT_NAME`.
    pub(super) fn variables(&self, mut environment: EnvLayers) -> Vars {
        if let Some(name) = &self.opts.project_name {
            environment.force("COMPOSE_PROJECT_NAME".into(), name.clone());
        }
        environment.into_vars()
    }
}
