//! A service's place on the network: the networks it joins (aliases,
//! addresses) and `extra_hosts`.

use std::collections::BTreeMap;

use super::ctx::{Ctx, KnownKeys, index, join, to_json};
use crate::compose::model::*;
use crate::compose::node::{Node, Value};

pub(super) fn extra_hosts(ctx: &mut Ctx, n: &Node, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    match &n.value {
        Value::Map(entries) => {
            for e in entries {
                let p = join(path, &e.key.name);
                match &e.value.value {
                    Value::Seq(_) => {
                        for ip in ctx.strings(&e.value, &p, false) {
                            out.push(format!("{}={ip}", e.key.name));
                        }
                    }
                    _ => {
                        if let Some(ip) = ctx.read::<String>(&e.value, &p) {
                            out.push(format!("{}={ip}", e.key.name));
                        }
                    }
                }
            }
        }
        _ => {
            for (i, text) in ctx.strings(n, path, false).into_iter().enumerate() {
                let split = text.find('=').or_else(|| text.find(':'));
                match split {
                    Some(pos) => out.push(format!("{}={}", &text[..pos], &text[pos + 1..])),
                    None => {
                        let item = n.as_seq().map(|s| &s[i]).unwrap_or(n);
                        ctx.err_hint(
                            item,
                            &index(path, i),
                            format!("invalid extra host `{text}`"),
                            "write `HOSTNAME=IP` or `HOSTNAME:IP`",
                        );
                    }
                }
            }
        }
    }
    out.sort();
    out
}

pub(super) fn service_networks(
    ctx: &mut Ctx,
    n: &Node,
    path: &str,
) -> BTreeMap<String, Option<Box<ServiceNetwork>>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Seq(_) => {
            for name in ctx.strings(n, path, false) {
                out.insert(name, None);
            }
        }
        Value::Map(entries) => {
            for e in entries {
                let p = join(path, &e.key.name);
                let net = match &e.value.value {
                    Value::Null => None,
                    _ => ctx.map(&e.value, &p).map(|fields| {
                        let mut sn = ServiceNetwork::default();
                        const KEYS: &[&str] = &[
                            "aliases",
                            "ipv4_address",
                            "ipv6_address",
                            "priority",
                            "link_local_ips",
                            "mac_address",
                            "driver_opts",
                            "gw_priority",
                            "interface_name",
                        ];
                        fields!(ctx, fields, &p, KEYS, |k, v, kp| {
                            match k {
                                "aliases" => sn.aliases = ctx.strings(v, &kp, false),
                                "ipv4_address" => sn.ipv4_address = ctx.read::<String>(v, &kp),
                                "ipv6_address" => sn.ipv6_address = ctx.read::<String>(v, &kp),
                                "priority" => sn.priority = ctx.read::<i64>(v, &kp),
                                other => {
                                    sn.extra.insert(other.to_string(), to_json(v));
                                }
                            }
                        });
                        sn
                    }),
                };
                out.insert(e.key.name.clone(), net.map(Box::new));
            }
        }
        Value::Null => {}
        _ => ctx.expected(n, path, "a list of networks or a mapping"),
    }
    out
}
