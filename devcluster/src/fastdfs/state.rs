//! What trackers and storages share: the groups, each storage's switches and
//! counters, and the tracker's choices.
//!
//! Real trackers learn about storages through heartbeats; here they read the
//! storages' state directly, with one deliberate lag: a stopped storage stays
//! "active" for the tracker for `offline_after` (forever when `None`), so
//! tests can make the tracker name a dead storage, as happens for a while
//! after a crash.

use super::faults::Faults;
use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How a tracker answers QUERY_FETCH_ONE (and orders QUERY_FETCH_ALL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FetchPolicy {
    /// Round-robin over the group's active storages, whether or not they
    /// have the file yet: what a real tracker does once it believes a
    /// replica is in sync.
    #[default]
    RoundRobin,
    /// The file's source storage when active, else round-robin
    /// (`download_server = 1`).
    SourceFirst,
    /// Always storage `i` of the group while it is active: deterministic
    /// choices for tests.
    Storage(usize),
}

/// Locks, ignoring poisoning: a panicking test thread must not wedge servers.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counters of one server, for assertions in tests.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) uploads: AtomicU64,
    pub(crate) downloads: AtomicU64,
    pub(crate) deletes: AtomicU64,
}

/// A snapshot of a server's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections accepted.
    pub connections: u64,
    /// Requests read (any command).
    pub requests: u64,
    /// Files stored by UPLOAD_FILE (sync copies excluded).
    pub uploads: u64,
    /// DOWNLOAD_FILE requests answered with data.
    pub downloads: u64,
    /// Files removed by DELETE_FILE.
    pub deletes: u64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ServerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServerStats {
            connections: get(&self.connections),
            requests: get(&self.requests),
            uploads: get(&self.uploads),
            downloads: get(&self.downloads),
            deletes: get(&self.deletes),
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One storage server's shared state.
#[derive(Debug)]
pub(crate) struct StorageState {
    pub(crate) group: String,
    pub(crate) index: usize,
    /// The address it registers with the trackers (where it listens,
    /// unless the cluster was built with `advertise_ip`).
    pub(crate) addr: SocketAddrV4,
    /// The one store path (`M00`).
    pub(crate) store_path: PathBuf,
    /// `None` while running; when it stopped otherwise.
    pub(crate) stopped_at: Mutex<Option<Instant>>,
    /// Push new files and deletes to the group's other storages.
    pub(crate) sync: AtomicBool,
    /// Wait this long before pushing (milliseconds).
    pub(crate) sync_delay_ms: AtomicU64,
    /// Sync operations held back while `sync` is off.
    pub(crate) pending: Mutex<Vec<super::sync::SyncOp>>,
    /// Files named so far; picks the `XX/YY` directory like the real
    /// storage's round-robin (100 files per directory).
    pub(crate) files_named: AtomicU64,
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
}

impl StorageState {
    pub(crate) fn new(
        group: String,
        index: usize,
        addr: SocketAddrV4,
        store_path: PathBuf,
    ) -> Self {
        StorageState {
            group,
            index,
            addr,
            store_path,
            stopped_at: Mutex::new(None),
            sync: AtomicBool::new(true),
            sync_delay_ms: AtomicU64::new(0),
            pending: Mutex::new(Vec::new()),
            files_named: AtomicU64::new(0),
            faults: Faults::default(),
            counters: Counters::default(),
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        lock(&self.stopped_at).is_none()
    }

    pub(crate) fn sync_delay(&self) -> Duration {
        Duration::from_millis(self.sync_delay_ms.load(Ordering::Relaxed))
    }
}

/// A group and its storages.
#[derive(Debug)]
pub(crate) struct GroupState {
    pub(crate) name: String,
    pub(crate) storages: Vec<std::sync::Arc<StorageState>>,
    next_write: AtomicUsize,
    next_read: AtomicUsize,
    /// Which storage stored each file name (also encoded as its IP when the
    /// storages have distinct loopback addresses).
    origins: Mutex<HashMap<String, usize>>,
}

impl GroupState {
    pub(crate) fn new(name: String, storages: Vec<std::sync::Arc<StorageState>>) -> Self {
        GroupState {
            name,
            storages,
            next_write: AtomicUsize::new(0),
            next_read: AtomicUsize::new(0),
            origins: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn record_origin(&self, file_name: &str, index: usize) {
        lock(&self.origins).insert(file_name.to_owned(), index);
    }

    /// The storage that stored `file_name`: recorded, or by encoded address.
    pub(crate) fn origin(&self, file_name: &str, source: std::net::Ipv4Addr) -> Option<usize> {
        let recorded = lock(&self.origins).get(file_name).copied();
        recorded.or_else(|| self.storages.iter().position(|s| *s.addr.ip() == source))
    }
}

/// Everything the servers of one cluster share.
#[derive(Debug)]
pub(crate) struct ClusterState {
    pub(crate) groups: Vec<GroupState>,
    pub(crate) fetch_policy: Mutex<FetchPolicy>,
    /// How long a tracker keeps listing a stopped storage; `None` = forever.
    pub(crate) offline_after: Option<Duration>,
    next_group: AtomicUsize,
}

impl ClusterState {
    pub(crate) fn new(groups: Vec<GroupState>, offline_after: Option<Duration>) -> Self {
        ClusterState {
            groups,
            fetch_policy: Mutex::new(FetchPolicy::default()),
            offline_after,
            next_group: AtomicUsize::new(0),
        }
    }

    pub(crate) fn group(&self, name: &str) -> Option<&GroupState> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// Active as far as the trackers know.
    pub(crate) fn is_active(&self, storage: &StorageState) -> bool {
        match (*lock(&storage.stopped_at), self.offline_after) {
            (None, _) => true,
            (Some(_), None) => true,
            (Some(at), Some(after)) => at.elapsed() < after,
        }
    }

    fn active(&self, group: &GroupState) -> Vec<usize> {
        (0..group.storages.len())
            .filter(|&i| self.is_active(&group.storages[i]))
            .collect()
    }

    /// Upload target: round-robin over groups with an active storage, then
    /// over the group's active storages.
    pub(crate) fn store_target(&self, group: Option<&str>) -> Option<(&GroupState, usize)> {
        let group = match group {
            Some(name) => self.group(name)?,
            None => {
                let n = self.groups.len();
                let start = self.next_group.fetch_add(1, Ordering::Relaxed);
                let pick = (0..n).map(|k| &self.groups[(start + k) % n]);
                pick.into_iter().find(|g| !self.active(g).is_empty())?
            }
        };
        let active = self.active(group);
        let at = group.next_write.fetch_add(1, Ordering::Relaxed);
        let index = *active.get(at % active.len().max(1))?;
        Some((group, index))
    }

    /// QUERY_FETCH_ONE's choice for a file whose source is `origin`.
    pub(crate) fn fetch_one(&self, group: &GroupState, origin: Option<usize>) -> Option<usize> {
        let active = self.active(group);
        let round_robin = || {
            let at = group.next_read.fetch_add(1, Ordering::Relaxed);
            active.get(at % active.len().max(1)).copied()
        };
        match *lock(&self.fetch_policy) {
            FetchPolicy::RoundRobin => round_robin(),
            FetchPolicy::SourceFirst => origin.filter(|o| active.contains(o)).or_else(round_robin),
            FetchPolicy::Storage(i) => Some(i).filter(|i| active.contains(i)).or_else(round_robin),
        }
    }

    /// QUERY_FETCH_ALL: the FETCH_ONE choice first, then the other active ones.
    pub(crate) fn fetch_all(&self, group: &GroupState, origin: Option<usize>) -> Vec<usize> {
        let first = self.fetch_one(group, origin);
        let rest = self.active(group).into_iter().filter(|&i| Some(i) != first);
        first.into_iter().chain(rest).collect()
    }

    /// QUERY_UPDATE: the source when active, else the first active storage.
    pub(crate) fn update_target(&self, group: &GroupState, origin: Option<usize>) -> Option<usize> {
        let active = self.active(group);
        origin
            .filter(|o| active.contains(o))
            .or_else(|| active.first().copied())
    }
}
