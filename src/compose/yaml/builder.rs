//! Parser events to the [`Node`] tree: the stack of open collections,
//! anchors and aliases (bounded, see [`MAX_ALIAS_NODES`]), merge keys and
//! duplicate keys. Separate from [`super::parse`], which only drives the parser
//! and retries reindented lines.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::scalar::resolve_plain;
use super::{MAX_REINDENTED_LINES, Reindented};
use crate::compose::diagnostic::Diagnostic;
use crate::compose::node::{Entry, Key, MergeTag, Node, Value};
use crate::compose::source::{FileId, Span};

pub(super) enum Frame {
    Seq {
        items: Vec<Node>,
        start: Span,
        anchor: usize,
        tag: Option<MergeTag>,
    },
    Map {
        entries: Vec<Entry>,
        /// Mappings pulled in by `<<`, in order of precedence.
        merges: Vec<Node>,
        pending_key: Option<(Key, bool)>,
        /// Key → index, built once a mapping grows large, so duplicate checks stay O(1).
        index: Option<HashMap<String, usize>>,
        start: Span,
        anchor: usize,
        tag: Option<MergeTag>,
    },
}

pub(super) struct Builder<'a> {
    pub(super) file: FileId,
    /// The text as written (the parser may read it reindented).
    pub(super) text: &'a str,
    pub(super) reindented: &'a Reindented,
    pub(super) stack: Vec<Frame>,
    /// Anchored values, with the number of nodes each holds.
    pub(super) anchors: HashMap<usize, (Node, usize)>,
    /// Nodes copied so far by aliases; bounded (see [`MAX_ALIAS_NODES`]).
    pub(super) alias_nodes: usize,
    pub(super) docs: Vec<Node>,
    pub(super) errors: Vec<Diagnostic>,
    pub(super) line_starts: Vec<usize>,
}

impl Builder<'_> {
    /// When the parser rejects the indentation of a line inside a flow collection
    /// (which go-yaml accepts), that line and how many spaces to add to it:
    /// enough to start right after the outermost open `[` or `{`.
    pub(super) fn flow_line_to_reindent(&self, e: &ScanError, fed: &str) -> Option<(usize, usize)> {
        if !e.info().starts_with("invalid indentation")
            || self.reindented.lines.len() >= MAX_REINDENTED_LINES
        {
            return None;
        }
        let char_at = |s: Span| self.text[s.offset as usize..].chars().next();
        let open = self.stack.iter().find_map(|frame| {
            let start = match frame {
                Frame::Seq { start, .. } | Frame::Map { start, .. } => *start,
            };
            matches!(char_at(start), Some('[' | '{')).then_some(start)
        })?;
        let wanted = open.col as usize; // 0-based column right after the bracket
        let indent_of = |text: &str| text.chars().take_while(|c| *c == ' ').count();
        let (line, col) = (e.marker().line(), e.marker().col());
        let line = if e.info() == "invalid indentation in quoted scalar" {
            // the mark is the string's start: the line to fix is one of its next
            // ones (their leading spaces are not part of the string)
            let (i, _) = fed
                .lines()
                .enumerate()
                .skip(line)
                .find(|(_, text)| !text.trim().is_empty() && indent_of(text) < wanted)?;
            i + 1
        } else {
            // only the first thing on a line has an indentation to fix
            let text = fed.lines().nth(line.checked_sub(1)?)?;
            if col != indent_of(text) {
                return None;
            }
            line
        };
        let indent = indent_of(fed.lines().nth(line - 1)?);
        let already = self.reindented.lines.get(&line).copied().unwrap_or(0);
        (line > open.line as usize && wanted > indent).then(|| (line, wanted - indent + already))
    }

    /// Turn the parser's message into one that names the likely cause.
    pub(super) fn explain(&self, span: Span, info: &str) -> Diagnostic {
        let char_at = |s: Span| self.text[s.offset as usize..].chars().next();
        // an open `[` or `{` on an earlier line that was never closed
        for frame in self.stack.iter().rev() {
            let start = match frame {
                Frame::Seq { start, .. } | Frame::Map { start, .. } => *start,
            };
            if let Some(open @ ('[' | '{')) = char_at(start)
                && start.line < span.line
            {
                let (what, close) = if open == '[' {
                    ("list", ']')
                } else {
                    ("mapping", '}')
                };
                return Diagnostic::at(
                    start,
                    "",
                    format!("invalid YAML: `{open}` is never closed"),
                )
                .with_hint(format!(
                    "close the {what} with `{close}`, or write it in block style, one item per line"
                ));
            }
        }
        if info.contains("quoted scalar") {
            let quote = self.text[..span.offset as usize]
                .rfind(['"', '\''])
                .and_then(|i| self.text[i..].chars().next())
                .unwrap_or('"');
            return Diagnostic::at(span, "", format!("invalid YAML: `{quote}` is never closed"))
                .with_hint(format!("close the string with `{quote}`; for text over several lines use a block scalar (`|`)"));
        }
        if info.contains("unknown anchor") {
            let rest = &self.text[span.offset as usize..];
            let name: String = rest
                .trim_start_matches('*')
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
                .collect();
            let anchors: Vec<String> = self
                .text
                .split(|c: char| c.is_whitespace() || matches!(c, '[' | '{' | ','))
                .filter_map(|w| w.strip_prefix('&'))
                .map(str::to_string)
                .collect();
            let mut d = Diagnostic::at(span, "", format!("invalid YAML: unknown alias `*{name}`"));
            d = match crate::compose::diagnostic::suggest(&name, anchors.iter().map(String::as_str))
            {
                Some(s) => d.with_hint(format!("did you mean `*{s}`?")),
                None => d.with_hint(format!(
                    "define the anchor first with `&{name}` on the value to reuse"
                )),
            };
            return d;
        }
        Diagnostic::at(span, "", format!("invalid YAML: {info}")).with_hint(
            "check indentation, quoting and that every `key: value` has a space after the colon",
        )
    }

    /// yaml-rust2 marks count characters; spans count bytes and 1-based columns.
    pub(super) fn span_at(&self, m: &Marker, len: usize) -> Span {
        let line = m.line().max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let col_chars = self.reindented.column(line, m.col());
        // called for every scalar and collection: when the line up to the
        // column is plain ASCII, characters are bytes
        let ascii = self
            .text
            .as_bytes()
            .get(start..start + col_chars)
            .is_some_and(|before| before.iter().all(|&b| b.is_ascii() && b != b'\n'));
        let byte_col: usize = if ascii {
            col_chars
        } else {
            let line_text = &self.text[start..];
            let line_text = line_text.split('\n').next().unwrap_or("");
            line_text.chars().take(col_chars).map(char::len_utf8).sum()
        };
        Span {
            file: self.file,
            line: line as u32,
            col: col_chars as u32 + 1,
            offset: (start + byte_col) as u32,
            len: len as u32,
        }
    }

    fn merge_tag(tag: &Option<Tag>) -> Option<MergeTag> {
        match tag {
            Some(t) if t.handle == "!" && t.suffix == "reset" => Some(MergeTag::Reset),
            Some(t) if t.handle == "!" && t.suffix == "override" => Some(MergeTag::Override),
            _ => None,
        }
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors
                .insert(anchor, (node.clone(), count_nodes(&node)));
        }
        self.attach(node, false);
    }

    fn attach(&mut self, node: Node, is_merge_key_candidate: bool) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                merges,
                pending_key,
                index,
                ..
            }) => match pending_key.take() {
                None => {
                    // this node is a key
                    let span = node.span;
                    let name = match node.value {
                        // the key keeps the parser's string
                        Value::Str(s) => Some(s),
                        Value::Null => Some(String::new()),
                        Value::Seq(_) | Value::Map(_) => None,
                        scalar => Node::new(scalar, span).scalar_text(),
                    };
                    match name {
                        Some(name) => {
                            let merge = is_merge_key_candidate && name == "<<";
                            *pending_key = Some((Key { name, span }, merge));
                        }
                        None => {
                            self.errors.push(
                                Diagnostic::at(
                                    span,
                                    "",
                                    "invalid YAML: a mapping key must be a plain value, not a list or mapping",
                                )
                                .with_hint("compose files use string keys only"),
                            );
                            *pending_key = Some((
                                Key {
                                    name: String::from("?"),
                                    span,
                                },
                                false,
                            ));
                        }
                    }
                }
                Some((key, true)) => {
                    // `<<: *anchor` or `<<: [*a, *b]`
                    match node.value {
                        Value::Map(_) => merges.push(node),
                        Value::Seq(items) => {
                            for item in items {
                                if matches!(item.value, Value::Map(_)) {
                                    merges.push(item);
                                } else {
                                    self.errors.push(Diagnostic::at(
                                        item.span,
                                        "",
                                        "invalid YAML: a merge key `<<` list must hold only mappings",
                                    ));
                                }
                            }
                        }
                        _ => self.errors.push(
                            Diagnostic::at(
                                key.span,
                                "",
                                "invalid YAML: merge key `<<` needs a mapping or a list of mappings",
                            )
                            .with_hint("write `<<: *anchor` where `&anchor` names a mapping"),
                        ),
                    }
                }
                Some((key, false)) => {
                    const INDEX_FROM: usize = 16;
                    if index.is_none() && entries.len() >= INDEX_FROM {
                        *index = Some(
                            entries
                                .iter()
                                .enumerate()
                                .map(|(i, e)| (e.key.name.clone(), i))
                                .collect(),
                        );
                    }
                    let existing = match index {
                        Some(ix) => ix.get(&key.name).map(|&i| &entries[i]),
                        None => entries.iter().find(|e| e.key.name == key.name),
                    };
                    if let Some(first) = existing {
                        let first_line = first.key.span.line;
                        self.errors.push(
                            Diagnostic::at(
                                key.span,
                                "",
                                format!(
                                    "duplicate key `{}` (first defined on line {first_line})",
                                    key.name
                                ),
                            )
                            .with_hint("remove one of them; YAML keys must be unique in a mapping"),
                        );
                    } else {
                        if let Some(ix) = index {
                            ix.insert(key.name.clone(), entries.len());
                        }
                        entries.push(Entry { key, value: node });
                    }
                }
            },
        }
    }
}

/// Add the entries of `merges` (`<<` mappings) whose keys `entries` does not
/// have yet: explicit keys win; among merged mappings, the first listed wins.
fn merge_into(entries: &mut Vec<Entry>, merges: Vec<Node>) {
    let merged = || merges.iter().filter_map(Node::as_map).flatten();
    // a service merging its defaults has a few keys: comparing them beats
    // hashing a copy of each; large mappings keep linear time with a set
    const SCAN_UP_TO: usize = 32;
    let mut seen: Option<std::collections::HashSet<String>> = (entries.len() + merged().count()
        > SCAN_UP_TO)
        .then(|| entries.iter().map(|e| e.key.name.clone()).collect());
    for merged in merges {
        let Value::Map(more) = merged.value else {
            continue;
        };
        for e in more {
            let new = match &mut seen {
                Some(seen) => seen.insert(e.key.name.clone()),
                None => !entries.iter().any(|x| x.key.name == e.key.name),
            };
            if new {
                entries.push(e);
            }
        }
    }
}

/// Deeper nesting is refused (every later stage walks the tree recursively).
pub const MAX_DEPTH: usize = 200;

/// Aliases may copy at most this many values in one file: enough for any real
/// compose file (50,000 services merging a 20-key anchor copy a million),
/// while nested aliases ("billion laughs") stop early instead of eating memory.
pub const MAX_ALIAS_NODES: usize = 3_000_000;

/// A value's weight for the alias limit: one per value, plus one per 64 bytes
/// of text, so that aliases of long strings are bounded too.
fn count_nodes(n: &Node) -> usize {
    1 + match &n.value {
        Value::Str(s) => s.len() / 64,
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|e| 1 + e.key.name.len() / 64 + count_nodes(&e.value))
            .sum(),
        _ => 0,
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let quotes = match style {
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => 2,
                    _ => 0,
                };
                let len = (text.len() + quotes).max(1);
                let span = self.span_at(&mark, len);
                let plain = matches!(style, TScalarStyle::Plain);
                let merge_candidate = plain && text == "<<";
                // `!reset` with no value, or `!reset value`, resolves as plain too
                let value = if plain && (tag.is_none() || Self::merge_tag(&tag).is_some()) {
                    resolve_plain(text)
                } else {
                    Value::Str(text)
                };
                let mut node = Node::new(value, span);
                node.tag = Self::merge_tag(&tag);
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.attach(node, merge_candidate);
            }
            Event::SequenceStart(anchor, tag) => {
                let start = self.span_at(&mark, 1);
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    start,
                    anchor,
                    tag: Self::merge_tag(&tag),
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items,
                    start,
                    anchor,
                    tag,
                }) = self.stack.pop()
                {
                    let mut node = Node::new(Value::Seq(items), start);
                    node.tag = tag;
                    self.push_value(node, anchor);
                }
            }
            Event::MappingStart(anchor, tag) => {
                let start = self.span_at(&mark, 1);
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    merges: Vec::new(),
                    pending_key: None,
                    index: None,
                    start,
                    anchor,
                    tag: Self::merge_tag(&tag),
                });
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    mut entries,
                    merges,
                    start,
                    anchor,
                    tag,
                    ..
                }) = self.stack.pop()
                {
                    // explicit keys win; among merged mappings, the first listed wins
                    if !merges.is_empty() {
                        merge_into(&mut entries, merges);
                    }
                    // a block mapping's start mark is its first colon: point at its first key
                    let start = match entries.first() {
                        Some(e) if e.key.span.offset < start.offset => e.key.span,
                        _ => start,
                    };
                    let mut node = Node::new(Value::Map(entries), start);
                    node.tag = tag;
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => {
                let span = self.span_at(&mark, 1);
                match self.anchors.get(&id) {
                    Some((node, size)) => {
                        self.alias_nodes += size;
                        if self.alias_nodes > MAX_ALIAS_NODES {
                            if self.alias_nodes - size <= MAX_ALIAS_NODES {
                                self.errors.push(
                                    Diagnostic::at(
                                        span,
                                        "",
                                        format!("invalid YAML: aliases expand to more than {MAX_ALIAS_NODES} values"),
                                    )
                                    .with_hint("aliases that refer to aliases multiply; a compose file needs far fewer (is this a \"billion laughs\" file?)"),
                                );
                            }
                            self.attach(Node::new(Value::Null, span), false);
                        } else {
                            let node = node.clone();
                            self.attach(node, false);
                        }
                    }
                    None => {
                        self.errors
                            .push(Diagnostic::at(span, "", "invalid YAML: unknown alias"));
                        self.attach(Node::new(Value::Null, span), false);
                    }
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}
