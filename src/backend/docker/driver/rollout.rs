//! Rolled replacement (`deploy.update_config`): the new container is
//! created, started and gated; the old one is retired; a failure leaves the
//! old one serving, and `failure_action` decides what happens to the rest of
//! the service's rollout. The plan chose the order, batch and gate
//! ([`crate::plan::rollout`]); this carries them out.
//!
//! - start-first: the new container is created as `<name>-berth-next`,
//!   joins the same networks with the same aliases, starts and must pass its
//!   gate; then the old one is stopped (its stop signal and grace period)
//!   and the new one renamed to `<name>`.
//! - stop-first: the old one is stopped and set aside as `<name>-berth-prev`,
//!   the new one created as `<name>`, started and gated; a failure puts the
//!   old one back and starts it.
//!
//! With `failure_action: rollback` the old containers are kept, stopped, as
//! `<name>-berth-prev` until the whole service has rolled out, so that a
//! later batch's failure can bring them back. A name of either kind that a
//! later plan finds is a leftover of an interrupted rollout and goes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use super::{EngineDriver, container_spec};
use crate::apply::Outcome;
use crate::apply::steps::{Step, StepKind};
use crate::backend::Watched;
use crate::engine::EngineError;
use crate::engine::ops::{self, container};
use crate::plan::rollout::{FailureAction, Gate, Order, Rollout};
use crate::resource::labels::{ROLLOUT_NEXT, ROLLOUT_PREV};
use crate::resource::{Address, Resource};
use crate::state::StateResource;

/// How often `apply --watch` looks at the replaced containers.
const WATCH_POLL: Duration = Duration::from_millis(500);

/// Log lines of a container that failed its gate, in the error.
const LOG_LINES: usize = 5;

/// Slack beyond a healthcheck's budget: the engine runs the first check
/// only after one interval, and polling adds a little.
const GATE_SLACK: Duration = Duration::from_secs(2);

/// The rollouts under way in one apply, per service.
#[derive(Default)]
pub(super) struct Rollouts {
    services: Mutex<BTreeMap<String, ServiceRollout>>,
    /// What a failed roll step still changed, for the executor to record.
    salvage: Mutex<BTreeMap<Address, Outcome>>,
    /// Roll steps whose failure does not stop the apply.
    soft: Mutex<BTreeSet<Address>>,
    /// The state's records of the containers being replaced, to record
    /// again when a rollback brings them back.
    previous: BTreeMap<Address, StateResource>,
    /// `apply --watch`: old containers are kept until the watch is over.
    pub(super) watching: bool,
}

#[derive(Default)]
struct ServiceRollout {
    total: usize,
    finished: usize,
    failed: usize,
    done: Vec<Swapped>,
}

/// A container swapped for its new version.
struct Swapped {
    address: Address,
    name: String,
    new_id: String,
    /// The old container, kept stopped as `<name>-berth-prev` while the
    /// rollout may still go back to it.
    kept: Option<String>,
}

impl Rollouts {
    /// For the roll steps of `plan` (their count per service), with the
    /// state's records of the containers they replace.
    pub(super) fn new(
        rolled: impl Iterator<Item = Address>,
        previous: BTreeMap<Address, StateResource>,
    ) -> Self {
        let mut services: BTreeMap<String, ServiceRollout> = BTreeMap::new();
        for a in rolled {
            services.entry(a.name.clone()).or_default().total += 1;
        }
        Rollouts {
            services: Mutex::new(services),
            previous,
            ..Default::default()
        }
    }

    pub(super) fn salvage(&self, address: &Address) -> Option<Outcome> {
        lock(&self.salvage).remove(address)
    }

    pub(super) fn halts(&self, address: &Address) -> bool {
        !lock(&self.soft).contains(address)
    }
}

/// What went wrong, without the "failed to ..." of a failure berth found
/// itself (the roll step says what it was doing).
fn what(e: &EngineError) -> String {
    match e {
        EngineError::Failed { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl EngineDriver {
    /// Replace the container `r` (the old one: `old`, an ID or name) as its
    /// rollout says; `pause` after it when a batch of its service follows.
    pub(super) async fn roll(
        &self,
        r: &Resource,
        old: Option<&str>,
        pause: Duration,
    ) -> Result<Outcome, EngineError> {
        let Some(rollout) = self.changes.get(&r.address).and_then(|c| c.rollout.clone()) else {
            return Err(ops::failed(
                format!("roll out `{}`", r.address),
                "the plan has no rollout for it (a bug in berth: please report it)",
            ));
        };
        let service = r.address.name.clone();
        let keep_old = rollout.on_failure == FailureAction::Rollback || self.rollouts.watching;
        let swapped = match rollout.order {
            Order::StartFirst => self.start_first(r, old, &rollout, keep_old).await,
            Order::StopFirst => self.stop_first(r, old, &rollout, keep_old).await,
        };
        match swapped {
            Ok(swapped) => {
                let id = swapped.new_id.clone();
                let all_done = {
                    let mut services = lock(&self.rollouts.services);
                    let s = services.entry(service.clone()).or_default();
                    s.finished += 1;
                    s.done.push(swapped);
                    s.finished >= s.total
                };
                if all_done && !self.rollouts.watching {
                    self.retire_kept(&service).await;
                } else if !all_done && !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
                Ok(self.recorded(r, id))
            }
            Err(cause) => Err(self.failed(r, &service, &rollout, cause).await),
        }
    }

    /// A roll step failed with `cause` (the new container is gone, the old
    /// one serves): apply the service's `failure_action`.
    async fn failed(
        &self,
        r: &Resource,
        service: &str,
        rollout: &Rollout,
        cause: EngineError,
    ) -> EngineError {
        let (failed, total, all_done) = {
            let mut services = lock(&self.rollouts.services);
            let s = services.entry(service.to_string()).or_default();
            s.failed += 1;
            s.finished += 1;
            (s.failed, s.total.max(1), s.finished >= s.total)
        };
        let tolerated = failed as f64 / total as f64 <= rollout.max_failure_ratio;
        let mut message = format!("{}; the old container keeps serving", what(&cause));
        if tolerated || rollout.on_failure == FailureAction::Continue {
            lock(&self.rollouts.soft).insert(r.address.clone());
            message.push_str(if tolerated {
                " (within max_failure_ratio: the rollout goes on)"
            } else {
                " (failure_action: continue: the rollout goes on)"
            });
            if all_done && !self.rollouts.watching {
                self.retire_kept(service).await;
            }
        } else if rollout.on_failure == FailureAction::Rollback {
            let (back, problems) = self.roll_back(service, rollout).await;
            if !back.is_empty() {
                message.push_str(&format!(
                    "; rolled back {} container{} already replaced",
                    back.len(),
                    if back.len() == 1 { "" } else { "s" }
                ));
                let outcomes = self.records_of(back);
                lock(&self.rollouts.salvage).insert(r.address.clone(), Outcome::Many(outcomes));
            }
            for p in problems {
                message.push_str(&format!("; {p}"));
            }
        } else {
            message.push_str(" (failure_action: pause: the rest of the rollout is not done)");
        }
        ops::failed(format!("roll out `{}`", r.engine_name), message)
    }

    /// start-first: create `<name>-berth-next`, start, gate, then retire the
    /// old container and take its name.
    async fn start_first(
        &self,
        r: &Resource,
        old: Option<&str>,
        rollout: &Rollout,
        keep_old: bool,
    ) -> Result<Swapped, EngineError> {
        let engine = self.engine();
        let next = format!("{}{ROLLOUT_NEXT}", r.engine_name);
        let id = self.create(r, &next).await?;
        if let Err(e) = self.start_and_gate(r, &id, rollout.gate).await {
            let _ = container::remove(engine, &id, true).await;
            return Err(e);
        }
        let kept = match old {
            Some(old) => self.retire(r, old, keep_old).await?,
            None => None,
        };
        container::rename(engine, &id, &r.engine_name).await?;
        Ok(Swapped {
            address: r.address.clone(),
            name: r.engine_name.clone(),
            new_id: id,
            kept,
        })
    }

    /// stop-first: stop the old container and set it aside, create the new
    /// one under its name, start, gate; on failure the old one comes back.
    async fn stop_first(
        &self,
        r: &Resource,
        old: Option<&str>,
        rollout: &Rollout,
        keep_old: bool,
    ) -> Result<Swapped, EngineError> {
        let engine = self.engine();
        let aside = match old {
            Some(old) => self.retire(r, old, true).await?,
            None => None,
        };
        let restore = |e: EngineError| async {
            if let Some(old) = &aside {
                let _ = container::rename(engine, old, &r.engine_name).await;
                let _ = container::start(engine, old).await;
            }
            e
        };
        let id = match self.create(r, &r.engine_name).await {
            Ok(id) => id,
            Err(e) => return Err(restore(e).await),
        };
        if let Err(e) = self.start_and_gate(r, &id, rollout.gate).await {
            let _ = container::remove(engine, &id, true).await;
            return Err(restore(e).await);
        }
        let kept = match aside {
            Some(old) if !keep_old => {
                container::remove(engine, &old, true).await?;
                None
            }
            other => other,
        };
        Ok(Swapped {
            address: r.address.clone(),
            name: r.engine_name.clone(),
            new_id: id,
            kept,
        })
    }

    /// Stop the old container as it was applied; keep it (stopped, as
    /// `<name>-berth-prev`) or remove it.
    async fn retire(
        &self,
        r: &Resource,
        old: &str,
        keep: bool,
    ) -> Result<Option<String>, EngineError> {
        let engine = self.engine();
        self.stop_as_applied(&r.address, old).await?;
        if keep {
            let aside = format!("{}{ROLLOUT_PREV}", r.engine_name);
            // a leftover of an interrupted rollout holding that name goes first
            let _ = container::remove(engine, &aside, true).await;
            match container::rename(engine, old, &aside).await {
                Ok(()) => return Ok(Some(old.to_string())),
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        container::remove(engine, old, true).await?;
        Ok(None)
    }

    /// Start the new container when its dependencies allow, and hold it to
    /// its gate. A failure says why, with its last log lines.
    async fn start_and_gate(&self, r: &Resource, id: &str, gate: Gate) -> Result<(), EngineError> {
        let engine = self.engine();
        self.wait_for_dependencies(r).await?;
        container::start(engine, id).await?;
        let passed = match gate {
            Gate::Healthcheck { budget_ms } => {
                let budget = Duration::from_millis(budget_ms) + GATE_SLACK;
                container::wait_healthy(engine, id, budget).await
            }
            Gate::Running { monitor_ms } => {
                container::wait_running(engine, id, Duration::from_millis(monitor_ms)).await
            }
            Gate::None => Ok(()),
        };
        let Err(e) = passed else { return Ok(()) };
        let mut message = format!("the new container did not pass its gate: {}", what(&e));
        let logs = container::log_tail(engine, id, LOG_LINES).await;
        if !logs.is_empty() {
            message.push_str(&format!("; its last log lines: {}", logs.join(" | ")));
        }
        Err(ops::failed(format!("start `{}`", r.engine_name), message))
    }

    /// Put every container of `service` already swapped back to its old
    /// version: the old container (kept stopped) starts again and takes its
    /// name back, the new one goes. Returns the addresses brought back with
    /// their old IDs, and what could not be brought back.
    async fn roll_back(
        &self,
        service: &str,
        rollout: &Rollout,
    ) -> (Vec<(Address, String)>, Vec<String>) {
        let engine = self.engine();
        let done = {
            let mut services = lock(&self.rollouts.services);
            std::mem::take(&mut services.entry(service.to_string()).or_default().done)
        };
        let mut back = Vec::new();
        let mut problems = Vec::new();
        for s in done.into_iter().rev() {
            let Some(old) = &s.kept else {
                problems.push(format!("`{}` has no old container to go back to", s.name));
                continue;
            };
            let result = async {
                if rollout.rollback_order == Order::StartFirst {
                    container::start(engine, old).await?;
                    if let Some(spec) = self
                        .resources
                        .get(&s.address)
                        .and_then(|r| container_spec(r).ok())
                        .filter(|_| matches!(rollout.gate, Gate::Healthcheck { .. }))
                    {
                        let budget = crate::plan::rollout::health_budget(
                            spec.service.healthcheck.as_deref(),
                        )
                        .unwrap_or_default();
                        // the old version's own healthcheck may differ; its
                        // failing is reported, not fatal: it served before
                        let _ = container::wait_healthy(engine, old, budget + GATE_SLACK).await;
                    }
                    self.stop_as_applied(&s.address, &s.new_id).await?;
                    container::remove(engine, &s.new_id, true).await?;
                    container::rename(engine, old, &s.name).await?;
                } else {
                    self.stop_as_applied(&s.address, &s.new_id).await?;
                    container::remove(engine, &s.new_id, true).await?;
                    container::rename(engine, old, &s.name).await?;
                    container::start(engine, old).await?;
                }
                Ok::<(), EngineError>(())
            }
            .await;
            match result {
                Ok(()) => back.push((s.address.clone(), old.clone())),
                Err(e) => problems.push(format!("rolling `{}` back failed: {e}", s.name)),
            }
        }
        (back, problems)
    }

    /// The state's records of the old containers a rollback brought back.
    fn records_of(&self, back: Vec<(Address, String)>) -> Vec<Outcome> {
        back.into_iter()
            .filter_map(|(a, id)| {
                let old = self.rollouts.previous.get(&a)?;
                Some(Outcome::Put(a, StateResource { id, ..old.clone() }))
            })
            .collect()
    }

    /// `apply --watch`: for `duration`, look at every container the
    /// rollouts replaced; the first that turns unhealthy, restarts or exits
    /// puts every rollout back to its old containers. What to record comes
    /// with the verdict.
    pub async fn watch(&self, duration: Duration) -> (Watched, Vec<(Step, Outcome)>) {
        let engine = self.engine();
        let swapped: Vec<(String, Address, String, String)> = {
            let services = lock(&self.rollouts.services);
            services
                .iter()
                .flat_map(|(service, s)| {
                    s.done.iter().map(move |d| {
                        (
                            service.clone(),
                            d.address.clone(),
                            d.new_id.clone(),
                            d.name.clone(),
                        )
                    })
                })
                .collect()
        };
        if swapped.is_empty() {
            return (Watched::Nothing, Vec::new());
        }
        let mut restarts = BTreeMap::new();
        for (_, _, id, _) in &swapped {
            restarts.insert(
                id.clone(),
                container::restart_count(engine, id).await.unwrap_or(0),
            );
        }
        let started = std::time::Instant::now();
        let mut problem = None;
        'watch: while started.elapsed() < duration {
            for (_, _, id, name) in &swapped {
                let since = restarts.get(id).copied().unwrap_or(0);
                if let Some(p) = container::trouble(engine, id, since).await {
                    problem = Some(format!("while watched, `{name}` {p}"));
                    break 'watch;
                }
            }
            tokio::time::sleep(WATCH_POLL.min(duration.saturating_sub(started.elapsed()))).await;
        }
        let services: BTreeSet<String> = swapped.iter().map(|(s, ..)| s.clone()).collect();
        let Some(problem) = problem else {
            for s in &services {
                self.retire_kept(s).await;
            }
            return (Watched::Held(swapped.len()), Vec::new());
        };
        let mut records = Vec::new();
        let mut count = 0;
        let mut problems = Vec::new();
        for service in &services {
            let Some(rollout) = swapped
                .iter()
                .find(|(s, ..)| s == service)
                .and_then(|(_, a, ..)| self.changes.get(a))
                .and_then(|c| c.rollout.clone())
            else {
                continue;
            };
            let (back, trouble) = self.roll_back(service, &rollout).await;
            count += back.len();
            problems.extend(trouble);
            for outcome in self.records_of(back) {
                let Outcome::Put(address, _) = &outcome else {
                    continue;
                };
                let step = Step {
                    address: address.clone(),
                    kind: StepKind::Start,
                    after: vec![],
                };
                records.push((step, outcome));
            }
        }
        let mut problem = problem;
        for p in problems {
            problem.push_str(&format!("; {p}"));
        }
        (
            Watched::RolledBack {
                problem,
                back: count,
            },
            records,
        )
    }

    /// The rollout of `service` is over: the old containers it kept go.
    async fn retire_kept(&self, service: &str) {
        let kept: Vec<String> = {
            let mut services = lock(&self.rollouts.services);
            let s = services.entry(service.to_string()).or_default();
            s.done.iter_mut().filter_map(|d| d.kept.take()).collect()
        };
        for old in kept {
            let _ = container::remove(self.engine(), &old, true).await;
        }
    }
}
