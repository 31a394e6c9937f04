//! The one background prober: it checks every tracker of a client's set at
//! an interval, so that trackers that went down are re-admitted (and dead
//! ones found) before a request has to gamble on them.

use super::TrackerSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A client whose trackers can be checked with a cheap command (`noop`,
/// ACTIVE_TEST).
pub trait Probe: Send + Sync + 'static {
    /// The trackers checked, whose health the outcomes feed.
    fn probed(&self) -> &TrackerSet;

    /// One liveness exchange with tracker `index`: true when it answered well.
    fn check(&self, index: usize) -> impl Future<Output = bool> + Send;
}

/// Checks every tracker of `client` each `interval` (zero: never), each
/// outcome recorded as a success or failure of that tracker. The task holds
/// `client` weakly and ends once it is dropped (e.g. replaced by a config
/// reload). Each check runs as a task of its own, so one that panics is
/// logged and the next interval checks again.
pub fn spawn_prober<C: Probe>(client: &Arc<C>, interval: Duration) {
    if interval.is_zero() {
        return;
    }
    let weak = Arc::downgrade(client);
    let count = client.probed().len();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            for index in 0..count {
                let Some(client) = weak.upgrade() else { return };
                let check = tokio::spawn(async move {
                    let healthy = client.check(index).await;
                    let trackers = client.probed();
                    if healthy {
                        trackers.mark_ok(index);
                    } else {
                        trackers.mark_failed(index);
                    }
                });
                if let Err(e) = check.await {
                    tracing::error!(tracker = index, "tracker probe failed: {e}");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    //! - a check that panics does not stop later checks;
    //! - check outcomes flip the tracker's health by the set's thresholds;
    //! - the prober ends once its client is dropped; zero interval never checks.
    use super::*;
    use crate::clients::health::HealthPolicy;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A client whose checks count themselves and answer `healthy`; the first
    /// one panics when `panic_first`.
    struct Fake {
        trackers: TrackerSet,
        checks: AtomicUsize,
        healthy: AtomicBool,
        panic_first: bool,
    }

    impl Probe for Fake {
        fn probed(&self) -> &TrackerSet {
            &self.trackers
        }
        async fn check(&self, _index: usize) -> bool {
            if self.checks.fetch_add(1, Ordering::SeqCst) == 0 && self.panic_first {
                panic!("the first check panics");
            }
            self.healthy.load(Ordering::SeqCst)
        }
    }

    fn fake(failures: u32, healthy: bool, panic_first: bool) -> Arc<Fake> {
        let policy = HealthPolicy {
            consecutive_failures: failures,
            consecutive_successes: 1,
            down_for: Duration::from_secs(60),
        };
        Arc::new(Fake {
            trackers: TrackerSet::with_health(vec![SocketAddr::from(([127, 0, 0, 1], 1))], policy),
            checks: AtomicUsize::new(0),
            healthy: AtomicBool::new(healthy),
            panic_first,
        })
    }

    /// Waits (at most 5 s) until `done` holds.
    async fn until(done: impl Fn() -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !done() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        done()
    }

    #[tokio::test]
    async fn a_panicking_check_does_not_end_probing() {
        let client = fake(1, true, true);
        spawn_prober(&client, Duration::from_millis(5));
        assert!(
            until(|| client.checks.load(Ordering::SeqCst) >= 3).await,
            "probing went on"
        );
    }

    #[tokio::test]
    async fn outcomes_flip_health_by_the_thresholds() {
        let client = fake(3, false, false);
        spawn_prober(&client, Duration::from_millis(5));
        assert!(until(|| !client.trackers.health(0).up).await);
        assert!(
            client.checks.load(Ordering::SeqCst) >= 3,
            "down only after three failed checks"
        );
        client.healthy.store(true, Ordering::SeqCst);
        assert!(until(|| client.trackers.health(0).up).await, "re-admitted");
    }

    #[tokio::test]
    async fn ends_with_its_client_and_zero_interval_never_checks() {
        let idle = fake(1, true, false);
        spawn_prober(&idle, Duration::ZERO);
        let client = fake(1, true, false);
        spawn_prober(&client, Duration::from_millis(5));
        assert!(until(|| client.checks.load(Ordering::SeqCst) >= 1).await);
        let weak = Arc::downgrade(&client);
        drop(client);
        // The prober holds the client only during a check.
        assert!(until(|| weak.strong_count() == 0).await);
        assert_eq!(idle.checks.load(Ordering::SeqCst), 0);
    }
}
