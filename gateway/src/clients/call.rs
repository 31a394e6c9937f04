//! What both tracker clients share: how one exchange on a connection fails,
//! and the background prober that keeps a tracker set's health current.

use super::TrackerSet;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// How one request/reply exchange failed at the connection level.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The TCP connect failed or timed out: nothing was sent.
    #[error("connect: {0}")]
    Connect(#[source] io::Error),
    /// Writing the request failed.
    #[error("send: {0}")]
    Send(#[source] io::Error),
    /// The request was sent but the connection closed or failed before a
    /// complete reply.
    #[error("no reply: {0}")]
    NoReply(#[source] io::Error),
    /// Nothing (more) arrived within the time-out.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The reply is not a valid reply to the request (garbage, cut off, too long).
    #[error("bad reply: {0}")]
    BadReply(String),
}

impl CallError {
    /// True when the server cannot have seen the request, so it may be sent
    /// again anywhere whatever the command.
    pub fn request_unseen(&self) -> bool {
        matches!(self, CallError::Connect(_))
    }

    /// True for a time-out (HTTP 504 rather than 502).
    pub fn is_timeout(&self) -> bool {
        match self {
            CallError::Timeout(_) => true,
            CallError::Connect(e) => e.kind() == io::ErrorKind::TimedOut,
            _ => false,
        }
    }

    /// What a failure on a reused idle socket looks like when the server had
    /// closed it: safe to try once more on a fresh connection.
    pub fn is_stale(&self) -> bool {
        matches!(self, CallError::Send(_) | CallError::NoReply(_))
    }
}

/// Runs `probe(client, index)` for every tracker of `trackers` each
/// `interval`, so recovered trackers are re-admitted before a request has to
/// gamble on them. The task holds `client` weakly and ends once it is dropped
/// (e.g. replaced by a config reload). Each probe runs as a task of its
/// own, so one that panics is logged and the next interval probes again.
pub fn spawn_prober<C, F, Fut>(client: &Arc<C>, trackers: &TrackerSet, interval: Duration, probe: F)
where
    C: Send + Sync + 'static,
    F: Fn(Arc<C>, usize) -> Fut + Send + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let weak = Arc::downgrade(client);
    let count = trackers.len();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            for index in 0..count {
                let Some(client) = weak.upgrade() else { return };
                if let Err(e) = tokio::spawn(probe(client, index)).await {
                    tracing::error!(tracker = index, "tracker probe failed: {e}");
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    //! - a probe that panics does not stop later probes.
    use super::*;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_panicking_probe_does_not_end_probing() {
        let trackers = TrackerSet::new(
            vec![SocketAddr::from(([127, 0, 0, 1], 1))],
            Duration::from_secs(1),
        );
        let client = Arc::new(AtomicUsize::new(0));
        spawn_prober(
            &client,
            &trackers,
            Duration::from_millis(5),
            |calls, _| async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("the first probe panics");
                }
                true
            },
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while client.load(Ordering::SeqCst) < 3 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(client.load(Ordering::SeqCst) >= 3, "probing went on");
    }
}
