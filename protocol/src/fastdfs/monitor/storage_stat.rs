//! The storage record of SERVER_LIST_STORAGE (layout in [`super`]).

use super::{
    body_length, put_fixed, Fields, Payload, ProtocolError, IPV6_ADDR_LEN, STORAGE_ID_LEN,
    STORAGE_STAT_LEN, STORAGE_STAT_V6_LEN, VERSION_LEN,
};
use bytes::{BufMut, BytesMut};

/// The 38 counters of a storage record, in wire order: total/success pairs
/// of upload, append, modify, truncate, set-metadata, delete, download,
/// get-metadata, create-link and delete-link operations; of upload, append,
/// modify, download, sync-in and sync-out bytes; of file opens, reads and
/// writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageCounters(pub [i64; 38]);

impl Default for StorageCounters {
    fn default() -> Self {
        StorageCounters([0; 38])
    }
}

impl StorageCounters {
    fn pair(&self, at: usize) -> (i64, i64) {
        (self.0[at], self.0[at + 1])
    }
    /// Uploads (total, successful).
    pub fn uploads(&self) -> (i64, i64) {
        self.pair(0)
    }
    /// Deletes (total, successful).
    pub fn deletes(&self) -> (i64, i64) {
        self.pair(10)
    }
    /// Downloads (total, successful).
    pub fn downloads(&self) -> (i64, i64) {
        self.pair(12)
    }
    /// Uploaded bytes (total, successful).
    pub fn upload_bytes(&self) -> (i64, i64) {
        self.pair(20)
    }
    /// Downloaded bytes (total, successful).
    pub fn download_bytes(&self) -> (i64, i64) {
        self.pair(26)
    }
}

/// One storage, as the tracker sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageStat {
    /// State byte; see [`super::storage_status_name`].
    pub status: u8,
    /// Read/write bits: 4 readable, 2 writable.
    pub rw_mode: u8,
    /// Storage id (its IP address without storage ids).
    pub id: String,
    /// IP address.
    pub ip_addr: String,
    /// The storage it copied its initial data from (empty: none).
    pub src_id: String,
    /// FastDFS version.
    pub version: String,
    /// When it joined the group.
    pub join_time: i64,
    /// When it last started.
    pub up_time: i64,
    /// Disk space, MB.
    pub total_mb: i64,
    /// Free space, MB.
    pub free_mb: i64,
    /// Space kept free, MB.
    pub reserved_mb: i64,
    /// Upload priority (lower first).
    pub upload_priority: i64,
    /// Store paths.
    pub store_path_count: i64,
    /// Subdirectories per store path level.
    pub subdir_count_per_path: i64,
    /// Store path taking uploads now.
    pub current_write_path: i64,
    /// Storage port.
    pub storage_port: i64,
    /// Connections: allocated, current, most at once.
    pub connections: [i32; 3],
    /// Operation counters.
    pub counters: StorageCounters,
    /// Last change of a file it is the source of (its own clock).
    pub last_source_update: i64,
    /// Last change received by sync (its own clock).
    pub last_sync_update: i64,
    /// Newest file time synced from its source (the source's clock).
    pub last_synced_timestamp: i64,
    /// Last heartbeat the tracker received.
    pub last_heart_beat_time: i64,
    /// It manages the group's trunk files.
    pub if_trunk_server: bool,
}

impl StorageStat {
    fn read(f: &mut Fields<'_>, ip_len: usize) -> Result<Self, ProtocolError> {
        let mut s = StorageStat {
            status: f.u8("status")?,
            rw_mode: f.u8("rw_mode")?,
            id: f.fixed(STORAGE_ID_LEN, "id")?,
            ip_addr: f.fixed(ip_len, "ip_addr")?,
            src_id: f.fixed(STORAGE_ID_LEN, "src_id")?,
            version: f.fixed(VERSION_LEN, "version")?,
            ..StorageStat::default()
        };
        for v in s.numbers_mut() {
            *v = f.n8_raw("storage stat")?;
        }
        for c in &mut s.connections {
            let b = f.bytes(4, "connection count")?;
            *c = i32::from_be_bytes(b.try_into().expect("4 bytes"));
        }
        for c in &mut s.counters.0 {
            *c = f.n8_raw("storage counter")?;
        }
        for t in s.times_mut() {
            *t = f.n8_raw("storage time")?;
        }
        s.if_trunk_server = f.u8("if_trunk_server")? != 0;
        Ok(s)
    }

    fn numbers_mut(&mut self) -> [&mut i64; 10] {
        [
            &mut self.join_time,
            &mut self.up_time,
            &mut self.total_mb,
            &mut self.free_mb,
            &mut self.reserved_mb,
            &mut self.upload_priority,
            &mut self.store_path_count,
            &mut self.subdir_count_per_path,
            &mut self.current_write_path,
            &mut self.storage_port,
        ]
    }

    fn times_mut(&mut self) -> [&mut i64; 4] {
        [
            &mut self.last_source_update,
            &mut self.last_sync_update,
            &mut self.last_synced_timestamp,
            &mut self.last_heart_beat_time,
        ]
    }

    /// Appends the record with an address field of `ip_len` bytes.
    pub(super) fn write(&self, out: &mut BytesMut, ip_len: usize) {
        out.put_u8(self.status);
        out.put_u8(self.rw_mode);
        put_fixed(out, &self.id, STORAGE_ID_LEN);
        put_fixed(out, &self.ip_addr, ip_len);
        put_fixed(out, &self.src_id, STORAGE_ID_LEN);
        put_fixed(out, &self.version, VERSION_LEN);
        let numbers = [
            self.join_time,
            self.up_time,
            self.total_mb,
            self.free_mb,
            self.reserved_mb,
            self.upload_priority,
            self.store_path_count,
            self.subdir_count_per_path,
            self.current_write_path,
            self.storage_port,
        ];
        numbers.iter().for_each(|&v| out.put_i64(v));
        self.connections.iter().for_each(|&c| out.put_i32(c));
        self.counters.0.iter().for_each(|&c| out.put_i64(c));
        let times = [
            self.last_source_update,
            self.last_sync_update,
            self.last_synced_timestamp,
            self.last_heart_beat_time,
        ];
        times.iter().for_each(|&t| out.put_i64(t));
        out.put_u8(u8::from(self.if_trunk_server));
    }
}

/// The storages of a group: reply of SERVER_LIST_STORAGE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageStats(pub Vec<StorageStat>);

impl Payload for StorageStats {
    /// IPv4 records, as trackers with `response_ip_addr_size = IPv4` send.
    fn encode(&self, out: &mut BytesMut) {
        self.0.iter().for_each(|s| s.write(out, STORAGE_ID_LEN));
    }

    /// Records of 487 bytes, or of 517 (IPv6 address fields) when the body
    /// length only fits those.
    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let cmd = "SERVER_LIST_STORAGE reply";
        let (record, ip_len) = if body.len().is_multiple_of(STORAGE_STAT_LEN) {
            (STORAGE_STAT_LEN, STORAGE_ID_LEN)
        } else if body.len().is_multiple_of(STORAGE_STAT_V6_LEN) {
            (STORAGE_STAT_V6_LEN, IPV6_ADDR_LEN)
        } else {
            return Err(body_length(cmd, body, "k x 487 or k x 517"));
        };
        let mut f = Fields::new(cmd, body);
        let storages = body
            .chunks_exact(record)
            .map(|_| StorageStat::read(&mut f, ip_len))
            .collect::<Result<_, _>>()?;
        Ok(StorageStats(storages))
    }
}
