//! Tracker monitoring commands, as `fdfs_monitor` uses them: the groups of a
//! cluster and the storages of a group.
//!
//! ```text
//! cmd  request                         reply (OK)
//!  90  g16                             one group record (113 bytes)
//!  91  (empty)                         k x group record
//!  92  g16 [+ storage id, < 16 bytes]  k x storage record (487 bytes; 517 with IPv6 addresses)
//!
//! group record (113):  group_name[17], then 12 x n8: total_mb, free_mb,
//!   reserved_mb, trunk_free_mb, storage_count, storage_port,
//!   readable_server_count, writable_server_count, current_write_server,
//!   store_path_count, subdir_count_per_path, current_trunk_file_id
//!
//! storage record (487): status 1, rw_mode 1, id[16], ip_addr[16 | 46],
//!   src_id[16], version[8], 10 x n8: join_time, up_time, total_mb, free_mb,
//!   reserved_mb, upload_priority, store_path_count, subdir_count_per_path,
//!   current_write_path, storage_port;
//!   statistics (348): 3 x n4 connection counts (alloc, current, max),
//!   38 x n8 counters (total/success pairs of uploads, appends, modifies,
//!   truncates, set/get metadata, deletes, downloads, links, bytes, file
//!   opens/reads/writes), 4 x n8 times (last_source_update,
//!   last_sync_update, last_synced_timestamp, last_heart_beat_time);
//!   if_trunk_server 1
//! ```
//!
//! Times are Unix seconds, 0 meaning never. An unknown group or storage is
//! answered with status ENOENT and no body. Reply parsers take the record
//! count from the body length alone, so a hostile reply costs at most its own
//! size.

use super::fields::{body_length, expect_len, put_fixed, Fields};
use super::{cmd, Command, Header, Payload, ProtocolError, GROUP_LEN};
use bytes::{BufMut, BytesMut};

/// Width of the group name in a group record (one more than in requests).
pub const GROUP_STAT_NAME_LEN: usize = GROUP_LEN + 1;
/// Bytes of one group record.
pub const GROUP_STAT_LEN: usize = GROUP_STAT_NAME_LEN + 12 * 8;
/// Width of a storage id (and of its IPv4 address field).
pub const STORAGE_ID_LEN: usize = 16;
/// Width of the address field in records of IPv6-enabled trackers.
pub const IPV6_ADDR_LEN: usize = 46;
/// Width of the version string.
pub const VERSION_LEN: usize = 8;
/// Bytes of the statistics block of a storage record.
pub const STAT_BUFF_LEN: usize = 3 * 4 + 38 * 8 + 4 * 8;
/// Bytes of a storage record with IPv4 address fields.
pub const STORAGE_STAT_LEN: usize = storage_stat_len(STORAGE_ID_LEN);
/// Bytes of a storage record with IPv6 address fields.
pub const STORAGE_STAT_V6_LEN: usize = storage_stat_len(IPV6_ADDR_LEN);

const fn storage_stat_len(ip_len: usize) -> usize {
    2 + STORAGE_ID_LEN * 2 + ip_len + VERSION_LEN + 10 * 8 + STAT_BUFF_LEN + 1
}

/// One group, as the tracker sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupStat {
    /// Group name.
    pub name: String,
    /// Disk space of the group (its smallest storage), MB.
    pub total_mb: i64,
    /// Free space, MB.
    pub free_mb: i64,
    /// Space kept free (`reserved_storage_space`), MB.
    pub reserved_mb: i64,
    /// Free space in trunk files, MB.
    pub trunk_free_mb: i64,
    /// Storages in the group.
    pub storage_count: i64,
    /// The storages' port.
    pub storage_port: i64,
    /// Storages that serve reads.
    pub readable_server_count: i64,
    /// Storages that take uploads.
    pub writable_server_count: i64,
    /// Index of the storage taking uploads now.
    pub current_write_server: i64,
    /// Store paths per storage.
    pub store_path_count: i64,
    /// Subdirectories per store path level.
    pub subdir_count_per_path: i64,
    /// Current trunk file id (-1: none).
    pub current_trunk_file_id: i64,
}

impl GroupStat {
    fn numbers(&self) -> [i64; 12] {
        [
            self.total_mb,
            self.free_mb,
            self.reserved_mb,
            self.trunk_free_mb,
            self.storage_count,
            self.storage_port,
            self.readable_server_count,
            self.writable_server_count,
            self.current_write_server,
            self.store_path_count,
            self.subdir_count_per_path,
            self.current_trunk_file_id,
        ]
    }

    fn read(f: &mut Fields<'_>) -> Result<Self, ProtocolError> {
        let name = f.fixed(GROUP_STAT_NAME_LEN, "group_name")?;
        let mut n = [0i64; 12];
        for v in &mut n {
            *v = f.n8_raw("group stat")?;
        }
        let [total_mb, free_mb, reserved_mb, trunk_free_mb, storage_count, storage_port, readable_server_count, writable_server_count, current_write_server, store_path_count, subdir_count_per_path, current_trunk_file_id] =
            n;
        Ok(GroupStat {
            name,
            total_mb,
            free_mb,
            reserved_mb,
            trunk_free_mb,
            storage_count,
            storage_port,
            readable_server_count,
            writable_server_count,
            current_write_server,
            store_path_count,
            subdir_count_per_path,
            current_trunk_file_id,
        })
    }
}

impl Payload for GroupStat {
    fn encode(&self, out: &mut BytesMut) {
        put_fixed(out, &self.name, GROUP_STAT_NAME_LEN);
        self.numbers().iter().for_each(|&v| out.put_i64(v));
    }

    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        expect_len("SERVER_LIST_ONE_GROUP reply", body, GROUP_STAT_LEN, "113")?;
        GroupStat::read(&mut Fields::new("SERVER_LIST_ONE_GROUP reply", body))
    }
}

/// Every group: reply of SERVER_LIST_ALL_GROUPS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupStats(pub Vec<GroupStat>);

impl Payload for GroupStats {
    fn encode(&self, out: &mut BytesMut) {
        self.0.iter().for_each(|g| g.encode(out));
    }

    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let cmd = "SERVER_LIST_ALL_GROUPS reply";
        if !body.len().is_multiple_of(GROUP_STAT_LEN) {
            return Err(body_length(cmd, body, "k x 113"));
        }
        let mut f = Fields::new(cmd, body);
        let groups = body
            .chunks_exact(GROUP_STAT_LEN)
            .map(|_| GroupStat::read(&mut f))
            .collect::<Result<_, _>>()?;
        Ok(GroupStats(groups))
    }
}

/// A storage's state byte (`FDFS_STORAGE_STATUS_*`).
pub fn storage_status_name(status: u8) -> &'static str {
    match status {
        0 => "INIT",
        1 => "WAIT_SYNC",
        2 => "SYNCING",
        3 => "IP_CHANGED",
        4 => "DELETED",
        5 => "OFFLINE",
        6 => "ONLINE",
        7 => "ACTIVE",
        9 => "RECOVERY",
        99 => "NONE",
        _ => "UNKNOWN",
    }
}

mod storage_stat;
pub use storage_stat::{StorageCounters, StorageStat, StorageStats};

/// SERVER_LIST_ONE_GROUP: one group's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOneGroup {
    /// The group.
    pub group: String,
}

impl Command for ListOneGroup {
    const CMD: u8 = cmd::SERVER_LIST_ONE_GROUP;
    const NAME: &'static str = "SERVER_LIST_ONE_GROUP";
    type Reply = GroupStat;
    fn encode_body(&self, out: &mut BytesMut) {
        put_fixed(out, &self.group, GROUP_LEN);
    }
    fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        expect_len(Self::NAME, body, GROUP_LEN, "16")?;
        let group = Fields::new(Self::NAME, body).fixed(GROUP_LEN, "group_name")?;
        Ok(ListOneGroup { group })
    }
}

/// SERVER_LIST_ALL_GROUPS: every group's record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListAllGroups;

impl Command for ListAllGroups {
    const CMD: u8 = cmd::SERVER_LIST_ALL_GROUPS;
    const NAME: &'static str = "SERVER_LIST_ALL_GROUPS";
    type Reply = GroupStats;
    fn encode_body(&self, _: &mut BytesMut) {}
    fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        expect_len(Self::NAME, body, 0, "0")?;
        Ok(ListAllGroups)
    }
}

/// SERVER_LIST_STORAGE: the storages of a group, or the one with `storage_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListStorage {
    /// The group.
    pub group: String,
    /// Only this storage (its id, or its IP address without storage ids).
    pub storage_id: Option<String>,
}

impl Command for ListStorage {
    const CMD: u8 = cmd::SERVER_LIST_STORAGE;
    const NAME: &'static str = "SERVER_LIST_STORAGE";
    type Reply = StorageStats;
    fn encode_body(&self, out: &mut BytesMut) {
        put_fixed(out, &self.group, GROUP_LEN);
        if let Some(id) = &self.storage_id {
            // Sent unpadded: the tracker takes its length from pkg_len.
            let id = id.as_bytes();
            out.put_slice(&id[..id.len().min(STORAGE_ID_LEN - 1)]);
        }
    }
    /// The tracker's bounds: the group, then an id shorter than 16 bytes.
    fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        if body.len() < GROUP_LEN || body.len() >= GROUP_LEN + STORAGE_ID_LEN {
            return Err(body_length(Self::NAME, body, "16 + 0..16"));
        }
        let mut f = Fields::new(Self::NAME, body);
        let group = f.fixed(GROUP_LEN, "group_name")?;
        let storage_id = match f.remaining() {
            0 => None,
            _ => Some(f.rest_str("storage_id")?),
        };
        Ok(ListStorage { group, storage_id })
    }
}

#[cfg(test)]
mod tests;
