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
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
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
    parts(split, |part| part.into_iter().map(&f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
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

/// How many threads `len` items are worth (at least one).
pub fn threads_for(len: usize) -> usize {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(len / MIN_PER_THREAD).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order() {
        for len in [0, 1, 255, 256, 1000, 4097] {
            let items: Vec<usize> = (0..len).collect();
            let out = map(&items, |i| i * 2);
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
