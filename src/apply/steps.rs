//! From a plan to steps: what the executor runs, with the order between them
//! as explicit edges. Teardowns (deletes, and the removal half of a
//! replacement) run in reverse dependency order; builds (creates, the creation
//! half of a replacement) and updates in dependency order, each after its own
//! teardown.

use std::collections::BTreeMap;

use crate::plan::{Action, Change, InPlace, Plan};
use crate::resource::{Address, Desired, Kind};

/// What one step does to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// Stop and remove (container), remove (network, volume), or forget (image).
    Teardown { id: Option<String>, name: String },
    /// Create from the desired spec: network, volume, image (build or pull),
    /// container (create and connect; recorded at once, started by `Start`).
    Build,
    /// Start a created container once its dependencies allow (depends_on conditions).
    Start,
    /// Change in place as the plan says (rename, `docker update`, restart,
    /// start, in that order), or only record (no operations).
    Update { ops: Vec<InPlace> },
    /// Replace a container as its rollout says (`deploy.update_config`):
    /// the new one is created, started and gated, the old one (`id`,
    /// `name`) retired, in the rollout's order. Replaces the teardown,
    /// build and start of a plain replacement. `pause_ms`: how long to wait
    /// after it before the next batch of its service may start.
    Roll {
        id: Option<String>,
        name: String,
        pause_ms: u64,
    },
    /// Remove a container an interrupted rollout left under a temporary
    /// name; the state is not touched (it never recorded it).
    Sweep { id: String },
}

impl StepKind {
    /// Whether the container runs after this step (a start, or an update that starts or restarts it).
    pub fn starts(&self) -> bool {
        match self {
            StepKind::Start | StepKind::Roll { .. } => true,
            StepKind::Update { ops } => ops
                .iter()
                .any(|op| matches!(op, InPlace::Start | InPlace::Restart)),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub address: Address,
    pub kind: StepKind,
    /// Indexes of steps that must finish first.
    pub after: Vec<usize>,
}

/// The steps of a plan; `after` says what each waits for (the executor walks that graph).
pub fn steps(plan: &Plan, desired: &Desired) -> Vec<Step> {
    // leftovers of an interrupted rollout go first
    let mut out: Vec<Step> = plan
        .leftovers
        .iter()
        .map(|l| Step {
            address: l.address.clone(),
            kind: StepKind::Sweep { id: l.id.clone() },
            after: vec![],
        })
        .collect();
    let swept = out.len();
    let mut teardown_of: BTreeMap<Address, usize> = BTreeMap::new();
    let mut build_of: BTreeMap<Address, usize> = BTreeMap::new();
    // the step after which a container is running: its Start, or an Update
    let mut running_after: BTreeMap<Address, usize> = BTreeMap::new();
    let by_address: BTreeMap<&Address, &Change> =
        plan.changes.iter().map(|c| (&c.address, c)).collect();
    // the batch each rolled container is in, and the roll steps of each batch
    let batches = rolling_batches(plan);
    let mut roll_of: BTreeMap<(String, usize), Vec<usize>> = BTreeMap::new();

    // what depends on what, from the desired graph (deleted resources depend on nothing desired)
    let dependents = |a: &Address| -> Vec<Address> {
        desired
            .resources
            .values()
            .filter(|r| r.depends_on.contains(a))
            .map(|r| r.address.clone())
            .collect()
    };

    // teardowns: containers first, then images, volumes, networks (reverse creation order)
    let mut tearing: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .filter(|c| !batches.contains_key(&c.address))
        .collect();
    // Swarm configs and secrets go last: created anew before the services
    // move to them, removed after (a Swarm object in use cannot be removed)
    let late: Vec<&Change> = tearing
        .iter()
        .copied()
        .filter(|c| matches!(c.address.kind, Kind::Config | Kind::Secret))
        .collect();
    tearing.retain(|c| !matches!(c.address.kind, Kind::Config | Kind::Secret));
    tearing.sort_by(|a, b| {
        b.address
            .kind
            .cmp(&a.address.kind)
            .then(a.address.cmp(&b.address))
    });
    for c in tearing {
        let mut after: Vec<usize> = if c.address.kind == Kind::Container {
            Vec::new()
        } else {
            (0..swept).collect()
        };
        // a network or volume goes after every container torn down that used it
        for d in dependents(&c.address) {
            if let Some(&i) = teardown_of.get(&d) {
                after.push(i);
            }
        }
        if c.address.kind != Kind::Container {
            for (a, &i) in &teardown_of {
                if matches!(a.kind, Kind::Container | Kind::Service) && !after.contains(&i) {
                    // a volume may be in use through `volumes_from` too, which
                    // no spec names: volumes go after every container
                    let used = c.address.kind == Kind::Volume
                        || plan
                            .changes
                            .iter()
                            .find(|x| &x.address == a)
                            .and_then(|x| x.before.as_ref())
                            .is_some_and(|spec| uses(spec, &c.address));
                    if used {
                        after.push(i);
                    }
                }
            }
        }
        teardown_of.insert(c.address.clone(), out.len());
        out.push(teardown(c, after));
    }

    // builds and updates, in creation order (the address order is kinds first)
    for r in desired.resources.values() {
        let Some(c) = by_address.get(&r.address) else {
            continue;
        };
        let kind = match (c.action, batches.get(&r.address)) {
            (Action::Replace, Some(b)) => StepKind::Roll {
                id: c.id.clone(),
                name: c.name.clone(),
                pause_ms: if b.last { 0 } else { b.delay_ms },
            },
            _ => match c.action {
                Action::Create | Action::Replace => StepKind::Build,
                Action::Update => StepKind::Update { ops: c.ops.clone() },
                Action::NoOp | Action::Read | Action::Delete => continue,
            },
        };
        let mut after: Vec<usize> = (0..swept)
            .filter(|&i| out[i].address == r.address)
            .collect();
        if let Some(&i) = teardown_of.get(&r.address) {
            after.push(i);
        }
        // after every teardown of its kind: what goes frees what may be
        // needed (a network's address range from a small pool, a
        // container's published port or name)
        for (a, &i) in &teardown_of {
            if a.kind == r.address.kind && !after.contains(&i) {
                after.push(i);
            }
        }
        for d in r.depends_on.iter().filter(|d| d.kind != Kind::Container) {
            if let Some(&i) = build_of.get(d) {
                after.push(i);
            }
        }
        // a batch starts when the one before it has finished
        if let Some(b) = batches.get(&r.address) {
            if b.number > 0
                && let Some(previous) = roll_of.get(&(r.address.name.clone(), b.number - 1))
            {
                after.extend(previous.iter().copied());
            }
            roll_of
                .entry((r.address.name.clone(), b.number))
                .or_default()
                .push(out.len());
        }
        let rolls = matches!(kind, StepKind::Roll { .. });
        let is_container = r.address.kind == Kind::Container;
        let build = kind == StepKind::Build;
        let starts_in_update = kind.starts();
        build_of.insert(r.address.clone(), out.len());
        out.push(Step {
            address: r.address.clone(),
            kind,
            after,
        });
        if build && is_container {
            running_after.insert(r.address.clone(), out.len());
            out.push(Step {
                address: r.address.clone(),
                kind: StepKind::Start,
                after: vec![out.len() - 1],
            });
        } else if is_container && (starts_in_update || rolls) {
            running_after.insert(r.address.clone(), out.len() - 1);
        }
    }
    for c in late {
        let mut after: Vec<usize> = build_of
            .iter()
            .filter(|(a, _)| a.kind == Kind::Service || **a == c.address)
            .map(|(_, &i)| i)
            .chain(
                teardown_of
                    .iter()
                    .filter(|(a, _)| a.kind == Kind::Service)
                    .map(|(_, &i)| i),
            )
            .collect();
        after.sort_unstable();
        out.push(teardown(c, after));
    }
    // a container starts after the containers it depends on are running, and
    // is created after those whose namespaces it joins (a second pass: the
    // address order is not the depends_on order)
    for step in out.iter_mut() {
        let Some(r) = desired.resources.get(&step.address) else {
            continue;
        };
        // joining another container's namespace (or taking its volumes)
        // needs it running at create, as compose orders it
        if matches!(step.kind, StepKind::Build | StepKind::Roll { .. }) {
            for d in &r.shares_with {
                if let Some(&j) = running_after.get(d) {
                    step.after.push(j);
                }
            }
        }
        if !step.kind.starts() {
            continue;
        }
        for d in r.depends_on.iter().filter(|d| d.kind == Kind::Container) {
            if let Some(&j) = running_after.get(d) {
                step.after.push(j);
            }
        }
    }
    out
}

/// The step that removes what `c` names (its ID, else its name).
fn teardown(c: &Change, after: Vec<usize>) -> Step {
    Step {
        address: c.address.clone(),
        kind: StepKind::Teardown {
            id: c.id.clone(),
            name: c.name.clone(),
        },
        after,
    }
}

/// Where a rolled container (a replacement with a gate: the service has
/// `deploy.update_config`) stands in its service's rollout.
struct Batch {
    /// From 0, in replica order.
    number: usize,
    /// In the service's last batch (no pause after it).
    last: bool,
    delay_ms: u64,
}

/// The batch of every rolled container: replicas in order, `parallelism`
/// at a time (0: all in one batch).
fn rolling_batches(plan: &Plan) -> BTreeMap<Address, Batch> {
    let mut by_service: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in &plan.changes {
        if c.is_rolled() {
            by_service.entry(&c.address.name).or_default().push(c);
        }
    }
    let mut out = BTreeMap::new();
    for (_, mut changes) in by_service {
        changes.sort_by_key(|c| c.address.index);
        let n = changes.len();
        for (i, c) in changes.iter().enumerate() {
            let Some(rollout) = &c.rollout else { continue };
            let size = match rollout.parallelism as usize {
                0 => n,
                p => p,
            };
            out.insert(
                c.address.clone(),
                Batch {
                    number: i / size,
                    last: i / size == (n - 1) / size,
                    delay_ms: rollout.delay_ms,
                },
            );
        }
    }
    out
}

/// Whether a container spec (as applied) uses a network or volume.
fn uses(spec: &serde_json::Value, a: &Address) -> bool {
    spec.get(crate::resource::desired::DEPENDENCIES_KEY)
        .and_then(|u| u.as_object())
        .is_some_and(|u| u.contains_key(&a.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{DiffInput, diff};
    use crate::state::State;

    /// The plan that makes `state` match `desired` (no engine observed).
    fn converge(desired: &Desired, state: &State) -> crate::plan::Plan {
        diff(&DiffInput {
            mode: crate::plan::Mode::Converge,
            desired,
            state,
            observed: None,
            remove_orphans: false,
            targets: &[],
        })
    }

    /// The state after `d` was applied (IDs `id-<address>`).
    fn applied(d: &Desired) -> State {
        let mut state = State::new("demo");
        for r in d.resources.values() {
            state.insert(
                r.address.clone(),
                crate::state::StateResource::recorded(r, format!("id-{}", r.address)),
            );
        }
        state
    }

    fn desired(yaml: &str) -> Desired {
        let p = crate::compose::project_from_yaml(yaml, "demo");
        crate::resource::resolve(&p, &Default::default()).unwrap()
    }

    const STACK: &str = "services:\n  web: {image: w, depends_on: [db], networks: [back]}\n  db: {image: d, networks: [back]}\nnetworks:\n  back: {}\n";

    fn shown(steps: &[Step]) -> Vec<String> {
        let what = |k: &StepKind| match k {
            StepKind::Teardown { .. } => "teardown",
            StepKind::Build => "build",
            StepKind::Start => "start",
            StepKind::Update { .. } => "update",
            StepKind::Roll { .. } => "roll",
            StepKind::Sweep { .. } => "sweep",
        };
        steps
            .iter()
            .map(|s| {
                let after: Vec<String> = s
                    .after
                    .iter()
                    .map(|i| format!("{} {}", what(&steps[*i].kind), steps[*i].address))
                    .collect();
                format!(
                    "{} {} after [{}]",
                    what(&s.kind),
                    s.address,
                    after.join(", ")
                )
            })
            .collect()
    }

    #[test]
    fn from_nothing_dependencies_are_built_first() {
        let d = desired(STACK);
        let plan = converge(&d, &State::new("demo"));
        assert_eq!(
            shown(&steps(&plan, &d)),
            [
                "build network.back after []",
                "build image.db after []",
                "build image.web after []",
                "build container.db[1] after [build network.back, build image.db]",
                "start container.db[1] after [build container.db[1]]",
                "build container.web[1] after [build network.back, build image.web]",
                "start container.web[1] after [build container.web[1], start container.db[1]]",
            ]
        );
    }

    /// A network going frees its address range, a container its published
    /// ports and name: what is made waits for what goes, of its kind.
    #[test]
    fn builds_wait_for_the_teardowns_of_their_kind() {
        let yaml = |net: &str| {
            format!(
                "services:\n  a:\n    image: x\n    networks: [{net}]\nnetworks:\n  {net}: {{}}\n"
            )
        };
        let old = desired(&yaml("old"));
        let state = applied(&old);
        let new = desired(&yaml("fresh"));
        let plan = converge(&new, &state);
        let shown = shown(&steps(&plan, &new));
        let fresh = shown
            .iter()
            .find(|s| s.starts_with("build network.fresh"))
            .unwrap_or_else(|| panic!("{shown:#?}"));
        assert!(fresh.contains("teardown network.old"), "{fresh}");
    }

    #[test]
    fn a_replaced_network_is_removed_after_its_containers_and_created_before_them() {
        let old = desired(STACK);
        let new = desired(&STACK.replace("  back: {}", "  back: {internal: true}"));
        let state = applied(&old);
        let plan = converge(&new, &state);
        assert_eq!(
            shown(&steps(&plan, &new)),
            [
                "teardown container.db[1] after []",
                "teardown container.web[1] after []",
                "teardown network.back after [teardown container.db[1], teardown container.web[1]]",
                "build network.back after [teardown network.back]",
                "build container.db[1] after [teardown container.db[1], teardown container.web[1], build network.back]",
                "start container.db[1] after [build container.db[1]]",
                "build container.web[1] after [teardown container.web[1], teardown container.db[1], build network.back]",
                "start container.web[1] after [build container.web[1], start container.db[1]]",
            ]
        );
    }

    /// With `deploy.update_config` a replacement is one roll step per
    /// container (no teardown first), `parallelism` at a time, each batch
    /// after the one before it.
    #[test]
    fn a_rolling_replacement_goes_in_batches() {
        let yaml = |v: &str| {
            format!(
                "services:\n  api:\n    image: a\n    scale: 3\n    environment: {{V: '{v}'}}\n    deploy:\n      update_config: {{order: start-first, parallelism: 2, delay: 2s}}\n  web:\n    image: w\n    depends_on: [api]\n"
            )
        };
        let old = desired(&yaml("1"));
        let state = applied(&old);
        let new = desired(&yaml("2"));
        let plan = converge(&new, &state);
        let all = steps(&plan, &new);
        assert_eq!(
            shown(&all),
            [
                "roll container.api[1] after []",
                "roll container.api[2] after []",
                "roll container.api[3] after [roll container.api[1], roll container.api[2]]",
            ]
        );
        let pauses: Vec<u64> = all
            .iter()
            .map(|s| match s.kind {
                StepKind::Roll { pause_ms, .. } => pause_ms,
                _ => u64::MAX,
            })
            .collect();
        // the delay comes between batches, not after the last
        assert_eq!(pauses, [2000, 2000, 0]);
    }

    /// Swarm: a new config is made before the service moves to it, and the
    /// old one goes after (Swarm refuses to remove an object in use).
    #[test]
    fn a_swarm_config_is_replaced_create_before_destroy_around_its_services() {
        let stack = "services:\n  web:\n    image: web:1\n    configs: [site]\nconfigs:\n  site:\n    content: hello\n";
        let resolve = |yaml: &str| {
            let p = crate::compose::project_from_yaml(yaml, "demo");
            crate::resource::desired::resolve_swarm(&p, &Default::default()).unwrap()
        };
        let state = applied(&resolve(stack));
        let changed = resolve(&stack.replace("content: hello", "content: bye"));
        let plan = converge(&changed, &state);
        let all = steps(&plan, &changed);
        let at = |address: &str, teardown: bool| {
            all.iter()
                .position(|s| {
                    s.address.to_string() == address
                        && matches!(s.kind, StepKind::Teardown { .. }) == teardown
                })
                .unwrap_or_else(|| panic!("no step for {address}: {all:#?}"))
        };
        let (build, update, remove) = (
            at("config.site", false),
            at("service.web", false),
            at("config.site", true),
        );
        assert!(all[update].after.contains(&build), "{all:#?}");
        assert!(all[remove].after.contains(&update), "{all:#?}");
        assert!(!all[build].after.contains(&remove), "{all:#?}");
    }
}
