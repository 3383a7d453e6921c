//! Typed specs: what berth applies for each kind of resource.
//!
//! Resolve builds them once; their serialisation is the canonical JSON that is
//! hashed, shown in plans and recorded in the state. Nothing downstream reads a
//! spec by string key: create, drift, in-place update and import take these
//! types (through [`super::expected`] for containers).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::address::Kind;
use crate::compose::model::{Network, Service, Volume};

/// A container: the service's attributes as `docker compose config` prints
/// them, less those that do not shape the container itself (build, profiles,
/// scale, depends_on, container_name, pull_policy, deploy.replicas), plus
/// berth's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerSpec {
    #[serde(flatten)]
    pub service: Service,
    /// The container's engine name.
    pub name: String,
    /// The image reference it runs (the image resource's engine name).
    pub image: String,
    /// The replica number, from 1.
    pub number: u32,
    /// Content hashes of the files it takes in (`config.<name>`, `secret.<name>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// The spec hashes of the image, networks and volumes it uses, by address.
    #[serde(default)]
    pub uses: BTreeMap<String, String>,
}

/// An image: built from a context, or used as found (pulled when allowed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSpec {
    pub reference: String,
    #[serde(default)]
    pub pull_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSpec>,
}

/// How a built image is built, with the content hash of its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildSpec {
    pub context: String,
    pub context_hash: String,
    #[serde(default)]
    pub dockerfile: Option<String>,
    /// The Dockerfile's text (inline, or read from the context).
    #[serde(default)]
    pub dockerfile_content: Option<String>,
    #[serde(default)]
    pub args: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The network build steps run on (`build.network`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// A network, as the project declares it.
pub type NetworkSpec = Network;
/// A volume, as the project declares it.
pub type VolumeSpec = Volume;

/// The typed spec of one resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Container(Arc<ContainerSpec>),
    Image(Arc<ImageSpec>),
    Network(Arc<NetworkSpec>),
    Volume(Arc<VolumeSpec>),
    /// A Swarm service (the Swarm backend).
    Service(Arc<super::swarm::ServiceSpec>),
    /// A Swarm config or secret (the Swarm backend).
    Object(Arc<super::swarm::FileObjectSpec>),
}

/// A recorded spec that does not read as its kind's typed spec.
#[derive(Debug, thiserror::Error)]
#[error("the recorded {kind} spec does not read as one: {detail}")]
pub struct SpecError {
    pub kind: &'static str,
    pub detail: String,
}

impl Spec {
    /// The canonical JSON of the spec.
    pub fn to_json(&self) -> Value {
        let v = match self {
            Spec::Container(s) => serde_json::to_value(&**s),
            Spec::Image(s) => serde_json::to_value(&**s),
            Spec::Network(s) => serde_json::to_value(&**s),
            Spec::Volume(s) => serde_json::to_value(&**s),
            Spec::Service(s) => serde_json::to_value(&**s),
            Spec::Object(s) => serde_json::to_value(&**s),
        };
        v.expect("typed specs serialise")
    }

    /// The canonical JSON text of the spec (see [`super::canonical`]): the
    /// text of [`Spec::to_json`], written without the value in between,
    /// with where its top-level entries lie.
    pub fn to_canonical(&self) -> super::canonical::Canonical {
        use super::canonical::write as text;
        match self {
            Spec::Container(s) => text(&**s, &[]),
            Spec::Image(s) => text(&**s, &[]),
            Spec::Network(s) => text(&**s, &[]),
            Spec::Volume(s) => text(&**s, &[]),
            Spec::Service(s) => text(&**s, &[]),
            Spec::Object(s) => text(&**s, &[]),
        }
    }

    /// Read a spec of `kind` back from its JSON (a state record, a saved plan).
    pub fn from_json(kind: Kind, v: &Value) -> Result<Spec, SpecError> {
        let error = |e: serde_json::Error| SpecError {
            kind: kind.as_str(),
            detail: e.to_string(),
        };
        Ok(match kind {
            Kind::Container => {
                Spec::Container(Arc::new(ContainerSpec::deserialize(v).map_err(error)?))
            }
            Kind::Image => Spec::Image(Arc::new(ImageSpec::deserialize(v).map_err(error)?)),
            Kind::Network => Spec::Network(Arc::new(NetworkSpec::deserialize(v).map_err(error)?)),
            Kind::Volume => Spec::Volume(Arc::new(VolumeSpec::deserialize(v).map_err(error)?)),
            Kind::Service => Spec::Service(Arc::new(
                super::swarm::ServiceSpec::deserialize(v).map_err(error)?,
            )),
            Kind::Config | Kind::Secret => Spec::Object(Arc::new(
                super::swarm::FileObjectSpec::deserialize(v).map_err(error)?,
            )),
        })
    }

    pub fn container(&self) -> Option<&ContainerSpec> {
        match self {
            Spec::Container(s) => Some(s),
            _ => None,
        }
    }

    pub fn image(&self) -> Option<&ImageSpec> {
        match self {
            Spec::Image(s) => Some(s),
            _ => None,
        }
    }

    pub fn network(&self) -> Option<&NetworkSpec> {
        match self {
            Spec::Network(s) => Some(s),
            _ => None,
        }
    }

    pub fn volume(&self) -> Option<&VolumeSpec> {
        match self {
            Spec::Volume(s) => Some(s),
            _ => None,
        }
    }

    pub fn service(&self) -> Option<&super::swarm::ServiceSpec> {
        match self {
            Spec::Service(s) => Some(s),
            _ => None,
        }
    }

    pub fn object(&self) -> Option<&super::swarm::FileObjectSpec> {
        match self {
            Spec::Object(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fixture project's specs read back from their JSON as typed specs
    /// that write the same JSON again (so hashes are those of the typed specs).
    #[test]
    fn specs_read_back_from_their_json() {
        let mut checked = 0;
        for (dir, _, desired) in crate::resource::desired::fixtures::resolved_fixtures() {
            for r in desired.resources.values() {
                let back = Spec::from_json(r.address.kind, r.spec.value())
                    .unwrap_or_else(|e| panic!("{}: {}: {e}", dir.display(), r.address));
                assert_eq!(
                    crate::resource::desired::canonical(back.to_json()),
                    **r.spec.value(),
                    "{}: {}",
                    dir.display(),
                    r.address
                );
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} specs checked");
    }
}
