//! Storage nodes that failed recently, by `host:port`: they are tried last
//! for a while, so one dead node costs one failed attempt, not one per
//! request. The same health type as the trackers' ([`HealthTable`]), with
//! the same flip thresholds.

use crate::clients::{Flip, HealthPolicy, HealthTable};
use std::time::Instant;

/// `host:port` of a storage URL.
pub fn node_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// Which nodes failed recently, by `host:port`.
#[derive(Debug)]
pub struct NodeHealth(HealthTable<String>);

impl NodeHealth {
    /// Health under `policy`.
    pub fn new(policy: HealthPolicy) -> Self {
        NodeHealth(HealthTable::new(policy))
    }

    /// Whether no node has failed lately.
    pub fn all_pristine(&self) -> bool {
        self.0.all_pristine()
    }

    /// Whether the node of `url` is benched now.
    pub fn is_bad(&self, url: &str, now: Instant) -> bool {
        !self.0.is_up(node_of(url), now)
    }

    /// Records how a request to `url` went.
    pub fn record(&self, url: &str, ok: bool) {
        let node = node_of(url);
        match self.0.record(node, ok, Instant::now()) {
            Some(Flip::Up) => tracing::debug!(node, "storage node is answering again"),
            Some(Flip::Down) => {
                let avoid_for = self.0.policy().down_for;
                tracing::warn!(node, ?avoid_for, "storage node failed; trying others first");
            }
            None => {}
        }
    }
}
