//! The trackers of one upstream as a health-aware set.
//!
//! A tracker goes down after `consecutive_failures` failures in a row
//! (connect error, time-out, broken reply) and is skipped for `fail_timeout`,
//! then tried again; `consecutive_successes` successes bring it back at once
//! (see [`super::health`]). Healthy trackers are tried first, in rotating
//! order so load spreads; trackers marked down follow as a last resort, so a
//! request still has a chance when every tracker has recently failed.

use super::health::{Flip, HealthPolicy, HealthTable};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// One tracker and what was last observed of it.
#[derive(Debug)]
struct Member {
    addr: SocketAddr,
    seen: Mutex<Seen>,
}

/// What was last observed of a tracker, for the status page.
#[derive(Debug, Clone, Default)]
struct Seen {
    last_error: Option<(String, SystemTime)>,
    latency: Option<Duration>,
}

/// A tracker's health as the gateway sees it now.
#[derive(Debug, Clone)]
pub struct TrackerHealth {
    /// Its address.
    pub addr: SocketAddr,
    /// Not currently skipped after a failure.
    pub up: bool,
    /// The last failure and when it happened.
    pub last_error: Option<(String, SystemTime)>,
    /// The last measured round trip.
    pub latency: Option<Duration>,
}

/// The trackers of one upstream.
#[derive(Debug)]
pub struct TrackerSet {
    members: Vec<Member>,
    next: AtomicUsize,
    /// Health by tracker index.
    health: HealthTable<usize>,
}

impl TrackerSet {
    /// A set over `addrs`, skipping a tracker for `fail_timeout` after one
    /// failure.
    pub fn new(addrs: Vec<SocketAddr>, fail_timeout: Duration) -> Self {
        Self::with_health(addrs, HealthPolicy::new(fail_timeout))
    }

    /// A set over `addrs` whose health flips by `policy`.
    pub fn with_health(addrs: Vec<SocketAddr>, policy: HealthPolicy) -> Self {
        TrackerSet {
            members: addrs
                .into_iter()
                .map(|addr| Member {
                    addr,
                    seen: Mutex::new(Seen::default()),
                })
                .collect(),
            next: AtomicUsize::new(0),
            health: HealthTable::new(policy),
        }
    }

    /// Number of trackers.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when the set has no tracker.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Address of tracker `index`.
    pub fn addr(&self, index: usize) -> SocketAddr {
        self.members[index].addr
    }

    fn is_up(&self, index: usize, now: Instant) -> bool {
        self.health.is_up(&index, now)
    }

    /// Indexes in the order to try them: healthy ones from a rotating start,
    /// then those marked down.
    pub fn order(&self) -> Vec<usize> {
        let n = self.members.len();
        if n == 0 {
            return Vec::new();
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let now = Instant::now();
        let rotated = (0..n).map(|i| (start + i) % n);
        let (up, down): (Vec<usize>, Vec<usize>) = rotated.partition(|&i| self.is_up(i, now));
        up.into_iter().chain(down).collect()
    }

    /// True when at least one tracker is not marked down.
    pub fn any_up(&self) -> bool {
        let now = Instant::now();
        (0..self.members.len()).any(|i| self.is_up(i, now))
    }

    /// Records a success of tracker `index` (an answer, even `ERR`).
    pub fn mark_ok(&self, index: usize) {
        if self.health.record(&index, true, Instant::now()) == Some(Flip::Up) {
            tracing::debug!(tracker = %self.members[index].addr, "tracker is answering again");
        }
    }

    /// Records a failure of tracker `index`.
    pub fn mark_failed(&self, index: usize) {
        if self.health.record(&index, false, Instant::now()) == Some(Flip::Down) {
            let skip_for = self.health.policy().down_for;
            tracing::warn!(tracker = %self.members[index].addr, ?skip_for, "tracker failed; skipping it");
        }
    }

    /// Remembers why tracker `index` last failed.
    pub fn record_error(&self, index: usize, error: &dyn std::fmt::Display) {
        let mut seen = self.members[index]
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen.last_error = Some((error.to_string(), SystemTime::now()));
    }

    /// Remembers a measured round trip of tracker `index`.
    pub fn record_latency(&self, index: usize, latency: Duration) {
        self.members[index]
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .latency = Some(latency);
    }

    /// The health of tracker `index`.
    pub fn health(&self, index: usize) -> TrackerHealth {
        let seen = self.members[index]
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        TrackerHealth {
            addr: self.members[index].addr,
            up: self.is_up(index, Instant::now()),
            last_error: seen.last_error,
            latency: seen.latency,
        }
    }
}

#[cfg(test)]
mod tests {
    //! - healthy trackers rotate; failed ones go last until they recover;
    //! - a set with thresholds skips a tracker only after that many failures
    //!   in a row, and re-admits it only after that many successes;
    //! - poisoned locks, huge and zero fail_timeouts; the status view.
    use super::*;

    fn set(n: u16) -> TrackerSet {
        let addrs = (0..n)
            .map(|i| SocketAddr::from(([127, 0, 0, 1], 7001 + i)))
            .collect();
        TrackerSet::new(addrs, Duration::from_secs(60))
    }

    #[test]
    fn rotates_over_healthy_trackers() {
        let s = set(3);
        let firsts: Vec<usize> = (0..3).map(|_| s.order()[0]).collect();
        assert_eq!(firsts, [0, 1, 2]);
        assert_eq!(s.order().len(), 3);
    }

    #[test]
    fn failed_trackers_go_last_until_they_recover() {
        let s = set(2);
        s.mark_failed(0);
        for _ in 0..4 {
            assert_eq!(s.order(), [1, 0]);
        }
        s.mark_ok(0);
        let mut seen: Vec<usize> = (0..2).map(|_| s.order()[0]).collect();
        seen.sort();
        assert_eq!(seen, [0, 1]);
    }

    #[test]
    fn a_poisoned_lock_does_not_break_the_set() {
        let s = set(2);
        s.health.poison();
        s.mark_failed(0);
        assert_eq!(s.order(), [1, 0]);
        assert!(s.any_up());
        s.mark_ok(0);
        assert_eq!(s.order().len(), 2);
    }

    #[test]
    fn a_fail_timeout_beyond_the_clock_does_not_panic() {
        let s = TrackerSet::new(vec![SocketAddr::from(([127, 0, 0, 1], 1))], Duration::MAX);
        s.mark_failed(0);
        assert!(!s.any_up());
        s.mark_ok(0);
        assert!(s.any_up());
    }

    #[test]
    fn health_reports_errors_and_latency() {
        let s = set(1);
        assert!(s.health(0).up && s.health(0).last_error.is_none());
        s.mark_failed(0);
        s.record_error(0, &"connect: refused");
        s.record_latency(0, Duration::from_millis(3));
        let h = s.health(0);
        assert!(!h.up);
        assert_eq!(h.last_error.unwrap().0, "connect: refused");
        assert_eq!(h.latency, Some(Duration::from_millis(3)));
        s.mark_ok(0);
        assert!(s.health(0).up, "up again; the last error stays on record");
    }

    #[test]
    fn failure_expires() {
        let s = TrackerSet::new(vec![SocketAddr::from(([127, 0, 0, 1], 1))], Duration::ZERO);
        s.mark_failed(0);
        assert!(s.is_up(0, Instant::now()));
    }

    #[test]
    fn thresholds_decide_when_a_tracker_is_skipped_and_readmitted() {
        let addrs = vec![
            SocketAddr::from(([127, 0, 0, 1], 7001)),
            SocketAddr::from(([127, 0, 0, 1], 7002)),
        ];
        let s = TrackerSet::with_health(
            addrs,
            HealthPolicy {
                consecutive_failures: 2,
                consecutive_successes: 2,
                down_for: Duration::from_secs(60),
            },
        );
        s.mark_failed(0);
        assert!(s.health(0).up, "one failure of two");
        s.mark_failed(0);
        assert!(!s.health(0).up);
        assert_eq!(s.order(), [1, 0]);
        s.mark_ok(0);
        assert!(!s.health(0).up, "one success of two");
        s.mark_ok(0);
        assert!(s.health(0).up);
    }
}
