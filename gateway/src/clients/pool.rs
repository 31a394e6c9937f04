//! Idle persistent connections, per server, for every protocol client.
//!
//! MogileFS and FastDFS both allow one request in flight per socket, so a
//! connection is taken out for one exchange (exclusive use) and put back only
//! after a complete reply. Connections idle for longer than
//! [`PoolLimits::idle_timeout`] are closed instead of reused: servers and
//! firewalls drop idle sockets, and a fresh connect is cheap. Liveness checks
//! (`noop`, ACTIVE_TEST) are the client's business.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The idle age past which a connection is not reused, unless configured
/// otherwise (`idle_timeout`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// A connection a [`Pool`] can hold: it names the server it is connected to.
pub trait Pooled {
    /// What connections are grouped by (a server's address).
    type Key: Eq + Hash + Clone + std::fmt::Debug;

    /// The server this connection is to.
    fn pool_key(&self) -> Self::Key;
}

/// How many idle connections a pool keeps, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLimits {
    /// Idle connections kept per server.
    pub max_idle: usize,
    /// Idle connections older than this are closed rather than reused.
    pub idle_timeout: Duration,
}

impl PoolLimits {
    /// Up to `max_idle` per server, reused within [`DEFAULT_IDLE_TIMEOUT`].
    pub fn new(max_idle: usize) -> Self {
        PoolLimits {
            max_idle,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// An idle connection and when it was put back.
#[derive(Debug)]
struct Idle<C> {
    conn: C,
    since: Instant,
}

/// Idle connections by server.
#[derive(Debug)]
pub struct Pool<C: Pooled> {
    idle: Mutex<HashMap<C::Key, Vec<Idle<C>>>>,
    limits: PoolLimits,
}

impl<C: Pooled> Pool<C> {
    /// An empty pool keeping connections within `limits`.
    pub fn new(limits: PoolLimits) -> Self {
        Pool {
            idle: Mutex::new(HashMap::new()),
            limits,
        }
    }

    /// A panic elsewhere while this was held left at worst one list of idle
    /// connections short, so a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, HashMap<C::Key, Vec<Idle<C>>>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently used idle connection to `key` that is young enough;
    /// older ones are closed on the way.
    pub fn take(&self, key: &C::Key) -> Option<C> {
        self.take_at(key, Instant::now())
    }

    fn take_at(&self, key: &C::Key, now: Instant) -> Option<C> {
        let mut idle = self.lock();
        let conns = idle.get_mut(key)?;
        while let Some(entry) = conns.pop() {
            if now.saturating_duration_since(entry.since) < self.limits.idle_timeout {
                return Some(entry.conn);
            }
        }
        None
    }

    /// Returns a connection whose last exchange completed.
    pub fn put(&self, conn: C) {
        self.put_at(conn, Instant::now());
    }

    fn put_at(&self, conn: C, since: Instant) {
        let mut idle = self.lock();
        let conns = idle.entry(conn.pool_key()).or_default();
        if conns.len() < self.limits.max_idle {
            conns.push(Idle { conn, since });
        }
    }

    /// Idle connections to `key` (for tests and metrics).
    pub fn idle_count(&self, key: &C::Key) -> usize {
        self.lock().get(key).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    //! - at most `max_idle` connections are kept per server, newest first;
    //! - a connection idle for `idle_timeout` or longer is not handed out;
    //! - a zero `idle_timeout` turns reuse off.
    use super::*;

    /// A stand-in connection: its server and a serial number.
    #[derive(Debug, PartialEq)]
    struct Fake(&'static str, u32);

    impl Pooled for Fake {
        type Key = &'static str;
        fn pool_key(&self) -> &'static str {
            self.0
        }
    }

    fn limits(max_idle: usize, idle_timeout: Duration) -> PoolLimits {
        PoolLimits {
            max_idle,
            idle_timeout,
        }
    }

    #[test]
    fn keeps_at_most_max_idle_per_server() {
        let pool = Pool::new(limits(2, DEFAULT_IDLE_TIMEOUT));
        for n in 0..3 {
            pool.put(Fake("a", n));
        }
        pool.put(Fake("b", 9));
        assert_eq!(pool.idle_count(&"a"), 2);
        assert_eq!(pool.take(&"a"), Some(Fake("a", 1)), "newest first");
        assert_eq!(pool.take(&"a"), Some(Fake("a", 0)));
        assert_eq!(pool.take(&"a"), None);
        assert_eq!(pool.take(&"b"), Some(Fake("b", 9)));
    }

    #[test]
    fn connections_idle_too_long_are_not_reused() {
        let pool = Pool::new(limits(4, Duration::from_secs(50)));
        let start = Instant::now();
        pool.put_at(Fake("a", 0), start);
        pool.put_at(Fake("a", 1), start + Duration::from_secs(30));
        let later = start + Duration::from_secs(60);
        assert_eq!(pool.take_at(&"a", later), Some(Fake("a", 1)), "30s idle");
        assert_eq!(pool.take_at(&"a", later), None, "60s idle: closed");
        assert_eq!(pool.idle_count(&"a"), 0);
        pool.put_at(Fake("a", 2), start);
        let edge = start + Duration::from_secs(50);
        assert_eq!(pool.take_at(&"a", edge), None, "exactly idle_timeout");
    }

    #[test]
    fn zero_idle_timeout_turns_reuse_off() {
        let pool = Pool::new(limits(4, Duration::ZERO));
        pool.put(Fake("a", 0));
        assert_eq!(pool.take(&"a"), None);
    }
}
