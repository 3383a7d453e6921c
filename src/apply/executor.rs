//! The executor: runs steps as their dependencies finish, at most
//! `parallelism` at a time. It decides nothing: what each step does is the
//! [`Driver`]'s job, what to record is the caller's. On the first failure it
//! schedules nothing new, lets running steps finish, and reports what was
//! done, what failed and what was skipped.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::steps::Step;
use crate::resource::Address;

/// Carries out one step against the engine.
pub trait Driver: Send + Sync + 'static {
    type Outcome: Send + 'static;
    fn run(
        self: Arc<Self>,
        step: Step,
    ) -> impl Future<Output = Result<Self::Outcome, String>> + Send;
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
#[derive(Debug, Default, PartialEq)]
pub struct Report {
    pub done: Vec<Address>,
    pub failed: Vec<(Address, String)>,
    pub skipped: Vec<Address>,
}

impl Report {
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
    }
}

/// Run every step. `record` is called once per finished step, in completion
/// order, on this task (write the state there); an error from it counts as a
/// failure of that step.
pub async fn execute<D: Driver>(
    driver: Arc<D>,
    steps: Vec<Step>,
    parallelism: usize,
    mut record: impl FnMut(&Step, D::Outcome) -> Result<(), String>,
    mut event: impl FnMut(Event),
) -> Report {
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
    let mut running: JoinSet<(usize, Instant, Result<D::Outcome, String>)> = JoinSet::new();
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
            running.spawn(async move {
                let start = Instant::now();
                let result = driver.run(step).await;
                (i, start, result)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (i, start, result) = match joined {
            Ok(x) => x,
            Err(e) => {
                // a panicking driver is a bug; still report it as a failure, never hang
                failing = true;
                report
                    .failed
                    .push((Address::network("?"), format!("internal error: {e}")));
                continue;
            }
        };
        let step = &steps[i];
        let what = describe(step);
        let result = result.and_then(|outcome| record(step, outcome));
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
                    error: error.clone(),
                });
                report.failed.push((step.address.clone(), error));
                failing = true;
            }
        }
    }
    report.skipped = (0..n)
        .filter(|&i| !started[i])
        .map(|i| steps[i].address.clone())
        .collect();
    report
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
    ) -> (Report, Vec<String>, usize) {
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
        assert_eq!(
            report.failed,
            [(
                "container.a[1]".parse().unwrap(),
                "engine said no".to_string()
            )]
        );
        assert!(report.done.contains(&"network.back".parse().unwrap()));
        assert!(report.skipped.contains(&"container.b[1]".parse().unwrap()));
    }
}
