//! The desired resources: what the loaded project asks the engine to hold.
//! This module owns the types ([`Resource`], [`Desired`]), the canonical spec
//! and its hash; how they are resolved from the project is split by concept:
//!
//! - `resolve`: the orchestration (options checked, services selected,
//!   networks and volumes, then every service's image and containers in
//!   parallel, in address order);
//! - `image`: a service's image resource, and the build-context hashes it
//!   carries (through the context-hash cache when one is given);
//! - `container`: a service's container resources and the hashes of the
//!   files they take in.

mod container;
#[cfg(test)]
pub(crate) mod fixtures;
mod image;
mod resolve;
mod swarm;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::Digest;

use super::address::Address;
use super::context::json_sha256;
use super::sensitive::SealKey;
use super::spec::Spec;
use super::spec_json::SpecJson;

pub use container::container_name;
pub use image::image_reference;
pub use resolve::{resolve, resolve_taking_services};
pub use swarm::resolve_swarm;

/// One resource berth manages (or, when `external`, only reads).
#[derive(Debug, Clone)]
pub struct Resource {
    pub address: Address,
    /// The name on the engine (`proj-web-1`, `proj_default`, `web:latest`).
    pub engine_name: String,
    /// Canonical spec: every attribute that matters to the engine, keys sorted
    /// (the JSON of `typed`), as text until a value is asked for.
    pub spec: SpecJson,
    /// The typed spec (what create, drift, update and import read), read from
    /// `spec` when first asked for: a plan of thousands of new containers
    /// never needs it, and holding it beside the JSON doubled their memory.
    typed: std::sync::OnceLock<Spec>,
    /// The spec as it is recorded (state, saved plans), its sensitive
    /// values sealed (see [`crate::resource::sensitive`]); `None` when it
    /// holds none, and `spec` is recorded as it is.
    pub sealed: Option<std::sync::Arc<Value>>,
    /// sha256 (hex) of the recorded spec's JSON text.
    pub spec_hash: String,
    /// Resources that must exist first.
    pub depends_on: Vec<Address>,
    /// Declared `external: true`: observed, never created or removed.
    pub external: bool,
    /// Containers whose replacement restarts this one (`depends_on: {x: {restart: true}}`).
    pub restart_with: Vec<Address>,
    /// Containers whose namespaces or volumes this one uses (`network_mode`,
    /// `ipc`, `pid`: `service:x`; `volumes_from: [x]`): replacing one of
    /// them replaces this one.
    pub shares_with: Vec<Address>,
}

impl PartialEq for Resource {
    fn eq(&self, other: &Self) -> bool {
        // the typed spec is the JSON read back: equal JSON, equal specs
        self.address == other.address
            && self.engine_name == other.engine_name
            && self.spec == other.spec
            && self.spec_hash == other.spec_hash
            && self.depends_on == other.depends_on
            && self.external == other.external
            && self.restart_with == other.restart_with
            && self.shares_with == other.shares_with
    }
}

impl Resource {
    /// A resource from a spec already read as its typed spec (a state record).
    pub fn with_typed(
        address: Address,
        engine_name: String,
        spec: Value,
        typed: Spec,
        spec_hash: String,
    ) -> Resource {
        Resource {
            address,
            engine_name,
            spec: SpecJson::from(spec),
            sealed: None,
            typed: std::sync::OnceLock::from(typed),
            spec_hash,
            depends_on: Vec::new(),
            external: false,
            restart_with: Vec::new(),
            shares_with: Vec::new(),
        }
    }

    /// A resource from its spec's JSON, sealed with `seal` as resolve
    /// seals (a recorded deploy's container, its values restored).
    pub fn from_spec(
        address: Address,
        engine_name: String,
        spec: Value,
        depends_on: Vec<Address>,
        seal: Option<&SealKey>,
    ) -> Resource {
        resource_from_json(address, engine_name, spec, depends_on, false, seal)
    }

    /// The spec as recorded: sensitive values sealed (what the state, the
    /// diff and saved plans see; `spec_hash` is its hash).
    pub fn recorded(&self) -> &std::sync::Arc<Value> {
        self.sealed.as_ref().unwrap_or(self.spec.value())
    }

    /// The typed spec of this resource's kind.
    pub fn typed(&self) -> &Spec {
        self.typed.get_or_init(|| {
            // resolve wrote `spec` from the typed spec, and reading it back is
            // tested on every fixture (resource::spec tests): failing here is a bug
            Spec::from_json(self.address.kind, self.spec.value())
                .unwrap_or_else(|e| panic!("berth bug: {} does not read back: {e}", self.address))
        })
    }
}

/// Everything the project asks for, by address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    pub project: String,
    pub resources: BTreeMap<Address, Resource>,
    /// The key the recorded specs' sensitive values are sealed with.
    pub seal: Option<std::sync::Arc<SealKey>>,
    /// Directories left out of build contexts (the state directory): the
    /// hash leaves them out, so the build must not send them either.
    pub context_skip: Vec<std::path::PathBuf>,
}

/// Command-line adjustments: `--scale svc=N` and `--target svc`.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    pub scale: BTreeMap<String, u32>,
    pub targets: Vec<String>,
    /// Directories left out of build-context hashes (the state directory).
    pub context_skip: Vec<std::path::PathBuf>,
    /// The context-hash cache file (see [`super::context_cache`]); None:
    /// every context is read in full.
    pub context_cache: Option<std::path::PathBuf>,
    /// The key sensitive values are sealed with in recorded specs; `None`
    /// when the project has none (then nothing needs sealing).
    pub seal: Option<std::sync::Arc<super::sensitive::SealKey>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("--{flag} names unknown service `{name}`; services: {known}")]
    UnknownService {
        flag: &'static str,
        name: String,
        known: String,
    },
    #[error("{0}")]
    Swarm(#[from] super::swarm::convert::ConvertError),
    #[error("cannot read {what} `{path}`: {detail}")]
    Unreadable {
        what: &'static str,
        path: String,
        detail: String,
    },
}

/// The key under which a container spec keeps the hashes of what it uses.
pub const DEPENDENCIES_KEY: &str = "uses";

/// Order object keys recursively so equal specs serialise to equal text.
pub fn canonical(v: Value) -> Value {
    // serde_json's map (without its `preserve_order` feature) is a BTreeMap, so
    // keys are already sorted and rebuilding every map would be a pure copy;
    // walking every spec to check was ~1.4% of a 5,000-service plan's
    // instructions, so the map type is checked once instead (and every map
    // walked should it ever keep insertion order)
    if maps_are_sorted() || is_canonical(&v) {
        return v;
    }
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Whether serde_json's maps keep their keys sorted whatever the insertion
/// order (its default BTreeMap): then every JSON value is canonical as built.
fn maps_are_sorted() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut m = serde_json::Map::new();
        m.insert("b".into(), Value::Null);
        m.insert("a".into(), Value::Null);
        m.keys().is_sorted()
    })
}

/// Whether every object in `v` has its keys in order.
fn is_canonical(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.keys().is_sorted() && m.values().all(is_canonical),
        Value::Array(a) => a.iter().all(is_canonical),
        _ => true,
    }
}

/// sha256 of a canonical spec's JSON text.
pub fn spec_hash(spec: &Value) -> String {
    json_sha256(spec)
}

fn resource(
    address: Address,
    engine_name: String,
    typed: Spec,
    depends_on: Vec<Address>,
    external: bool,
    seal: Option<&SealKey>,
) -> Resource {
    let spec = SpecJson::from(typed.to_canonical());
    let r = resource_from_spec(address, engine_name, spec, depends_on, external, seal);
    let _ = r.typed.set(typed);
    r
}

/// A resource from its spec's JSON (its typed spec is read when asked for).
fn resource_from_json(
    address: Address,
    engine_name: String,
    spec: Value,
    depends_on: Vec<Address>,
    external: bool,
    seal: Option<&SealKey>,
) -> Resource {
    let spec = SpecJson::from(canonical(spec));
    resource_from_spec(address, engine_name, spec, depends_on, external, seal)
}

/// A resource from its canonical spec, sealed with `seal` where it holds
/// sensitive values (then the hash is the sealed spec's).
fn resource_from_spec(
    address: Address,
    engine_name: String,
    spec: SpecJson,
    depends_on: Vec<Address>,
    external: bool,
    seal: Option<&SealKey>,
) -> Resource {
    // sensitive values sit under a few top-level keys: a spec written as
    // text is read as a value only when one of them needs sealing
    let sealed = seal
        .filter(|_| super::sensitive::needs_seal(&spec.top_level(super::sensitive::HOLDERS)))
        .and_then(|key| super::sensitive::seal(spec.value(), key));
    let spec_hash = match (&sealed, spec.text()) {
        (Some(sealed), _) => spec_hash(sealed),
        (None, Some(text)) => hex::encode(sha2::Sha256::digest(text.as_bytes())),
        (None, None) => spec_hash(spec.value()),
    };
    Resource {
        address,
        engine_name,
        spec,
        sealed: sealed.map(std::sync::Arc::new),
        typed: std::sync::OnceLock::new(),
        spec_hash,
        depends_on,
        external,
        restart_with: Vec::new(),
        shares_with: Vec::new(),
    }
}
