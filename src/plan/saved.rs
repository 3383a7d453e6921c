//! Saved plan files (`berth plan -o FILE`): the plan, its hash, a hash of every
//! input (compose files, env files, build contexts, config and secret files)
//! and the state's lineage and serial, so that applying it later can refuse a
//! stale plan and say what changed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Plan;

/// Version of the saved plan file format.
pub const FORMAT_VERSION: u32 = 1;

/// Why a saved plan file cannot be applied as it is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read plan file `{file}`: {reason}")]
    Unreadable { file: String, reason: String },
    #[error(
        "plan file `{file}` is not valid UTF-8: byte 0x{byte:02x} at line {line}, column {column} ({file}:{line}:{column}); a berth plan file is JSON: make the plan again"
    )]
    NotUtf8 {
        file: String,
        byte: u8,
        line: u32,
        column: u32,
    },
    #[error("`{file}` is not a berth plan file ({})", crate::utf8::one_line(.reason))]
    NotAPlan { file: String, reason: String },
    #[error(
        "plan file `{file}` has format {version}; this berth reads format {FORMAT_VERSION}: make the plan again with this berth"
    )]
    OtherFormat { file: String, version: u64 },
    #[error("plan file `{file}` is damaged: {}", crate::utf8::one_line(.reason))]
    Damaged { file: String, reason: String },
    #[error(
        "plan file `{file}` was modified after it was saved (its hash does not match); make the plan again"
    )]
    Modified { file: String },
}

/// What a saved plan file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub berth_version: String,
    pub project: String,
    /// sha256 of the plan (see [`Plan::hash`]).
    pub plan_hash: String,
    /// Input name (a file path, or `build-context:<dir>`) → sha256 of its content.
    pub inputs: BTreeMap<String, String>,
    /// The state the plan was made against.
    pub state_lineage: String,
    pub state_serial: u64,
    /// `--target`, `--scale` and `--remove-orphans` as given, so apply resolves the same way.
    pub targets: Vec<String>,
    pub scale: BTreeMap<String, u32>,
    pub remove_orphans: bool,
    /// A plan of `berth rollback -o FILE`: the serial of the deploy it
    /// returns to (`berth rollback FILE` applies it; `berth apply` refuses it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<u64>,
    pub plan: Plan,
}

/// sha256 of a file's bytes, or of its absence.
pub fn file_hash(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => hex::encode(Sha256::digest(&bytes)),
        Err(_) => "absent".to_string(),
    }
}

impl SavedPlan {
    /// What differs between the inputs recorded and `now`, one line each
    /// (empty when the plan is still current).
    pub fn stale_inputs(&self, now: &BTreeMap<String, String>) -> Vec<String> {
        let mut out = Vec::new();
        for (name, hash) in &self.inputs {
            match now.get(name) {
                Some(h) if h == hash => {}
                Some(_) => out.push(format!("`{name}` changed")),
                None => out.push(format!("`{name}` is no longer an input")),
            }
        }
        for name in now.keys().filter(|n| !self.inputs.contains_key(*n)) {
            out.push(format!("`{name}` is a new input"));
        }
        out
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).expect("saved plans serialise");
        std::fs::write(path, text + "\n")
    }

    pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| SavedPlanError::Unreadable {
            file: file.clone(),
            reason: crate::paths::io_reason(&e),
        })?;
        let text = crate::utf8::decode(bytes).map_err(|e| SavedPlanError::NotUtf8 {
            file: file.clone(),
            byte: e.byte,
            line: e.line,
            column: e.column,
        })?;
        let version: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| SavedPlanError::NotAPlan {
                file: file.clone(),
                reason: e.to_string(),
            })?;
        match version
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
        {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) => return Err(SavedPlanError::OtherFormat { file, version: v }),
            None => {
                return Err(SavedPlanError::NotAPlan {
                    file,
                    reason: "no format_version".into(),
                });
            }
        }
        let saved: SavedPlan =
            serde_json::from_value(version).map_err(|e| SavedPlanError::Damaged {
                file: file.clone(),
                reason: e.to_string(),
            })?;
        if saved.plan.hash() != saved.plan_hash {
            return Err(SavedPlanError::Modified { file });
        }
        Ok(saved)
    }
}
