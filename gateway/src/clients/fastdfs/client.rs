//! The FastDFS client: tracker queries with failover between trackers, and
//! the pooled connections that `storage_ops` uses for single-storage
//! operations. Which storage serves a file, and failing over between
//! storages, is the storage layer's (`storage::fastdfs`).
//!
//! Retry rules (nothing else is retried here):
//! - a tracker that fails at the connection level is marked down and the
//!   next one is asked; a tracker's error status is an answer;
//! - a failure on a *reused* idle connection before any reply byte gets one
//!   fresh connection to the same server: it had probably closed the socket;
//! - uploads and deletes are never re-sent once the server may have acted:
//!   they check a reused connection with ACTIVE_TEST first, and report a
//!   lost reply as `Unconfirmed`.
//!
//! Every storage address a tracker names goes through the upstream's
//! [`AddressMap`] here, as it enters: the rest of the gateway sees only
//! addresses to dial.

use super::connection::{CallError, Connection};
use super::error::FdfsError;
use crate::clients::{AddressMap, Pool, PoolLimits, Probe, TrackerSet};
use dfs_protocol::fastdfs::tracker::{
    ActiveTest, QueryFetchAll, QueryFetchOne, QueryStoreWithGroupOne, QueryStoreWithoutGroupOne,
    QueryUpdate, StoreTarget,
};
use dfs_protocol::fastdfs::{status, Command, FileId, Source};
use std::collections::HashMap;
use std::future::Future;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Time-outs for FastDFS calls.
#[derive(Debug, Clone, Copy)]
pub struct FdfsTimeouts {
    /// TCP connect.
    pub connect: Duration,
    /// From sending a request to its reply header (and a small reply body).
    pub reply: Duration,
    /// Longest pause while streaming file data either way.
    pub io: Duration,
}

/// A FastDFS client for one upstream.
#[derive(Debug)]
pub struct FdfsClient {
    trackers: Arc<TrackerSet>,
    pub(super) pool: Arc<Pool<Connection>>,
    pub(super) timeouts: FdfsTimeouts,
    /// Storages seen in tracker replies, by group, as (registered,
    /// dialled): the only addresses a file ID's encoded source may lead to.
    known: Mutex<HashMap<String, Vec<(SocketAddrV4, SocketAddrV4)>>>,
    /// Registered storage addresses → the addresses dialled.
    map: Arc<AddressMap>,
}

impl FdfsClient {
    /// A client over `trackers`, keeping idle connections to each tracker
    /// and storage server within `pool`.
    pub fn new(trackers: Arc<TrackerSet>, pool: PoolLimits, timeouts: FdfsTimeouts) -> Self {
        FdfsClient {
            trackers,
            pool: Arc::new(Pool::new(pool)),
            timeouts,
            known: Mutex::new(HashMap::new()),
            map: Arc::default(),
        }
    }

    /// The same client, dialling storages through `map`.
    pub fn with_address_map(mut self, map: Arc<AddressMap>) -> Self {
        self.map = map;
        self
    }

    /// The address to dial for `registered`, named by `tracker` in reply to
    /// `command`; an address the gateway never dials makes the reply bad.
    fn dial(
        &self,
        registered: SocketAddrV4,
        tracker: SocketAddr,
        command: &'static str,
    ) -> Result<SocketAddrV4, FdfsError> {
        let dialled = self.map.dial_v4(registered);
        match crate::clients::addrmap::never_dialled((*dialled.ip()).into()) {
            None => Ok(dialled),
            Some(why) => Err(FdfsError::call(
                tracker,
                command,
                CallError::BadReply(format!("storage address {dialled} is {why}")),
            )),
        }
    }

    /// The tracker set (for health reporting).
    pub fn trackers(&self) -> &TrackerSet {
        &self.trackers
    }

    /// The connection pool (for tests and metrics).
    pub fn pool(&self) -> &Pool<Connection> {
        &self.pool
    }

    /// Sends `command` to the trackers in [`TrackerSet::order`] until one
    /// answers; returns its answer (reply or error status) and address.
    pub async fn tracker_call<C: Command>(
        &self,
        command: &C,
    ) -> Result<(Result<C::Reply, u8>, SocketAddr), FdfsError> {
        let mut tried = Vec::new();
        let mut broken = None;
        for index in self.trackers.order() {
            let addr = self.trackers.addr(index);
            match self.exchange(addr, command).await {
                Ok(answer) => {
                    self.trackers.mark_ok(index);
                    return Ok((answer, addr));
                }
                Err(e) => {
                    self.trackers.mark_failed(index);
                    self.trackers.record_error(index, &e);
                    crate::metrics::metrics().tracker_error(addr);
                    tracing::warn!(tracker = %addr, command = C::NAME, error = %e, "tracker call failed");
                    tried.push(format!("{addr}: {e}"));
                    if matches!(e, CallError::BadReply(_)) {
                        broken = Some(FdfsError::call(addr, C::NAME, e));
                    }
                }
            }
        }
        // A tracker that answered garbage is a broken upstream (502), not a
        // missing one (503).
        if let Some(broken) = broken {
            return Err(broken);
        }
        let tried = if tried.is_empty() {
            "no trackers configured".into()
        } else {
            tried.join("; ")
        };
        Err(FdfsError::NoTracker { tried })
    }

    /// A storage to upload to: of `group`, or of the tracker's choice.
    pub async fn query_store(
        &self,
        group: Option<&str>,
    ) -> Result<(StoreTarget, SocketAddr), FdfsError> {
        let (answer, tracker) = match group {
            Some(group) => {
                self.tracker_call(&QueryStoreWithGroupOne {
                    group: group.into(),
                })
                .await?
            }
            None => self.tracker_call(&QueryStoreWithoutGroupOne).await?,
        };
        match answer {
            Ok(mut target) => {
                let registered = target.addr;
                target.addr = self.dial(registered, tracker, "QUERY_STORE")?;
                self.learn(&target.group, &[(registered, target.addr)]);
                Ok((target, tracker))
            }
            Err(status) => Err(FdfsError::NoStorage { tracker, status }),
        }
    }

    /// QUERY_FETCH_ONE: the storage the tracker suggests for reading `id`.
    pub async fn query_fetch_one(
        &self,
        id: &FileId,
    ) -> Result<(SocketAddrV4, SocketAddr), FdfsError> {
        let (answer, tracker) = self
            .tracker_call(&QueryFetchOne {
                file: id.file_ref(),
            })
            .await?;
        let at = self.file_answer(answer, id, tracker, QueryFetchOne::NAME)?;
        let dialled = self.dial(at.addr, tracker, QueryFetchOne::NAME)?;
        self.learn(&at.group, &[(at.addr, dialled)]);
        Ok((dialled, tracker))
    }

    /// QUERY_FETCH_ALL: every storage that can serve `id`, preferred first.
    pub async fn query_fetch_all(
        &self,
        id: &FileId,
    ) -> Result<(Vec<SocketAddrV4>, SocketAddr), FdfsError> {
        let (answer, tracker) = self
            .tracker_call(&QueryFetchAll {
                file: id.file_ref(),
            })
            .await?;
        let all = self.file_answer(answer, id, tracker, QueryFetchAll::NAME)?;
        let pairs = all
            .addrs
            .iter()
            .map(|&a| Ok((a, self.dial(a, tracker, QueryFetchAll::NAME)?)))
            .collect::<Result<Vec<_>, FdfsError>>()?;
        self.learn(&all.group, &pairs);
        Ok((pairs.into_iter().map(|(_, d)| d).collect(), tracker))
    }

    /// QUERY_UPDATE: the storage that must apply a delete of `id`.
    pub async fn query_update(&self, id: &FileId) -> Result<(SocketAddrV4, SocketAddr), FdfsError> {
        let (answer, tracker) = self
            .tracker_call(&QueryUpdate {
                file: id.file_ref(),
            })
            .await?;
        let at = self.file_answer(answer, id, tracker, QueryUpdate::NAME)?;
        let dialled = self.dial(at.addr, tracker, QueryUpdate::NAME)?;
        self.learn(&at.group, &[(at.addr, dialled)]);
        Ok((dialled, tracker))
    }

    /// A tracker's answer about a file: ENOENT means an unknown group.
    fn file_answer<R>(
        &self,
        answer: Result<R, u8>,
        id: &FileId,
        tracker: SocketAddr,
        command: &'static str,
    ) -> Result<R, FdfsError> {
        answer.map_err(|status| match status {
            status::ENOENT => FdfsError::NotFound {
                file: id.to_string(),
            },
            status => FdfsError::Tracker {
                tracker,
                command,
                status,
            },
        })
    }

    fn learn(&self, group: &str, addrs: &[(SocketAddrV4, SocketAddrV4)]) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        let list = known.entry(group.to_owned()).or_default();
        for addr in addrs {
            if !list.contains(addr) {
                list.push(*addr);
            }
        }
    }

    /// The storage whose address is encoded in `id`, if a tracker has named
    /// it as a storage of the file's group: never an address seen only in
    /// the (client-supplied) ID. The encoded IP goes through the map like a
    /// registered one (with the port the tracker gave), and must then be an
    /// address dialled for a storage a tracker named: an ID minted by a
    /// storage that registered `172.17.0.5` leads to what that address
    /// maps to, and an ID minted under an old address that the map sends to
    /// a storage's new one leads there.
    pub fn known_source(&self, id: &FileId) -> Option<SocketAddrV4> {
        let Source::Ip(ip) = id.source() else {
            return None;
        };
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .get(id.group())?
            .iter()
            .map(|(registered, dialled)| {
                let encoded = SocketAddrV4::new(ip, registered.port());
                (self.map.lookup(encoded.into()), *dialled)
            })
            .find(|(mapped, dialled)| *mapped == SocketAddr::V4(*dialled))
            .map(|(_, dialled)| dialled)
    }

    /// One exchange with `addr` on a pooled or fresh connection.
    pub(super) async fn exchange<C: Command>(
        &self,
        addr: SocketAddr,
        command: &C,
    ) -> Result<Result<C::Reply, u8>, CallError> {
        self.with_conn(addr, |mut conn| async move {
            let answer = conn.call(command, self.timeouts.reply).await?;
            self.pool.put(conn);
            Ok(answer)
        })
        .await
    }

    /// Runs `op` on an idle connection to `addr`, or a fresh one; a stale
    /// idle connection gets one retry on a fresh one. `op` owns the
    /// connection: it puts it back in the pool when its exchange completed.
    pub(super) async fn with_conn<T, F, Fut>(&self, addr: SocketAddr, op: F) -> Result<T, CallError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        if let Some(conn) = self.pool.take(&addr) {
            match op(conn).await {
                Err(e) if e.is_stale() => {
                    tracing::debug!(%addr, error = %e, "stale pooled connection")
                }
                done => return done,
            }
        }
        op(Connection::connect(addr, self.timeouts.connect).await?).await
    }

    /// A connection for a request that must not be sent twice: an idle one
    /// that answers ACTIVE_TEST, or a fresh one. The probe costs a round
    /// trip, but an upload's body cannot be replayed once a dead socket has
    /// swallowed it, and a delete must not be guessed twice.
    pub(super) async fn checkout_verified(
        &self,
        addr: SocketAddr,
    ) -> Result<Connection, CallError> {
        while let Some(mut conn) = self.pool.take(&addr) {
            if matches!(
                conn.call(&ActiveTest, self.timeouts.reply).await,
                Ok(Ok(()))
            ) {
                return Ok(conn);
            }
        }
        Connection::connect(addr, self.timeouts.connect).await
    }
}

impl Probe for FdfsClient {
    fn probed(&self) -> &TrackerSet {
        &self.trackers
    }

    /// ACTIVE_TEST, answered with status 0.
    async fn check(&self, index: usize) -> bool {
        matches!(
            self.exchange(self.trackers.addr(index), &ActiveTest).await,
            Ok(Ok(()))
        )
    }
}
