//! The networks a container joins, in attach order, with the endpoint compose
//! gives each (aliases, fixed addresses, legacy links).
//!
//! Separate because the endpoints are used twice: the create request carries
//! the first, and create connects the rest one by one.

use bollard::models::{EndpointIpamConfig, EndpointSettings};

use super::names::Names;
use crate::compose::model;
use crate::resource::spec::ContainerSpec;

/// A network the container joins: its engine name and endpoint settings.
pub type Attachment = (String, EndpointSettings);

/// Legacy links as compose sets them (`getLinks`): for every container of a
/// linked service, `NAME:ALIAS`, `NAME:SERVICE-N` and `NAME:PROJECT-SERVICE-N`
/// (N this container's number); external links as written.
pub(super) fn links(spec: &ContainerSpec, names: &dyn Names) -> Vec<String> {
    let s = &spec.service;
    let mut out = Vec::new();
    let project = names.project();
    for link in &s.links {
        let (linked, alias) = link.split_once(':').unwrap_or((link, link));
        for c in names.containers(linked) {
            out.push(format!("{c}:{alias}"));
            out.push(format!("{c}:{linked}-{}", spec.number));
            out.push(format!("{c}:{project}-{linked}-{}", spec.number));
        }
    }
    for link in &s.external_links {
        let (name, alias) = link.split_once(':').unwrap_or((link, link));
        out.push(format!("{name}:{alias}"));
    }
    out
}

/// The networks in attach order (highest `priority` first, then by key), each
/// with compose's aliases: the container name, the service name, the
/// network's `aliases`.
pub(super) fn attachments(
    spec: &ContainerSpec,
    service: &str,
    names: &dyn Names,
    links: &[String],
) -> Vec<Attachment> {
    let mut keyed: Vec<(i64, &String, Option<&model::ServiceNetwork>)> = spec
        .service
        .networks
        .iter()
        .map(|(k, v)| {
            let v = v.as_deref();
            (v.and_then(|n| n.priority).unwrap_or(0), k, v)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    keyed
        .into_iter()
        .map(|(_, key, v)| {
            let mut aliases = vec![spec.name.clone(), service.to_string()];
            for a in v.map(|n| n.aliases.as_slice()).unwrap_or_default() {
                if !aliases.contains(a) {
                    aliases.push(a.clone());
                }
            }
            let ipv4 = v.and_then(|n| n.ipv4_address.clone());
            let ipv6 = v.and_then(|n| n.ipv6_address.clone());
            let ipam_config = (ipv4.is_some() || ipv6.is_some()).then(|| EndpointIpamConfig {
                ipv4_address: ipv4,
                ipv6_address: ipv6,
                ..Default::default()
            });
            let endpoint = EndpointSettings {
                aliases: Some(aliases),
                ipam_config,
                links: (!links.is_empty()).then(|| links.to_vec()),
                ..Default::default()
            };
            (names.network(key), endpoint)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::resource::expected::{expected, spec_of};

    #[test]
    fn networks_in_priority_order_with_compose_aliases() {
        let (project, spec) = spec_of(
            "services:\n  app:\n    image: demo\n    networks:\n      back: {}\n      front:\n        priority: 10\n        aliases: [www]\nnetworks:\n  back: {}\n  front:\n    name: edge\n",
            "container.app[1]",
        );
        let e = expected(&spec, "app", &project, &BTreeMap::new(), &[]);
        let order: Vec<&str> = e.networks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(order, ["edge", "demo_back"]);
        assert_eq!(
            e.networks[0].1.aliases.as_deref().unwrap(),
            ["demo-app-1", "app", "www"]
        );
        assert_eq!(
            e.body.host_config.as_ref().unwrap().network_mode.as_deref(),
            Some("edge")
        );
    }
}
