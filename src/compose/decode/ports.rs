//! `ports`: short syntax parsed to long syntax, ranges expanded, repeated
//! entries merged as Compose merges them; also the keys the file merge uses to
//! tell ports apart. Separate because Compose's port rules are a grammar of their own.

use std::collections::HashMap;

use super::ctx::{Ctx, KnownKeys, index, seq};
use crate::compose::model::*;
use crate::compose::node::{Entry, Node, Value};

pub(super) fn port_number(s: &str) -> Option<u32> {
    s.parse::<u32>()
        .ok()
        .filter(|p| (1..=65535).contains(p) || *p == 0)
}

pub(super) fn port_range(s: &str) -> Option<(u32, u32)> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port_number(a)?, port_number(b)?);
            (a <= b).then_some((a, b))
        }
        None => port_number(s).map(|p| (p, p)),
    }
}

/// Parse short port syntax: `[[HOST_IP:][PUBLISHED[-RANGE]]:]TARGET[-RANGE][/PROTOCOL]`.
pub fn parse_short_port(text: &str) -> Result<Vec<Port>, String> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, p)) => (s, p.to_string()),
        None => (text, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("unknown protocol `{protocol}`"));
    }
    let (host_ip, rest) = if let Some(after) = spec.strip_prefix('[') {
        let (ip, rest) = after
            .split_once(']')
            .ok_or_else(|| "unclosed `[` around an IPv6 address".to_string())?;
        let rest = rest.strip_prefix(':').ok_or("expected `:` after `]`")?;
        (Some(ip.to_string()), rest)
    } else {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() > 3 {
            return Err("too many `:`".into());
        }
        if parts.len() == 3 {
            (Some(parts[0].to_string()), &spec[parts[0].len() + 1..])
        } else {
            (None, spec)
        }
    };
    let (published, target) = match rest.rsplit_once(':') {
        Some((p, t)) => (Some(p), t),
        None => (None, rest),
    };
    let (t0, t1) =
        port_range(target).ok_or_else(|| format!("`{target}` is not a port or port range"))?;
    let published = published.filter(|p| !p.is_empty());
    let pub_range = match published {
        Some(p) => Some(port_range(p).ok_or_else(|| format!("`{p}` is not a port or port range"))?),
        None => None,
    };
    let host_ip = host_ip.filter(|h| !h.is_empty());
    let make = |target: u32, published: Option<String>| Port {
        mode: "ingress".into(),
        host_ip: host_ip.clone(),
        target,
        published,
        protocol: protocol.clone(),
        ..Default::default()
    };
    let n = t1 - t0;
    match pub_range {
        None => Ok((t0..=t1).map(|t| make(t, None)).collect()),
        Some((p0, p1)) if n == 0 => {
            let published = if p0 == p1 {
                p0.to_string()
            } else {
                format!("{p0}-{p1}")
            };
            Ok(vec![make(t0, Some(published))])
        }
        Some((p0, p1)) if p1 - p0 == n => Ok((0..=n)
            .map(|i| make(t0 + i, Some((p0 + i).to_string())))
            .collect()),
        Some(_) => Err("the published and target ranges have different lengths".into()),
    }
}

/// Ranges expand to one entry per port; more than this in one service is refused.
pub(super) const MAX_PORTS: usize = 65_535;

/// A service's ports in long syntax, ranges expanded. Like Compose, an entry equal
/// to an earlier one (see [`port_key`]) replaces it in its place, once as written
/// and once more after ranges are expanded.
pub(super) fn ports(ctx: &mut Ctx, n: &Node, path: &str) -> Vec<Port> {
    let Some(items) = seq(ctx, n, path) else {
        return vec![];
    };
    let written = unique_by(items.iter().enumerate(), |(i, item)| {
        written_port_key(item).unwrap_or_else(|| format!("#{i}"))
    });
    let mut out: Vec<(String, Port)> = Vec::new();
    for (i, item) in written {
        let p = index(path, i);
        match &item.value {
            Value::Map(entries) => {
                let mut port = Port {
                    mode: "ingress".into(),
                    protocol: "tcp".into(),
                    ..Default::default()
                };
                let mut has_target = false;
                const KEYS: &[&str] = &[
                    "target",
                    "published",
                    "host_ip",
                    "protocol",
                    "mode",
                    "name",
                    "app_protocol",
                ];
                fields!(ctx, entries, &p, KEYS, |k, v, kp| {
                    match k {
                        "target" => {
                            if let Some(t) = ctx.read::<u64>(v, &kp) {
                                if port_number(&t.to_string()).is_some() && t > 0 {
                                    port.target = t as u32;
                                    has_target = true;
                                } else {
                                    ctx.err_hint(
                                        v,
                                        &kp,
                                        format!("port {t} is out of range"),
                                        "ports are 1 to 65535",
                                    );
                                }
                            }
                        }
                        "published" => {
                            if let Some(pp) = ctx.read::<String>(v, &kp) {
                                if port_range(&pp).is_none() {
                                    ctx.err_hint(
                                        v,
                                        &kp,
                                        format!("`{pp}` is not a port or port range"),
                                        "ports are 1 to 65535; a range is written `8000-8010`",
                                    );
                                }
                                port.published = Some(pp);
                            }
                        }
                        "host_ip" => port.host_ip = ctx.read::<String>(v, &kp),
                        "protocol" => {
                            port.protocol =
                                ctx.read::<String>(v, &kp).unwrap_or_else(|| "tcp".into())
                        }
                        "mode" => {
                            port.mode = ctx
                                .read::<String>(v, &kp)
                                .unwrap_or_else(|| "ingress".into())
                        }
                        "name" => port.name = ctx.read::<String>(v, &kp),
                        "app_protocol" => port.app_protocol = ctx.read::<String>(v, &kp),
                        _ => {}
                    }
                });
                if !has_target && item.get("target").is_none() {
                    ctx.err_hint(
                        item,
                        &p,
                        "a port needs a `target`",
                        "add `target: <container port>`",
                    );
                }
                let key = written_port_key(item).unwrap_or_default();
                out.push((key, port));
            }
            Value::Str(_) | Value::Int(_) => {
                let text = item.scalar_text().unwrap_or_default();
                match parse_short_port(&text) {
                    Ok(ports) if out.len() + ports.len() > MAX_PORTS => {
                        ctx.err_hint(
                            item,
                            &p,
                            format!("ports expand to more than {MAX_PORTS} entries"),
                            "a container has 65535 ports per protocol; publish fewer or narrower ranges",
                        );
                        break;
                    }
                    Ok(ports) => out.extend(ports.into_iter().map(|port| {
                        let published = port.published.as_deref().unwrap_or(GO_NIL);
                        let key = port_key(
                            port.host_ip.as_deref(),
                            published,
                            &port.target.to_string(),
                            Some(&port.protocol),
                        );
                        (key, port)
                    })),
                    Err(why) => ctx.err_hint(
                        item,
                        &p,
                        format!("invalid port `{text}`: {why}"),
                        "write `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, e.g. `127.0.0.1:8080:80/tcp`",
                    ),
                }
            }
            _ => ctx.expected(item, &p, "a port string or a mapping"),
        }
    }
    unique_by(out, |(key, _)| key.clone())
        .into_iter()
        .map(|(_, port)| port)
        .collect()
}

/// Go's `%s` of a missing value, which Compose's port key holds for a port published nowhere.
pub(super) const GO_NIL: &str = "%!s(<nil>)";

/// The key Compose tells ports apart by, `HOST_IP:PUBLISHED:TARGET/PROTOCOL`
/// (host IP `0.0.0.0` and protocol `tcp` when not given): mode, name and
/// app_protocol are not part of it.
pub(super) fn port_key(
    host_ip: Option<&str>,
    published: &str,
    target: &str,
    protocol: Option<&str>,
) -> String {
    let host_ip = host_ip.unwrap_or("0.0.0.0");
    let protocol = protocol.unwrap_or("tcp");
    format!("{host_ip}:{published}:{target}/{protocol}")
}

/// The key of a port entry as written: short syntax by its text; long syntax by
/// [`port_key`] with its values formatted as Go formats them, so that a
/// `published: 8080` written as a number differs from `"8080"` (as in Compose).
pub fn written_port_key(item: &Node) -> Option<String> {
    match &item.value {
        Value::Str(_) | Value::Int(_) => item.scalar_text(),
        Value::Map(_) => {
            let field = |key: &str| item.get(key).filter(|v| !v.is_null());
            let published = match field("published").map(|v| &v.value) {
                None => GO_NIL.to_string(),
                Some(Value::Int(n)) => format!("%!s(int={n})"),
                Some(_) => field("published")?.scalar_text()?,
            };
            let target = match field("target").map(|v| &v.value) {
                Some(Value::Int(n)) => n.to_string(),
                Some(Value::Str(t)) => format!("%!d(string={t})"),
                _ => field("target")?.scalar_text()?,
            };
            let text = |key: &str| field(key).and_then(Node::scalar_text);
            Some(port_key(
                text("host_ip").as_deref(),
                &published,
                &target,
                text("protocol").as_deref(),
            ))
        }
        _ => None,
    }
}

/// Ports as Compose holds them once a file is loaded, for merging the next file
/// onto them: short syntax expanded to long syntax mappings (one per port of a
/// range), repeated entries dropped. Entries that do not parse stay as written.
pub fn canonical_port_nodes(items: Vec<Node>) -> Vec<Node> {
    let mut out: Vec<(String, Node)> = Vec::new();
    for item in items {
        let text = match &item.value {
            Value::Str(_) | Value::Int(_) => item.scalar_text(),
            _ => None,
        };
        let parsed = text.map(|t| parse_short_port(&t));
        // past the limit, entries stay as written and decoding reports the limit
        let Some(Ok(ports)) = parsed.filter(|_| out.len() <= MAX_PORTS) else {
            let key = written_port_key(&item).unwrap_or_else(|| format!("#{}", out.len()));
            out.push((key, item));
            continue;
        };
        for port in ports {
            let span = item.span;
            let mut entries = vec![Entry::new("mode", span, Node::str(&port.mode, span))];
            if let Some(ip) = &port.host_ip {
                entries.push(Entry::new("host_ip", span, Node::str(ip, span)));
            }
            let target = Node::new(Value::Int(i64::from(port.target)), span);
            entries.push(Entry::new("target", span, target));
            if let Some(published) = &port.published {
                entries.push(Entry::new("published", span, Node::str(published, span)));
            }
            entries.push(Entry::new(
                "protocol",
                span,
                Node::str(&port.protocol, span),
            ));
            let node = Node::new(Value::Map(entries), span);
            let key = written_port_key(&node).unwrap_or_default();
            out.push((key, node));
        }
    }
    unique_by(out, |(key, _)| key.clone())
        .into_iter()
        .map(|(_, node)| node)
        .collect()
}

/// One item per key, in order: a later item replaces an earlier one with the same
/// key in its place (Compose's rule for repeated ports and volumes).
pub(super) fn unique_by<T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> String,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    // ranges expand to thousands of ports: find keys by hashing, not scanning
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in items {
        match seen.entry(key(&item)) {
            std::collections::hash_map::Entry::Occupied(at) => out[*at.get()] = item,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push(item);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_keys_compare_what_compose_compares() {
        let key = |yaml: &str| {
            let n = crate::compose::yaml::parse(yaml, 0).unwrap().remove(0);
            written_port_key(&n).unwrap()
        };
        assert_eq!(key("'8080:80'"), "8080:80");
        let long = key("{target: 80, published: '8080', mode: host, name: web}");
        assert_eq!(long, "0.0.0.0:8080:80/tcp");
        assert_eq!(
            key("{target: 80, published: '8080', host_ip: 0.0.0.0}"),
            long
        );
        // Go formats a number where Compose expects text differently: never equal
        assert_ne!(key("{target: 80, published: 8080}"), long);
        assert_eq!(key("{target: 80}"), "0.0.0.0:%!s(<nil>):80/tcp");
    }

    fn port(s: &str) -> Vec<(Option<String>, u32, Option<String>, String)> {
        parse_short_port(s)
            .unwrap()
            .into_iter()
            .map(|p| (p.host_ip, p.target, p.published, p.protocol))
            .collect()
    }

    #[test]
    fn short_ports() {
        assert_eq!(port("80"), vec![(None, 80, None, "tcp".into())]);
        assert_eq!(
            port("8080:80"),
            vec![(None, 80, Some("8080".into()), "tcp".into())]
        );
        assert_eq!(
            port("127.0.0.1:8080:80/udp"),
            vec![(
                Some("127.0.0.1".into()),
                80,
                Some("8080".into()),
                "udp".into()
            )]
        );
        assert_eq!(
            port("[::1]:80:80"),
            vec![(Some("::1".into()), 80, Some("80".into()), "tcp".into())]
        );
        assert_eq!(
            port("127.0.0.1::80"),
            vec![(Some("127.0.0.1".into()), 80, None, "tcp".into())]
        );
        assert_eq!(port("3000-3001").len(), 2);
        assert_eq!(
            port("8000-8001:80-81"),
            vec![
                (None, 80, Some("8000".into()), "tcp".into()),
                (None, 81, Some("8001".into()), "tcp".into())
            ]
        );
        assert_eq!(
            port("9000-9010:80"),
            vec![(None, 80, Some("9000-9010".into()), "tcp".into())]
        );
    }

    #[test]
    fn bad_short_ports() {
        assert!(parse_short_port("80:abc").is_err());
        assert!(parse_short_port("70000").is_err());
        assert!(parse_short_port("80/icmp").is_err());
        assert!(parse_short_port("8000-8002:80-81").is_err());
        assert!(parse_short_port("a:b:c:d").is_err());
    }
}
