//! Why a FastDFS operation produced no usable answer.
//!
//! Suggested HTTP mapping at the edge:
//!
//! ```text
//! NotFound                       404
//! NoTracker, NoStorage           503
//! Call / Unavailable / Unconfirmed
//!     timed out                  504
//!     otherwise                  502
//! Tracker, Storage (errno)       502
//! SizeMismatch                   502
//! Body, BodyLength               the client's fault (400; 413 is the limit layer's)
//! ```

use super::connection::CallError;
use dfs_protocol::fastdfs::status;
use std::io;
use std::net::SocketAddr;

/// A failed FastDFS operation, with the server and command involved.
#[derive(Debug, thiserror::Error)]
pub enum FdfsError {
    /// The file (or its group) does not exist: every storage that answered
    /// said ENOENT, or the tracker does not know the group.
    #[error("{file} not found")]
    NotFound {
        /// The file ID.
        file: String,
    },
    /// No tracker could be reached or none answered in time.
    #[error("no tracker answered ({tried})")]
    NoTracker {
        /// What was tried and how each failed.
        tried: String,
    },
    /// The tracker has no storage to upload to (ENOENT / ENOSPC on a store query).
    #[error("tracker {tracker} has no storage to upload to: {}", status::name(*status))]
    NoStorage {
        /// Which tracker.
        tracker: SocketAddr,
        /// Its status.
        status: u8,
    },
    /// A tracker refused a query with an error status.
    #[error("tracker {tracker} refused {command}: {} ({status})", status::name(*status))]
    Tracker {
        /// Which tracker.
        tracker: SocketAddr,
        /// The command.
        command: &'static str,
        /// Its status (errno).
        status: u8,
    },
    /// A storage server refused a request with an error status.
    #[error("storage {storage} refused {command}: {} ({status})", status::name(*status))]
    Storage {
        /// Which storage.
        storage: SocketAddr,
        /// The command.
        command: &'static str,
        /// Its status (errno).
        status: u8,
    },
    /// A connection-level failure talking to one server.
    #[error("{command} to {addr}: {source}")]
    Call {
        /// Which server.
        addr: SocketAddr,
        /// The command.
        command: &'static str,
        /// How it failed.
        #[source]
        source: CallError,
    },
    /// No storage of the group could serve the file.
    #[error("no storage could serve {file} ({tried})")]
    Unavailable {
        /// The file ID.
        file: String,
        /// What was tried and how each failed.
        tried: String,
        /// Every failure was a time-out.
        timed_out: bool,
    },
    /// An upload or delete was sent but its reply was lost: it may or may
    /// not have happened, so it is not retried.
    #[error("{command} to {addr} unconfirmed: {source}")]
    Unconfirmed {
        /// Which server.
        addr: SocketAddr,
        /// The command.
        command: &'static str,
        /// How the exchange failed.
        #[source]
        source: CallError,
    },
    /// Reading the client's upload body failed.
    #[error("upload body: {0}")]
    Body(#[source] io::Error),
    /// The upload body's length differs from the size announced.
    #[error("upload body has {got} bytes, {expected} announced")]
    BodyLength {
        /// Size announced to the storage.
        expected: u64,
        /// Bytes the body had (at least).
        got: u64,
    },
    /// A storage stored another size than was sent: the new file was
    /// deleted (best effort) and the upload failed.
    #[error("storage {storage} stored {file} as {stored} bytes, {sent} were sent")]
    SizeMismatch {
        /// Which storage.
        storage: SocketAddr,
        /// The file ID it returned.
        file: String,
        /// Bytes sent to it.
        sent: u64,
        /// Bytes it says it stored.
        stored: u64,
    },
}

impl FdfsError {
    /// True when the same operation may succeed if tried again elsewhere or
    /// later: connection-level failures of reads, and unreachable clusters.
    /// Answers (not found, error statuses) and unconfirmed writes are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            FdfsError::NoTracker { .. } | FdfsError::Unavailable { .. } => true,
            FdfsError::Call { .. } => true,
            FdfsError::Storage { status: s, .. } | FdfsError::Tracker { status: s, .. } => {
                matches!(*s, status::EAGAIN | status::EBUSY)
            }
            _ => false,
        }
    }

    /// True when the failure was a time-out (HTTP 504).
    pub fn is_timeout(&self) -> bool {
        match self {
            FdfsError::Call { source, .. } | FdfsError::Unconfirmed { source, .. } => {
                source.is_timeout()
            }
            FdfsError::Unavailable { timed_out, .. } => *timed_out,
            _ => false,
        }
    }

    /// True when the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FdfsError::NotFound { .. })
    }

    /// A copy for a second waiter on the same shared look-up; variants that
    /// hold an I/O error are copied as their text.
    pub fn duplicate(&self) -> FdfsError {
        match self {
            FdfsError::NotFound { file } => FdfsError::NotFound { file: file.clone() },
            FdfsError::NoTracker { tried } => FdfsError::NoTracker {
                tried: tried.clone(),
            },
            FdfsError::Tracker {
                tracker,
                command,
                status,
            } => FdfsError::Tracker {
                tracker: *tracker,
                command,
                status: *status,
            },
            other => FdfsError::Unavailable {
                file: String::new(),
                tried: other.to_string(),
                timed_out: other.is_timeout(),
            },
        }
    }

    pub(crate) fn call(addr: SocketAddr, command: &'static str, source: CallError) -> Self {
        FdfsError::Call {
            addr,
            command,
            source,
        }
    }
}
