//! Idle connections by `host:port`: at most `max_idle` each, none older than
//! `idle_for`. The newest idle connection is reused first (its peer is the
//! least likely to have closed it); expired ones are dropped when the host's
//! list is touched and by a reaper that runs while any connection is idle.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// A connection that can wait in a [`Pool`].
pub(super) trait Reusable: Send + 'static {
    /// Whether the peer has closed it (or it is otherwise unusable).
    fn is_closed(&self) -> bool;
}

/// One idle connection and when it became idle.
struct Idle<C> {
    conn: C,
    since: Instant,
}

/// The idle connections of one client.
pub(super) struct Pool<C> {
    hosts: Mutex<HashMap<Arc<str>, VecDeque<Idle<C>>>>,
    max_idle: usize,
    idle_for: Duration,
    reaping: std::sync::atomic::AtomicBool,
}

impl<C: Reusable> Pool<C> {
    pub fn new(max_idle: usize, idle_for: Duration) -> Self {
        Pool {
            hosts: Mutex::new(HashMap::new()),
            max_idle,
            idle_for,
            reaping: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The newest live idle connection to `host`, if any.
    pub fn take(&self, host: &str) -> Option<C> {
        let mut hosts = self.lock();
        let idle = hosts.get_mut(host)?;
        let now = Instant::now();
        while let Some(entry) = idle.pop_back() {
            if now.duration_since(entry.since) < self.idle_for && !entry.conn.is_closed() {
                return Some(entry.conn);
            }
        }
        hosts.remove(host);
        None
    }

    /// Keeps `conn` to `host` for reuse, unless `host` has enough already.
    pub fn put(self: &Arc<Self>, host: &Arc<str>, conn: C) {
        if self.max_idle == 0 || self.idle_for.is_zero() {
            return;
        }
        let now = Instant::now();
        {
            let mut hosts = self.lock();
            let idle = hosts.entry(Arc::clone(host)).or_default();
            idle.retain(|e| now.duration_since(e.since) < self.idle_for);
            if idle.len() >= self.max_idle {
                // The oldest goes: it is the closest to its peer's time-out.
                idle.pop_front();
            }
            idle.push_back(Idle { conn, since: now });
        }
        self.start_reaper();
    }

    /// Idle connections to `host`.
    pub fn idle(&self, host: &str) -> usize {
        self.lock().get(host).map_or(0, VecDeque::len)
    }

    /// Drops every expired connection; whether any remain.
    fn reap(&self) -> bool {
        let now = Instant::now();
        let mut hosts = self.lock();
        hosts.retain(|_, idle| {
            idle.retain(|e| now.duration_since(e.since) < self.idle_for);
            !idle.is_empty()
        });
        !hosts.is_empty()
    }

    /// One reaper task while connections are idle; it holds the pool weakly
    /// and ends once the pool is empty or gone.
    fn start_reaper(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if self.reaping.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.reaping.store(false, Ordering::Release);
            return;
        };
        let pool: Weak<Self> = Arc::downgrade(self);
        let every = (self.idle_for / 4).max(Duration::from_millis(10));
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(pool) = pool.upgrade() else { return };
                if !pool.reap() {
                    pool.reaping.store(false, Ordering::Release);
                    // A connection put back meanwhile restarts the reaper
                    // unless this check sees it first.
                    if pool.lock().is_empty() || pool.reaping.swap(true, Ordering::AcqRel) {
                        return;
                    }
                }
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, VecDeque<Idle<C>>>> {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
