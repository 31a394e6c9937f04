//! Storage nodes that failed recently, by `host:port`: they are tried last
//! for a while, so one dead node costs one failed attempt, not one per
//! request. Self-contained, so another health policy can replace it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// `host:port` of a storage URL.
pub fn node_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// Which nodes failed recently, and until when they are tried last.
#[derive(Debug)]
pub struct NodeHealth {
    bad_until: Mutex<HashMap<String, Instant>>,
    /// Whether `bad_until` has entries: while every node is fine, requests
    /// neither lock nor hash.
    any_bad: AtomicBool,
    avoid_for: Duration,
}

impl NodeHealth {
    /// Health where a failed node is tried last for `avoid_for`.
    pub fn new(avoid_for: Duration) -> Self {
        NodeHealth {
            bad_until: Mutex::new(HashMap::new()),
            any_bad: AtomicBool::new(false),
            avoid_for,
        }
    }

    /// Whether the node of `url` failed recently.
    pub fn is_bad(&self, url: &str, now: Instant) -> bool {
        if !self.any_bad.load(Ordering::Relaxed) {
            return false;
        }
        let bad = self
            .bad_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        bad.get(node_of(url)).is_some_and(|until| *until > now)
    }

    /// Records how a request to `url` went.
    pub fn record(&self, url: &str, ok: bool) {
        if ok && !self.any_bad.load(Ordering::Relaxed) {
            return;
        }
        let node = node_of(url);
        let mut bad = self
            .bad_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if ok {
            if bad.remove(node).is_some() {
                tracing::info!(node, "storage node is answering again");
            }
            self.any_bad.store(!bad.is_empty(), Ordering::Relaxed);
        } else if self.avoid_for > Duration::ZERO
            && bad
                .insert(node.to_owned(), Instant::now() + self.avoid_for)
                .is_none()
        {
            tracing::warn!(node, avoid_for = ?self.avoid_for, "storage node failed; trying others first");
            self.any_bad.store(true, Ordering::Relaxed);
        }
    }
}
