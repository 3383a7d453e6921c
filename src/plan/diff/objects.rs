//! Networks, volumes and images: each compared with its record and with what
//! the engine shows, external ones only read, unknown ones found under our
//! label adopted.
//!
//! Separate from containers: these are immutable or pulled objects with a
//! handful of rules, and containers depend on the actions decided here.

use super::{Differ, adopted, config_reasons, created, new_change};
use crate::plan::reason::{Drift, Reason};
use crate::plan::{Action, Change};
use crate::resource::{Kind, Resource};
use crate::state::StateResource;

impl Differ<'_> {
    /// Networks and volumes: immutable, so any change is a replacement.
    pub(super) fn object(&mut self, r: &Resource, st: Option<&StateResource>) -> Change {
        let kind = r.address.kind.as_str();
        let found = self.engine.as_ref().and_then(|e| match r.address.kind {
            Kind::Network => e.network(&r.engine_name),
            _ => e.volume(&r.engine_name),
        });
        if r.external {
            let mut reasons = vec![];
            if self.refreshed() && found.is_none() {
                reasons.push(Reason::ExternalMissing);
                self.errors.push(format!(
                    "external {kind} `{}` does not exist; create it first (`docker {kind} create {}`) or drop `external: true`",
                    r.engine_name, r.engine_name
                ));
            }
            return new_change(r, st, Action::Read, reasons, found.map(|f| f.0.to_string()));
        }
        let Some(st) = st else {
            return match found {
                Some((id, found_labels)) if self.belongs_to_us(found_labels) => adopted(r, id),
                Some(_) => {
                    self.errors.push(format!(
                        "a {kind} named `{}` already exists and does not belong to project `{}`; remove it, or declare it `external: true` to use it",
                        r.engine_name, self.input.desired.project
                    ));
                    created(r)
                }
                None => created(r),
            };
        };
        let mut reasons = config_reasons(&st.spec, r.recorded(), &[]);
        let mut action = if reasons.is_empty() {
            Action::NoOp
        } else {
            Action::Replace
        };
        if self.refreshed() {
            match found {
                None => {
                    reasons.insert(0, Reason::Drift(Drift::Missing));
                    action = Action::Create;
                }
                Some((id, _)) if r.address.kind == Kind::Network && id != st.id => {
                    reasons.push(Reason::Drift(Drift::Replaced {
                        recorded: st.id.clone(),
                        found: id.to_string(),
                    }));
                    action = action.max(Action::Update);
                }
                Some(_) => {}
            }
        }
        let id = found
            .map(|f| f.0.to_string())
            .or_else(|| Some(st.id.clone()));
        new_change(r, Some(st), action, reasons, id)
    }

    /// Images: a changed build is rebuilt (a replacement), a changed pulled
    /// image recorded anew (an update); a tag that moved on the engine is drift.
    pub(super) fn image(&self, r: &Resource, st: Option<&StateResource>) -> Change {
        let built = r.typed().image().is_some_and(|i| i.build.is_some());
        let current = self
            .engine
            .as_ref()
            .and_then(|e| e.observed.images.get(&r.engine_name).cloned());
        let Some(st) = st else {
            return match (&current, built) {
                // a local image that nobody built for us: record what it is
                (Some(id), false) => adopted(r, id),
                _ => created(r),
            };
        };
        let mut reasons = config_reasons(&st.spec, r.recorded(), &[]);
        let mut action = if reasons.is_empty() {
            Action::NoOp
        } else if built {
            Action::Replace
        } else {
            Action::Update
        };
        if self.refreshed() {
            match &current {
                None => {
                    reasons.insert(0, Reason::Drift(Drift::Missing));
                    action = Action::Create;
                }
                Some(id) if *id != st.id => {
                    reasons.push(Reason::Drift(Drift::ImageChanged {
                        reference: r.engine_name.clone(),
                        running: st.id.clone(),
                        current: id.clone(),
                    }));
                    // rebuilding restores what the files say; a pulled tag is recorded as it is now
                    action = action.max(if built {
                        Action::Replace
                    } else {
                        Action::Update
                    });
                }
                Some(_) => {}
            }
        }
        new_change(
            r,
            Some(st),
            action,
            reasons,
            current.or_else(|| Some(st.id.clone())),
        )
    }
}
