//! How one storage node failed a request.

use axum::http::StatusCode;
use std::time::Duration;

/// How one storage node failed a request.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Could not connect, or the connection broke before a response head.
    #[error("{url}: {source}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No response head within the time-out.
    #[error("{url}: no response within {timeout:?}")]
    Timeout {
        /// The URL tried.
        url: String,
        /// The limit.
        timeout: Duration,
    },
    /// The node answered with an unusable status.
    #[error("{url}: status {status}")]
    Status {
        /// The URL tried.
        url: String,
        /// The status.
        status: StatusCode,
    },
    /// The node answered inconsistently (bad Content-Range, missing length).
    #[error("{url}: {detail}")]
    BadResponse {
        /// The URL tried.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

impl NodeError {
    /// True for a time-out (504 rather than 502 when nothing else worked).
    pub fn is_timeout(&self) -> bool {
        matches!(self, NodeError::Timeout { .. })
    }

    /// True for a 404: the node does not hold the file (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(self, NodeError::Status { status, .. } if *status == StatusCode::NOT_FOUND)
    }
}
