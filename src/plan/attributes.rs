//! Attribute-level differences between two specs: `ports[0].published: "5000" -> "8080"`.
//!
//! Separate from the diff because it knows nothing of resources or actions:
//! it walks two JSON values, and the diff turns what it finds into reasons.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct AttributeChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// Every leaf that differs between `old` and `new`, in a stable order.
/// Lists of scalars (a command) are compared whole, so the reason shows the
/// whole old and new value; lists of objects (ports, volumes) item by item.
pub fn changed_attributes(old: &Value, new: &Value, skip: &[&str]) -> Vec<AttributeChange> {
    let mut out = Vec::new();
    walk("", Some(old), Some(new), skip, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn scalar_list(a: &[Value]) -> bool {
    a.iter().all(|x| !x.is_object() && !x.is_array())
}

fn walk(
    path: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    skip: &[&str],
    out: &mut Vec<AttributeChange>,
) {
    if skip.contains(&path) {
        return;
    }
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(&join(path, k), a.get(k), b.get(k), skip, out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if !(scalar_list(a) && scalar_list(b)) => {
            for i in 0..a.len().max(b.len()) {
                walk(&format!("{path}[{i}]"), a.get(i), b.get(i), skip, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(AttributeChange {
            path: path.to_string(),
            old: a.cloned(),
            new: b.cloned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(old: Value, new: Value) -> Vec<String> {
        changed_attributes(&old, &new, &["uses"])
            .into_iter()
            .map(|c| format!("{}: {} -> {}", c.path, show(&c.old), show(&c.new)))
            .collect()
    }

    fn show(v: &Option<Value>) -> String {
        v.as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "(none)".into())
    }

    #[test]
    fn a_port_change_names_the_attribute() {
        let old = json!({"ports": [{"published": "5000", "target": 5000}], "uses": {"a": 1}});
        let new = json!({"ports": [{"published": "8080", "target": 5000}], "uses": {"a": 2}});
        assert_eq!(paths(old, new), [r#"ports[0].published: "5000" -> "8080""#]);
    }

    #[test]
    fn scalar_lists_are_compared_whole() {
        let old = json!({"command": ["sleep", "1"]});
        let new = json!({"command": ["sleep", "2"]});
        assert_eq!(
            paths(old, new),
            [r#"command: ["sleep","1"] -> ["sleep","2"]"#]
        );
    }

    #[test]
    fn added_and_removed_keys() {
        let old = json!({"environment": {"A": "1"}});
        let new = json!({"environment": {"B": "2"}});
        assert_eq!(
            paths(old, new),
            [
                r#"environment.A: "1" -> (none)"#,
                r#"environment.B: (none) -> "2""#
            ]
        );
    }
}
