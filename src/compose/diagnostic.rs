//! Diagnostics: what is wrong, where (file, line, column, key path) and how to fix it.

use std::fmt;
use std::path::Path;

use super::source::{SourceMap, Span};
use crate::utf8::NotUtf8;

/// One problem found in the user's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the offending key or value stands, when it stands in a file.
    pub span: Option<Span>,
    /// The key path, e.g. `services.web.ports[0]`; empty when not about a key.
    pub path: String,
    /// What is wrong, one sentence, lowercase.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(span: Option<Span>, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            span,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn at(span: Span, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Some(span), path, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A file (`what`: "compose file", "env file") that is not UTF-8, located
    /// at its first invalid byte. The file joins `sources` with its invalid
    /// bytes shown as U+FFFD, so the report quotes the line.
    pub fn not_utf8(
        sources: &mut SourceMap,
        file: &Path,
        display: String,
        what: &str,
        e: &NotUtf8,
        key: &str,
    ) -> Self {
        let id = sources.add(file, display, e.lossy.clone());
        let span = Span {
            file: id,
            line: e.line,
            col: e.column,
            offset: u32::try_from(e.offset).unwrap_or(u32::MAX),
            len: 1,
        };
        Diagnostic::at(span, key, format!("{what} is {e}")).with_hint(crate::utf8::HINT)
    }

    /// `file:line:col` or the file alone, for one-line reports.
    pub fn location(&self, sources: &SourceMap) -> Option<String> {
        let span = self.span?;
        let file = sources.get(span.file);
        Some(format!("{}:{}:{}", file.display, span.line, span.col))
    }
}

/// At most this many problems are reported from one load; the rest are counted.
pub const MAX_REPORTED: usize = 50;

/// Every problem found in one load, with the sources they point into.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    pub sources: SourceMap,
}

impl Diagnostics {
    /// Render every diagnostic with its source line and a caret, like rustc and just.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for d in self.items.iter().take(MAX_REPORTED) {
            render_one(&mut out, d, &self.sources, color);
        }
        if self.items.len() > MAX_REPORTED {
            out.push_str(&format!(
                "... and {} more errors\n",
                self.items.len() - MAX_REPORTED
            ));
        }
        let n = self.items.len();
        out.push_str(&format!(
            "{}: {} error{} found\n",
            paint("error", color),
            n,
            if n == 1 { "" } else { "s" }
        ));
        out
    }
}

fn paint(s: &str, color: bool) -> String {
    if color {
        console::style(s).red().bold().to_string()
    } else {
        s.to_string()
    }
}

fn render_one(out: &mut String, d: &Diagnostic, sources: &SourceMap, color: bool) {
    let key = if d.path.is_empty() {
        String::new()
    } else {
        format!("{}: ", d.path)
    };
    out.push_str(&format!(
        "{}: {}{}\n",
        paint("error", color),
        key,
        d.message
    ));
    if let Some(span) = d.span {
        let file = sources.get(span.file);
        out.push_str(&format!(
            "  --> {}:{}:{}\n",
            file.display, span.line, span.col
        ));
        if let Some(line) = file.text.lines().nth(span.line.saturating_sub(1) as usize) {
            let gutter = span.line.to_string();
            let pad = " ".repeat(gutter.len());
            let line = line.replace('\t', " ");
            out.push_str(&format!("{pad} |\n{gutter} | {line}\n"));
            let col = span.col.saturating_sub(1) as usize;
            let width = line.chars().count().saturating_sub(col);
            let len = (span.len as usize).clamp(1, width.max(1));
            out.push_str(&format!("{pad} | {}{}\n", " ".repeat(col), "^".repeat(len)));
        }
    }
    if let Some(hint) = &d.hint {
        out.push_str(&format!("  = hint: {hint}\n"));
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

/// A collector that stages push problems into as they go, so that one run reports them all.
#[derive(Debug, Default)]
pub struct Sink {
    pub items: Vec<Diagnostic>,
}

impl Sink {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn error(&mut self, span: Span, path: &str, message: impl Into<String>) {
        self.items.push(Diagnostic::at(span, path, message));
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The closest candidate to `word` (for "did you mean" hints), if it is close enough.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
