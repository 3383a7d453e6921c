//! Merging compose files (`-f a -f b`, `extends`, `include`) by the Compose
//! Specification's override rules: mappings merge, sequences append, `command`,
//! `entrypoint` and `healthcheck.test` are replaced, map-like lists (environment,
//! labels, ...) merge by key, ports/volumes/secrets/configs are unique by target,
//! and `!reset` / `!override` drop or replace what earlier files said.

use super::node::{Entry, MergeTag, Node, Value};

/// How a path is merged; `*` in a pattern matches any one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Replace,
    /// Lists of `KEY=VALUE` or mappings: merged by key, later wins.
    ByKey(char),
    /// `networks`, `depends_on`: a list is a mapping with empty values.
    ListAsMap,
    /// Sequence items unique by a key (target path, port text).
    Unique(UniqueKey),
    /// A string is a one-item list.
    Sequence,
    Build,
    Logging,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UniqueKey {
    VolumeTarget,
    Port,
    Whole,
    SecretTarget,
    ConfigTarget,
}

const RULES: &[(&str, Rule)] = &[
    ("services.*.command", Rule::Replace),
    ("services.*.entrypoint", Rule::Replace),
    ("services.*.healthcheck.test", Rule::Replace),
    ("services.*.ulimits.*", Rule::Replace),
    ("services.*.environment", Rule::ByKey('=')),
    ("services.*.labels", Rule::ByKey('=')),
    ("services.*.annotations", Rule::ByKey('=')),
    ("services.*.sysctls", Rule::ByKey('=')),
    ("services.*.extra_hosts", Rule::ByKey('=')),
    ("services.*.build.args", Rule::ByKey('=')),
    ("services.*.build.labels", Rule::ByKey('=')),
    ("services.*.deploy.labels", Rule::ByKey('=')),
    ("networks.*.labels", Rule::ByKey('=')),
    ("volumes.*.labels", Rule::ByKey('=')),
    ("services.*.networks", Rule::ListAsMap),
    ("services.*.depends_on", Rule::ListAsMap),
    ("services.*.volumes", Rule::Unique(UniqueKey::VolumeTarget)),
    ("services.*.ports", Rule::Unique(UniqueKey::Port)),
    ("services.*.expose", Rule::Unique(UniqueKey::Whole)),
    ("services.*.secrets", Rule::Unique(UniqueKey::SecretTarget)),
    ("services.*.configs", Rule::Unique(UniqueKey::ConfigTarget)),
    ("services.*.dns", Rule::Sequence),
    ("services.*.dns_search", Rule::Sequence),
    ("services.*.dns_opt", Rule::Sequence),
    ("services.*.env_file", Rule::Sequence),
    ("services.*.label_file", Rule::Sequence),
    ("services.*.tmpfs", Rule::Sequence),
    ("services.*.build", Rule::Build),
    ("services.*.logging", Rule::Logging),
];

fn rule_for(path: &[&str]) -> Option<Rule> {
    RULES.iter().find_map(|(pattern, rule)| {
        let parts: Vec<&str> = pattern.split('.').collect();
        (parts.len() == path.len() && parts.iter().zip(path).all(|(p, k)| *p == "*" || p == k))
            .then_some(*rule)
    })
}

/// Merge `over` into `base` at `path` (the key path from the top of the file).
pub fn merge(base: Node, over: Node, path: &[&str]) -> Option<Node> {
    match over.tag {
        Some(MergeTag::Reset) => return None,
        Some(MergeTag::Override) => {
            let mut over = over;
            over.tag = None;
            return Some(over);
        }
        None => {}
    }
    if over.is_null() && !matches!(base.value, Value::Null) {
        return Some(base);
    }
    let merged = match rule_for(path) {
        Some(Rule::Replace) => over,
        Some(Rule::ByKey(sep)) => merge_maps(to_map(base, sep), to_map(over, sep), path),
        Some(Rule::ListAsMap) => merge_maps(list_to_map(base), list_to_map(over), path),
        // the earlier files' ports are already in long syntax in Compose when the next is merged
        Some(Rule::Unique(UniqueKey::Port)) => {
            unique(append(canonical_ports(base), over), UniqueKey::Port)
        }
        Some(Rule::Unique(key)) => unique(append(base, over), key),
        Some(Rule::Sequence) => append(to_seq(base), to_seq(over)),
        Some(Rule::Build) => merge_maps(build_map(base), build_map(over), path),
        Some(Rule::Logging) => {
            let driver = |n: &Node| n.get("driver").and_then(Node::scalar_text);
            match (driver(&base), driver(&over)) {
                (Some(a), Some(b)) if a != b => over,
                _ => merge_maps(base, over, path),
            }
        }
        None => match (&base.value, &over.value) {
            (Value::Map(_), Value::Map(_)) => merge_maps(base, over, path),
            (Value::Seq(_), Value::Seq(_)) => append(base, over),
            _ => over,
        },
    };
    Some(merged)
}

fn merge_maps(base: Node, over: Node, path: &[&str]) -> Node {
    let span = base.span;
    let (Value::Map(mut entries), Value::Map(more)) = (base.value, over.value.clone()) else {
        return over;
    };
    for e in more {
        let name = e.key.name.clone();
        match entries.iter().position(|x| x.key.name == name) {
            // `x-` extensions too: Compose merges them like any mapping
            Some(i) => {
                let old = entries.remove(i);
                let mut child_path = path.to_vec();
                child_path.push(&name);
                if let Some(v) = merge(old.value, e.value, &child_path) {
                    entries.insert(
                        i,
                        Entry {
                            key: e.key,
                            value: v,
                        },
                    );
                }
            }
            None => {
                if e.value.tag != Some(MergeTag::Reset) {
                    let mut e = e;
                    e.value.tag = None;
                    entries.push(e);
                }
            }
        }
    }
    Node::new(Value::Map(entries), span)
}

fn canonical_ports(n: Node) -> Node {
    match n.value {
        Value::Seq(items) => Node::new(
            Value::Seq(super::decode::canonical_port_nodes(items)),
            n.span,
        ),
        _ => n,
    }
}

fn append(base: Node, over: Node) -> Node {
    let span = base.span;
    match (base.value, over.value) {
        (Value::Seq(mut a), Value::Seq(b)) => {
            a.extend(b);
            Node::new(Value::Seq(a), span)
        }
        (_, other) => Node::new(other, over.span),
    }
}

fn to_seq(n: Node) -> Node {
    match n.value {
        Value::Seq(_) => n,
        Value::Null => Node::new(Value::Seq(vec![]), n.span),
        _ => {
            let span = n.span;
            Node::new(Value::Seq(vec![n]), span)
        }
    }
}

/// A sequence of scalars as a mapping, each item split into key and value by `entry`;
/// mappings (and anything else) stay as they are.
fn seq_to_map(n: Node, entry: impl Fn(String, super::source::Span) -> Entry) -> Node {
    let span = n.span;
    match n.value {
        Value::Seq(items) => {
            let entries = items
                .into_iter()
                .filter_map(|item| Some(entry(item.scalar_text()?, item.span)))
                .collect();
            Node::new(Value::Map(entries), span)
        }
        _ => n,
    }
}

/// `["A=1", "B"]` as `{A: "1", B: null}`.
pub fn to_map(n: Node, sep: char) -> Node {
    seq_to_map(n, |text, span| match text.split_once(sep) {
        Some((k, v)) => Entry::new(k, span, Node::str(v, span)),
        None => Entry::new(text, span, Node::new(Value::Null, span)),
    })
}

/// `[front, back]` as `{front: null, back: null}`.
fn list_to_map(n: Node) -> Node {
    seq_to_map(n, |name, span| {
        Entry::new(name, span, Node::new(Value::Null, span))
    })
}

fn build_map(n: Node) -> Node {
    match &n.value {
        Value::Str(_) => {
            let span = n.span;
            Node::new(Value::Map(vec![Entry::new("context", span, n)]), span)
        }
        _ => n,
    }
}

fn unique_key(item: &Node, key: UniqueKey) -> String {
    let field = |name: &str| item.get(name).and_then(Node::scalar_text);
    match key {
        UniqueKey::Whole => match item.scalar_text() {
            Some(t) => t,
            None => format!("{:?}", strip_spans(item)),
        },
        UniqueKey::Port => super::decode::written_port_key(item)
            .unwrap_or_else(|| format!("{:?}", strip_spans(item))),
        // Compose compares short syntax targets cleaned, long syntax ones as written
        UniqueKey::VolumeTarget => match item.scalar_text() {
            Some(t) => super::decode::short_volume_target(&t),
            None => field("target").unwrap_or_default(),
        },
        UniqueKey::SecretTarget | UniqueKey::ConfigTarget => {
            let base = if key == UniqueKey::SecretTarget {
                "/run/secrets/"
            } else {
                "/"
            };
            match item.scalar_text() {
                Some(t) => format!("{base}{t}"),
                None => field("target")
                    .unwrap_or_else(|| format!("{base}{}", field("source").unwrap_or_default())),
            }
        }
    }
}

fn strip_spans(n: &Node) -> String {
    match &n.value {
        Value::Map(m) => {
            let mut parts: Vec<String> = m
                .iter()
                .map(|e| format!("{}={}", e.key.name, strip_spans(&e.value)))
                .collect();
            parts.sort();
            parts.join(",")
        }
        Value::Seq(s) => s.iter().map(strip_spans).collect::<Vec<_>>().join(","),
        _ => n.scalar_text().unwrap_or_default(),
    }
}

/// Keep the last item for each key, at the position of the first.
fn unique(n: Node, key: UniqueKey) -> Node {
    let span = n.span;
    let Value::Seq(items) = n.value else {
        return n;
    };
    let mut out: Vec<Node> = Vec::with_capacity(items.len());
    let mut keys: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let k = unique_key(&item, key);
        match keys.iter().position(|x| *x == k) {
            Some(i) => out[i] = item,
            None => {
                keys.push(k);
                out.push(item);
            }
        }
    }
    Node::new(Value::Seq(out), span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml;

    fn merged(a: &str, b: &str) -> Node {
        let a = yaml::parse(a, 0).unwrap().remove(0);
        let b = yaml::parse(b, 1).unwrap().remove(0);
        merge(a, b, &[]).unwrap()
    }

    fn texts(n: &Node) -> Vec<String> {
        n.as_seq()
            .unwrap()
            .iter()
            .filter_map(Node::scalar_text)
            .collect()
    }

    #[test]
    fn mappings_merge_and_scalars_override() {
        let m = merged(
            "services: {a: {image: x, user: u}}",
            "services: {a: {image: y}}",
        );
        let a = m.get("services").unwrap().get("a").unwrap();
        assert_eq!(a.get("image").unwrap().as_str(), Some("y"));
        assert_eq!(a.get("user").unwrap().as_str(), Some("u"));
    }

    #[test]
    fn command_is_replaced_not_appended() {
        let m = merged(
            "services: {a: {command: [a, b]}}",
            "services: {a: {command: [c]}}",
        );
        let cmd = m
            .get("services")
            .unwrap()
            .get("a")
            .unwrap()
            .get("command")
            .unwrap();
        assert_eq!(texts(cmd), vec!["c"]);
    }

    #[test]
    fn environment_merges_by_key_across_syntaxes() {
        let m = merged(
            "services: {a: {environment: [A=1, B=2]}}",
            "services: {a: {environment: {B: 3, C: 4}}}",
        );
        let env = m
            .get("services")
            .unwrap()
            .get("a")
            .unwrap()
            .get("environment")
            .unwrap();
        let keys: Vec<_> = env
            .as_map()
            .unwrap()
            .iter()
            .map(|e| e.key.name.clone())
            .collect();
        assert_eq!(keys, vec!["A", "B", "C"]);
        assert_eq!(env.get("B").unwrap().scalar_text().as_deref(), Some("3"));
    }

    #[test]
    fn ports_append_and_volumes_are_unique_by_target() {
        let m = merged(
            "services: {a: {ports: ['80:80'], volumes: ['./a:/data', 'v:/other']}}",
            "services: {a: {ports: ['81:81'], volumes: ['./b:/data:ro']}}",
        );
        let a = m.get("services").unwrap().get("a").unwrap();
        let ports = a.get("ports").unwrap().as_seq().unwrap();
        // the earlier file's ports are in long syntax, as Compose holds them by then
        let first = &ports[0];
        assert_eq!(first.get("published").unwrap().as_str(), Some("80"));
        assert_eq!(first.get("target").unwrap().value, Value::Int(80));
        assert_eq!(ports[1].as_str(), Some("81:81"));
        assert_eq!(
            texts(a.get("volumes").unwrap()),
            vec!["./b:/data:ro", "v:/other"]
        );
    }

    #[test]
    fn reset_removes_and_override_replaces() {
        let m = merged(
            "services: {a: {ports: ['80:80'], environment: {A: 1}}}",
            "services: {a: {ports: !reset [], environment: !override {B: 2}}}",
        );
        let a = m.get("services").unwrap().get("a").unwrap();
        assert!(a.get("ports").is_none());
        let env = a.get("environment").unwrap();
        assert!(env.get("A").is_none());
        assert!(env.get("B").is_some());
    }

    #[test]
    fn extensions_merge_like_any_mapping() {
        let m = merged("x-a: {p: 1, l: [1]}\n", "x-a: {q: 2, l: [2]}\n");
        let x = m.get("x-a").unwrap();
        assert_eq!(x.get("p").unwrap().value, Value::Int(1));
        assert_eq!(x.get("q").unwrap().value, Value::Int(2));
        assert_eq!(x.get("l").unwrap().as_seq().unwrap().len(), 2);
    }

    #[test]
    fn networks_list_and_map_merge() {
        let m = merged(
            "services: {a: {networks: [front]}}",
            "services: {a: {networks: {back: {aliases: [x]}}}}",
        );
        let nets = m
            .get("services")
            .unwrap()
            .get("a")
            .unwrap()
            .get("networks")
            .unwrap();
        let keys: Vec<_> = nets
            .as_map()
            .unwrap()
            .iter()
            .map(|e| e.key.name.clone())
            .collect();
        assert_eq!(keys, vec!["front", "back"]);
    }
}
