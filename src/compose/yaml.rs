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

use std::borrow::Cow;
use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::diagnostic::Diagnostic;
use super::node::{Entry, Key, MergeTag, Node, Value};
use super::source::{FileId, Span};

/// Parse one file. Several documents in one file are returned in order.
pub fn parse(text: &str, file: FileId) -> Result<Vec<Node>, Vec<Diagnostic>> {
    if let Some(d) = tab_indent(text, file) {
        return Err(vec![d]);
    }
    let mut reindented = Reindented::default();
    loop {
        match parse_once(text, file, &reindented) {
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
struct Reindented {
    lines: HashMap<usize, usize>,
}

/// More lines than this to reindent and the file is reported as invalid
/// (each costs one more parse of the file).
const MAX_REINDENTED_LINES: usize = 1000;

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

fn parse_once(text: &str, file: FileId, reindented: &Reindented) -> Attempt {
    let mut builder = Builder {
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
    let mut parser = Parser::new_from_str(&fed);
    loop {
        match parser.next_token() {
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
                if let Some((line, by)) = builder.flow_line_to_reindent(&e, &fed) {
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

enum Frame {
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

struct Builder<'a> {
    file: FileId,
    /// The text as written (the parser may read it reindented).
    text: &'a str,
    reindented: &'a Reindented,
    stack: Vec<Frame>,
    /// Anchored values, with the number of nodes each holds.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes copied so far by aliases; bounded (see [`MAX_ALIAS_NODES`]).
    alias_nodes: usize,
    docs: Vec<Node>,
    errors: Vec<Diagnostic>,
    line_starts: Vec<usize>,
}

impl Builder<'_> {
    /// When the parser rejects the indentation of a line inside a flow collection
    /// (which go-yaml accepts), that line and how many spaces to add to it:
    /// enough to start right after the outermost open `[` or `{`.
    fn flow_line_to_reindent(&self, e: &ScanError, fed: &str) -> Option<(usize, usize)> {
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
    fn explain(&self, span: Span, info: &str) -> Diagnostic {
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
            d = match super::diagnostic::suggest(&name, anchors.iter().map(String::as_str)) {
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
    fn span_at(&self, m: &Marker, len: usize) -> Span {
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

/// A plain scalar's value; a string keeps the parser's allocation.
fn resolve_plain(text: String) -> Value {
    match resolve_plain_scalar(&text) {
        Some(v) => v,
        None => Value::Str(text),
    }
}

/// A plain scalar that is not a string (null, boolean, number), else `None`.
fn resolve_plain_scalar(s: &str) -> Option<Value> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Value::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    let bytes = s.as_bytes();
    let digits = |t: &str, radix: u32| !t.is_empty() && t.chars().all(|c| c.is_digit(radix));
    let (sign, body) = match bytes[0] {
        b'-' => (-1i64, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    if body.len() > 1
        && body.starts_with('0')
        && digits(body, 8)
        && let Ok(i) = i64::from_str_radix(body, 8)
    {
        return Some(Value::Int(sign * i));
    }
    if digits(body, 10) {
        if let Ok(i) = s.parse::<i64>() {
            return Some(Value::Int(i));
        }
        if let Ok(f) = s.parse::<f64>() {
            return Some(Value::Float(f));
        }
    }
    if let Some(hex) = s.strip_prefix("0x")
        && digits(hex, 16)
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Some(Value::Int(i));
    }
    if let Some(oct) = s.strip_prefix("0o")
        && digits(oct, 8)
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Some(Value::Int(i));
    }
    if is_float(s)
        && let Ok(f) = s.parse::<f64>()
    {
        return Some(Value::Float(f));
    }
    None
}

/// YAML 1.2 core schema float: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
                && !(a.is_empty() && b.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
        }
    };
    mantissa_ok && exp_ok
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

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        parse(text, 0).expect("parses").remove(0)
    }

    #[test]
    fn plain_scalars_resolve_like_the_core_schema() {
        let n = one("a: 1\nb: yes\nc: true\nd: 1.5\ne:\nf: '1'\ng: 80:80\nh: 0x1F\n");
        assert_eq!(n.get("a").unwrap().value, Value::Int(1));
        assert_eq!(n.get("b").unwrap().value, Value::Str("yes".into()));
        assert_eq!(n.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(n.get("d").unwrap().value, Value::Float(1.5));
        assert_eq!(n.get("e").unwrap().value, Value::Null);
        assert_eq!(n.get("f").unwrap().value, Value::Str("1".into()));
        assert_eq!(n.get("g").unwrap().value, Value::Str("80:80".into()));
        assert_eq!(n.get("h").unwrap().value, Value::Int(31));
    }

    #[test]
    fn keys_and_values_remember_line_and_column() {
        let n = one("services:\n  web:\n    image: nginx\n");
        let web = n.get("services").unwrap().as_map().unwrap();
        assert_eq!((web[0].key.span.line, web[0].key.span.col), (2, 3));
        let image = n
            .get("services")
            .unwrap()
            .get("web")
            .unwrap()
            .as_map()
            .unwrap();
        assert_eq!((image[0].key.span.line, image[0].key.span.col), (3, 5));
        assert_eq!((image[0].value.span.line, image[0].value.span.col), (3, 12));
    }

    #[test]
    fn merge_keys_single_and_list_form_explicit_keys_win() {
        let n = one(
            "x: &a {p: 1, q: 1}\ny: &b {q: 2, r: 2}\nz:\n  <<: [*a, *b]\n  p: 0\nw:\n  <<: *b\n",
        );
        let z = n.get("z").unwrap();
        assert_eq!(z.get("p").unwrap().value, Value::Int(0));
        assert_eq!(z.get("q").unwrap().value, Value::Int(1));
        assert_eq!(z.get("r").unwrap().value, Value::Int(2));
        assert_eq!(n.get("w").unwrap().get("q").unwrap().value, Value::Int(2));
    }

    #[test]
    fn duplicate_keys_are_errors_naming_the_first() {
        let errs = parse("a: 1\nb: 2\na: 3\n", 0).unwrap_err();
        assert_eq!(
            errs[0].message,
            "duplicate key `a` (first defined on line 1)"
        );
        assert_eq!(errs[0].span.unwrap().line, 3);
    }

    #[test]
    fn tabs_in_indentation_are_named() {
        let errs = parse("services:\n\tweb: {}\n", 0).unwrap_err();
        assert!(errs[0].message.contains("tab"));
        assert_eq!(errs[0].span.unwrap().line, 2);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let errs = parse("a: [1, 2\nb: 3\n", 0).unwrap_err();
        assert!(errs[0].message.starts_with("invalid YAML"));
        assert!(errs[0].span.is_some());
    }

    #[test]
    fn flow_collections_may_close_at_or_left_of_their_key_as_go_yaml_reads_them() {
        let n = one("s:\n  t: [\n      \"a\",\n  ]\n  u: {\nk: v,\n}\n  w: 1\n");
        let s = n.get("s").unwrap();
        let t: Vec<_> = s.get("t").unwrap().as_seq().unwrap().iter().collect();
        assert_eq!(t[0].as_str(), Some("a"));
        let u = s.get("u").unwrap();
        assert_eq!(u.get("k").unwrap().as_str(), Some("v"));
        assert_eq!(s.get("w").unwrap().value, Value::Int(1));
    }

    #[test]
    fn a_quoted_string_in_a_flow_collection_may_go_on_left_of_its_key() {
        let n = one("s:\n  t: [\"one\n two\", \"x\n\ny\"]\n  u: {a: \"b\nc\"}\n");
        let s = n.get("s").unwrap();
        let t = s.get("t").unwrap().as_seq().unwrap();
        assert_eq!(t[0].as_str(), Some("one two"));
        assert_eq!(t[1].as_str(), Some("x\ny"));
        assert_eq!(s.get("u").unwrap().get("a").unwrap().as_str(), Some("b c"));
    }

    #[test]
    fn lines_reindented_for_the_parser_keep_their_written_positions() {
        let text = "s:\n  t: [\n x,\n  ]\n  u: 1\n";
        let n = one(text);
        let s = n.get("s").unwrap();
        let x = &s.get("t").unwrap().as_seq().unwrap()[0];
        assert_eq!((x.span.line, x.span.col), (3, 2));
        assert_eq!(&text[x.span.offset as usize..][..1], "x");
        let u = s
            .as_map()
            .unwrap()
            .iter()
            .find(|e| e.key.name == "u")
            .unwrap();
        assert_eq!((u.key.span.line, u.key.span.col), (5, 3));
    }

    #[test]
    fn an_unclosed_flow_collection_is_still_named() {
        let errs = parse("s:\n  t: [\n    a,\nu: 1\n", 0).unwrap_err();
        assert_eq!(errs[0].message, "invalid YAML: `[` is never closed");
        assert_eq!(errs[0].span.unwrap().line, 2);
    }

    #[test]
    fn nested_aliases_are_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        let errs = parse(&text, 0).unwrap_err();
        assert!(
            errs[0].message.contains("aliases expand to more than"),
            "{errs:?}"
        );
        assert_eq!(errs.len(), 1);
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let text = format!("x:\n  {}x\n", "- ".repeat(50_000));
        let errs = parse(&text, 0).unwrap_err();
        assert!(
            errs[0].message.contains("nested more than 200 levels"),
            "{errs:?}"
        );
    }

    #[test]
    fn aliases_of_long_strings_are_bounded_too() {
        let long = "y".repeat(4000);
        let mut text = format!(
            "a0: &a0 [\"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\", \"{long}\"]\n"
        );
        for i in 1..7 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                [prev.as_str(); 10].join(", ")
            ));
        }
        let errs = parse(&text, 0).unwrap_err();
        assert!(
            errs[0].message.contains("aliases expand to more than"),
            "{errs:?}"
        );
    }

    #[test]
    fn reset_and_override_tags_are_kept() {
        let n = one("a: !reset []\nb: !override {x: 1}\nc: !reset null\n");
        assert_eq!(n.get("a").unwrap().tag, Some(MergeTag::Reset));
        assert_eq!(n.get("b").unwrap().tag, Some(MergeTag::Override));
        assert_eq!(n.get("c").unwrap().tag, Some(MergeTag::Reset));
    }
}
