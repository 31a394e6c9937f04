//! The tracker's monitoring answers (SERVER_LIST_ONE_GROUP, _ALL_GROUPS,
//! _STORAGE), in the real tracker's record layout, built from the shared
//! cluster state.
//!
//! What devcluster does not model is reported plainly: every storage has a
//! nominal [`NOMINAL_DISK_MB`] disk, one store path of 256 subdirectories,
//! and no trunk files. A storage is ACTIVE while the tracker believes it is
//! (see `offline_after`), OFFLINE after; its heartbeat time is now while it
//! runs and the moment it stopped after.

use super::state::{lock, ClusterState, GroupState, StorageState};
use dfs_protocol::fastdfs::monitor::{
    GroupStat, GroupStats, ListOneGroup, ListStorage, StorageCounters, StorageStat, StorageStats,
};
use dfs_protocol::fastdfs::status;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Disk size every storage reports, MB.
pub const NOMINAL_DISK_MB: i64 = 10_240;

const STATUS_OFFLINE: u8 = 5;
const STATUS_ACTIVE: u8 = 7;

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// When this process's storages joined (the first time anyone asked).
fn joined() -> i64 {
    static JOINED: OnceLock<i64> = OnceLock::new();
    *JOINED.get_or_init(|| unix(SystemTime::now()))
}

fn group_stat(cluster: &ClusterState, group: &GroupState) -> GroupStat {
    let active = group
        .storages
        .iter()
        .filter(|s| cluster.is_active(s))
        .count() as i64;
    GroupStat {
        name: group.name.clone(),
        total_mb: NOMINAL_DISK_MB,
        free_mb: NOMINAL_DISK_MB,
        storage_count: group.storages.len() as i64,
        storage_port: group
            .storages
            .first()
            .map_or(0, |s| i64::from(s.addr.port())),
        readable_server_count: active,
        writable_server_count: active,
        store_path_count: 1,
        subdir_count_per_path: 256,
        current_trunk_file_id: -1,
        ..GroupStat::default()
    }
}

fn storage_stat(cluster: &ClusterState, storage: &StorageState) -> StorageStat {
    let now = SystemTime::now();
    let stopped_for = lock(&storage.stopped_at).map(|at| at.elapsed());
    let heartbeat = now - stopped_for.unwrap_or(Duration::ZERO);
    let counts = storage.counters.snapshot();
    let mut counters = StorageCounters::default();
    let pairs = [
        (0, counts.uploads),
        (10, counts.deletes),
        (12, counts.downloads),
    ];
    for (at, n) in pairs {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        counters.0[at] = n;
        counters.0[at + 1] = n;
    }
    let ip = storage.addr.ip().to_string();
    StorageStat {
        status: if cluster.is_active(storage) {
            STATUS_ACTIVE
        } else {
            STATUS_OFFLINE
        },
        rw_mode: 6,
        id: ip.clone(),
        ip_addr: ip,
        version: "6.16.1".into(),
        join_time: joined(),
        up_time: joined(),
        total_mb: NOMINAL_DISK_MB,
        free_mb: NOMINAL_DISK_MB,
        upload_priority: 10,
        store_path_count: 1,
        subdir_count_per_path: 256,
        storage_port: i64::from(storage.addr.port()),
        counters,
        last_heart_beat_time: unix(heartbeat),
        ..StorageStat::default()
    }
}

/// SERVER_LIST_ONE_GROUP: ENOENT for an unknown group.
pub(super) fn list_one_group(cluster: &ClusterState, q: &ListOneGroup) -> Result<GroupStat, u8> {
    let group = cluster.group(&q.group).ok_or(status::ENOENT)?;
    Ok(group_stat(cluster, group))
}

/// SERVER_LIST_ALL_GROUPS.
pub(super) fn list_all_groups(cluster: &ClusterState) -> GroupStats {
    GroupStats(
        cluster
            .groups
            .iter()
            .map(|g| group_stat(cluster, g))
            .collect(),
    )
}

/// SERVER_LIST_STORAGE: ENOENT for an unknown group or a storage id that
/// matches none.
pub(super) fn list_storage(cluster: &ClusterState, q: &ListStorage) -> Result<StorageStats, u8> {
    let group = cluster.group(&q.group).ok_or(status::ENOENT)?;
    let wanted = |s: &&std::sync::Arc<StorageState>| {
        q.storage_id
            .as_ref()
            .is_none_or(|id| *id == s.addr.ip().to_string())
    };
    let stats: Vec<StorageStat> = group
        .storages
        .iter()
        .filter(wanted)
        .map(|s| storage_stat(cluster, s))
        .collect();
    if stats.is_empty() && q.storage_id.is_some() {
        return Err(status::ENOENT);
    }
    Ok(StorageStats(stats))
}
