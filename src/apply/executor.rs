//! The executor: runs steps as their dependencies finish, at most
//! `parallelism` at a time. It decides nothing: what each step does is the
//! [`Driver`]'s job (the backend's), what to record is the caller's. On the
//! first failure it schedules nothing new, lets running steps finish, and
//! reports what was done, what failed (with the driver's own typed error)
//! and what was skipped. Separate from the driver so every backend (the
//! Docker engine today, Swarm next) is scheduled the same way.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::steps::Step;
use crate::resource::Address;
use crate::state::StateError;

/// Carries out one step against the engine.
pub trait Driver: Send + Sync + 'static {
    type Outcome: Send + 'static;
    /// What a step fails with (the engine's error for the Docker backend).
    type Error: std::fmt::Display + Send + 'static;
    fn run(
        self: Arc<Self>,
        step: Step,
    ) -> impl Future<Output = Result<Self::Outcome, Self::Error>> + Send;

    /// What a step that failed still changed, to be recorded (a rollout
    /// that rolled back: the old containers are back). Asked once, after
    /// the step failed.
    fn salvage(&self, _step: &Step) -> Option<Self::Outcome> {
        None
    }

    /// Whether a failure of this step stops the run (nothing new is
    /// scheduled). A rollout with `failure_action: continue`, or within its
    /// `max_failure_ratio`, goes on; what depends on the failed step is
    /// still skipped.
    fn halts(&self, _step: &Step) -> bool {
        true
    }
}

/// Why one step failed.
#[derive(Debug)]
pub enum Failure<E> {
    /// The driver's error.
    Step(E),
    /// The step was done, but recording it failed.
    Record(StateError),
    /// The driver panicked: a bug in berth, reported against its step.
    Panicked(String),
}

impl<E: std::fmt::Display> std::fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Step(e) => write!(f, "{e}"),
            Failure::Record(e) => write!(f, "done, but not recorded: {e}"),
            Failure::Panicked(what) => {
                write!(
                    f,
                    "internal error (a bug in berth, please report it): {what}"
                )
            }
        }
    }
}

/// What the executor tells the user interface.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        address: Address,
        what: &'static str,
    },
    Finished {
        address: Address,
        what: &'static str,
        elapsed: Duration,
    },
    Failed {
        address: Address,
        what: &'static str,
        error: String,
    },
}

/// How the run ended.
#[derive(Debug)]
pub struct Report<E> {
    pub done: Vec<Address>,
    pub failed: Vec<(Address, Failure<E>)>,
    pub skipped: Vec<Address>,
}

impl<E> Default for Report<E> {
    fn default() -> Self {
        Report {
            done: Vec::new(),
            failed: Vec::new(),
            skipped: Vec::new(),
        }
    }
}

impl<E> Report<E> {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

pub fn describe(step: &Step) -> &'static str {
    use super::steps::StepKind;
    match step.kind {
        StepKind::Teardown { .. } => "destroying",
        StepKind::Build => "creating",
        StepKind::Start => "starting",
        StepKind::Update { .. } => "updating",
        StepKind::Roll { .. } => "rolling out",
        StepKind::Sweep { .. } => "removing a leftover of",
    }
}

/// A step's index, when it started, and what its driver returned.
type Finished<D> = (
    usize,
    Instant,
    Result<<D as Driver>::Outcome, <D as Driver>::Error>,
);

/// Run every step. `record` is called once per finished step, in completion
/// order, on this task (write the state there); an error from it counts as a
/// failure of that step.
pub async fn execute<D: Driver>(
    driver: Arc<D>,
    steps: Vec<Step>,
    parallelism: usize,
    mut record: impl FnMut(&Step, D::Outcome) -> Result<(), StateError>,
    mut event: impl FnMut(Event),
) -> Report<D::Error> {
    let n = steps.len();
    let mut waiting: Vec<usize> = steps.iter().map(|s| s.after.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, s) in steps.iter().enumerate() {
        for &d in &s.after {
            dependents[d].push(i);
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut started = vec![false; n];
    let mut report = Report::default();
    let mut running: JoinSet<Finished<D>> = JoinSet::new();
    // which step each task runs, for a task that panics
    let mut tasks = std::collections::HashMap::new();
    let mut failing = false;
    let parallelism = parallelism.max(1);
    loop {
        while !failing && running.len() < parallelism {
            let Some(i) = ready.pop_front() else { break };
            started[i] = true;
            let step = steps[i].clone();
            event(Event::Started {
                address: step.address.clone(),
                what: describe(&step),
            });
            let driver = driver.clone();
            let task = running.spawn(async move {
                let start = Instant::now();
                let result = driver.run(step).await;
                (i, start, result)
            });
            tasks.insert(task.id(), i);
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (i, start, result) = match joined {
            Ok((_, (i, start, result))) => (i, start, result.map_err(Failure::Step)),
            Err(e) => {
                // a panicking driver is a bug; still report it against its step, never hang
                let i = tasks[&e.id()];
                (i, Instant::now(), Err(Failure::Panicked(panic_message(e))))
            }
        };
        let step = &steps[i];
        let what = describe(step);
        let result = match result {
            Ok(outcome) => record(step, outcome).map_err(Failure::Record),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                event(Event::Finished {
                    address: step.address.clone(),
                    what,
                    elapsed: start.elapsed(),
                });
                report.done.push(step.address.clone());
                for &d in &dependents[i] {
                    waiting[d] -= 1;
                    if waiting[d] == 0 {
                        ready.push_back(d);
                    }
                }
            }
            Err(error) => {
                event(Event::Failed {
                    address: step.address.clone(),
                    what,
                    error: error.to_string(),
                });
                report.failed.push((step.address.clone(), error));
                if let Some(outcome) = driver.salvage(step)
                    && let Err(e) = record(step, outcome)
                {
                    report
                        .failed
                        .push((step.address.clone(), Failure::Record(e)));
                }
                if driver.halts(step) {
                    failing = true;
                }
            }
        }
    }
    report.skipped = (0..n)
        .filter(|&i| !started[i])
        .map(|i| steps[i].address.clone())
        .collect();
    report
}

/// What a panicking task said, when it said it with text.
fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a step panicked".into()),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::apply::steps::StepKind;

    struct Fake {
        log: Mutex<Vec<String>>,
        fail: Option<Address>,
        running: Mutex<(usize, usize)>,
    }

    impl Driver for Fake {
        type Outcome = ();
        type Error = String;
        async fn run(self: Arc<Self>, step: Step) -> Result<(), String> {
            {
                let mut r = self.running.lock().unwrap();
                r.0 += 1;
                r.1 = r.1.max(r.0);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.running.lock().unwrap().0 -= 1;
            self.log.lock().unwrap().push(step.address.to_string());
            if Some(&step.address) == self.fail.as_ref() {
                return Err("engine said no".into());
            }
            if step.address.to_string() == "container.panics[1]" {
                panic!("the driver has a bug");
            }
            Ok(())
        }
    }

    fn step(a: &str, after: &[usize]) -> Step {
        Step {
            address: a.parse().unwrap(),
            kind: StepKind::Build,
            after: after.to_vec(),
        }
    }

    fn run(
        steps: Vec<Step>,
        parallelism: usize,
        fail: Option<&str>,
    ) -> (Report<String>, Vec<String>, usize) {
        let fake = Arc::new(Fake {
            log: Mutex::new(vec![]),
            fail: fail.map(|f| f.parse().unwrap()),
            running: Mutex::new((0, 0)),
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let report = rt.block_on(execute(
            fake.clone(),
            steps,
            parallelism,
            |_, ()| Ok(()),
            |_| {},
        ));
        let log = fake.log.lock().unwrap().clone();
        let peak = fake.running.lock().unwrap().1;
        (report, log, peak)
    }

    fn failures(report: &Report<String>) -> Vec<String> {
        report
            .failed
            .iter()
            .map(|(a, f)| format!("{a}: {f}"))
            .collect()
    }

    #[test]
    fn dependencies_finish_first_and_independent_steps_overlap_up_to_the_bound() {
        let steps = vec![
            step("network.back", &[]),
            step("container.a[1]", &[0]),
            step("container.b[1]", &[0]),
            step("container.c[1]", &[0]),
            step("container.d[1]", &[1, 2, 3]),
        ];
        let (report, log, peak) = run(steps, 2, None);
        assert!(report.ok());
        assert_eq!(log[0], "network.back");
        assert_eq!(log[4], "container.d[1]");
        assert_eq!(peak, 2);
    }

    #[test]
    fn a_failure_stops_scheduling_lets_running_steps_finish_and_reports_the_rest() {
        let steps = vec![
            step("network.back", &[]),
            step("container.a[1]", &[0]),
            step("container.b[1]", &[1]),
            step("volume.v", &[]),
        ];
        let (report, _, _) = run(steps, 1, Some("container.a[1]"));
        assert_eq!(failures(&report), ["container.a[1]: engine said no"]);
        assert!(report.done.contains(&"network.back".parse().unwrap()));
        assert!(report.skipped.contains(&"container.b[1]".parse().unwrap()));
    }

    #[test]
    fn a_panicking_step_is_reported_against_its_own_address() {
        let steps = vec![
            step("network.back", &[]),
            step("container.panics[1]", &[0]),
            step("container.after[1]", &[1]),
        ];
        let (report, _, _) = run(steps, 2, None);
        assert_eq!(
            failures(&report),
            [
                "container.panics[1]: internal error (a bug in berth, please report it): the driver has a bug"
            ]
        );
        assert!(matches!(report.failed[0].1, Failure::Panicked(_)));
        assert_eq!(report.done, ["network.back".parse().unwrap()]);
        assert_eq!(report.skipped, ["container.after[1]".parse().unwrap()]);
    }
}
