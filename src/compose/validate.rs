//! Checks across the whole project, after decoding: references to services,
//! networks, volumes, configs and secrets exist; `depends_on` has no cycle;
//! `container_name` is not shared by replicas; every service can get an image.

use std::collections::{BTreeMap, BTreeSet};

use super::diagnostic::{Diagnostic, Sink, suggest};
use super::model::{MountType, Project};
use super::node::Node;
use super::source::Span;

/// Where a key path stands in the merged tree (the closest existing ancestor otherwise).
pub(crate) fn span_of(root: &Node, path: &[&str]) -> Span {
    let mut node = root;
    let mut best = root.span;
    for key in path {
        let next = node
            .as_map()
            .and_then(|m| m.iter().find(|e| e.key.name == *key));
        match next {
            Some(e) => {
                best = e.key.span;
                node = &e.value;
            }
            None => {
                // a list item: match it by its text (`depends_on: [db]`)
                if let Some(item) = node
                    .as_seq()
                    .and_then(|s| s.iter().find(|n| n.scalar_text().as_deref() == Some(key)))
                {
                    best = item.span;
                }
                break;
            }
        }
    }
    best
}

/// Where `services.<svc>.<attr>` names `name`: the list item (`attr[i]`) or the
/// mapping key (`attr.name`), with its span; for configs and secrets also a
/// long-syntax item whose `source` is `name`.
fn entry(root: &Node, svc: &str, attr: &str, name: &str) -> (Span, String) {
    let base = format!("services.{svc}.{attr}");
    let Some(node) = root
        .get("services")
        .and_then(|s| s.get(svc))
        .and_then(|s| s.get(attr))
    else {
        return (span_of(root, &["services", svc]), base);
    };
    if let Some(items) = node.as_seq() {
        for (i, item) in items.iter().enumerate() {
            if item.scalar_text().as_deref() == Some(name) {
                return (item.span, format!("{base}[{i}]"));
            }
            if let Some(src) = item
                .get("source")
                .filter(|s| s.scalar_text().as_deref() == Some(name))
            {
                return (src.span, format!("{base}[{i}].source"));
            }
        }
    }
    if let Some(e) = node
        .as_map()
        .and_then(|m| m.iter().find(|e| e.key.name == name))
    {
        return (e.key.span, format!("{base}.{name}"));
    }
    (span_of(root, &["services", svc, attr]), base)
}

fn undefined(
    sink: &mut Sink,
    span: Span,
    path: String,
    what: &str,
    name: &str,
    declared: &BTreeSet<String>,
    section: &str,
) {
    let mut d = Diagnostic::at(span, path, format!("refers to undefined {what} `{name}`"));
    d = match suggest(name, declared.iter().map(String::as_str)) {
        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
        None => d.with_hint(format!("declare it under the top-level `{section}:` key")),
    };
    sink.push(d);
}

/// Check the project's cross references and the rules the engine would
/// enforce; for Swarm (`backend`) `container_name`, which Swarm ignores
/// (with a warning: see `support::swarm`), is not checked.
pub fn project(p: &Project, root: &Node, sink: &mut Sink, backend: super::BackendKind) {
    // a service that already has errors (a misspelt `image`, say) gets no follow-on ones
    let broken: BTreeSet<String> = sink
        .items
        .iter()
        .filter_map(|d| d.path.strip_prefix("services."))
        .map(|rest| {
            rest.split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let services: BTreeSet<String> = p.services.keys().cloned().collect();
    let networks: BTreeSet<String> = p.networks.keys().cloned().collect();
    let volumes: BTreeSet<String> = p.volumes.keys().cloned().collect();
    let configs: BTreeSet<String> = p.configs.keys().cloned().collect();
    let secrets: BTreeSet<String> = p.secrets.keys().cloned().collect();
    let mut container_names: BTreeMap<&str, &str> = BTreeMap::new();

    for (name, s) in &p.services {
        let at = |keys: &[&str]| {
            let mut path = vec!["services", name.as_str()];
            path.extend_from_slice(keys);
            span_of(root, &path)
        };
        let svc_path = format!("services.{name}");

        if s.image.is_none() && s.build.is_none() && !broken.contains(name) {
            sink.push(
                Diagnostic::at(
                    at(&[]),
                    &svc_path,
                    "has neither an image nor a build context",
                )
                .with_hint("add `image: NAME` or `build: ./dir`"),
            );
        }
        for (dep, d) in &s.depends_on {
            if !services.contains(dep) && d.required {
                let disabled = p.disabled_services.contains(dep);
                let (span, path) = entry(root, name, "depends_on", dep);
                let mut diag = Diagnostic::at(
                    span,
                    path,
                    if disabled {
                        format!("depends on service `{dep}`, which is disabled by its profiles")
                    } else {
                        format!("depends on undefined service `{dep}`")
                    },
                );
                diag = if disabled {
                    diag.with_hint("activate its profile with --profile, or mark the dependency `required: false`")
                } else {
                    match suggest(dep, services.iter().map(String::as_str)) {
                        Some(m) => diag.with_hint(format!("did you mean `{m}`?")),
                        None => diag.with_hint("define the service, or remove it from depends_on"),
                    }
                };
                sink.push(diag);
            }
        }
        for net in s.networks.keys() {
            if !networks.contains(net) {
                {
                    let (span, path) = entry(root, name, "networks", net);
                    undefined(sink, span, path, "network", net, &networks, "networks");
                }
            }
        }
        if let Some(mode) = &s.network_mode {
            if let Some(other) = mode.strip_prefix("service:")
                && !services.contains(other)
            {
                undefined(
                    sink,
                    at(&["network_mode"]),
                    format!("{svc_path}.network_mode"),
                    "service",
                    other,
                    &services,
                    "services",
                );
            }
            if !s.networks.is_empty() {
                sink.push(
                    Diagnostic::at(
                        at(&["network_mode"]),
                        format!("{svc_path}.network_mode"),
                        "`network_mode` and `networks` cannot be used together",
                    )
                    .with_hint("remove one of them"),
                );
            }
        }
        for (i, m) in s.volumes.iter().enumerate() {
            if m.kind == MountType::Volume
                && let Some(src) = &m.source
                && !volumes.contains(src)
            {
                let span = at(&["volumes"]);
                let item = root
                    .get("services")
                    .and_then(|x| x.get(name))
                    .and_then(|x| x.get("volumes"))
                    .and_then(|v| v.as_seq())
                    .and_then(|items| items.get(i))
                    .map(|n| n.span)
                    .unwrap_or(span);
                let mut d = Diagnostic::at(
                    item,
                    format!("{svc_path}.volumes[{i}]"),
                    format!("refers to undefined volume `{src}`"),
                );
                d = match suggest(src, volumes.iter().map(String::as_str)) {
                    Some(m) => d.with_hint(format!("did you mean `{m}`?")),
                    None => d.with_hint(format!("declare `{src}` under the top-level `volumes:` key, or write a path (`./{src}`) for a bind mount")),
                };
                sink.push(d);
            }
        }
        for c in &s.configs {
            if !configs.contains(&c.source) {
                {
                    let (span, path) = entry(root, name, "configs", &c.source);
                    undefined(sink, span, path, "config", &c.source, &configs, "configs");
                }
            }
        }
        for c in &s.secrets {
            if !secrets.contains(&c.source) {
                {
                    let (span, path) = entry(root, name, "secrets", &c.source);
                    undefined(sink, span, path, "secret", &c.source, &secrets, "secrets");
                }
            }
        }
        if let Some(cn) = s
            .container_name
            .as_ref()
            .filter(|_| backend == super::BackendKind::Docker)
        {
            if s.replicas() > 1 {
                sink.push(
                    Diagnostic::at(at(&["container_name"]), format!("{svc_path}.container_name"),
                        format!("`container_name` is set but the service asks for {} replicas", s.replicas()))
                        .with_hint("a container name is unique on the engine: remove container_name or use one replica"),
                );
            }
            if let Some(other) = container_names.insert(cn, name) {
                sink.push(
                    Diagnostic::at(
                        at(&["container_name"]),
                        format!("{svc_path}.container_name"),
                        format!("container name `{cn}` is also used by service `{other}`"),
                    )
                    .with_hint("give each service its own container_name"),
                );
            }
        }
    }
    if let Some(cycle) = dependency_cycle(p) {
        let first = &cycle[0];
        let second = &cycle[1];
        sink.push(
            Diagnostic::at(
                span_of(root, &["services", first, "depends_on", second]),
                format!("services.{first}.depends_on"),
                format!("dependency cycle: {}", cycle.join(" -> ")),
            )
            .with_hint("remove one of these depends_on entries to break the cycle"),
        );
    }
}

/// The first `depends_on` cycle found, as a path that starts and ends at the same service.
pub fn dependency_cycle(p: &Project) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Unvisited,
        Active,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = p
        .services
        .keys()
        .map(|k| (k.as_str(), Mark::Unvisited))
        .collect();
    fn visit<'a>(
        p: &'a Project,
        name: &'a str,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        marks.insert(name, Mark::Active);
        stack.push(name);
        for dep in p.services[name].depends_on.keys() {
            match marks.get(dep.as_str()) {
                Some(Mark::Active) => {
                    let start = stack.iter().position(|s| *s == dep).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        stack[start..].iter().map(|s| s.to_string()).collect();
                    cycle.push(dep.clone());
                    return Some(cycle);
                }
                Some(Mark::Unvisited) => {
                    if let Some(c) = visit(p, dep, marks, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        marks.insert(name, Mark::Done);
        None
    }
    let names: Vec<&str> = p.services.keys().map(String::as_str).collect();
    for name in names {
        if marks[name] == Mark::Unvisited
            && let Some(c) = visit(p, name, &mut marks, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}
