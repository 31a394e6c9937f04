//! Hosts and devices as the tracker sees them: admin state, and what the
//! monitor last observed.

use super::random;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// A device's administrative state (`mogadm device mark`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// Readable and writable.
    Alive,
    /// Readable, gets no new files.
    ReadOnly,
    /// Readable but its paths come last; gets no new files.
    Drain,
    /// Temporarily out: neither read nor written.
    Down,
    /// Gone for good.
    Dead,
}

impl DeviceState {
    /// The name used on the wire (`dev1_status=alive`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Alive => "alive",
            DeviceState::ReadOnly => "readonly",
            DeviceState::Drain => "drain",
            DeviceState::Down => "down",
            DeviceState::Dead => "dead",
        }
    }
}

/// A storage host (one storage node).
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub hostid: u64,
    pub addr: SocketAddr,
}

/// Disk figures from the last `/devN/usage` probe, in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub total_mb: u64,
    pub used_mb: u64,
}

/// A device and what the monitor knows of it.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub devid: u64,
    pub hostid: u64,
    pub state: DeviceState,
    /// `None` until the first probe.
    pub reachable: Option<bool>,
    pub usage: Option<Usage>,
    pub probed_at: Option<u64>,
}

impl Device {
    fn up(&self) -> bool {
        self.reachable == Some(true)
    }

    /// May get new files (`should_get_new_files`).
    pub fn writable(&self) -> bool {
        self.up() && self.state == DeviceState::Alive
    }

    /// May be read from (`should_read_from`).
    pub fn readable(&self) -> bool {
        self.up()
            && matches!(
                self.state,
                DeviceState::Alive | DeviceState::ReadOnly | DeviceState::Drain
            )
    }

    /// Free space in MiB, if known.
    pub fn mb_free(&self) -> Option<u64> {
        self.usage.map(|u| u.total_mb.saturating_sub(u.used_mb))
    }
}

/// All hosts and devices of a cluster.
#[derive(Debug, Default)]
pub(crate) struct Topology {
    pub hosts: Vec<Host>,
    pub devices: BTreeMap<u64, Device>,
}

impl Topology {
    /// Registers a host with its devices; host ids count from 1.
    pub fn add_host(&mut self, addr: SocketAddr, devids: &[u64]) -> u64 {
        let hostid = self.hosts.len() as u64 + 1;
        self.hosts.push(Host { hostid, addr });
        for &devid in devids {
            let device = Device {
                devid,
                hostid,
                state: DeviceState::Alive,
                reachable: None,
                usage: None,
                probed_at: None,
            };
            self.devices.insert(devid, device);
        }
        hostid
    }

    /// The host holding `devid`.
    pub fn host_of(&self, devid: u64) -> Option<&Host> {
        let hostid = self.devices.get(&devid)?.hostid;
        self.hosts.iter().find(|h| h.hostid == hostid)
    }

    /// `http://<host>/devN/…/<fid>.fid` (S `DevFID::url`).
    pub fn url(&self, devid: u64, fid: u64) -> Option<String> {
        let host = self.host_of(devid)?;
        Some(format!(
            "http://{}{}",
            host.addr,
            dfs_protocol::mogilefs::fid::fid_path(devid, fid)
        ))
    }

    /// Devices for a new file: writable, with room for `size` when known,
    /// in random order, at most `count`, each on a distinct device.
    pub fn choose_destinations(&self, count: usize, size: Option<u64>) -> Vec<u64> {
        let mut writable: Vec<&Device> = self.devices.values().filter(|d| d.writable()).collect();
        if let Some(size) = size.filter(|s| *s > 0) {
            let roomy: Vec<&Device> = writable
                .iter()
                .copied()
                .filter(|d| d.mb_free().is_some_and(|mb| mb * 1024 * 1024 > size))
                .collect();
            // Devices of unknown free space are the fallback (S cmd_create_open).
            writable = if roomy.is_empty() {
                writable.into_iter().filter(|d| d.usage.is_none()).collect()
            } else {
                roomy
            };
        }
        let mut devids: Vec<u64> = writable.iter().map(|d| d.devid).collect();
        random::shuffle(&mut devids);
        devids.truncate(count);
        devids
    }

    /// Records a probe result; returns true when the device just came up.
    pub fn observe(&mut self, devid: u64, usage: Option<Usage>, now: u64) -> bool {
        let Some(device) = self.devices.get_mut(&devid) else {
            return false;
        };
        let was_up = device.up();
        device.reachable = Some(usage.is_some());
        if usage.is_some() {
            device.usage = usage;
            device.probed_at = Some(now);
        }
        if was_up != device.up() {
            tracing::debug!(devid, up = device.up(), "device observed state changed");
        }
        !was_up && device.up()
    }

    /// Where the monitor probes each device.
    pub fn probe_targets(&self) -> Vec<(u64, String)> {
        self.devices
            .values()
            .filter_map(|d| {
                let host = self.host_of(d.devid)?;
                Some((
                    d.devid,
                    format!("http://{}/dev{}/usage", host.addr, d.devid),
                ))
            })
            .collect()
    }
}
