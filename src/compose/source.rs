//! Source files and positions: every value berth reads remembers where it came from.

use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
pub type FileId = u32;

/// A place in a source file: 1-based line and column, byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
    pub offset: u32,
    pub len: u32,
}

/// One file as read, kept for error reports.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user would recognise it (relative when given relative).
    pub display: String,
    pub path: PathBuf,
    pub text: String,
}

/// Every file the loader read, so errors can quote them.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: &Path, display: String, text: String) -> FileId {
        self.files.push(SourceFile {
            display,
            path: path.to_path_buf(),
            text,
        });
        (self.files.len() - 1) as FileId
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id as usize]
    }

    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }
}
