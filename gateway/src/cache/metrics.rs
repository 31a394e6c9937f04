//! The object caches' Prometheus families, labelled by upstream, and the
//! handles one cache updates (atomic counters, no look-up per request).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Every object cache's metrics.
#[derive(Debug, Default)]
pub struct CacheMetrics {
    lookups: Family<Labels, Counter>,
    inserts: Family<Labels, Counter>,
    evictions: Family<Labels, Counter>,
    bytes: Family<Labels, Gauge>,
    entries: Family<Labels, Gauge>,
}

impl CacheMetrics {
    /// Registers the families (`object_cache_*`) in `r`.
    pub fn register(&self, r: &mut Registry) {
        let lookups = "Object cache look-ups by upstream and result (hit / miss)";
        r.register("object_cache_lookups", lookups, self.lookups.clone());
        let inserts = "Objects stored in the object cache, by upstream";
        r.register("object_cache_inserts", inserts, self.inserts.clone());
        let evictions = "Objects evicted from the object cache to make room, by upstream";
        r.register("object_cache_evictions", evictions, self.evictions.clone());
        let bytes = "Bytes the object cache holds (objects plus entry overhead), by upstream";
        r.register("object_cache_bytes", bytes, self.bytes.clone());
        let entries = "Objects the object cache holds, by upstream";
        r.register("object_cache_entries", entries, self.entries.clone());
    }

    /// The handles of the cache of `upstream`.
    pub(super) fn handles(&self, upstream: &str) -> Handles {
        let labels = vec![("upstream", upstream.to_owned())];
        let result = |r: &str| {
            let mut l = labels.clone();
            l.push(("result", r.to_owned()));
            self.lookups.get_or_create(&l).clone()
        };
        Handles {
            hits: result("hit"),
            misses: result("miss"),
            inserts: self.inserts.get_or_create(&labels).clone(),
            evictions: self.evictions.get_or_create(&labels).clone(),
            bytes: self.bytes.get_or_create(&labels).clone(),
            entries: self.entries.get_or_create(&labels).clone(),
        }
    }
}

/// One cache's metrics.
#[derive(Debug, Clone)]
pub(super) struct Handles {
    pub hits: Counter,
    pub misses: Counter,
    pub inserts: Counter,
    pub evictions: Counter,
    pub bytes: Gauge,
    pub entries: Gauge,
}
