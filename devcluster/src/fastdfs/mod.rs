//! A FastDFS cluster in process: trackers and storage servers in groups,
//! speaking the real wire protocol (`dfs_protocol::fastdfs`).
//!
//! ```text
//! trackers 127.0.0.1:<port> ...          group1: 127.0.0.2:P  127.0.0.3:P
//!   share the cluster state               group2: 127.0.0.4:Q
//!                                          each storage: <data_dir>/<group>/storage<i>/data/XX/YY/
//! ```
//!
//! As on a real cluster, the storages of a group share one port and have
//! distinct addresses (loopback aliases 127.0.0.2 and up), so the source
//! address encoded in a file ID names the storage that minted it. Where
//! aliases cannot be bound, every storage gets 127.0.0.1 and its own port.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let cluster = devcluster::fastdfs::FdfsCluster::builder()
//!     .group("group1", 2)
//!     .trackers(1)
//!     .build()
//!     .await?;
//! let trackers = cluster.tracker_addrs();
//! cluster.storage("group1", 1).stop().await;
//! cluster.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! - [`tracker`]: the tracker and its handle.
//! - [`storage`]: the storage server and its handle (stop/start, sync, faults).
//! - `upload`, `sync`: streamed uploads with real-format IDs; push sync.
//! - `state`, `faults`, `service`, `wire`: shared state, fault hooks, the
//!   stoppable listener, connection I/O.

mod faults;
pub mod monitor;
mod service;
mod slave;
mod state;
pub mod storage;
mod sync;
pub mod tracker;
mod upload;
mod wire;

#[cfg(test)]
mod tests;

pub use state::{FetchPolicy, ServerStats};
pub use storage::StorageHandle;
pub use tracker::TrackerHandle;

use dfs_protocol::fastdfs::file_id::check_group;
use service::listen;
use state::{lock, ClusterState, GroupState, StorageState};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use storage::StorageCtx;
use tokio::net::TcpListener;

/// Builds an [`FdfsCluster`].
#[derive(Debug, Clone)]
pub struct FdfsClusterBuilder {
    groups: Vec<(String, usize)>,
    trackers: usize,
    data_dir: Option<PathBuf>,
    offline_after: Option<Duration>,
    shared_ip: bool,
    advertised: Vec<(String, usize, Ipv4Addr)>,
}

impl FdfsClusterBuilder {
    /// Adds group `name` with `storages` storage servers.
    pub fn group(mut self, name: &str, storages: usize) -> Self {
        self.groups.push((name.to_owned(), storages));
        self
    }

    /// Number of trackers (default 1); they share one view of the cluster.
    pub fn trackers(mut self, n: usize) -> Self {
        self.trackers = n;
        self
    }

    /// Keeps the store paths under `dir` instead of a temporary directory.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// How long trackers keep naming a stopped storage: zero (the default)
    /// notices at once, `None` never does, so clients meet the dead server.
    pub fn tracker_notices_stop_after(mut self, after: Option<Duration>) -> Self {
        self.offline_after = after;
        self
    }

    /// Puts every storage on 127.0.0.1 with its own port (the fallback when
    /// loopback aliases cannot be bound); source addresses in IDs are then
    /// all 127.0.0.1.
    pub fn shared_ip(mut self) -> Self {
        self.shared_ip = true;
        self
    }

    /// Storage `index` of `group` registers with the trackers as `ip` (its
    /// port kept) instead of the address it listens on, as a storage in a
    /// container registers its container address: tracker replies and
    /// listings name `ip`, and the IDs it mints encode `ip` as their
    /// source. Clients outside meet an address nothing answers on (pick a
    /// 127.x address no storage listens on).
    pub fn advertise_ip(mut self, group: &str, index: usize, ip: Ipv4Addr) -> Self {
        self.advertised.push((group.to_owned(), index, ip));
        self
    }

    /// Binds and starts every server.
    pub async fn build(self) -> io::Result<FdfsCluster> {
        self.validate()?;
        let (tmp, data_dir) = match &self.data_dir {
            Some(dir) => (None, dir.clone()),
            None => {
                let tmp = tempfile::Builder::new()
                    .prefix("fdfs-devcluster")
                    .tempdir()?;
                let dir = tmp.path().to_owned();
                (Some(tmp), dir)
            }
        };
        let listeners = bind_storages(&self.groups, self.shared_ip)?;
        let groups = group_states(&self.groups, &listeners, &data_dir, &self.advertised)?;
        let state = Arc::new(ClusterState::new(groups, self.offline_after));
        let storages = start_storages(&state, listeners)?;
        let trackers = (0..self.trackers)
            .map(|_| TrackerHandle::launch(listen(local(0))?, state.clone()))
            .collect::<io::Result<_>>()?;
        Ok(FdfsCluster {
            state,
            trackers,
            storages,
            data_dir,
            _tmp: tmp,
        })
    }

    fn validate(&self) -> io::Result<()> {
        let invalid = |what: String| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        if self.groups.is_empty() || self.trackers == 0 {
            return invalid("a FastDFS cluster needs a group and a tracker".into());
        }
        for (name, n) in &self.groups {
            if check_group(name).is_err() || *n == 0 {
                return invalid(format!("group {name:?} needs a valid name and a storage"));
            }
        }
        Ok(())
    }
}

/// A running FastDFS cluster; stops everything when dropped.
#[derive(Debug)]
pub struct FdfsCluster {
    state: Arc<ClusterState>,
    trackers: Vec<TrackerHandle>,
    storages: Vec<Vec<StorageHandle>>,
    data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl FdfsCluster {
    /// A builder with no group and one tracker.
    pub fn builder() -> FdfsClusterBuilder {
        FdfsClusterBuilder {
            groups: Vec::new(),
            trackers: 1,
            data_dir: None,
            offline_after: Some(Duration::ZERO),
            shared_ip: false,
            advertised: Vec::new(),
        }
    }

    /// The trackers' addresses.
    pub fn tracker_addrs(&self) -> Vec<SocketAddr> {
        self.trackers.iter().map(TrackerHandle::addr).collect()
    }

    /// Tracker `i`.
    pub fn tracker(&self, i: usize) -> &TrackerHandle {
        &self.trackers[i]
    }

    /// The group names, in the order they were added.
    pub fn groups(&self) -> Vec<&str> {
        self.state.groups.iter().map(|g| g.name.as_str()).collect()
    }

    /// The storages of `group`; panics on an unknown group.
    pub fn storages(&self, group: &str) -> &[StorageHandle] {
        let at = self.state.groups.iter().position(|g| g.name == group);
        &self.storages[at.unwrap_or_else(|| panic!("no group {group:?} in this cluster"))]
    }

    /// Storage `i` of `group`; panics when absent.
    pub fn storage(&self, group: &str, i: usize) -> &StorageHandle {
        &self.storages(group)[i]
    }

    /// Where the store paths are.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// How trackers pick a storage for downloads.
    pub fn set_fetch_policy(&self, policy: FetchPolicy) {
        *lock(&self.state.fetch_policy) = policy;
    }

    /// Turns push sync on or off on every storage.
    pub async fn set_sync(&self, on: bool) {
        for storage in self.storages.iter().flatten() {
            storage.set_sync(on).await;
        }
    }

    /// Stops every server and removes a temporary data directory.
    pub async fn shutdown(self) {
        for tracker in &self.trackers {
            tracker.stop().await;
        }
        for storage in self.storages.iter().flatten() {
            storage.stop().await;
        }
    }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Listeners for every storage, group by group.
fn bind_storages(groups: &[(String, usize)], shared_ip: bool) -> io::Result<Vec<Vec<TcpListener>>> {
    if !shared_ip {
        match bind_distinct(groups) {
            Ok(all) => return Ok(all),
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
                tracing::info!("loopback aliases unavailable; storages share 127.0.0.1");
            }
            Err(e) => return Err(e),
        }
    }
    let each = |n: usize| (0..n).map(|_| listen(local(0))).collect();
    groups.iter().map(|(_, n)| each(*n)).collect()
}

/// 127.0.0.2 and up, one address per storage, one port per group.
fn bind_distinct(groups: &[(String, usize)]) -> io::Result<Vec<Vec<TcpListener>>> {
    let total: usize = groups.iter().map(|(_, n)| n).sum();
    if total > 250 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "too many storages",
        ));
    }
    let mut next = 2u8;
    let mut all = Vec::new();
    for (_, n) in groups {
        let ips: Vec<Ipv4Addr> = (0..*n)
            .map(|k| Ipv4Addr::new(127, 0, 0, next + k as u8))
            .collect();
        next += *n as u8;
        all.push(bind_same_port(&ips)?);
    }
    Ok(all)
}

/// Binds every address on one port, retrying when another process holds
/// that port on one of them.
fn bind_same_port(ips: &[Ipv4Addr]) -> io::Result<Vec<TcpListener>> {
    'attempt: for _ in 0..32 {
        let first = listen(SocketAddr::from((ips[0], 0)))?;
        let port = first.local_addr()?.port();
        let mut bound = vec![first];
        for ip in &ips[1..] {
            match listen(SocketAddr::from((*ip, port))) {
                Ok(listener) => bound.push(listener),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue 'attempt,
                Err(e) => return Err(e),
            }
        }
        return Ok(bound);
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no port free on every storage address",
    ))
}

fn group_states(
    groups: &[(String, usize)],
    listeners: &[Vec<TcpListener>],
    data_dir: &Path,
    advertised: &[(String, usize, Ipv4Addr)],
) -> io::Result<Vec<GroupState>> {
    let mut states = Vec::new();
    for ((name, _), bound) in groups.iter().zip(listeners) {
        let mut storages = Vec::new();
        for (index, listener) in bound.iter().enumerate() {
            let SocketAddr::V4(mut addr) = listener.local_addr()? else {
                unreachable!("storages bind IPv4 loopback addresses")
            };
            let registered = advertised
                .iter()
                .rev()
                .find(|(g, i, _)| g == name && *i == index);
            if let Some((_, _, ip)) = registered {
                addr.set_ip(*ip);
            }
            let store_path = data_dir.join(name).join(format!("storage{index}"));
            std::fs::create_dir_all(store_path.join("data"))?;
            storages.push(Arc::new(StorageState::new(
                name.clone(),
                index,
                addr,
                store_path,
            )));
        }
        states.push(GroupState::new(name.clone(), storages));
    }
    Ok(states)
}

fn start_storages(
    state: &Arc<ClusterState>,
    listeners: Vec<Vec<TcpListener>>,
) -> io::Result<Vec<Vec<StorageHandle>>> {
    let mut handles = Vec::new();
    for (group, bound) in listeners.into_iter().enumerate() {
        let mut group_handles = Vec::new();
        for (index, listener) in bound.into_iter().enumerate() {
            let ctx = StorageCtx {
                cluster: state.clone(),
                group,
                index,
            };
            group_handles.push(StorageHandle::launch(listener, ctx)?);
        }
        handles.push(group_handles);
    }
    Ok(handles)
}
