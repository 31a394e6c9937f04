//! Prometheus metrics, one process-wide registry.
//!
//! Recorded where the facts are known — the access log for requests, the
//! tracker client and storage layer for their errors, the caches for hits —
//! and rendered in the text exposition format on `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::{Arc, OnceLock};

type Labels = Vec<(&'static str, String)>;

/// The labels of per-request metrics, built for every request: nothing in
/// them is allocated (the location is shared with the config), and labels
/// left empty are not exported.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestLabels {
    /// The location's prefix.
    pub location: Arc<str>,
    /// The method, or `""` for metrics not split by method.
    pub method: &'static str,
    /// The status, or `None` for metrics not split by status.
    pub status: Option<u16>,
}

impl EncodeLabelSet for RequestLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), std::fmt::Error> {
        ("location", &*self.location).encode(encoder.encode_label())?;
        if !self.method.is_empty() {
            ("method", self.method).encode(encoder.encode_label())?;
        }
        if let Some(status) = self.status {
            ("status", status).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    /// Requests by location, method and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Request duration (until the body ended) by location and method.
    pub duration: Family<RequestLabels, Histogram>,
    /// Body bytes sent to clients, by location.
    pub bytes_out: Family<RequestLabels, Counter>,
    /// Body bytes stored by uploads, by upstream.
    pub bytes_in: Family<Labels, Counter>,
    /// Tracker failures (connect, time-out, bad reply) by tracker address.
    pub tracker_errors: Family<Labels, Counter>,
    /// Storage node failures by node.
    pub storage_errors: Family<Labels, Counter>,
    /// Look-up cache results by upstream and result (`hit` / `miss`).
    pub cache: Family<Labels, Counter>,
    /// Requests being served (including their bodies).
    pub in_flight: Gauge,
    /// Requests refused because too many were in flight.
    pub shed: Counter,
}

fn new_histogram() -> Histogram {
    // 0.5 ms to ~65 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("dfs_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        let duration = Family::<RequestLabels, Histogram>::new_with_constructor(
            new_histogram as fn() -> Histogram,
        );
        let bytes_out = Family::<RequestLabels, Counter>::default();
        let bytes_in = Family::<Labels, Counter>::default();
        let tracker_errors = Family::<Labels, Counter>::default();
        let storage_errors = Family::<Labels, Counter>::default();
        let cache = Family::<Labels, Counter>::default();
        let in_flight = Gauge::default();
        let shed = Counter::default();
        registry.register(
            "requests",
            "HTTP requests by location, method and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time until the response body ended",
            duration.clone(),
        );
        registry.register(
            "response_bytes",
            "Body bytes sent to clients",
            bytes_out.clone(),
        );
        registry.register(
            "request_bytes",
            "Body bytes received from clients",
            bytes_in.clone(),
        );
        registry.register(
            "tracker_errors",
            "Tracker connect, time-out and reply failures",
            tracker_errors.clone(),
        );
        registry.register(
            "storage_errors",
            "Storage node failures",
            storage_errors.clone(),
        );
        registry.register("cache_lookups", "Look-up cache results", cache.clone());
        registry.register(
            "in_flight_requests",
            "Requests being served",
            in_flight.clone(),
        );
        registry.register(
            "shed_requests",
            "Requests refused with 503 because too many were in flight",
            shed.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
            bytes_out,
            bytes_in,
            tracker_errors,
            storage_errors,
            cache,
            in_flight,
            shed,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// Counts a tracker failure.
    pub fn tracker_error(&self, addr: impl ToString) {
        self.tracker_errors
            .get_or_create(&vec![("tracker", addr.to_string())])
            .inc();
    }

    /// Counts a storage node failure.
    pub fn storage_error(&self, node: impl ToString) {
        self.storage_errors
            .get_or_create(&vec![("node", node.to_string())])
            .inc();
    }

    /// Counts a cache hit or miss.
    pub fn cache_lookup(&self, upstream: &str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache
            .get_or_create(&vec![
                ("upstream", upstream.to_owned()),
                ("result", result.to_owned()),
            ])
            .inc();
    }
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_text_exposition() {
        let m = metrics();
        m.tracker_error("127.0.0.1:7001");
        m.cache_lookup("mog", true);
        m.requests
            .get_or_create(&RequestLabels {
                location: "/images/".into(),
                method: "GET",
                status: Some(200),
            })
            .inc();
        m.bytes_out
            .get_or_create(&RequestLabels {
                location: "/images/".into(),
                method: "",
                status: None,
            })
            .inc_by(5);
        let text = m.render();
        assert!(
            text.contains("dfs_gateway_tracker_errors_total{tracker=\"127.0.0.1:7001\"}"),
            "{text}"
        );
        assert!(
            text.contains("dfs_gateway_cache_lookups_total{upstream=\"mog\",result=\"hit\"}"),
            "{text}"
        );
        assert!(
            text.contains(
                "dfs_gateway_requests_total{location=\"/images/\",method=\"GET\",status=\"200\"}"
            ),
            "{text}"
        );
        assert!(
            text.contains("dfs_gateway_response_bytes_total{location=\"/images/\"} 5"),
            "{text}"
        );
        assert!(text.contains("# EOF"));
    }
}
