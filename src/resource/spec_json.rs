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

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::canonical::{Canonical, TopEntry};

#[derive(Clone)]
pub struct SpecJson(Arc<Inner>);

struct Inner {
    /// Canonical JSON text (keys sorted, compact), when the spec was written
    /// as text.
    text: Option<Box<str>>,
    /// Where the text's top-level entries lie (empty: not known).
    top: Box<[TopEntry]>,
    /// The text read as a value (or the value it was made from).
    value: OnceLock<Arc<Value>>,
}

impl SpecJson {
    /// A spec from its canonical text (see [`super::canonical`]).
    pub fn from_text(text: String) -> SpecJson {
        SpecJson::from(Canonical {
            text,
            top: Vec::new(),
        })
    }

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
        let Some(text) = self.text() else {
            return Cow::Borrowed(self.value());
        };
        if !self.0.top.is_empty() {
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
            return Cow::Owned(Value::Object(out));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        match (TopLevel { keys }).deserialize(&mut de) {
            Ok(v) => Cow::Owned(v),
            Err(_) => Cow::Borrowed(self.value()),
        }
    }
}

/// Reads an object's `keys` into a value and skips the rest.
struct TopLevel<'k> {
    keys: &'k [&'k str],
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if self.keys.contains(&key.as_ref()) {
                out.insert(key.into_owned(), map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
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
        let text = crate::resource::canonical::text(&v, &[]);
        (v, SpecJson::from_text(text))
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
        let (v, s) = spec();
        let part = s.top_level(&["privileged", "ports", "missing"]);
        assert_eq!(
            *part,
            json!({"ports": [{"target": 80}], "privileged": true})
        );
        // through the index of the top-level entries, the same
        let indexed = SpecJson::from(crate::resource::canonical::write(&v, &[]));
        assert_eq!(indexed.top_level(&["privileged", "ports", "missing"]), part);
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
