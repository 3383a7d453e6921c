//! A spec's JSON as a plan holds it: the canonical text resolve wrote (and
//! hashed), read as a `serde_json::Value` only when something asks for one.
//!
//! A plan of thousands of new containers needs of each spec its hash and a
//! few top-level attributes (what is sensitive, what a security reviewer
//! sees): neither needs the `Value` tree, which took most of the plan's
//! memory. Writing a spec (`--format json`, saved plans) reads a `Value` for
//! the writing and drops it. A diff against a recorded spec, the state and
//! apply read the `Value` (read once, then kept). Specs read from a state
//! record or a saved plan start as a `Value`. Cloning shares both.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::canonical::{Canonical, TopEntry};

#[derive(Clone)]
pub struct SpecJson(Arc<Inner>);

struct Inner {
    /// Canonical JSON text (keys sorted, compact), when the spec was written
    /// as text.
    text: Option<Box<str>>,
    /// Where the text's top-level entries lie.
    top: Box<[TopEntry]>,
    /// The text read as a value (or the value it was made from).
    value: OnceLock<Arc<Value>>,
}

impl SpecJson {
    /// The spec as a value (read from the text the first time).
    pub fn value(&self) -> &Arc<Value> {
        self.0.value.get_or_init(|| {
            let text = self.0.text.as_deref().unwrap_or("null");
            // the text was written by serde_json from a typed spec
            Arc::new(serde_json::from_str(text).expect("canonical spec text reads back"))
        })
    }

    /// The canonical text, when the spec was written as one.
    pub fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }

    /// Whether both hold the same allocation (a clone of one another).
    pub fn ptr_eq(&self, other: &SpecJson) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// An object holding the spec's top-level `keys` that it has (the whole
    /// spec when it is already a value): enough for a check that reads only
    /// those, without reading the rest of the text into a value.
    pub fn top_level(&self, keys: &[&str]) -> Cow<'_, Value> {
        if let Some(v) = self.0.value.get() {
            return Cow::Borrowed(v);
        }
        // text is written with the index of its top-level entries (none:
        // an empty object); a spec that is not an object is read whole
        let Some(text) = self.text().filter(|t| t.starts_with('{')) else {
            return Cow::Borrowed(self.value());
        };
        // only the values asked for are read
        let mut out = serde_json::Map::new();
        for e in self.0.top.iter() {
            let key = e.key(text);
            if keys.contains(&key.as_ref())
                && let Ok(v) = serde_json::from_str(e.value(text))
            {
                out.insert(key.into_owned(), v);
            }
        }
        Cow::Owned(Value::Object(out))
    }
}

impl From<Canonical> for SpecJson {
    fn from(c: Canonical) -> SpecJson {
        SpecJson(Arc::new(Inner {
            text: Some(c.text.into_boxed_str()),
            top: c.top.into_boxed_slice(),
            value: OnceLock::new(),
        }))
    }
}

impl From<Value> for SpecJson {
    fn from(v: Value) -> SpecJson {
        SpecJson::from(Arc::new(v))
    }
}

impl From<Arc<Value>> for SpecJson {
    fn from(v: Arc<Value>) -> SpecJson {
        SpecJson(Arc::new(Inner {
            text: None,
            top: Box::default(),
            value: OnceLock::from(v),
        }))
    }
}

impl PartialEq for SpecJson {
    fn eq(&self, other: &SpecJson) -> bool {
        if self.ptr_eq(other) {
            return true;
        }
        match (self.text(), other.text()) {
            // canonical texts are equal exactly when the values are
            (Some(a), Some(b)) => a == b,
            _ => self.value() == other.value(),
        }
    }
}

impl PartialEq<Value> for SpecJson {
    fn eq(&self, other: &Value) -> bool {
        **self.value() == *other
    }
}

impl fmt::Debug for SpecJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.value.get(), self.text()) {
            (Some(v), _) => fmt::Debug::fmt(v, f),
            (None, Some(t)) => f.write_str(t),
            (None, None) => f.write_str("null"),
        }
    }
}

impl Serialize for SpecJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.0.value.get(), self.text()) {
            // read for the writing and dropped after, not kept: the text
            // as it is would not follow the writer's format (indentation)
            (None, Some(text)) => serde_json::from_str::<Value>(text)
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
            _ => self.value().serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for SpecJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SpecJson, D::Error> {
        Value::deserialize(d).map(SpecJson::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> (Value, SpecJson) {
        let v = json!({"environment": {"A": "1"}, "image": "x", "ports": [{"target": 80}], "privileged": true});
        let written = crate::resource::canonical::write(&v, &[]);
        (v, SpecJson::from(written))
    }

    #[test]
    fn a_spec_written_as_text_reads_as_the_value_it_was_written_from() {
        let (v, s) = spec();
        assert_eq!(**s.value(), v);
        assert_eq!(s, SpecJson::from(v.clone()));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            serde_json::to_string(&v).unwrap()
        );
    }

    #[test]
    fn top_level_reads_only_the_keys_asked_for() {
        let (_, s) = spec();
        let part = s.top_level(&["privileged", "ports", "missing"]);
        assert_eq!(
            *part,
            json!({"ports": [{"target": 80}], "privileged": true})
        );
        // an empty object has no entries to index
        let empty = SpecJson::from(crate::resource::canonical::write(&json!({}), &[]));
        assert_eq!(*empty.top_level(&["image"]), json!({}));
        // once read as a value, the whole value answers
        let _ = s.value();
        assert_eq!(*s.top_level(&["image"]), **s.value());
    }

    #[test]
    fn a_saved_spec_reads_back_as_a_value() {
        let (v, s) = spec();
        let text = serde_json::to_string(&s).unwrap();
        let back: SpecJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        assert_eq!(*back.value(), std::sync::Arc::new(v));
    }
}
