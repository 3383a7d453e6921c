//! The canonical Compose model: long syntax everywhere, paths absolute, durations
//! and sizes normalised. It serialises to the same shape and key names as
//! `docker compose config --format json`, so the two can be compared field by field.
//!
//! One module per part of the model; every type is re-exported here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod mounts;
mod networking;
mod resources;
mod service;
mod top_level;

pub use mounts::*;
pub use networking::*;
pub use resources::*;
pub use service::*;
pub use top_level::*;

/// Attributes berth reads but does not model: kept as they were written (after
/// interpolation) so `config` shows them and later stages can say they are not applied.
pub type Extra = BTreeMap<String, serde_json::Value>;

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct Project {
    pub name: String,
    #[serde(skip)]
    pub working_dir: std::path::PathBuf,
    #[serde(skip)]
    pub config_files: Vec<std::path::PathBuf>,
    pub services: BTreeMap<String, Box<Service>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, FileObject>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, FileObject>,
    /// Top-level `x-*` extension fields, kept as written.
    #[serde(flatten)]
    pub extensions: Extra,
    /// Services left out because none of their profiles is active.
    #[serde(skip)]
    pub disabled_services: Vec<String>,
}

pub(super) fn is_none_or_empty(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(str::is_empty)
}

pub(super) fn is_false(b: &bool) -> bool {
    !*b
}

/// File modes print in octal, as Compose prints them (`"0440"`).
pub(super) fn octal<S: serde::Serializer>(mode: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match mode {
        Some(m) => s.collect_str(&format_args!("0{m:o}")),
        None => s.serialize_none(),
    }
}

pub(super) fn from_octal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.map(|t| u32::from_str_radix(&t, 8).map_err(serde::de::Error::custom))
        .transpose()
}

/// Whole numbers print without a fraction (`2`, not `2.0`), as Go prints a float64.
pub(super) fn go_float<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => s.serialize_i64(*f as i64),
        Some(f) => s.serialize_f64(*f),
        None => s.serialize_none(),
    }
}
