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
//!
//! The storage URLs of `get_paths` and `create_open` replies go through the
//! upstream's [`AddressMap`] as they enter ([`MogClient::get_paths`],
//! [`MogClient::create_open`]); `create_close` is still told the path the
//! tracker gave, which it checks.

use super::connection::{CallError, Connection};
use crate::clients::{AddressMap, Pool, PoolLimits, Probe, TrackerSet};
use dfs_protocol::mogilefs::cmd::{CreateOpen, Destination, GetPaths, Noop};
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
    /// Registered storage addresses → the addresses dialled.
    map: Arc<AddressMap>,
}

/// A `create_open` reply with its destinations' URLs mapped to the
/// addresses dialled.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The reserved file id.
    pub fid: u64,
    /// Where to PUT, in the tracker's order of preference.
    pub destinations: Vec<Destination>,
    /// The destinations as the tracker gave them, for `create_close`.
    registered: Vec<Destination>,
}

impl Opened {
    /// The path the tracker gave for `dest` (one of `destinations`): what
    /// `create_close` must name.
    pub fn registered_path(&self, dest: &Destination) -> String {
        self.registered
            .iter()
            .find(|r| r.devid == dest.devid)
            .map_or_else(|| dest.path.clone(), |r| r.path.clone())
    }
}

impl MogClient {
    /// A client over `trackers`, keeping idle connections to each within `pool`.
    pub fn new(trackers: Arc<TrackerSet>, pool: PoolLimits, timeouts: TrackerTimeouts) -> Self {
        MogClient {
            trackers,
            pool: Pool::new(pool),
            timeouts,
            map: Arc::default(),
        }
    }

    /// The same client, dialling storage nodes through `map`.
    pub fn with_address_map(mut self, map: Arc<AddressMap>) -> Self {
        self.map = map;
        self
    }

    /// `get_paths`: the key's URLs, mapped to the addresses dialled. A URL
    /// naming an address the gateway never dials is dropped.
    pub async fn get_paths(&self, cmd: &GetPaths) -> Result<(Vec<String>, SocketAddr), MogError> {
        let (paths, tracker) = self.call(cmd).await?;
        let paths = paths.iter().filter_map(|p| self.dial(p)).collect();
        Ok((paths, tracker))
    }

    /// `create_open`: the reserved fid and its destinations, their URLs
    /// mapped (a destination the gateway never dials is dropped).
    pub async fn create_open(&self, cmd: &CreateOpen) -> Result<(Opened, SocketAddr), MogError> {
        let (reply, tracker) = self.call(cmd).await?;
        let destinations = reply
            .destinations
            .iter()
            .filter_map(|d| {
                self.dial(&d.path).map(|path| Destination {
                    devid: d.devid,
                    path,
                })
            })
            .collect();
        let opened = Opened {
            fid: reply.fid,
            destinations,
            registered: reply.destinations,
        };
        Ok((opened, tracker))
    }

    /// The URL to use for `url`, or `None` when it names an address the
    /// gateway never dials.
    fn dial(&self, url: &str) -> Option<String> {
        let (dialled, addr) = self.map.map_url(url);
        let refused = addr.and_then(|addr| crate::clients::addrmap::never_dialled(addr.ip()));
        match refused {
            None => Some(dialled),
            Some(why) => {
                tracing::warn!(
                    url = dialled,
                    why,
                    "storage URL dropped: an address the gateway never dials"
                );
                None
            }
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
