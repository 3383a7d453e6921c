//! The plan as a reviewer reads it: which resources are listed, with what
//! headline, and one [`Line`] per reason, in plain words. Text and Markdown
//! lay this out; neither decides wording on its own.

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::plan::sensitive::MASK;
use crate::plan::{Action, Change, Drift, InPlace, OrphanKind, Plan, Reason, Summary};
use crate::resource::Kind;

/// Said at the top when the engine was not observed.
pub const NOT_REFRESHED: &str = "(engine not observed: --refresh=false; drift is not shown)";
/// The whole output when nothing changes.
pub const NO_CHANGES: &str = "No changes. Docker matches the configuration.";
/// Heading of the orphan list.
pub const ORPHANS: &str = "Orphans (labelled with the project, unknown to state and files; delete with --remove-orphans):";

/// Heading of the list of an interrupted rollout's leftovers.
pub const LEFTOVERS: &str = "Left over by an interrupted rollout (apply removes them first):";
/// Heading of the rollout list.
pub const ROLLOUTS: &str = "Rollouts (how replaced containers are swapped):";

/// Lines of context kept around each changed part of a multi-line value.
const CONTEXT: usize = 3;

pub struct PlanView<'a> {
    pub plan: &'a Plan,
    /// The resources to list, in plan order: everything but no-ops and
    /// external reads with nothing to say.
    pub resources: Vec<ResourceView<'a>>,
    pub summary: Summary,
}

impl<'a> PlanView<'a> {
    pub fn new(plan: &'a Plan) -> Self {
        let resources = plan
            .changes
            .iter()
            .filter(|c| match c.action {
                Action::NoOp => false,
                Action::Read => !c.reasons.is_empty(),
                _ => true,
            })
            .map(ResourceView::new)
            .collect();
        PlanView {
            plan,
            resources,
            summary: plan.summary(),
        }
    }

    /// One line per replaced service (per rollout, when its replicas differ):
    /// `container.api[1..3] rolling replace, start-first, 1 at a time,
    /// gate: healthcheck (≤ 45 s), on failure: rollback`.
    pub fn rollouts(&self) -> Vec<String> {
        let mut groups: Vec<(&str, String, bool, Vec<u32>)> = Vec::new();
        for c in &self.plan.changes {
            let Some(r) = &c.rollout else { continue };
            let described = crate::plan::rollout::describe(r);
            let rolling = c.is_rolled();
            let service = c.address.name.as_str();
            let n = c.address.index.unwrap_or(1);
            match groups
                .iter_mut()
                .find(|(s, d, _, _)| *s == service && *d == described)
            {
                Some(g) => g.3.push(n),
                None => groups.push((service, described, rolling, vec![n])),
            }
        }
        groups
            .into_iter()
            .map(|(service, described, rolling, mut numbers)| {
                numbers.sort_unstable();
                let contiguous = numbers.windows(2).all(|w| w[1] == w[0] + 1);
                let which = match numbers.as_slice() {
                    [one] => one.to_string(),
                    [first, .., last] if contiguous => format!("{first}..{last}"),
                    all => all.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
                };
                let what = if rolling {
                    "rolling replace"
                } else {
                    "replace"
                };
                format!("container.{service}[{which}] {what}, {described}")
            })
            .collect()
    }

    /// `Plan: 1 to add, 1 to change, 1 to replace, 1 to destroy.` or [`NO_CHANGES`].
    pub fn summary_line(&self) -> String {
        if !self.plan.has_changes() {
            return NO_CHANGES.to_string();
        }
        let s = self.summary;
        format!(
            "Plan: {} to add, {} to change, {} to replace, {} to destroy.",
            s.add, s.change, s.replace, s.destroy
        )
    }
}

pub struct ResourceView<'a> {
    pub change: &'a Change,
    pub lines: Vec<Line>,
}

impl<'a> ResourceView<'a> {
    fn new(change: &'a Change) -> Self {
        let mut lines: Vec<Line> = change
            .reasons
            .iter()
            .filter_map(|r| reason_line(change, r))
            .collect();
        lines.extend(change.security.iter().cloned().map(Line::Security));
        ResourceView { change, lines }
    }

    /// `will be created`, `must be replaced`, ... (without `(data loss)`:
    /// renderers add it, in red where they can).
    pub fn headline(&self) -> &'static str {
        match self.change.action {
            Action::NoOp => "is unchanged",
            Action::Create => "will be created",
            Action::Update if self.change.ops.contains(&InPlace::ServiceRedeploy) => {
                "will be updated in place, its tasks replaced (Swarm's rolling update)"
            }
            Action::Update if self.change.ops.contains(&InPlace::ServiceUpdate) => {
                "will be updated in place, its tasks kept"
            }
            Action::Update => "will be updated in place",
            Action::Replace => "must be replaced",
            Action::Delete => "will be destroyed",
            Action::Read => "is external and will be read",
        }
    }
}

/// Terraform's symbol for an action, padded to three columns.
pub fn symbol(action: Action) -> &'static str {
    match action {
        Action::NoOp => "   ",
        Action::Create => "  +",
        Action::Update => "  ~",
        Action::Replace => "-/+",
        Action::Delete => "  -",
        Action::Read => " <=",
    }
}

/// One thing said about a resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A configuration attribute that changed, values printed compactly.
    /// `None` when the attribute is added (old) or removed (new).
    Attribute {
        path: String,
        old: Option<String>,
        new: Option<String>,
    },
    /// A value that spans lines (a Dockerfile, a script), as a line diff.
    /// `drift` when it is the engine that differs, not the files.
    TextDiff {
        path: String,
        drift: bool,
        lines: Vec<DiffLine>,
    },
    /// `changed outside berth: ...`
    Drift(String),
    /// `! ...`: a problem that is not drift (an external resource missing).
    Warning(String),
    /// A plain explanation (dependency, adoption, orphan, scale).
    Note(String),
    /// Something a security reviewer should look at.
    Security(String),
}

/// One line of a multi-line value's diff.
#[derive(Debug, Clone, PartialEq)]
pub enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
    /// Unchanged lines left out between two changed parts.
    Skipped,
}

fn reason_line(change: &Change, reason: &Reason) -> Option<Line> {
    let kind = change.address.kind.as_str();
    Some(match reason {
        // the symbol already says it
        Reason::New => return None,
        Reason::Config { path, old, new } => value_change(path, old.as_ref(), new.as_ref(), false),
        Reason::Drift(d) => drift_line(change, d),
        Reason::Dependency { on, action } => {
            let verb = match action {
                Action::Create => "created again",
                Action::Update => "updated",
                Action::Replace => "replaced",
                Action::Delete => "destroyed",
                Action::NoOp | Action::Read => "read",
            };
            Line::Note(format!("because {on} is {verb}"))
        }
        Reason::Adopted { id, matches } => {
            let id = short_id(id);
            Line::Note(match (change.address.kind, matches) {
                (Kind::Image, _) => {
                    format!("already on the engine (id {id}): recorded in the state as it is")
                }
                (_, true) => format!(
                    "found on the engine with this project's labels (id {id}): adopted, not duplicated"
                ),
                (_, false) => format!(
                    "found on the engine with this project's labels (id {id}) but another spec: replaced"
                ),
            })
        }
        Reason::Orphan {
            why: OrphanKind::RemovedFromFile,
        } => Line::Note("removed from the compose files".to_string()),
        Reason::Orphan {
            why: OrphanKind::NotInState,
        } => Line::Note(
            "labelled with this project, unknown to the state and the files (--remove-orphans)"
                .to_string(),
        ),
        Reason::ScaledDown { service, replicas } => Line::Note(format!(
            "{service} scaled down to {replicas} {}",
            if *replicas == 1 {
                "replica"
            } else {
                "replicas"
            }
        )),
        Reason::ExternalMissing => Line::Warning(format!(
            "external {kind} `{}` does not exist on the engine; berth never creates it",
            change.name
        )),
    })
}

fn drift_line(change: &Change, drift: &Drift) -> Line {
    let kind = change.address.kind.as_str();
    Line::Drift(match drift {
        Drift::Missing if change.action == Action::Delete => format!("{kind} already removed"),
        Drift::Missing => format!("{kind} missing"),
        Drift::NotRunning { state, exit_code } => match (state.as_str(), exit_code) {
            ("exited", Some(code)) => format!("{kind} exited (exit code {code})"),
            ("exited", None) => format!("{kind} stopped"),
            ("created", _) => format!("{kind} created but never started"),
            (other, _) => format!("{kind} {other}"),
        },
        Drift::Unhealthy => format!("{kind} unhealthy (its healthcheck fails)"),
        Drift::ImageChanged {
            reference,
            running,
            current,
        } => {
            let running_what = if change.address.kind == Kind::Image {
                "recorded"
            } else {
                "running"
            };
            format!(
                "image tag {reference} now points at {} ({running_what} {})",
                short_id(current),
                short_id(running)
            )
        }
        Drift::Attribute {
            path,
            applied,
            observed,
        } => {
            if multi_line(Some(applied)) || multi_line(Some(observed)) {
                return value_change(path, Some(applied), Some(observed), true);
            }
            format!("{path}: {} -> {}", compact(applied), compact(observed))
        }
        Drift::Replaced { recorded, found } => format!(
            "{kind} recreated (state has {}, engine has {})",
            short_id(recorded),
            short_id(found)
        ),
    })
}

fn value_change(path: &str, old: Option<&Value>, new: Option<&Value>, drift: bool) -> Line {
    if multi_line(old) || multi_line(new) {
        return Line::TextDiff {
            path: path.to_string(),
            drift,
            lines: line_diff(&as_text(old), &as_text(new)),
        };
    }
    Line::Attribute {
        path: path.to_string(),
        old: old.map(compact),
        new: new.map(compact),
    }
}

/// `+` for a multi-line value that appears, `-` for one that goes, `~` otherwise.
pub fn text_sign(lines: &[DiffLine]) -> &'static str {
    if lines.iter().all(|l| matches!(l, DiffLine::Added(_))) {
        "+"
    } else if lines.iter().all(|l| matches!(l, DiffLine::Removed(_))) {
        "-"
    } else {
        "~"
    }
}

/// A value printed compactly: JSON, except the mask, which is not a string.
pub fn compact(v: &Value) -> String {
    match v {
        Value::String(s) if s == MASK => MASK.to_string(),
        other => other.to_string(),
    }
}

/// Docker's short form of an ID: 12 hex digits, without `sha256:`.
pub fn short_id(id: &str) -> String {
    let bare = id.strip_prefix("sha256:").unwrap_or(id);
    bare.chars().take(12).collect()
}

fn multi_line(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => s.contains('\n'),
        Some(Value::Array(items)) => items
            .iter()
            .any(|i| matches!(i, Value::String(s) if s.contains('\n'))),
        _ => false,
    }
}

/// The text a multi-line value diffs as: a string as it is; a list (a
/// command) one item after another, each string unquoted.
fn as_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => compact(other),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) => compact(other),
    }
}

/// Line diff of two texts, unchanged runs cut to [`CONTEXT`] lines around changes.
fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let diff = TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(CONTEXT).iter().enumerate() {
        if i > 0 {
            out.push(DiffLine::Skipped);
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let line = change.value().trim_end_matches(['\n', '\r']).to_string();
                out.push(match change.tag() {
                    ChangeTag::Equal => DiffLine::Same(line),
                    ChangeTag::Delete => DiffLine::Removed(line),
                    ChangeTag::Insert => DiffLine::Added(line),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_drop_the_digest_prefix() {
        assert_eq!(short_id("sha256:0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short_id("fedcba9876543210fedc"), "fedcba987654");
        assert_eq!(short_id("abc"), "abc");
    }

    #[test]
    fn long_texts_keep_three_lines_of_context() {
        let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 2\n", "line two\n")
            .replace("line 18\n", "");
        let shown: Vec<String> = line_diff(&old, &new)
            .into_iter()
            .map(|l| match l {
                DiffLine::Same(s) => format!("  {s}"),
                DiffLine::Removed(s) => format!("- {s}"),
                DiffLine::Added(s) => format!("+ {s}"),
                DiffLine::Skipped => "...".to_string(),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "  line 1",
                "- line 2",
                "+ line two",
                "  line 3",
                "  line 4",
                "  line 5",
                "...",
                "  line 15",
                "  line 16",
                "  line 17",
                "- line 18",
                "  line 19",
                "  line 20",
            ]
        );
    }

    #[test]
    fn a_missing_final_newline_is_not_a_change_of_every_line() {
        let lines = line_diff("a\nb", "a\nc\n");
        assert_eq!(
            lines,
            [
                DiffLine::Same("a".into()),
                DiffLine::Removed("b".into()),
                DiffLine::Added("c".into()),
            ]
        );
    }
}
