//! How one exchange on a connection fails, for both protocols' clients.

use std::io;
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
