//! Everything that can stop a command, typed by who can fix it, and rendered
//! for a person once, in `main`. Separate from the commands so the pipeline
//! and the output helpers below them can return it without importing upward.
//!
//! Every variant maps to exit code 1 (2 is `plan --detailed-exitcode`'s
//! "changes present", never an error).

use crate::compose::Diagnostics;
use crate::engine::EngineError;
use crate::plan::saved::SavedPlanError;
use crate::resource::ResolveError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The compose files are wrong: every problem, located.
    #[error("{0}")]
    Input(Box<Diagnostics>),
    /// The command line asks for something that cannot be done as written
    /// (flags that exclude each other, an address that is not one).
    #[error("{0}")]
    Usage(String),
    /// The user declined, or could not be asked: nothing was changed.
    #[error("{0}")]
    Cancelled(String),
    /// A file berth reads or writes itself (not a compose file, not the
    /// state): `doing` names it, `source` is the system's reason.
    #[error("cannot {doing}: {source}")]
    Io {
        doing: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Engine(Box<EngineError>),
    #[error(transparent)]
    State(Box<StateError>),
    #[error(transparent)]
    Resolve(Box<ResolveError>),
    #[error(transparent)]
    SavedPlan(Box<SavedPlanError>),
    /// The plan cannot be applied as it is: each problem on its own line.
    #[error("the plan cannot be applied")]
    Plan(Vec<String>),
}

impl Error {
    /// An I/O failure while doing `doing` (e.g. "read the current directory").
    pub fn io(doing: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            doing: doing.into(),
            source,
        }
    }

    /// The message for standard error, ending in a newline; `color` only
    /// for the loader's diagnostics (source excerpts with carets).
    pub fn render(&self, color: bool) -> String {
        match self {
            Error::Input(d) => d.render(color),
            Error::Plan(problems) => problems.iter().map(|p| format!("error: {p}\n")).collect(),
            other => format!("error: {other}\n"),
        }
    }
}

macro_rules! boxed_from {
    ($($source:ty => $variant:ident),* $(,)?) => {$(
        impl From<$source> for Error {
            fn from(e: $source) -> Self {
                Error::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from! {
    Diagnostics => Input,
    EngineError => Engine,
    StateError => State,
    ResolveError => Resolve,
    SavedPlanError => SavedPlan,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_renders_as_one_error_line() {
        let usage = Error::Usage("--refresh-only cannot be combined with --refresh=false".into());
        assert_eq!(
            usage.render(false),
            "error: --refresh-only cannot be combined with --refresh=false\n"
        );
        let io = Error::io(
            "write plan file `p.json`",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(
            io.render(false),
            "error: cannot write plan file `p.json`: permission denied\n"
        );
        let plan = Error::Plan(vec!["one".into(), "two".into()]);
        assert_eq!(plan.render(true), "error: one\nerror: two\n");
    }
}
