//! Phase timings on stderr when `BERTH_TIMINGS` is set: for profiling (see
//! BENCHMARKS.md), never for behaviour.

/// Prints the time since the previous lap, when enabled.
pub struct Timer(Option<std::time::Instant>);

impl Timer {
    pub fn new() -> Self {
        Timer(std::env::var_os("BERTH_TIMINGS").map(|_| std::time::Instant::now()))
    }

    pub fn lap(&mut self, what: &str) {
        if let Some(start) = self.0 {
            eprintln!(
                "timing: {what}: {:.1} ms{}",
                start.elapsed().as_secs_f64() * 1000.0,
                memory()
            );
            self.0 = Some(std::time::Instant::now());
        }
    }
}

impl Default for Timer {
    fn default() -> Self {
        Self::new()
    }
}

/// Resident memory now and at its peak (Linux `/proc/self/status`), for the
/// phase lines: where memory peaks matters as much as where time goes.
fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().trim_end_matches(" kB").trim().to_string())
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(now), Some(peak)) => format!(" (rss {now} kB, peak {peak} kB)"),
        _ => String::new(),
    }
}
