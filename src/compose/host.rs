//! The one place the loader touches the machine it runs on: files (compose
//! files, env files, `include` and `extends` targets) and the process
//! environment (`HOME` for `~`). The loader takes a [`Host`]; [`RealHost`] is
//! the machine itself, and tests give an in-memory one, so a whole project can be
//! loaded from a file tree and an environment that exist only in the test.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// What the loader reads from outside the process.
pub trait Host: Sync {
    /// The text of a file.
    fn read_to_string(&self, path: &Path) -> io::Result<String>;
    /// Whether `path` names a regular file.
    fn is_file(&self, path: &Path) -> bool;
    /// A variable of the process environment (`HOME`).
    fn var(&self, name: &str) -> Option<String>;
}

/// The real filesystem and process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealHost;

impl Host for RealHost {
    /// A file that is not UTF-8 is an error carrying where
    /// ([`crate::utf8::not_utf8`]), so that it can be reported at that byte.
    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        crate::utf8::read_to_string(path)
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
}

/// A file tree and an environment held in memory: paths are absolute, a
/// directory exists when a file lies below it.
#[derive(Debug, Clone, Default)]
pub struct MemoryHost {
    pub files: BTreeMap<PathBuf, String>,
    pub env: BTreeMap<String, String>,
}

impl MemoryHost {
    /// Add a file (its directories exist with it).
    pub fn file(mut self, path: impl Into<PathBuf>, text: &str) -> Self {
        self.files.insert(path.into(), text.to_string());
        self
    }

    /// Set a variable of the environment.
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_string(), value.to_string());
        self
    }
}

impl Host for MemoryHost {
    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        self.files.get(path).cloned().ok_or_else(|| {
            let kind = if self.files.keys().any(|f| f.starts_with(path)) {
                io::ErrorKind::IsADirectory
            } else {
                io::ErrorKind::NotFound
            };
            io::Error::from(kind)
        })
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }

    fn var(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
}
