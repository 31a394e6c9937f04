//! The cluster status report: what `mogadm check` and `fdfs_monitor` show,
//! plus the gateway's own figures, built once per view.
//!
//! The report asks every tracker of every upstream directly (a fresh
//! connection each, bounded by the upstream's time-outs), so it shows each
//! tracker's own answer, and the cluster as the first answering tracker
//! describes it. A tracker that fails is an error in the report, never a
//! hang. The gateway's health view of each tracker (skipped or not, last
//! failure) comes from its [`TrackerSet`].
//!
//! - [`view`]: the report's types, serialised as `/_status.json`.
//! - [`query`]: the tracker conversations.
//! - [`html`]: the `/_status` page.
//! - [`table`]: the `dfs-gateway status` terminal table.

pub mod html;
pub mod query;
pub mod table;
pub mod view;

use crate::clients::{AddressMap, TrackerSet};
use crate::config::{Config, Protocol};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
pub use view::{ClusterView, GatewayFigures, StatusReport, TrackerStatus, UpstreamStatus};

/// What to ask about one upstream.
#[derive(Debug, Clone)]
pub struct Source {
    /// Upstream name.
    pub name: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// Its trackers, shared with the request path.
    pub trackers: Arc<TrackerSet>,
    /// TCP connect time-out per tracker.
    pub connect_timeout: Duration,
    /// Time-out per reply.
    pub reply_timeout: Duration,
    /// Its storage address map: storages whose registered address it maps
    /// are shown with the address dialled.
    pub map: Arc<AddressMap>,
}

/// Every upstream's [`Source`], from a config (fresh tracker sets: for the
/// `status` command, which runs without a gateway).
pub fn sources_from_config(config: &Config) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    for upstream in config.upstreams.iter().map(|u| u.get_ref()) {
        let mut addrs = Vec::new();
        for t in &upstream.trackers {
            addrs.extend(crate::config::resolve_tracker(t, upstream.protocol)?);
        }
        let trackers = Arc::new(TrackerSet::new(addrs, upstream.fail_timeout.0));
        let map = upstream.address_map(&config.listeners())?;
        sources.push(Source::new(upstream, trackers).with_address_map(Arc::new(map)));
    }
    Ok(sources)
}

impl Source {
    /// The source of `upstream`, over its tracker set.
    pub fn new(upstream: &crate::config::UpstreamConfig, trackers: Arc<TrackerSet>) -> Self {
        Source {
            name: upstream.name.clone(),
            protocol: upstream.protocol,
            trackers,
            connect_timeout: upstream.connect_timeout.0,
            reply_timeout: upstream.reply_timeout.0,
            map: Arc::default(),
        }
    }

    /// The same source, showing addresses dialled through `map`.
    pub fn with_address_map(mut self, map: Arc<AddressMap>) -> Self {
        self.map = map;
        self
    }
}

/// Asks every tracker of every source, concurrently, and puts the report
/// together.
pub async fn build(sources: &[Source]) -> StatusReport {
    let upstreams = futures_util::future::join_all(sources.iter().map(query::upstream)).await;
    StatusReport {
        generated_at: unix_seconds(SystemTime::now()),
        gateway: GatewayFigures::now(),
        upstreams,
    }
}

/// Seconds since the Unix epoch (0 before it).
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;

/// The default `server.status_path`.
pub fn default_path() -> String {
    "/_status".into()
}

/// Checks a `server.status_path`: an absolute path of plain characters that
/// does not take the place of another admin endpoint.
pub fn check_path(path: &str) -> Result<(), String> {
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b));
    if !path.starts_with('/') || path.len() < 2 || path.ends_with('/') || !plain {
        return Err(format!(
            "{path:?} is not a path like \"/_status\" (letters, digits, '/', '_', '.', '-')"
        ));
    }
    if ["/healthz", "/readyz", "/metrics"].contains(&path) || path.contains("//") {
        return Err(format!("{path:?} is taken by another admin endpoint"));
    }
    Ok(())
}
