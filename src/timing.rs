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
                "timing: {what}: {:.1} ms",
                start.elapsed().as_secs_f64() * 1000.0
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
