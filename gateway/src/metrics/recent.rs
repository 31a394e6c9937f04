//! Requests and server errors of the last minute, in one-second buckets,
//! for the status page's requests/s and error rate.
//!
//! Recording is two relaxed atomic adds (plus a reset when a bucket's second
//! has passed); a request racing the reset of its bucket may be lost, which a
//! rate meant for eyes can afford.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Buckets kept: the window is this many seconds.
pub const WINDOW_SECS: u64 = 60;

#[derive(Debug, Default)]
struct Bucket {
    /// The second (since `start`) this bucket counts, plus one (0: unused).
    second: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
}

/// The counts of the last [`WINDOW_SECS`] seconds.
#[derive(Debug)]
pub struct Recent {
    start: Instant,
    buckets: Vec<Bucket>,
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            start: Instant::now(),
            buckets: (0..WINDOW_SECS).map(|_| Bucket::default()).collect(),
        }
    }
}

/// Requests per second and the share of them that failed with a 5xx.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Requests per second over the window (or the uptime, when shorter).
    pub requests_per_second: f64,
    /// 5xx answers over requests, `None` without requests.
    pub error_rate: Option<f64>,
}

impl Recent {
    fn now(&self) -> u64 {
        self.start.elapsed().as_secs() + 1
    }

    /// Counts one request, `error` when it was answered 5xx.
    pub fn record(&self, error: bool) {
        self.record_at(self.now(), error);
    }

    fn record_at(&self, second: u64, error: bool) {
        let bucket = &self.buckets[(second % WINDOW_SECS) as usize];
        let seen = bucket.second.load(Ordering::Relaxed);
        if seen != second
            && bucket
                .second
                .compare_exchange(seen, second, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            bucket.requests.store(0, Ordering::Relaxed);
            bucket.errors.store(0, Ordering::Relaxed);
        }
        bucket.requests.fetch_add(1, Ordering::Relaxed);
        if error {
            bucket.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The rates of the last full window.
    pub fn rates(&self) -> Rates {
        self.rates_at(self.now())
    }

    fn rates_at(&self, now: u64) -> Rates {
        let live = |b: &&Bucket| {
            let s = b.second.load(Ordering::Relaxed);
            s != 0 && s + WINDOW_SECS > now && s <= now
        };
        let (mut requests, mut errors) = (0u64, 0u64);
        for b in self.buckets.iter().filter(live) {
            requests += b.requests.load(Ordering::Relaxed);
            errors += b.errors.load(Ordering::Relaxed);
        }
        let span = now.clamp(1, WINDOW_SECS) as f64;
        Rates {
            requests_per_second: requests as f64 / span,
            error_rate: (requests > 0).then(|| errors as f64 / requests as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The window counts recent requests and errors and forgets old ones.
    use super::*;

    #[test]
    fn counts_the_last_minute_only() {
        let r = Recent::default();
        for _ in 0..30 {
            r.record_at(1, false);
        }
        r.record_at(2, true);
        r.record_at(2, false);
        let now = r.rates_at(2);
        assert_eq!(now.requests_per_second, 32.0 / 2.0);
        assert_eq!(now.error_rate, Some(1.0 / 32.0));
        let later = r.rates_at(61);
        assert_eq!(
            later.requests_per_second,
            2.0 / 60.0,
            "second 1 has left the window"
        );
        // Second 62 reuses second 2's bucket and starts it afresh.
        r.record_at(62, false);
        let reused = r.rates_at(62);
        assert_eq!(reused.requests_per_second, 1.0 / 60.0);
        assert_eq!(reused.error_rate, Some(0.0));
        assert_eq!(Recent::default().rates_at(5).error_rate, None);
    }
}
