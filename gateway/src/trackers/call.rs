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
/// (e.g. replaced by a config reload).
pub fn spawn_prober<C, F, Fut>(client: &Arc<C>, trackers: &TrackerSet, interval: Duration, probe: F)
where
    C: Send + Sync + 'static,
    F: Fn(Arc<C>, usize) -> Fut + Send + 'static,
    Fut: Future<Output = bool> + Send,
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
                probe(client, index).await;
            }
        }
    });
}
