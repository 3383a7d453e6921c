//! YAML text to a positioned [`Node`] tree: anchors and aliases, merge keys
//! (`<<`, single and list form), duplicate keys rejected, `!reset`/`!override` kept.
//!
//! The parser is yaml-rust2's event parser; this module only builds the tree.
//! Plain scalars resolve as YAML 1.2's core schema does (what go-yaml v3, and so
//! Docker Compose, does): `yes` stays a string, `true` is a boolean.
//!
//! yaml-rust2 follows the YAML specification where it says that the lines of a
//! flow collection (`[...]`, `{...}`) in a block must be indented deeper than
//! the block; go-yaml (libyaml) ignores indentation inside flow collections, so
//! compose files such as Sentry's close a `[` at the indentation of its key.
//! When yaml-rust2 rejects a line inside a flow collection for its indentation,
//! [`parse`] indents that line for the parser and parses again; positions are
//! mapped back to the text as written (see [`Reindented`]).
//!
//! [`builder`] turns parser events into nodes (anchors, merge keys, limits);
//! [`scalar`] resolves plain scalars.

mod builder;
mod scalar;

use std::borrow::Cow;
use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, ParseResult, Parser};

use super::diagnostic::Diagnostic;
use super::node::Node;
use super::source::{FileId, Span};
use builder::{Builder, MAX_DEPTH};

/// Parse one file. Several documents in one file are returned in order.
pub fn parse(text: &str, file: FileId) -> Result<Vec<Node>, Vec<Diagnostic>> {
    parse_with(text, file, text.len() >= PIPELINE_MIN_BYTES)
}

/// [`parse`], the parser on its own thread when `pipelined`.
fn parse_with(text: &str, file: FileId, pipelined: bool) -> Result<Vec<Node>, Vec<Diagnostic>> {
    if let Some(d) = tab_indent(text, file) {
        return Err(vec![d]);
    }
    let mut reindented = Reindented::default();
    loop {
        match parse_once(text, file, &reindented, pipelined) {
            Attempt::Parsed(result) => return result,
            Attempt::Reindent { line, by } => {
                reindented.lines.insert(line, by);
            }
        }
    }
}

/// Lines inside flow collections given more indentation for the parser
/// (1-based line → spaces added at its start), so that it reads them as go-yaml does.
#[derive(Default)]
pub(super) struct Reindented {
    lines: HashMap<usize, usize>,
}

/// More lines than this to reindent and the file is reported as invalid
/// (each costs one more parse of the file).
pub(super) const MAX_REINDENTED_LINES: usize = 1000;

impl Reindented {
    /// The text the parser reads.
    fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.lines.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut fed = String::with_capacity(text.len() + self.lines.values().sum::<usize>());
        for (i, line) in text.split_inclusive('\n').enumerate() {
            if let Some(&by) = self.lines.get(&(i + 1)) {
                fed.extend(std::iter::repeat_n(' ', by));
            }
            fed.push_str(line);
        }
        Cow::Owned(fed)
    }

    /// A column the parser saw on `line`, in the text as written.
    fn column(&self, line: usize, col: usize) -> usize {
        col.saturating_sub(self.lines.get(&line).copied().unwrap_or(0))
    }
}

enum Attempt {
    Parsed(Result<Vec<Node>, Vec<Diagnostic>>),
    /// Parse again with `line` indented `by` more spaces.
    Reindent {
        line: usize,
        by: usize,
    },
}

fn parse_once(text: &str, file: FileId, reindented: &Reindented, pipelined: bool) -> Attempt {
    let builder = Builder {
        file,
        text,
        reindented,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        docs: Vec::new(),
        errors: Vec::new(),
        line_starts: line_starts(text),
    };
    let fed = reindented.text(text);
    // the parser's own `load` recurses once per nesting level; its event
    // iterator does not, so a deeply nested file cannot overflow the stack
    if !pipelined {
        let mut parser = Parser::new_from_str(&fed);
        return build(
            builder,
            &fed,
            std::iter::from_fn(|| Some(parser.next_token())),
        );
    }
    // a large file: the parser runs on another core, ahead of the builder,
    // handing its events over in batches (the same events, in the same
    // order; it stops once the builder stops reading)
    let fed: &str = &fed;
    std::thread::scope(|scope| {
        let (events, batches) = std::sync::mpsc::sync_channel::<Vec<ParseResult>>(4);
        scope.spawn(move || {
            let mut parser = Parser::new_from_str(fed);
            let mut batch = Vec::with_capacity(EVENT_BATCH);
            loop {
                let next = parser.next_token();
                let last = matches!(next, Ok((Event::StreamEnd, _)) | Err(_));
                batch.push(next);
                if last || batch.len() == EVENT_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(EVENT_BATCH));
                    if events.send(full).is_err() || last {
                        return;
                    }
                }
            }
        });
        build(builder, fed, batches.into_iter().flatten())
    })
}

/// Files at least this large are parsed on another core than the one
/// building their tree (a thread costs more than it saves on small ones).
const PIPELINE_MIN_BYTES: usize = 64 * 1024;

/// Events handed from the parser's thread to the builder at a time.
const EVENT_BATCH: usize = 512;

/// Build the tree from the parser's `events` (the parser of `fed`).
fn build(
    mut builder: Builder<'_>,
    fed: &str,
    events: impl Iterator<Item = ParseResult>,
) -> Attempt {
    for next in events {
        match next {
            Ok((Event::StreamEnd, _)) => break,
            Ok((event, mark)) => {
                builder.on_event(event, mark);
                if builder.stack.len() > MAX_DEPTH {
                    let span = builder.span_at(&mark, 1);
                    return Attempt::Parsed(Err(vec![Diagnostic::at(
                        span,
                        "",
                        format!("invalid YAML: nested more than {MAX_DEPTH} levels deep"),
                    )
                    .with_hint("a compose file needs a handful of levels; look for a runaway indentation or `[`")]));
                }
            }
            Err(e) => {
                if let Some((line, by)) = builder.flow_line_to_reindent(&e, fed) {
                    return Attempt::Reindent { line, by };
                }
                let span = builder.span_at(e.marker(), 1);
                return Attempt::Parsed(Err(vec![builder.explain(span, e.info())]));
            }
        }
    }
    Attempt::Parsed(if builder.errors.is_empty() {
        Ok(builder.docs)
    } else {
        Err(builder.errors)
    })
}

/// A tab in indentation is the most common YAML mistake; say so plainly.
fn tab_indent(text: &str, file: FileId) -> Option<Diagnostic> {
    let mut offset = 0;
    for (i, line) in text.split('\n').enumerate() {
        let indent: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if let Some(pos) = indent.find('\t') {
            // a tab after the indentation of a comment-only or blank line is harmless
            let rest = line.trim_start();
            if !rest.is_empty() && !rest.starts_with('#') {
                let span = Span {
                    file,
                    line: i as u32 + 1,
                    col: pos as u32 + 1,
                    offset: (offset + pos) as u32,
                    len: 1,
                };
                return Some(
                    Diagnostic::at(span, "", "invalid YAML: tab character used for indentation")
                        .with_hint("YAML indentation must use spaces; replace the tab with spaces"),
                );
            }
        }
        offset += line.len() + 1;
    }
    None
}

fn line_starts(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    v
}

#[cfg(test)]
mod tests;
