//! The status report's types: plain data, serialised as `/_status.json`
//! and rendered by [`super::html`] and [`super::table`].

use dfs_protocol::fastdfs::monitor::{storage_status_name, GroupStat, StorageStat};
use dfs_protocol::mogilefs::cmd::admin::{Device, Domain, Host};
use serde::Serialize;

/// Everything the status page shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// When it was built, Unix seconds.
    pub generated_at: u64,
    /// The gateway's own figures.
    pub gateway: GatewayFigures,
    /// One entry per upstream, in config order.
    pub upstreams: Vec<UpstreamStatus>,
}

/// The gateway's own figures.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayFigures {
    /// Its version.
    pub version: &'static str,
    /// Seconds since it started.
    pub uptime_seconds: u64,
    /// Requests per second over the last minute.
    pub requests_per_second: f64,
    /// Share of the last minute's requests answered 5xx (`null`: none).
    pub error_rate: Option<f64>,
    /// Look-up cache hits over lookups since start (`null`: none yet).
    pub cache_hit_ratio: Option<f64>,
    /// Requests being served now.
    pub in_flight: i64,
}

impl GatewayFigures {
    /// The figures now.
    pub fn now() -> Self {
        let m = crate::metrics::metrics();
        let rates = m.recent.rates();
        GatewayFigures {
            version: env!("CARGO_PKG_VERSION"),
            uptime_seconds: uptime(m.started),
            requests_per_second: rates.requests_per_second,
            error_rate: rates.error_rate,
            cache_hit_ratio: m.cache_hit_ratio(),
            in_flight: m.in_flight.get(),
        }
    }
}

/// Seconds since the process started (from `/proc`), else since `fallback`.
fn uptime(fallback: std::time::Instant) -> u64 {
    let now = super::unix_seconds(std::time::SystemTime::now()) as f64;
    match crate::metrics::process::ProcessFigures::read().start_time {
        Some(start) if start <= now => (now - start) as u64,
        _ => fallback.elapsed().as_secs(),
    }
}

/// One upstream.
#[derive(Debug, Clone, Serialize)]
pub struct UpstreamStatus {
    /// Its name.
    pub name: String,
    /// `mogilefs` or `fastdfs`.
    pub protocol: &'static str,
    /// Each tracker's health and answer.
    pub trackers: Vec<TrackerStatus>,
    /// The cluster, as the first answering tracker described it.
    pub cluster: Option<ClusterView>,
    /// Why there is no cluster view, when no tracker answered.
    pub error: Option<String>,
}

/// One tracker.
#[derive(Debug, Clone, Serialize)]
pub struct TrackerStatus {
    /// Its address.
    pub address: String,
    /// The gateway sends requests to it (not skipped after a failure).
    pub up: bool,
    /// Round trip of this report's first question, milliseconds.
    pub latency_ms: Option<f64>,
    /// How this report's questions failed, if they did.
    pub error: Option<String>,
    /// The last failure the gateway saw, if any.
    pub last_error: Option<String>,
    /// When that was, Unix seconds.
    pub last_error_at: Option<u64>,
}

/// What a tracker says about its cluster.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterView {
    /// MogileFS: hosts, devices, domains.
    Mogilefs {
        /// Storage hosts.
        hosts: Vec<HostRow>,
        /// Devices.
        devices: Vec<DeviceRow>,
        /// Domains and their classes.
        domains: Vec<DomainRow>,
    },
    /// FastDFS: groups and their storages.
    Fastdfs {
        /// Groups.
        groups: Vec<GroupRow>,
    },
}

/// A MogileFS host.
#[derive(Debug, Clone, Serialize)]
pub struct HostRow {
    /// Host id.
    pub hostid: u64,
    /// Name.
    pub hostname: String,
    /// Address.
    pub ip: String,
    /// HTTP port.
    pub http_port: Option<u16>,
    /// `alive`, `down`...
    pub status: String,
    /// The address dialled instead (`ip:port`), when the upstream's
    /// `storage_map` maps this host's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialled: Option<String>,
}

impl HostRow {
    /// `ip:port`, or `registered → dialled` when mapped.
    pub fn address(&self) -> String {
        let port = self.http_port.map_or("-".into(), |p| p.to_string());
        with_dialled(format!("{}:{port}", self.ip), self.dialled.as_deref())
    }

    /// Notes the address `map` dials for this host, if it maps it.
    pub fn map_address(&mut self, map: &crate::clients::AddressMap) {
        let ip = self.ip.parse::<std::net::IpAddr>().ok();
        let registered = ip.zip(self.http_port).map(std::net::SocketAddr::from);
        self.dialled = registered.and_then(|r| mapped(map, r));
    }
}

/// The address `map` dials for `registered`, when that is another one.
fn mapped(map: &crate::clients::AddressMap, registered: std::net::SocketAddr) -> Option<String> {
    let dialled = map.lookup(registered);
    (dialled != registered).then(|| dialled.to_string())
}

/// `registered`, followed by ` → dialled` when there is one.
fn with_dialled(registered: String, dialled: Option<&str>) -> String {
    match dialled {
        Some(d) => format!("{registered} → {d}"),
        None => registered,
    }
}

impl From<Host> for HostRow {
    fn from(h: Host) -> Self {
        HostRow {
            hostid: h.hostid,
            hostname: h.hostname,
            ip: h.hostip,
            http_port: h.http_port,
            status: h.status,
            dialled: None,
        }
    }
}

/// A MogileFS device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceRow {
    /// Device id (`devN`).
    pub devid: u64,
    /// Its host.
    pub hostid: u64,
    /// Administrative state.
    pub status: String,
    /// What the tracker's monitor observed.
    pub observed_state: String,
    /// Size, MB.
    pub mb_total: Option<u64>,
    /// Used, MB.
    pub mb_used: Option<u64>,
    /// Free, MB.
    pub mb_free: Option<u64>,
    /// Weight.
    pub weight: Option<i64>,
}

impl From<Device> for DeviceRow {
    fn from(d: Device) -> Self {
        let mb_free = d
            .mb_free
            .or_else(|| d.mb_total.zip(d.mb_used).map(|(t, u)| t.saturating_sub(u)));
        DeviceRow {
            devid: d.devid,
            hostid: d.hostid,
            status: d.status,
            observed_state: d.observed_state,
            mb_total: d.mb_total,
            mb_used: d.mb_used,
            mb_free,
            weight: d.weight,
        }
    }
}

/// A MogileFS domain.
#[derive(Debug, Clone, Serialize)]
pub struct DomainRow {
    /// Name.
    pub name: String,
    /// Classes: name, mindevcount, replication policy.
    pub classes: Vec<ClassRow>,
}

/// A class of a domain.
#[derive(Debug, Clone, Serialize)]
pub struct ClassRow {
    /// Name.
    pub name: String,
    /// Copies kept.
    pub mindevcount: u32,
    /// Replication policy.
    pub replpolicy: String,
}

impl From<Domain> for DomainRow {
    fn from(d: Domain) -> Self {
        DomainRow {
            name: d.name,
            classes: d
                .classes
                .into_iter()
                .map(|c| ClassRow {
                    name: c.name,
                    mindevcount: c.mindevcount,
                    replpolicy: c.replpolicy,
                })
                .collect(),
        }
    }
}

/// A FastDFS group and its storages.
#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    /// Name.
    pub name: String,
    /// Space, MB.
    pub total_mb: i64,
    /// Free, MB.
    pub free_mb: i64,
    /// Storages in the group.
    pub storage_count: i64,
    /// Storages taking uploads.
    pub writable: i64,
    /// Its storages (empty when listing them failed: see `error`).
    pub storages: Vec<StorageRow>,
    /// Why the storages could not be listed.
    pub error: Option<String>,
}

impl GroupRow {
    /// The row of `g`, with `storages` (or the error listing them).
    pub fn new(g: GroupStat, storages: Result<Vec<StorageStat>, String>) -> Self {
        let (storages, error) = match storages {
            Ok(s) => (s.into_iter().map(StorageRow::from).collect(), None),
            Err(e) => (Vec::new(), Some(e)),
        };
        GroupRow {
            name: g.name,
            total_mb: g.total_mb,
            free_mb: g.free_mb,
            storage_count: g.storage_count,
            writable: g.writable_server_count,
            storages,
            error,
        }
    }
}

/// A FastDFS storage.
#[derive(Debug, Clone, Serialize)]
pub struct StorageRow {
    /// Storage id.
    pub id: String,
    /// Address.
    pub ip: String,
    /// Port.
    pub port: i64,
    /// `ACTIVE`, `OFFLINE`...
    pub status: &'static str,
    /// Version.
    pub version: String,
    /// Space, MB.
    pub total_mb: i64,
    /// Free, MB.
    pub free_mb: i64,
    /// Successful uploads.
    pub uploads: i64,
    /// Successful downloads.
    pub downloads: i64,
    /// Last heartbeat, Unix seconds (0: never).
    pub last_heartbeat: i64,
    /// Last change received by sync, Unix seconds (0: never).
    pub last_sync_update: i64,
    /// Newest file time synced from its source, Unix seconds (0: never).
    pub last_synced_timestamp: i64,
    /// The address dialled instead (`ip:port`), when the upstream's
    /// `storage_map` maps this storage's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialled: Option<String>,
}

impl StorageRow {
    /// `ip:port`, or `registered → dialled` when mapped.
    pub fn address(&self) -> String {
        with_dialled(
            format!("{}:{}", self.ip, self.port),
            self.dialled.as_deref(),
        )
    }

    /// Notes the address `map` dials for this storage, if it maps it.
    pub fn map_address(&mut self, map: &crate::clients::AddressMap) {
        let ip = self.ip.parse::<std::net::IpAddr>().ok();
        let port = u16::try_from(self.port).ok();
        let registered = ip.zip(port).map(std::net::SocketAddr::from);
        self.dialled = registered.and_then(|r| mapped(map, r));
    }
}

impl From<StorageStat> for StorageRow {
    fn from(s: StorageStat) -> Self {
        StorageRow {
            status: storage_status_name(s.status),
            port: s.storage_port,
            total_mb: s.total_mb,
            free_mb: s.free_mb,
            uploads: s.counters.uploads().1,
            downloads: s.counters.downloads().1,
            last_heartbeat: s.last_heart_beat_time,
            last_sync_update: s.last_sync_update,
            last_synced_timestamp: s.last_synced_timestamp,
            version: s.version,
            ip: s.ip_addr,
            id: s.id,
            dialled: None,
        }
    }
}
