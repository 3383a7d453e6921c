//! Resource addresses: `network.<key>`, `volume.<key>`, `image.<service>`,
//! `container.<service>[<n>]` (n from 1), as DESIGN.md names them; on the
//! Swarm backend also `config.<key>`, `secret.<key>` and `service.<service>`.
//!
//! Separate because every layer keys by them (desired resources, state,
//! plans, engine labels) and they are parsed back from text (`berth state`
//! commands, the address label).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What kind of engine object a resource is. The order is the order of creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Network = 0,
    Volume = 1,
    Image = 2,
    /// A Swarm config object (the Swarm backend).
    Config = 3,
    /// A Swarm secret object (the Swarm backend).
    Secret = 4,
    Container = 5,
    /// A Swarm service: all of a service's replicas (the Swarm backend).
    Service = 6,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Volume => "volume",
            Kind::Image => "image",
            Kind::Container => "container",
            Kind::Config => "config",
            Kind::Secret => "secret",
            Kind::Service => "service",
        }
    }
}

/// The stable name of one resource in plans and state.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: Kind,
    /// The network, volume or service key.
    pub name: String,
    /// Container replica number, from 1.
    pub index: Option<u32>,
}

impl Address {
    pub fn network(key: &str) -> Self {
        Address {
            kind: Kind::Network,
            name: key.to_string(),
            index: None,
        }
    }

    pub fn volume(key: &str) -> Self {
        Address {
            kind: Kind::Volume,
            name: key.to_string(),
            index: None,
        }
    }

    pub fn image(service: &str) -> Self {
        Address {
            kind: Kind::Image,
            name: service.to_string(),
            index: None,
        }
    }

    pub fn container(service: &str, n: u32) -> Self {
        Address {
            kind: Kind::Container,
            name: service.to_string(),
            index: Some(n),
        }
    }

    /// A Swarm object: `config.<key>`, `secret.<key>`, `service.<service>`.
    pub fn swarm(kind: Kind, key: &str) -> Self {
        Address {
            kind,
            name: key.to_string(),
            index: None,
        }
    }

    /// The service a container, image or Swarm service belongs to.
    pub fn service(&self) -> Option<&str> {
        matches!(self.kind, Kind::Container | Kind::Image | Kind::Service)
            .then_some(self.name.as_str())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.as_str(), self.name)?;
        if let Some(n) = self.index {
            write!(f, "[{n}]")?;
        }
        Ok(())
    }
}

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a resource address; write network.NAME, volume.NAME, image.SERVICE or container.SERVICE[N] (on Swarm: service.SERVICE, config.NAME, secret.NAME)"
)]
pub struct BadAddress(pub String);

impl FromStr for Address {
    type Err = BadAddress;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadAddress(s.to_string());
        let (kind, rest) = s.split_once('.').ok_or_else(bad)?;
        let kind = match kind {
            "network" => Kind::Network,
            "volume" => Kind::Volume,
            "image" => Kind::Image,
            "container" => Kind::Container,
            "config" => Kind::Config,
            "secret" => Kind::Secret,
            "service" => Kind::Service,
            _ => return Err(bad()),
        };
        let (name, index) = match (kind, rest.strip_suffix(']')) {
            (Kind::Container, Some(body)) => {
                let (name, n) = body.rsplit_once('[').ok_or_else(bad)?;
                let n: u32 = n.parse().map_err(|_| bad())?;
                if n == 0 {
                    return Err(bad());
                }
                (name, Some(n))
            }
            (Kind::Container, None) => return Err(bad()),
            (_, Some(_)) => return Err(bad()),
            (_, None) => (rest, None),
        };
        if name.is_empty() {
            return Err(bad());
        }
        Ok(Address {
            kind,
            name: name.to_string(),
            index,
        })
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_text() {
        for text in [
            "network.front",
            "volume.data",
            "image.web",
            "container.web[1]",
            "container.my-app[12]",
            "service.web",
            "secret.db_password",
            "config.nginx",
        ] {
            let a: Address = text.parse().unwrap();
            assert_eq!(a.to_string(), text);
        }
    }

    #[test]
    fn bad_addresses_are_refused() {
        for text in [
            "web",
            "container.web",
            "container.web[0]",
            "network.front[1]",
            "service.web[1]",
            "pod.x",
            "volume.",
        ] {
            assert!(text.parse::<Address>().is_err(), "{text}");
        }
    }

    #[test]
    fn addresses_sort_networks_first_then_replicas_by_number() {
        let mut v: Vec<Address> = [
            "container.web[10]",
            "container.web[2]",
            "service.web",
            "secret.s",
            "network.a",
            "image.web",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        v.sort();
        let text: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "network.a",
                "image.web",
                "secret.s",
                "container.web[2]",
                "container.web[10]",
                "service.web"
            ]
        );
    }
}
