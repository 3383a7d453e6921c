//! Work split over the machine's cores, results in input order.
//!
//! Plans of thousands of services resolve and diff every resource
//! independently; `map` runs such a loop on scoped threads (no pool, no new
//! dependency) and gives back exactly what the sequential loop would, so
//! output and hashes do not depend on the number of cores.

use std::thread;

/// Below this many items per thread, starting threads costs more than it saves.
const MIN_PER_THREAD: usize = 256;

/// `items.iter().map(f).collect()`, split in contiguous chunks over the
/// available cores. A panic in `f` is propagated as it would be sequentially.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_owned(items.iter().collect(), f)
}

/// `items.into_iter().map(f).collect()` in parallel: each item is moved into
/// `f`, so what `f` does not keep is freed as the work goes.
pub fn map_owned<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = threads_for(items.len());
    map_on(threads, items, f)
}

/// [`map_owned`] for items that are each worth a thread (a directory tree
/// to walk): split over every core however few they are.
pub fn map_heavy<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let cores = cores();
    map_on(cores.min(items.len()).max(1), items, f)
}

/// `items` in `threads` contiguous chunks, `f` of each item, results in order.
fn map_on<T: Send, R: Send>(
    threads: usize,
    mut items: Vec<T>,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let mut split = Vec::with_capacity(threads);
    while items.len() > chunk {
        let rest = items.split_off(chunk);
        split.push(items);
        items = rest;
    }
    split.push(items);
    concat(parts(split, |part| {
        part.into_iter().map(&f).collect::<Vec<R>>()
    }))
}

/// The parts' results in one vector, allocated once: collecting a flattened
/// iterator grows it by doubling (its length is not known up front), and a
/// plan's 10,000 changes were copied through every size on the way.
pub fn concat<R>(parts: Vec<Vec<R>>) -> Vec<R> {
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend(part);
    }
    out
}

/// `f` of every part, each on its own thread (the first on the calling
/// thread), results in the order of the parts.
pub fn parts<P: Send, R: Send>(parts: Vec<P>, f: impl Fn(P) -> R + Sync) -> Vec<R> {
    let f = &f;
    thread::scope(|scope| {
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else {
            return Vec::new();
        };
        let workers: Vec<_> = parts.map(|part| scope.spawn(move || f(part))).collect();
        // the calling thread works too instead of waiting idle
        let mut out = vec![f(first)];
        for w in workers {
            match w.join() {
                Ok(r) => out.push(r),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// Work that finds more work as it goes (a directory tree to walk): `f` of
/// `root` and of every task it, or a task after it, hands to
/// [`Spawner::spawn`], on every core, each task taken by the first thread
/// free (a tree is rarely even). The results come back indexed by task
/// number: the root is 0, the others numbered as they were spawned
/// ([`Spawner::spawn`] returns it), so the caller puts them in order.
pub fn tree<T: Send, R: Send>(root: T, f: impl Fn(T, &Spawner<T>) -> R + Sync) -> Vec<R> {
    let spawner = Spawner {
        queue: std::sync::Mutex::new(Queue {
            pending: vec![(0, root)],
            spawned: 1,
            busy: 0,
            panicked: false,
        }),
        changed: std::sync::Condvar::new(),
    };
    let work = || {
        let mut done = Vec::new();
        while let Some((id, task)) = spawner.next() {
            let guard = Busy(&spawner);
            done.push((id, f(task, &spawner)));
            drop(guard);
        }
        done
    };
    let cores = cores();
    let mut done = thread::scope(|scope| {
        let workers: Vec<_> = (1..cores).map(|_| scope.spawn(work)).collect();
        let mut done = work();
        for w in workers {
            match w.join() {
                Ok(mut more) => done.append(&mut more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    });
    done.sort_unstable_by_key(|(id, _)| *id);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Hands tasks to [`tree`]'s threads.
pub struct Spawner<T> {
    queue: std::sync::Mutex<Queue<T>>,
    changed: std::sync::Condvar,
}

struct Queue<T> {
    /// spawned and not yet taken, with their numbers
    pending: Vec<(usize, T)>,
    /// tasks numbered so far
    spawned: usize,
    /// tasks being worked on: while one is, more may come
    busy: usize,
    /// a task panicked: every thread stops (the panic is passed on)
    panicked: bool,
}

impl<T> Spawner<T> {
    /// Queue `task` for the first thread free; its number among the results.
    pub fn spawn(&self, task: T) -> usize {
        let mut q = self.lock();
        let id = q.spawned;
        q.spawned += 1;
        q.pending.push((id, task));
        drop(q);
        self.changed.notify_one();
        id
    }

    /// The next task (the last spawned first: the walk stays deep and the
    /// queue short), waiting while none is queued but some is being worked
    /// on; None when all is done.
    fn next(&self) -> Option<(usize, T)> {
        let mut q = self.lock();
        loop {
            if q.panicked {
                return None;
            }
            if let Some(task) = q.pending.pop() {
                q.busy += 1;
                return Some(task);
            }
            if q.busy == 0 {
                return None;
            }
            q = self.changed.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<T>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A task being worked on; when it ends (also by a panic) the threads
/// waiting for more work are woken to see whether any will come.
struct Busy<'a, T>(&'a Spawner<T>);

impl<T> Drop for Busy<'_, T> {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        q.busy -= 1;
        q.panicked |= thread::panicking();
        let wake = q.busy == 0 || q.panicked;
        drop(q);
        if wake {
            self.0.changed.notify_all();
        }
    }
}

/// The machine's cores (as the scheduler lets this process use them),
/// asked once: the answer reads cgroup files.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get()))
}

/// How many threads `len` items are worth (at least one).
pub fn threads_for(len: usize) -> usize {
    let cores = cores();
    cores.min(len / MIN_PER_THREAD).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_gives_every_task_its_result_by_number() {
        // a binary tree of depth 10: task n spawns 2n+1 and 2n+2
        let out = tree(0usize, |n, s| {
            let mut kids = Vec::new();
            if n < 1023 {
                kids.push(s.spawn(2 * n + 1));
                kids.push(s.spawn(2 * n + 2));
            }
            (n, kids)
        });
        assert_eq!(out.len(), 2047);
        // the numbers are handed out as spawned, not by value: follow them
        fn count(out: &[(usize, Vec<usize>)], at: usize) -> usize {
            1 + out[at].1.iter().map(|&k| count(out, k)).sum::<usize>()
        }
        assert_eq!(count(&out, 0), 2047);
        let mut values: Vec<usize> = out.iter().map(|(n, _)| *n).collect();
        values.sort_unstable();
        assert_eq!(values, (0..2047).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_task_panics_the_caller_without_hanging() {
        let r = std::panic::catch_unwind(|| {
            tree(0usize, |n, s| {
                if n < 50 {
                    s.spawn(n + 1);
                }
                assert!(n != 20, "task 20");
            })
        });
        assert!(r.is_err());
    }

    #[test]
    fn results_keep_the_input_order() {
        for len in [0, 1, 255, 256, 1000, 4097] {
            let items: Vec<usize> = (0..len).collect();
            let out = map(&items, |i| i * 2);
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
