//! Health of peers (trackers, storage nodes) that flips only after a run of
//! like outcomes, as pingora's health checks do.
//!
//! A healthy peer goes down after [`HealthPolicy::consecutive_failures`]
//! failures in a row; a down peer comes back after
//! [`HealthPolicy::consecutive_successes`] successes in a row. A down peer is
//! also tried again as if healthy once [`HealthPolicy::down_for`] has passed
//! since its last failure (nginx's `fail_timeout`): storage nodes have no
//! prober, and a request must not skip a recovered peer for ever. While it is
//! on trial like that, one more failure benches it again at once.
//!
//! ```text
//!            consecutive_failures failures
//!   healthy ------------------------------> down (until now + down_for)
//!      ^                                      |  a failure re-arms down_for
//!      +--------------------------------------+
//!            consecutive_successes successes
//! ```
//!
//! The time of each outcome is passed in, so the thresholds are tested
//! without sleeping.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Stand-in for a `down_for` beyond the clock's range (30 years, as tokio
/// caps its timers).
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 86_400);

/// When a peer's health flips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Failures in a row that take a healthy peer down (at least 1).
    pub consecutive_failures: u32,
    /// Successes in a row that bring a down peer back (at least 1).
    pub consecutive_successes: u32,
    /// How long a down peer is tried last; zero turns health tracking off.
    pub down_for: Duration,
}

impl HealthPolicy {
    /// Down after one failure for `down_for`, back after one success.
    pub fn new(down_for: Duration) -> Self {
        HealthPolicy {
            consecutive_failures: 1,
            consecutive_successes: 1,
            down_for,
        }
    }
}

/// A change of health caused by one outcome: the moment to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flip {
    /// The peer went down.
    Down,
    /// The peer is healthy again.
    Up,
}

/// One peer's run of outcomes.
#[derive(Debug, Clone, Default)]
struct PeerState {
    /// Set while the peer is down: when it is next tried as healthy.
    down_until: Option<Instant>,
    /// Failures in a row while healthy.
    failures: u32,
    /// Successes in a row while down.
    successes: u32,
}

impl PeerState {
    fn is_up(&self, now: Instant) -> bool {
        self.down_until.is_none_or(|until| until <= now)
    }

    /// True when the state says nothing a new peer would not.
    fn is_pristine(&self) -> bool {
        self.down_until.is_none() && self.failures == 0 && self.successes == 0
    }

    fn record(&mut self, ok: bool, now: Instant, policy: &HealthPolicy) -> Option<Flip> {
        if ok {
            self.failures = 0;
            self.down_until?;
            self.successes += 1;
            if self.successes < policy.consecutive_successes.max(1) {
                return None;
            }
            *self = PeerState::default();
            return Some(Flip::Up);
        }
        self.successes = 0;
        // The config bounds down_for; past the clock's range, "down for
        // good" is what was asked for.
        let until = now.checked_add(policy.down_for).unwrap_or(now + FAR_FUTURE);
        if self.down_until.is_some() {
            self.down_until = Some(until);
            return None;
        }
        self.failures += 1;
        if self.failures < policy.consecutive_failures.max(1) {
            return None;
        }
        self.failures = 0;
        self.down_until = Some(until);
        Some(Flip::Down)
    }
}

/// The health of a set of peers, by key (a tracker's index, a storage
/// node's `host:port`). Only peers with something on record have an entry:
/// while every peer is healthy with a clean run, look-ups neither lock nor
/// hash.
#[derive(Debug)]
pub struct HealthTable<K> {
    peers: Mutex<HashMap<K, PeerState>>,
    /// Whether `peers` has entries.
    any_tracked: AtomicBool,
    policy: HealthPolicy,
}

impl<K: Eq + Hash> HealthTable<K> {
    /// A table flipping health by `policy`, every peer healthy.
    pub fn new(policy: HealthPolicy) -> Self {
        HealthTable {
            peers: Mutex::new(HashMap::new()),
            any_tracked: AtomicBool::new(false),
            policy,
        }
    }

    /// The policy the table applies.
    pub fn policy(&self) -> &HealthPolicy {
        &self.policy
    }

    /// The peers. A panic elsewhere while this was held left nothing
    /// half-written that matters (at worst one peer's run of outcomes), so a
    /// poisoned lock is taken over rather than breaking every later request.
    fn lock(&self) -> MutexGuard<'_, HashMap<K, PeerState>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether every peer is healthy and has no failure on record: nothing
    /// to reorder, nothing to look up.
    pub fn all_pristine(&self) -> bool {
        !self.any_tracked.load(Ordering::Relaxed)
    }

    /// True unless `key` is down at `now`.
    pub fn is_up<Q>(&self, key: &Q, now: Instant) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.any_tracked.load(Ordering::Relaxed) {
            return true;
        }
        self.lock().get(key).is_none_or(|peer| peer.is_up(now))
    }

    /// Records one outcome for `key` at `now`; says whether it flipped the
    /// peer's health.
    pub fn record<Q>(&self, key: &Q, ok: bool, now: Instant) -> Option<Flip>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if self.policy.down_for.is_zero() || (ok && !self.any_tracked.load(Ordering::Relaxed)) {
            return None;
        }
        let mut peers = self.lock();
        let flip = match peers.get_mut(key) {
            Some(peer) => {
                let flip = peer.record(ok, now, &self.policy);
                if peer.is_pristine() {
                    peers.remove(key);
                }
                flip
            }
            None => {
                let mut peer = PeerState::default();
                let flip = peer.record(ok, now, &self.policy);
                if !peer.is_pristine() {
                    peers.insert(key.to_owned(), peer);
                }
                flip
            }
        };
        self.any_tracked.store(!peers.is_empty(), Ordering::Relaxed);
        flip
    }

    /// Poisons the table's lock, for tests of what follows.
    #[cfg(test)]
    pub(crate) fn poison(&self) {
        let poison = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _held = self.peers.lock();
            panic!("a panic while the lock is held");
        }));
        assert!(poison.is_err() && self.peers.is_poisoned());
    }
}

#[cfg(test)]
mod tests {
    //! - one failure and one success flip health under the default policy;
    //! - `consecutive_failures` failures in a row are needed to go down, and
    //!   a success in between starts the count again;
    //! - `consecutive_successes` successes in a row are needed to come back,
    //!   and a failure in between starts the count again (and re-arms
    //!   `down_for`);
    //! - a down peer is tried again once `down_for` has passed, and one
    //!   failure on trial benches it again;
    //! - zero `down_for` tracks nothing; a `down_for` past the clock's range
    //!   does not panic; a poisoned lock is taken over;
    //! - peers back to a clean run leave the table.
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn table(failures: u32, successes: u32) -> HealthTable<String> {
        HealthTable::new(HealthPolicy {
            consecutive_failures: failures,
            consecutive_successes: successes,
            down_for: Duration::from_secs(10),
        })
    }

    #[test]
    fn the_default_policy_flips_on_one_outcome() {
        let t = HealthTable::<String>::new(HealthPolicy::new(10 * SEC));
        let now = Instant::now();
        assert_eq!(t.record("a", false, now), Some(Flip::Down));
        assert!(!t.is_up("a", now));
        assert!(t.is_up("b", now));
        assert_eq!(t.record("a", true, now), Some(Flip::Up));
        assert!(t.is_up("a", now));
    }

    #[test]
    fn goes_down_after_consecutive_failures_only() {
        let t = table(3, 1);
        let now = Instant::now();
        assert_eq!(t.record("a", false, now), None);
        assert_eq!(t.record("a", false, now), None);
        assert!(t.is_up("a", now), "two failures of three");
        assert_eq!(t.record("a", true, now), None);
        assert_eq!(t.record("a", false, now), None);
        assert_eq!(t.record("a", false, now), None);
        assert!(t.is_up("a", now), "the success started the count again");
        assert_eq!(t.record("a", false, now), Some(Flip::Down));
        assert!(!t.is_up("a", now));
        assert_eq!(t.record("a", false, now), None, "already down: no flip");
    }

    #[test]
    fn comes_back_after_consecutive_successes_only() {
        let t = table(1, 2);
        let start = Instant::now();
        assert_eq!(t.record("a", false, start), Some(Flip::Down));
        assert_eq!(t.record("a", true, start), None);
        assert!(!t.is_up("a", start), "one success of two");
        // A failure in between restarts the count and re-arms down_for.
        let later = start + 5 * SEC;
        assert_eq!(t.record("a", false, later), None);
        assert!(
            !t.is_up("a", start + 12 * SEC),
            "down_for counts from the last failure"
        );
        assert!(t.is_up("a", later + 10 * SEC));
        assert_eq!(t.record("a", true, later), None);
        assert_eq!(t.record("a", true, later), Some(Flip::Up));
        assert!(t.is_up("a", later));
    }

    #[test]
    fn a_down_peer_is_on_trial_after_down_for() {
        let t = table(3, 3);
        let start = Instant::now();
        for _ in 0..3 {
            t.record("a", false, start);
        }
        assert!(!t.is_up("a", start + 9 * SEC));
        let trial = start + 10 * SEC;
        assert!(t.is_up("a", trial));
        // On trial, one failure (not three) benches it again.
        assert_eq!(t.record("a", false, trial), None);
        assert!(!t.is_up("a", trial + 9 * SEC));
        assert!(t.is_up("a", trial + 10 * SEC));
    }

    #[test]
    fn zero_down_for_tracks_nothing() {
        let t = HealthTable::<String>::new(HealthPolicy::new(Duration::ZERO));
        let now = Instant::now();
        assert_eq!(t.record("a", false, now), None);
        assert!(t.is_up("a", now));
        assert!(t.lock().is_empty());
    }

    #[test]
    fn a_down_for_beyond_the_clock_does_not_panic() {
        let t = HealthTable::<String>::new(HealthPolicy::new(Duration::MAX));
        let now = Instant::now();
        assert_eq!(t.record("a", false, now), Some(Flip::Down));
        assert!(!t.is_up("a", now + 3650 * 86_400 * SEC));
        assert_eq!(t.record("a", true, now), Some(Flip::Up));
    }

    #[test]
    fn a_poisoned_lock_is_taken_over() {
        let t = table(1, 1);
        t.poison();
        let now = Instant::now();
        assert_eq!(t.record("a", false, now), Some(Flip::Down));
        assert!(!t.is_up("a", now));
        assert_eq!(t.record("a", true, now), Some(Flip::Up));
    }

    #[test]
    fn peers_with_a_clean_run_leave_the_table() {
        let t = table(2, 1);
        let now = Instant::now();
        t.record("a", false, now);
        assert_eq!(t.lock().len(), 1, "one failure of two is on record");
        t.record("a", true, now);
        assert!(t.lock().is_empty());
        assert!(!t.any_tracked.load(Ordering::Relaxed));
        t.record("b", false, now);
        t.record("b", false, now);
        t.record("b", true, now);
        assert!(t.lock().is_empty());
    }
}
