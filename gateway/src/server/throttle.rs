//! Warnings that may repeat thousands of times a second (every refused
//! connection, every failed accept) written at most once per period, with a
//! count of the ones left out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often a throttled warning is written at most.
pub const PERIOD: Duration = Duration::from_secs(10);

/// One kind of repeated warning.
#[derive(Debug, Default)]
pub struct Throttle {
    last: Mutex<Option<Instant>>,
    skipped: AtomicU64,
}

impl Throttle {
    /// Calls `log` with the number of occurrences not logged since the last
    /// line, if [`PERIOD`] has passed since then; otherwise counts this one.
    pub fn hit(&self, log: impl FnOnce(u64)) {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|t| now.duration_since(t) < PERIOD) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        drop(last);
        log(self.skipped.swap(0, Ordering::Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_once_per_period_and_counts_the_rest() {
        let throttle = Throttle::default();
        let mut lines = Vec::new();
        for _ in 0..1000 {
            throttle.hit(|skipped| lines.push(skipped));
        }
        assert_eq!(lines, vec![0]);
        assert_eq!(throttle.skipped.load(Ordering::Relaxed), 999);
        *throttle.last.lock().unwrap() = Some(Instant::now() - PERIOD);
        throttle.hit(|skipped| lines.push(skipped));
        assert_eq!(lines, vec![0, 999]);
    }
}
