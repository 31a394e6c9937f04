//! A FastDFS tracker: where to upload, where to read, where to delete.
//!
//! Answers QUERY_STORE_{WITHOUT,WITH}_GROUP_{ONE,ALL}, QUERY_FETCH_ONE,
//! QUERY_FETCH_ALL, QUERY_UPDATE, ACTIVE_TEST and the monitoring listings
//! SERVER_LIST_ONE_GROUP/ALL_GROUPS/STORAGE (see [`super::monitor`]) with the real error
//! statuses: ENOENT for an unknown group or a group without an active
//! storage, EINVAL for a malformed body or file name. Like the real one it
//! never checks that a file exists. QUIT closes the connection silently.

use super::faults::Faults;
use super::monitor;
use super::service::{Handler, Service};
use super::state::{ClusterState, Counters, GroupState, ServerStats};
use super::wire::ServerConn;
use dfs_protocol::fastdfs::monitor::{ListAllGroups, ListOneGroup, ListStorage};
use dfs_protocol::fastdfs::tracker::{
    ActiveTest, QueryFetchAll, QueryFetchOne, QueryStoreWithGroupAll, QueryStoreWithGroupOne,
    QueryStoreWithoutGroupAll, QueryStoreWithoutGroupOne, QueryUpdate, StorageLocation,
    StorageLocations, StoreTarget, StoreTargets,
};
use dfs_protocol::fastdfs::{cmd, status, Command, FileId, FileRef, Header, Source};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// One tracker's own state.
#[derive(Debug, Default)]
struct TrackerState {
    faults: Faults,
    counters: Counters,
}

/// A running tracker; cheap to clone.
#[derive(Debug, Clone)]
pub struct TrackerHandle {
    state: Arc<TrackerState>,
    service: Arc<Service>,
}

impl TrackerHandle {
    /// Starts a tracker for `cluster` on `listener`.
    pub(crate) fn launch(
        listener: tokio::net::TcpListener,
        cluster: Arc<ClusterState>,
    ) -> io::Result<Self> {
        let state = Arc::new(TrackerState::default());
        let conn_state = state.clone();
        let handler: Handler =
            Arc::new(move |stream| Box::pin(serve(stream, cluster.clone(), conn_state.clone())));
        let service = Arc::new(Service::start_on(listener, handler)?);
        Ok(TrackerHandle { state, service })
    }

    /// The tracker's address.
    pub fn addr(&self) -> SocketAddr {
        self.service.addr()
    }

    /// Closes the port and cuts every connection.
    pub async fn stop(&self) {
        self.service.stop().await;
    }

    /// Listens on the same port again.
    pub fn start(&self) -> io::Result<()> {
        self.service.start()
    }

    /// Answers the next request with error `status`.
    pub fn fail_next(&self, status: u8) -> &Self {
        self.state.faults.fail_next(status);
        self
    }

    /// Waits `latency` before every reply.
    pub fn set_latency(&self, latency: Duration) -> &Self {
        self.state.faults.set_latency(latency);
        self
    }

    /// Counters so far.
    pub fn stats(&self) -> ServerStats {
        self.state.counters.snapshot()
    }
}

async fn serve(stream: TcpStream, cluster: Arc<ClusterState>, me: Arc<TrackerState>) {
    Counters::bump(&me.counters.connections);
    let mut conn = ServerConn::new(stream);
    if let Err(error) = serve_requests(&mut conn, &cluster, &me).await {
        tracing::debug!(%error, "tracker connection ended");
    }
}

async fn serve_requests(
    conn: &mut ServerConn,
    cluster: &ClusterState,
    me: &TrackerState,
) -> io::Result<()> {
    while let Some(header) = conn.read_header().await? {
        Counters::bump(&me.counters.requests);
        if header.cmd == cmd::QUIT {
            return Ok(());
        }
        let body = conn.read_exact_vec(header.pkg_len).await?;
        me.faults.delay().await;
        match me.faults.take_failure() {
            Some(status) => conn.error(status).await?,
            None => dispatch(conn, cluster, &header, &body).await?,
        }
    }
    Ok(())
}

async fn dispatch(
    conn: &mut ServerConn,
    cluster: &ClusterState,
    header: &Header,
    body: &[u8],
) -> io::Result<()> {
    match header.cmd {
        cmd::QUERY_STORE_WITHOUT_GROUP_ONE => {
            answer(conn, header, body, |_: QueryStoreWithoutGroupOne| {
                store_one(cluster, None)
            })
            .await
        }
        cmd::QUERY_STORE_WITH_GROUP_ONE => {
            answer(conn, header, body, |q: QueryStoreWithGroupOne| {
                store_one(cluster, Some(&q.group))
            })
            .await
        }
        cmd::QUERY_STORE_WITHOUT_GROUP_ALL => {
            answer(conn, header, body, |_: QueryStoreWithoutGroupAll| {
                store_all(cluster, None)
            })
            .await
        }
        cmd::QUERY_STORE_WITH_GROUP_ALL => {
            answer(conn, header, body, |q: QueryStoreWithGroupAll| {
                store_all(cluster, Some(&q.group))
            })
            .await
        }
        cmd::QUERY_FETCH_ONE => {
            answer(conn, header, body, |q: QueryFetchOne| {
                fetch_one(cluster, &q.file)
            })
            .await
        }
        cmd::QUERY_FETCH_ALL => {
            answer(conn, header, body, |q: QueryFetchAll| {
                fetch_all(cluster, &q.file)
            })
            .await
        }
        cmd::QUERY_UPDATE => {
            answer(conn, header, body, |q: QueryUpdate| {
                update(cluster, &q.file)
            })
            .await
        }
        cmd::ACTIVE_TEST => answer(conn, header, body, |_: ActiveTest| Ok(())).await,
        cmd::SERVER_LIST_ONE_GROUP => {
            answer(conn, header, body, |q: ListOneGroup| {
                monitor::list_one_group(cluster, &q)
            })
            .await
        }
        cmd::SERVER_LIST_ALL_GROUPS => {
            answer(conn, header, body, |_: ListAllGroups| {
                Ok(monitor::list_all_groups(cluster))
            })
            .await
        }
        cmd::SERVER_LIST_STORAGE => {
            answer(conn, header, body, |q: ListStorage| {
                monitor::list_storage(cluster, &q)
            })
            .await
        }
        _ => conn.error(status::EINVAL).await,
    }
}

/// Parses the request as `C`, computes the reply, sends it or its status.
async fn answer<C: Command>(
    conn: &mut ServerConn,
    header: &Header,
    body: &[u8],
    compute: impl FnOnce(C) -> Result<C::Reply, u8>,
) -> io::Result<()> {
    match C::parse_body(header, body)
        .map_err(|_| status::EINVAL)
        .and_then(compute)
    {
        Ok(reply) => conn.reply::<C>(&reply).await,
        Err(status) => conn.error(status).await,
    }
}

fn store_one(cluster: &ClusterState, group: Option<&str>) -> Result<StoreTarget, u8> {
    let (group, index) = cluster.store_target(group).ok_or(status::ENOENT)?;
    Ok(StoreTarget {
        group: group.name.clone(),
        addr: group.storages[index].addr,
        store_path_index: 0,
    })
}

fn store_all(cluster: &ClusterState, group: Option<&str>) -> Result<StoreTargets, u8> {
    let (group, _) = cluster.store_target(group).ok_or(status::ENOENT)?;
    let active = group.storages.iter().filter(|s| cluster.is_active(s));
    Ok(StoreTargets {
        group: group.name.clone(),
        addrs: active.map(|s| s.addr).collect(),
        store_path_index: 0,
    })
}

/// The group of `file` and the storage that stored it, if known.
fn resolve<'a>(
    cluster: &'a ClusterState,
    file: &FileRef,
) -> Result<(&'a GroupState, Option<usize>), u8> {
    let group = cluster.group(&file.group).ok_or(status::ENOENT)?;
    let id = FileId::from_parts(&file.group, &file.remote_name).map_err(|_| status::EINVAL)?;
    let ip = match id.source() {
        Source::Ip(ip) => ip,
        Source::ServerId(_) => std::net::Ipv4Addr::UNSPECIFIED,
    };
    Ok((group, group.origin(id.file_name(), ip)))
}

fn location(group: &GroupState, index: usize) -> StorageLocation {
    StorageLocation {
        group: group.name.clone(),
        addr: group.storages[index].addr,
    }
}

fn fetch_one(cluster: &ClusterState, file: &FileRef) -> Result<StorageLocation, u8> {
    let (group, origin) = resolve(cluster, file)?;
    let index = cluster.fetch_one(group, origin).ok_or(status::ENOENT)?;
    Ok(location(group, index))
}

fn fetch_all(cluster: &ClusterState, file: &FileRef) -> Result<StorageLocations, u8> {
    let (group, origin) = resolve(cluster, file)?;
    let all = cluster.fetch_all(group, origin);
    if all.is_empty() {
        return Err(status::ENOENT);
    }
    Ok(StorageLocations {
        group: group.name.clone(),
        addrs: all.iter().map(|&i| group.storages[i].addr).collect(),
    })
}

fn update(cluster: &ClusterState, file: &FileRef) -> Result<StorageLocation, u8> {
    let (group, origin) = resolve(cluster, file)?;
    let index = cluster.update_target(group, origin).ok_or(status::ENOENT)?;
    Ok(location(group, index))
}
