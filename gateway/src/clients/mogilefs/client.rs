//! A MogileFS client over a set of trackers.
//!
//! Each tracker has a small pool of idle persistent connections. A command goes
//! to the first tracker of [`TrackerSet::order`]; on a connection-level failure
//! the tracker is marked down and the next one is tried. Two retry rules keep
//! this safe:
//! - a failure on a *reused* connection before any reply gets one fresh
//!   connection to the same tracker (the tracker may simply have closed an idle
//!   socket);
//! - a command that is not idempotent (`create_close`, `delete`, `rename`) is
//!   never re-sent once the tracker may have seen it: its outcome is unknown and
//!   the caller must decide.
//!
//! A tracker `ERR` is an answer, not a failure: it is returned at once.

use super::connection::{CallError, Connection};
use crate::clients::{Pool, PoolLimits, Probe, TrackerSet};
use dfs_protocol::mogilefs::cmd::Noop;
use dfs_protocol::mogilefs::{Command, Reply};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Time-outs for tracker calls.
#[derive(Debug, Clone, Copy)]
pub struct TrackerTimeouts {
    /// TCP connect.
    pub connect: Duration,
    /// From sending a request to its reply line.
    pub reply: Duration,
}

/// Why a command produced no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum MogError {
    /// The tracker answered `ERR`.
    #[error("tracker {tracker} answered {code}: {text}")]
    Tracker {
        /// Which tracker.
        tracker: SocketAddr,
        /// Error code, e.g. `unknown_key`.
        code: String,
        /// Error text.
        text: String,
    },
    /// No tracker could be reached or none answered in time.
    #[error("no tracker answered ({tried})")]
    NoTracker {
        /// What was tried and how each failed.
        tried: String,
    },
    /// A tracker sent something that is not a valid reply to the command.
    #[error("tracker {tracker} sent a bad reply: {detail}")]
    BadReply {
        /// Which tracker.
        tracker: SocketAddr,
        /// What was wrong.
        detail: String,
    },
    /// A non-idempotent command was sent but its reply was lost.
    #[error("tracker {tracker} did not confirm {command}: {source}")]
    Unconfirmed {
        /// Which tracker.
        tracker: SocketAddr,
        /// The command.
        command: &'static str,
        /// How the exchange failed.
        #[source]
        source: CallError,
    },
}

impl MogError {
    /// A copy for a second waiter on the same shared look-up. The one variant
    /// holding an I/O error (never produced by idempotent commands such as
    /// `get_paths`) is copied as its text.
    pub fn duplicate(&self) -> MogError {
        match self {
            MogError::Tracker {
                tracker,
                code,
                text,
            } => MogError::Tracker {
                tracker: *tracker,
                code: code.clone(),
                text: text.clone(),
            },
            MogError::NoTracker { tried } => MogError::NoTracker {
                tried: tried.clone(),
            },
            MogError::BadReply { tracker, detail } => MogError::BadReply {
                tracker: *tracker,
                detail: detail.clone(),
            },
            MogError::Unconfirmed {
                tracker,
                command,
                source,
            } => MogError::BadReply {
                tracker: *tracker,
                detail: format!("{command} unconfirmed: {source}"),
            },
        }
    }

    /// The tracker's error code, when it answered `ERR`.
    pub fn code(&self) -> Option<&str> {
        match self {
            MogError::Tracker { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A MogileFS client for one upstream.
#[derive(Debug)]
pub struct MogClient {
    trackers: Arc<TrackerSet>,
    pool: Pool<Connection>,
    timeouts: TrackerTimeouts,
}

impl MogClient {
    /// A client over `trackers`, keeping idle connections to each within `pool`.
    pub fn new(trackers: Arc<TrackerSet>, pool: PoolLimits, timeouts: TrackerTimeouts) -> Self {
        MogClient {
            trackers,
            pool: Pool::new(pool),
            timeouts,
        }
    }

    /// The tracker set (for health reporting).
    pub fn trackers(&self) -> &TrackerSet {
        &self.trackers
    }

    /// Sends `cmd` and returns its parsed reply and the tracker that gave it.
    pub async fn call<C: Command>(&self, cmd: &C) -> Result<(C::Reply, SocketAddr), MogError> {
        let request = cmd.request();
        let mut tried = Vec::new();
        for index in self.trackers.order() {
            let addr = self.trackers.addr(index);
            match self.call_one(index, &request).await {
                Ok(Reply::Ok(fields)) => {
                    self.trackers.mark_ok(index);
                    return C::parse_reply(&fields).map(|r| (r, addr)).map_err(|e| {
                        MogError::BadReply {
                            tracker: addr,
                            detail: e.to_string(),
                        }
                    });
                }
                Ok(Reply::Err { code, text }) => {
                    self.trackers.mark_ok(index);
                    return Err(MogError::Tracker {
                        tracker: addr,
                        code,
                        text,
                    });
                }
                Err(e) => {
                    self.trackers.mark_failed(index);
                    self.trackers.record_error(index, &e);
                    crate::metrics::metrics().tracker_error(addr);
                    tracing::warn!(tracker = %addr, command = C::NAME, error = %e, "tracker call failed");
                    if !C::IDEMPOTENT && !e.request_unseen() {
                        return Err(MogError::Unconfirmed {
                            tracker: addr,
                            command: C::NAME,
                            source: e,
                        });
                    }
                    if let CallError::BadReply(detail) = &e {
                        if self.trackers.len() == 1 {
                            return Err(MogError::BadReply {
                                tracker: addr,
                                detail: detail.clone(),
                            });
                        }
                    }
                    tried.push(format!("{addr}: {e}"));
                }
            }
        }
        Err(MogError::NoTracker {
            tried: if tried.is_empty() {
                "no trackers configured".into()
            } else {
                tried.join("; ")
            },
        })
    }

    /// One exchange with tracker `index`, on a pooled connection when there is
    /// one, retrying once on a fresh connection if the pooled one was stale.
    async fn call_one(
        &self,
        index: usize,
        request: &dfs_protocol::mogilefs::Request,
    ) -> Result<Reply, CallError> {
        let addr = self.trackers.addr(index);
        if let Some(mut conn) = self.pool.take(&addr) {
            match conn.call(request, self.timeouts.reply).await {
                Ok(reply) => {
                    self.pool.put(conn);
                    return Ok(reply);
                }
                // A stale socket fails before any reply: safe to resend on a new one.
                Err(e) if e.is_stale() => {}
                Err(e) => return Err(e),
            }
        }
        let mut conn = Connection::connect(addr, self.timeouts.connect).await?;
        let reply = conn.call(request, self.timeouts.reply).await?;
        self.pool.put(conn);
        Ok(reply)
    }
}

impl Probe for MogClient {
    fn probed(&self) -> &TrackerSet {
        &self.trackers
    }

    /// `noop`, answered `OK`.
    async fn check(&self, index: usize) -> bool {
        matches!(
            self.call_one(index, &Noop.request()).await,
            Ok(Reply::Ok(_))
        )
    }
}
