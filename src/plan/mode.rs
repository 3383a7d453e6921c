//! What a plan is for: one typed input of the diff.
//!
//! Separate because a mode changes only what counts as desired (the files,
//! the state, or nothing of the targeted services); the diff then runs the
//! same way for all of them.

use std::collections::BTreeMap;

use crate::resource::{Desired, Resource};
use crate::state::State;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Make the engine match the files (`plan`, `apply`).
    #[default]
    Converge,
    /// Only what changed on the engine since the last apply: what the state
    /// records is what is desired (`drift`, `plan --refresh-only`,
    /// `apply --refresh-only`).
    RefreshOnly,
    /// Remove what the state and the engine hold of the project, or of the
    /// targeted services (`destroy`).
    Destroy,
}

impl Mode {
    /// What the diff takes as desired in this mode, when not the files'
    /// resources as they are: the state's, or the files' less what is
    /// destroyed. Problems (a state record that does not read as its kind's
    /// spec) are returned as plan errors.
    pub(super) fn desired(
        self,
        files: &Desired,
        state: &State,
        targets: &[String],
    ) -> Option<(Desired, Vec<String>)> {
        Some(match self {
            Mode::Converge => return None,
            Mode::RefreshOnly => from_state(state),
            Mode::Destroy => (
                Desired {
                    project: files.project.clone(),
                    seal: files.seal.clone(),
                    context_skip: files.context_skip.clone(),
                    // with targets, the other services' resources stay; without, nothing does
                    resources: files
                        .resources
                        .iter()
                        .filter(|(a, _)| {
                            !targets.is_empty()
                                && a.service().is_none_or(|s| !targets.iter().any(|t| t == s))
                        })
                        .map(|(a, r)| (a.clone(), r.clone()))
                        .collect(),
                },
                Vec::new(),
            ),
        })
    }
}

/// The state's resources as the desired ones: a plan against them shows only
/// what changed on the engine since the last apply (drift).
fn from_state(state: &State) -> (Desired, Vec<String>) {
    let mut resources = BTreeMap::new();
    let mut errors = Vec::new();
    for (address, r) in &state.resources {
        let typed = match r.typed(address.kind) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!(
                    "state resource `{address}`: {e}; forget it with `berth state rm {address}` and import it again"
                ));
                continue;
            }
        };
        let resource = Resource::with_typed(
            address.clone(),
            r.name.clone(),
            r.spec.clone(),
            typed,
            r.spec_hash.clone(),
        );
        resources.insert(address.clone(), resource);
    }
    (
        Desired {
            project: state.project.clone(),
            resources,
            seal: None,
            context_skip: Vec::new(),
        },
        errors,
    )
}
