//! [`MogCluster`]: trackers, storage nodes and workers of one in-process
//! MogileFS, with the controls and observations tests need.

use super::builder::MogClusterBuilder;
use super::client::TrackerClient;
use super::nginx::NginxNode;
use super::service::Service;
use super::state::Shared;
use super::topology::DeviceState;
use super::workers;
use crate::storage_node::{stored_files, StorageNode, StoredFile};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often the `wait_*` helpers look again.
const POLL: Duration = Duration::from_millis(20);

/// An in-process MogileFS: trackers speaking the real protocol in front of a
/// shared in-memory metadata store, mogstored-like storage nodes, and the
/// replicator, deleter and monitor. Dropping it stops everything and removes
/// its temporary data directory.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use devcluster::mogilefs::MogCluster;
/// let cluster = MogCluster::builder().nodes(2).domain("imgs").build().await?;
/// let tracker = cluster.tracker_addrs()[0];
/// # Ok(()) }
/// ```
pub struct MogCluster {
    shared: Arc<Shared>,
    trackers: Vec<Service>,
    storage: Storage,
    tasks: Vec<JoinHandle<()>>,
    data_dir: PathBuf,
    // Last: the directory goes once the nodes serving it are gone.
    _temp: Option<tempfile::TempDir>,
}

/// The storage nodes of a cluster, in process or nginx.
#[derive(Debug, Default)]
pub(crate) struct Storage {
    /// In-process nodes (empty with nginx).
    pub nodes: Vec<StorageNode>,
    /// nginx nodes, killed when dropped (empty without nginx).
    pub nginx: Mutex<Vec<NginxNode>>,
    /// Addresses, roots and devices of all nodes, in order.
    pub addrs: Vec<SocketAddr>,
    pub roots: Vec<PathBuf>,
    pub devids: Vec<Vec<u64>>,
}

impl Storage {
    /// Keeps an in-process node; returns its address.
    pub fn push_node(&mut self, node: StorageNode) -> SocketAddr {
        let addr = node.addr();
        self.nodes.push(node);
        addr
    }

    /// Keeps an nginx node; returns its address.
    pub fn push_nginx(&mut self, node: NginxNode) -> SocketAddr {
        let addr = node.addr();
        self.nginx
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .push(node);
        addr
    }
}

/// What the tracker knows of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSnapshot {
    /// File id.
    pub fid: u64,
    /// Class name.
    pub class: String,
    /// Size in bytes.
    pub length: u64,
    /// Devices holding a copy.
    pub devids: Vec<u64>,
    /// URLs of the copies, in `devids` order.
    pub urls: Vec<String>,
}

impl MogCluster {
    /// A builder with defaults: 1 tracker, 2 nodes with one device each.
    pub fn builder() -> MogClusterBuilder {
        MogClusterBuilder::default()
    }

    pub(crate) fn new(
        shared: Arc<Shared>,
        trackers: Vec<Service>,
        storage: Storage,
        tasks: Vec<JoinHandle<()>>,
        data_dir: PathBuf,
        temp: Option<tempfile::TempDir>,
    ) -> Self {
        MogCluster {
            shared,
            trackers,
            storage,
            tasks,
            data_dir,
            _temp: temp,
        }
    }

    /// The state shared by the trackers, for the command replay tests.
    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Tracker addresses, in order.
    pub fn tracker_addrs(&self) -> Vec<SocketAddr> {
        self.trackers.iter().map(Service::addr).collect()
    }

    /// Storage node addresses, in order.
    pub fn node_addrs(&self) -> Vec<SocketAddr> {
        self.storage.addrs.clone()
    }

    /// In-process storage node `i` (faults, stats, stop/start). Panics when
    /// out of range, and so always for a cluster on nginx.
    pub fn node(&self, i: usize) -> &StorageNode {
        &self.storage.nodes[i]
    }

    /// All in-process storage nodes (none for a cluster on nginx).
    pub fn nodes(&self) -> &[StorageNode] {
        &self.storage.nodes
    }

    /// True when the storage nodes are nginx processes.
    pub fn uses_nginx(&self) -> bool {
        self.storage.nodes.is_empty() && !self.storage.addrs.is_empty()
    }

    /// Where the nodes keep their files.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops tracker `i`: its port refuses connections, open ones are cut.
    pub async fn stop_tracker(&self, i: usize) {
        self.trackers[i].stop().await;
    }

    /// Starts tracker `i` again on the same port.
    pub async fn start_tracker(&self, i: usize) -> io::Result<()> {
        self.trackers[i].start()
    }

    /// Sets a device's administrative state (`mogadm device mark`), e.g.
    /// `ReadOnly` on all devices makes `create_open` answer `no_devices`.
    pub fn set_device_state(&self, devid: u64, state: DeviceState) {
        let under = {
            let mut meta = self.shared.meta();
            if let Some(device) = meta.topology.devices.get_mut(&devid) {
                device.state = state;
            }
            meta.under_replicated()
        };
        under.into_iter().for_each(|fid| self.shared.replicate(fid));
    }

    /// Holds replication back (`true`): new files keep a single copy until
    /// it is let go again (`false`), as on a tracker whose replicate workers
    /// lag behind.
    pub fn pause_replication(&self, paused: bool) {
        self.shared.pause_replication(paused);
    }

    /// Probes every device now instead of waiting for the monitor's next round.
    pub async fn probe_now(&self) {
        workers::probe_all(&self.shared).await;
    }

    /// What the tracker knows of `domain`/`key`.
    pub fn file(&self, domain: &str, key: &str) -> Option<FileSnapshot> {
        let meta = self.shared.meta();
        let (fid, row) = meta.lookup(domain, key)?;
        Some(FileSnapshot {
            fid,
            class: row.class.clone(),
            length: row.length,
            devids: row.devids.clone(),
            urls: meta.urls(fid, &row.devids),
        })
    }

    /// Stores `data` under `key` (class `default`) through tracker 0 with
    /// the real protocol, as a MogileFS client would; returns the fid.
    pub async fn store(
        &self,
        domain: &str,
        key: &str,
        data: impl Into<Vec<u8>>,
    ) -> io::Result<u64> {
        let mut client = TrackerClient::connect(self.tracker_addrs()[0]).await?;
        client.store(domain, key, None, data.into()).await
    }

    /// Uploads opened with `create_open` and not closed yet.
    pub fn open_uploads(&self) -> usize {
        self.shared.meta().open_uploads()
    }

    /// Files on the nodes' disks that the tracker does not know of: copies
    /// of deleted or replaced files not removed yet, uploads never closed,
    /// and temporary files of PUTs in progress.
    pub fn orphans(&self) -> io::Result<Vec<StoredFile>> {
        let known = self.shared.meta().known_paths();
        let mut orphans = Vec::new();
        for root in &self.storage.roots {
            let files = stored_files(root)?;
            let unknown = files
                .into_iter()
                .filter(|f| !known.contains(&f.path) && !is_usage_file(&f.path));
            orphans.extend(unknown);
        }
        Ok(orphans)
    }

    /// Waits until `key` has at least `n` copies; false on time-out.
    pub async fn wait_devcount(
        &self,
        domain: &str,
        key: &str,
        n: usize,
        timeout: Duration,
    ) -> bool {
        let copies = || self.file(domain, key).map_or(0, |f| f.devids.len());
        wait_until(timeout, || async { copies() >= n }).await
    }

    /// Waits until [`orphans`](Self::orphans) is empty; false on time-out.
    pub async fn wait_no_orphans(&self, timeout: Duration) -> bool {
        wait_until(timeout, || async {
            self.orphans().is_ok_and(|o| o.is_empty())
        })
        .await
    }

    /// Waits until the monitor sees `devid` as reachable (`up`) or not.
    pub async fn wait_device_observed(&self, devid: u64, up: bool, timeout: Duration) -> bool {
        let seen = || {
            let meta = self.shared.meta();
            meta.topology.devices.get(&devid).and_then(|d| d.reachable) == Some(up)
        };
        wait_until(timeout, || async { seen() }).await
    }

    /// Stops trackers, nodes and workers. Files stay until the cluster is
    /// dropped (and stay for good in a `data_dir` given to the builder).
    pub async fn shutdown(&self) {
        for tracker in &self.trackers {
            tracker.stop().await;
        }
        for task in &self.tasks {
            task.abort();
        }
        for node in &self.storage.nodes {
            node.stop().await;
        }
        // Dropping nginx nodes kills them.
        self.storage
            .nginx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Drop for MogCluster {
    fn drop(&mut self) {
        // Trackers and nodes stop when their handles drop; workers here.
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for MogCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MogCluster")
            .field("trackers", &self.tracker_addrs())
            .field("nodes", &self.node_addrs())
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

/// `/devN/usage`, the disk-usage file beside a device's data.
fn is_usage_file(path: &str) -> bool {
    path.strip_suffix("/usage")
        .and_then(|dev| dev.strip_prefix("/dev"))
        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
}

async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}
