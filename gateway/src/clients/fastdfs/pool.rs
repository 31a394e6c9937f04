//! Idle persistent connections, per server address.
//!
//! A connection is taken out for one exchange (exclusive use) and put back
//! only after a complete reply. Connections idle for longer than
//! [`MAX_IDLE_AGE`] are closed instead of reused: servers and firewalls drop
//! idle sockets, and a fresh connect is cheap. Liveness checks (ACTIVE_TEST)
//! are the client's business, done only on connections idle for a while.

use super::connection::Connection;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Idle connections older than this are closed rather than reused.
pub const MAX_IDLE_AGE: Duration = Duration::from_secs(50);

/// Idle connections by server.
#[derive(Debug)]
pub struct Pool {
    idle: Mutex<HashMap<SocketAddr, Vec<Connection>>>,
    max_idle: usize,
}

impl Pool {
    /// A pool keeping up to `max_idle` idle connections per server.
    pub fn new(max_idle: usize) -> Self {
        Pool {
            idle: Mutex::new(HashMap::new()),
            max_idle,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SocketAddr, Vec<Connection>>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most recently used idle connection to `addr` that is young enough.
    pub fn take(&self, addr: SocketAddr) -> Option<Connection> {
        let mut idle = self.lock();
        let conns = idle.get_mut(&addr)?;
        while let Some(conn) = conns.pop() {
            if conn.idle_for() < MAX_IDLE_AGE {
                return Some(conn);
            }
        }
        None
    }

    /// Returns a connection whose last exchange completed.
    pub fn put(&self, mut conn: Connection) {
        conn.touch();
        let mut idle = self.lock();
        let conns = idle.entry(conn.addr()).or_default();
        if conns.len() < self.max_idle {
            conns.push(conn);
        }
    }

    /// Idle connections to `addr` (for tests and metrics).
    pub fn idle_count(&self, addr: SocketAddr) -> usize {
        self.lock().get(&addr).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn keeps_at_most_max_idle_per_server() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            let mut held = Vec::new();
            for _ in 0..3 {
                held.push(listener.accept().await.unwrap());
            }
            held
        });
        let pool = Pool::new(2);
        for _ in 0..3 {
            pool.put(
                Connection::connect(addr, Duration::from_secs(1))
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(pool.idle_count(addr), 2);
        assert!(pool.take(addr).is_some());
        assert!(pool.take(addr).is_some());
        assert!(pool.take(addr).is_none());
        accept.await.unwrap();
    }
}
