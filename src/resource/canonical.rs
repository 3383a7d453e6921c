//! Canonical JSON text written straight from a typed value: compact, every
//! object's keys sorted (a key given twice keeps its last value), as
//! `serde_json::to_string(&serde_json::to_value(x))` writes it, without the
//! `Value` tree in between.
//!
//! A spec's hash is the sha256 of this text. Building a `Value` of every
//! container only to write and hash it cost a 5,000-service plan about a
//! third of its time and most of its memory (a `Value` map allocates a whole
//! B-tree node for three keys); the text is a fifth of the size and the
//! `Value` is read from it only where a plan needs one (see [`super::SpecJson`]).
//! Separate from the specs because it is about JSON, not about resources.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use serde::Serialize;
use serde_json::ser::Formatter;

/// Keys left out of the text: each a path of object keys from the top
/// (`&["deploy", "replicas"]` drops `replicas` inside the top-level `deploy`).
pub type Skip<'a> = &'a [&'a [&'a str]];

/// Canonical text, with where the top-level object's entries lie in it.
pub struct Canonical {
    pub text: String,
    /// The top-level object's entries in order (none when the value is not
    /// an object): a reader of a few attributes reads only their values.
    pub top: Vec<TopEntry>,
}

/// One top-level entry: `"key":value` from `start`, the quoted key up to
/// `key_end`, the value after the colon up to `end`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopEntry {
    pub start: u32,
    pub key_end: u32,
    pub end: u32,
}

impl TopEntry {
    /// The entry's key (unescaped) in `text`.
    pub fn key<'t>(&self, text: &'t str) -> Cow<'t, str> {
        key_of(text.as_bytes(), self.start as usize, self.key_end as usize)
    }

    /// The entry's value's JSON text in `text`.
    pub fn value<'t>(&self, text: &'t str) -> &'t str {
        &text[self.key_end as usize + 1..self.end as usize]
    }
}

/// The canonical JSON text of `value`, without the keys `skip` names.
///
/// # Panics
/// When `value` does not serialise as JSON (a map with keys that are not
/// strings or numbers): the typed specs always do.
pub fn text<T: Serialize + ?Sized>(value: &T, skip: Skip<'_>) -> String {
    write(value, skip).text
}

/// [`text`], with where its top-level entries lie.
pub fn write<T: Serialize + ?Sized>(value: &T, skip: Skip<'_>) -> Canonical {
    match sorted(value, skip) {
        Some(written) => written,
        // raw JSON text inside: its objects were written as they came;
        // a value reads them (and sorts their keys)
        None => sorted(
            &serde_json::to_value(value).expect("the value serialises as JSON"),
            skip,
        )
        .expect("a serde_json value holds no raw text"),
    }
}

/// [`write`], or `None` when raw JSON text was written into it.
fn sorted<T: Serialize + ?Sized>(value: &T, skip: Skip<'_>) -> Option<Canonical> {
    let buf = Rc::new(RefCell::new(Vec::with_capacity(2048)));
    let done = Rc::new(RefCell::new(Done::default()));
    let formatter = Sorting {
        buf: buf.clone(),
        frames: Vec::new(),
        skip,
        deepest_skip: skip.iter().map(|s| s.len()).max().unwrap_or(0),
        done: done.clone(),
        pool: Vec::new(),
        scratch: Vec::new(),
    };
    let mut ser = serde_json::Serializer::with_formatter(Sink(buf.clone()), formatter);
    value
        .serialize(&mut ser)
        .expect("the value serialises as JSON");
    drop(ser);
    let done = Rc::try_unwrap(done).ok()?.into_inner();
    if done.raw {
        return None;
    }
    let bytes = Rc::try_unwrap(buf).ok()?.into_inner();
    let top = done
        .top
        .iter()
        .map(|e| TopEntry {
            start: e.start as u32,
            key_end: e.key_end as u32,
            end: e.end as u32,
        })
        .collect();
    // serde_json writes UTF-8 only, and reordering moves whole entries
    Some(Canonical {
        text: String::from_utf8(bytes).ok()?,
        top,
    })
}

/// What the formatter hands back once the value is written.
#[derive(Default)]
struct Done {
    /// Raw JSON text was written (its keys are not sorted).
    raw: bool,
    /// The top-level object's entries as finally written.
    top: Vec<Entry>,
}

/// The writer serde_json writes through: the buffer the formatter reorders.
struct Sink(Rc<RefCell<Vec<u8>>>);

impl io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One object entry's place in the buffer: `"key":value` from `start`, the
/// key (quotes included) up to `key_end`.
#[derive(Clone, Copy)]
struct Entry {
    start: usize,
    key_end: usize,
    end: usize,
}

enum Frame {
    Object { start: usize, entries: Vec<Entry> },
    Array,
}

/// A compact formatter that, at the end of every object, rewrites its
/// entries in key order.
struct Sorting<'a> {
    buf: Rc<RefCell<Vec<u8>>>,
    frames: Vec<Frame>,
    skip: Skip<'a>,
    /// The length of the longest skipped path: deeper objects skip nothing.
    deepest_skip: usize,
    done: Rc<RefCell<Done>>,
    /// Emptied entry lists, for the next objects (most specs are a few dozen
    /// small objects).
    pool: Vec<Vec<Entry>>,
    scratch: Vec<u8>,
}

impl Sorting<'_> {
    fn position(&self) -> usize {
        self.buf.borrow().len()
    }

    fn entry(&mut self) -> Option<&mut Entry> {
        match self.frames.last_mut() {
            Some(Frame::Object { entries, .. }) => entries.last_mut(),
            _ => None,
        }
    }

    /// The keys `skip` leaves out of the object being closed (its parents
    /// are `self.frames`): none unless it is reached through objects only.
    fn skipped<'b>(&self, buf: &'b [u8]) -> Vec<&'b str>
    where
        Self: 'b,
    {
        let depth = self.frames.len();
        if depth >= self.deepest_skip {
            return Vec::new();
        }
        let mut path = Vec::with_capacity(depth);
        for frame in &self.frames {
            let Frame::Object { entries, .. } = frame else {
                return Vec::new();
            };
            let Some(e) = entries.last() else {
                return Vec::new();
            };
            path.push(key_of(buf, e.start, e.key_end));
        }
        self.skip
            .iter()
            .filter(|s| s.len() == depth + 1 && s.iter().zip(&path).all(|(a, b)| *a == b))
            .map(|s| s[depth])
            .collect()
    }

    fn close_object(&mut self, start: usize, mut entries: Vec<Entry>) {
        let mut buf = self.buf.borrow_mut();
        let skipped = self.skipped(&buf);
        let in_order = entries
            .windows(2)
            .all(|w| compare_keys(&buf, &w[0], &w[1]) == std::cmp::Ordering::Less);
        let top = self.frames.is_empty();
        if in_order && skipped.is_empty() {
            // as written (most maps are sorted maps already)
            if top {
                self.done.borrow_mut().top = entries;
            } else {
                entries.clear();
                self.pool.push(entries);
            }
            return;
        }
        let mut keyed: Vec<(Cow<'_, str>, Entry)> = entries
            .iter()
            .map(|e| (key_of(&buf, e.start, e.key_end), *e))
            .collect();
        keyed.retain(|(k, _)| !skipped.contains(&k.as_ref()));
        // stable: of two equal keys the later stays later, and is kept
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let out = &mut self.scratch;
        out.clear();
        out.push(b'{');
        let mut written = Vec::new();
        for (i, (key, e)) in keyed.iter().enumerate() {
            if keyed.get(i + 1).is_some_and(|(next, _)| next == key) {
                continue;
            }
            if out.len() > 1 {
                out.push(b',');
            }
            let at = start + out.len();
            out.extend_from_slice(&buf[e.start..e.end]);
            if top {
                written.push(Entry {
                    start: at,
                    key_end: at + (e.key_end - e.start),
                    end: at + (e.end - e.start),
                });
            }
        }
        out.push(b'}');
        drop(keyed);
        buf.truncate(start);
        buf.extend_from_slice(out);
        if top {
            self.done.borrow_mut().top = written;
        }
        entries.clear();
        self.pool.push(entries);
    }
}

/// An entry's key, unescaped (serde_json escapes only quotes, backslashes
/// and control characters, so most keys are their text between the quotes).
fn key_of(buf: &[u8], start: usize, key_end: usize) -> Cow<'_, str> {
    let quoted = &buf[start..key_end];
    let inner = &quoted[1..quoted.len() - 1];
    if !inner.contains(&b'\\') {
        return Cow::Borrowed(std::str::from_utf8(inner).unwrap_or_default());
    }
    Cow::Owned(serde_json::from_slice::<String>(quoted).unwrap_or_default())
}

/// Two entries' keys in key order, without unescaping unless one needs it.
fn compare_keys(buf: &[u8], a: &Entry, b: &Entry) -> std::cmp::Ordering {
    let inner = |e: &Entry| &buf[e.start + 1..e.key_end - 1];
    let (x, y) = (inner(a), inner(b));
    if x.contains(&b'\\') || y.contains(&b'\\') {
        return key_of(buf, a.start, a.key_end).cmp(&key_of(buf, b.start, b.key_end));
    }
    x.cmp(y)
}

impl Formatter for Sorting<'_> {
    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        let start = self.position();
        let entries = self.pool.pop().unwrap_or_default();
        self.frames.push(Frame::Object { start, entries });
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"}")?;
        if let Some(Frame::Object { start, entries }) = self.frames.pop() {
            self.close_object(start, entries);
        }
        Ok(())
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        let start = self.position();
        if let Some(Frame::Object { entries, .. }) = self.frames.last_mut() {
            entries.push(Entry {
                start,
                key_end: start,
                end: start,
            });
        }
        Ok(())
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        let at = self.position();
        if let Some(e) = self.entry() {
            e.key_end = at;
        }
        Ok(())
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        let at = self.position();
        if let Some(e) = self.entry() {
            e.end = at;
        }
        Ok(())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.frames.push(Frame::Array);
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.frames.pop();
        writer.write_all(b"]")
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.done.borrow_mut().raw = true;
        writer.write_all(fragment.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::collections::HashMap;

    /// What the text must equal: the value's JSON through `serde_json::Value`.
    fn through_value<T: Serialize>(v: &T) -> String {
        serde_json::to_string(&serde_json::to_value(v).unwrap()).unwrap()
    }

    #[test]
    fn objects_are_written_with_their_keys_sorted_at_every_depth() {
        #[derive(Serialize)]
        struct Inner {
            z: u8,
            a: Vec<HashMap<&'static str, f64>>,
        }
        #[derive(Serialize)]
        struct Outer {
            zeta: Option<String>,
            alpha: Inner,
            mid: (),
            #[serde(rename = "Émile")]
            accent: bool,
            empty: HashMap<String, u8>,
        }
        let v = Outer {
            zeta: None,
            alpha: Inner {
                z: 1,
                a: vec![HashMap::from([("y", 1.5), ("b", -2.0), ("m", 1e300)])],
            },
            mid: (),
            accent: true,
            empty: HashMap::new(),
        };
        let text = text(&v, &[]);
        assert_eq!(text, through_value(&v));
        assert_eq!(
            text,
            r#"{"alpha":{"a":[{"b":-2.0,"m":1e+300,"y":1.5}],"z":1},"empty":{},"mid":null,"zeta":null,"Émile":true}"#
        );
        // where the top-level entries lie, once sorted
        let w = write(&v, &[]);
        let keys: Vec<String> = w.top.iter().map(|e| e.key(&w.text).into_owned()).collect();
        assert_eq!(keys, ["alpha", "empty", "mid", "zeta", "Émile"]);
        let values: Vec<&str> = w.top.iter().map(|e| e.value(&w.text)).collect();
        assert_eq!(values[1..], ["{}", "null", "null", "true"]);
    }

    #[test]
    fn keys_that_need_escaping_sort_by_their_text_not_their_escapes() {
        // `"` is 0x22, before `#`; written escaped it starts with `\` (0x5c)
        let v: HashMap<&str, u8> =
            HashMap::from([("a\"", 1), ("a#", 2), ("a\\", 3), ("a\n", 4), ("a", 5)]);
        assert_eq!(text(&v, &[]), through_value(&v));
    }

    #[test]
    fn a_key_given_twice_keeps_its_last_value_as_a_value_map_does() {
        #[derive(Serialize)]
        struct Base {
            name: &'static str,
            image: &'static str,
        }
        #[derive(Serialize)]
        struct Over {
            #[serde(flatten)]
            base: Base,
            name: &'static str,
        }
        let v = Over {
            base: Base {
                name: "web",
                image: "x",
            },
            name: "proj-web-1",
        };
        assert_eq!(text(&v, &[]), through_value(&v));
        assert_eq!(text(&v, &[]), r#"{"image":"x","name":"proj-web-1"}"#);
    }

    #[test]
    fn skipped_paths_leave_out_exactly_those_keys() {
        let v = json!({
            "build": {"context": "."},
            "deploy": {"replicas": 2, "labels": {"replicas": "kept"}},
            "list": [{"build": "kept"}],
            "image": "x",
        });
        let skip: Skip = &[&["build"], &["deploy", "replicas"]];
        assert_eq!(
            text(&v, skip),
            r#"{"deploy":{"labels":{"replicas":"kept"}},"image":"x","list":[{"build":"kept"}]}"#
        );
        // nothing to skip at the top of an array
        assert_eq!(text(&json!([{"build": 1}]), skip), r#"[{"build":1}]"#);
    }

    #[test]
    fn raw_json_text_inside_is_sorted_too() {
        let raw = serde_json::value::RawValue::from_string(r#"{"b":1,"a":2}"#.into()).unwrap();
        assert!(sorted(&raw, &[]).is_none());
        assert_eq!(text(&*raw, &[]), r#"{"a":2,"b":1}"#);
        let v: Value = serde_json::from_str(r#"{"b":1,"a":2}"#).unwrap();
        assert_eq!(text(&v, &[]), r#"{"a":2,"b":1}"#);
    }
}
