//! Whether a configuration change can be made to the running container, and
//! with which operations (rename, the engine's update call).
//!
//! Separate because it is the one decision between `update` and `replace` for
//! a changed spec, and it rests on what `docker update` can and cannot do.

use crate::compose::model::Deploy;
use crate::plan::InPlace;
use crate::resource::ContainerSpec;
use crate::resource::expected::{updatable, without_updatable};

/// What an update in place does to go from `old` to `new`, when nothing else
/// changed (rename, the engine's update call); `None` when it takes a new
/// container.
pub(super) fn in_place(old: &ContainerSpec, new: &ContainerSpec) -> Option<Vec<InPlace>> {
    if settled(old) != settled(new) {
        return None;
    }
    let mut ops = Vec::new();
    if old.name != new.name {
        ops.push(InPlace::Rename);
    }
    let (from, to) = (updatable(old), updatable(new));
    if from != to {
        if !from.can_update_to(&to) {
            return None;
        }
        ops.push(InPlace::EngineUpdate);
    }
    Some(ops)
}

/// A spec without what can change in place: the name and what `docker update` changes.
fn settled(spec: &ContainerSpec) -> ContainerSpec {
    let mut s = without_updatable(spec);
    s.name = String::new();
    // how it is rolled out is not the container: a changed policy is recorded
    if let Some(d) = s.service.deploy.as_mut() {
        d.update_config = None;
        d.rollback_config = None;
        let empty = Deploy {
            placement: serde_json::json!({}),
            ..Deploy::default()
        };
        if **d == empty || **d == Deploy::default() {
            s.service.deploy = None;
        }
    }
    // what it uses, by hash: a service renamed with `berth state mv` uses the
    // same image under another address
    s.uses = s.uses.values().map(|h| (h.clone(), h.clone())).collect();
    s
}
