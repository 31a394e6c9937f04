//! Prometheus metrics, one process-wide registry.
//!
//! Recorded where the facts are known — the access log for requests and
//! bytes, the tracker client and storage layer for their errors, the caches
//! for hits — and rendered on `/metrics` as OpenMetrics, or as the text
//! format 0.0.4 for scrapers that ask for it ([`text004`]).
//!
//! Labels mean one thing everywhere: `location` is a location's prefix (or
//! `admin`), `upstream` an upstream's name, `tracker` and `node` an address.
//!
//! - [`process`]: `process_*` figures read from `/proc/self` at scrape time.
//! - [`text004`]: OpenMetrics text turned into the 0.0.4 text format.
//! - [`recent`]: request and error counts of the last minute, for the status page.

pub mod process;
pub mod recent;
pub mod text004;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

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

/// What a finished request adds to its series.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    /// From its start until its body ended.
    pub elapsed: Duration,
    /// Body bytes sent.
    pub bytes_out: u64,
    /// Body bytes an upload stored.
    pub stored: Option<u64>,
}

/// The series of one label set, as handles.
struct RequestSeries {
    requests: Counter,
    duration: Histogram,
    bytes_out: Counter,
    bytes_in: Counter,
}

impl RequestSeries {
    fn add(&self, done: &Finished) {
        self.requests.inc();
        self.duration.observe(done.elapsed.as_secs_f64());
        self.bytes_out.inc_by(done.bytes_out);
        if let Some(stored) = done.stored {
            self.bytes_in.inc_by(stored);
        }
    }
}

/// A thread's handles by label set.
type Memo = HashMap<RequestLabels, RequestSeries, foldhash::fast::RandomState>;

/// Label sets a thread keeps handles for before it starts over.
const MAX_MEMO_SERIES: usize = 4096;

/// One upstream's look-up cache hit and miss series.
#[derive(Debug, Clone)]
pub struct LookupCounters {
    hit: Counter,
    miss: Counter,
}

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    /// When the process started (first use of the metrics).
    pub started: Instant,
    /// Requests by location, method and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Request duration (until the body ended) by location and method.
    pub duration: Family<RequestLabels, Histogram>,
    /// Body bytes sent to clients, by location.
    pub bytes_out: Family<RequestLabels, Counter>,
    /// Body bytes received and stored by uploads, by location.
    pub bytes_in: Family<RequestLabels, Counter>,
    /// Tracker failures (connect, time-out, bad reply) by tracker address.
    pub tracker_errors: Family<Labels, Counter>,
    /// 1 when the gateway considers a tracker up, by upstream and tracker.
    pub tracker_up: Family<Labels, Gauge>,
    /// Held from setting `tracker_up` to rendering it (see [`Metrics::scrape`]).
    scraping: std::sync::Mutex<()>,
    /// Storage node failures by upstream and node.
    pub storage_errors: Family<Labels, Counter>,
    /// Look-up cache results by upstream and result (`hit` / `miss`).
    pub cache: Family<Labels, Counter>,
    /// Requests being served (including their bodies).
    pub in_flight: Gauge,
    /// Requests refused because too many were in flight.
    pub shed: Counter,
    /// The last minute's requests and errors.
    pub recent: recent::Recent,
    /// The object caches' hits, misses, inserts, evictions and bytes.
    pub object_cache: crate::cache::CacheMetrics,
    /// Thumbnails made (decoded, resized and encoded), by location.
    pub thumbnails_made: Family<Labels, Counter>,
    /// Thumbnail transforms started (a source read and handed to the pool),
    /// by location, whether they succeed or not.
    pub thumbnail_transforms: Family<Labels, Counter>,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

fn new_histogram() -> Histogram {
    // 0.5 ms to ~65 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

impl Metrics {
    fn new() -> Self {
        let mut root = Registry::default();
        root.register_collector(Box::new(process::ProcessCollector));
        let m = Metrics {
            registry: Registry::default(),
            started: Instant::now(),
            requests: Family::default(),
            duration: Family::new_with_constructor(new_histogram as fn() -> Histogram),
            bytes_out: Family::default(),
            bytes_in: Family::default(),
            tracker_errors: Family::default(),
            tracker_up: Family::default(),
            scraping: std::sync::Mutex::new(()),
            storage_errors: Family::default(),
            cache: Family::default(),
            in_flight: Gauge::default(),
            shed: Counter::default(),
            recent: recent::Recent::default(),
            object_cache: crate::cache::CacheMetrics::default(),
            thumbnails_made: Family::default(),
            thumbnail_transforms: Family::default(),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
        };
        m.register(root.sub_registry_with_prefix("dfs_gateway"));
        Metrics {
            registry: root,
            ..m
        }
    }

    fn register(&self, r: &mut Registry) {
        let build_info = Family::<Labels, Gauge>::default();
        build_info
            .get_or_create(&vec![("version", env!("CARGO_PKG_VERSION").to_owned())])
            .set(1);
        r.register("build_info", "The gateway's version; always 1", build_info);
        let requests = "HTTP requests by location, method and status";
        r.register("requests", requests, self.requests.clone());
        let duration = "Time until the response body ended, by location and method";
        r.register("request_duration_seconds", duration, self.duration.clone());
        let out = "Body bytes sent to clients, by location";
        r.register("response_bytes", out, self.bytes_out.clone());
        let stored = "Body bytes received from clients and stored by uploads, by location";
        r.register("request_bytes", stored, self.bytes_in.clone());
        let te = "Tracker connect, time-out and reply failures, by tracker";
        r.register("tracker_errors", te, self.tracker_errors.clone());
        let up = "1 when the gateway considers the tracker up, 0 while it skips it";
        r.register("tracker_up", up, self.tracker_up.clone());
        let se = "Storage node failures (connect, time-out, refusal), by upstream and node";
        r.register("storage_errors", se, self.storage_errors.clone());
        r.register(
            "cache_lookups",
            "Look-up cache results by upstream",
            self.cache.clone(),
        );
        r.register(
            "in_flight_requests",
            "Requests being served",
            self.in_flight.clone(),
        );
        let shed = "Requests refused with 503 because too many were in flight";
        r.register("shed_requests", shed, self.shed.clone());
        self.object_cache.register(r);
        let made =
            "Thumbnails made (decoded, resized, encoded), by location; cached ones are not counted";
        r.register("thumbnails_made", made, self.thumbnails_made.clone());
        let started = "Thumbnail transforms started (source decoded), by location, failed ones \
             included; refusals of a source that failed lately are not counted";
        r.register(
            "thumbnail_transforms",
            started,
            self.thumbnail_transforms.clone(),
        );
    }

    /// The OpenMetrics exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// The text format 0.0.4 exposition of every metric.
    pub fn render_text004(&self) -> String {
        text004::from_openmetrics(&self.render())
    }

    /// One scrape: the tracker gauges set to `health`, then every metric
    /// rendered, as text format 0.0.4 when `text004`, else OpenMetrics. The
    /// two steps are one for other scrapes: gateways sharing the process's
    /// registry (tests run several) each see their own trackers.
    pub fn scrape(
        &self,
        health: impl IntoIterator<Item = (String, String, bool)>,
        text004: bool,
    ) -> String {
        let _one_at_a_time = self
            .scraping
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.set_tracker_health(health);
        if text004 {
            self.render_text004()
        } else {
            self.render()
        }
    }

    /// Sets the tracker up/down gauges to `health` (upstream, tracker, up),
    /// forgetting trackers no longer configured.
    fn set_tracker_health(&self, health: impl IntoIterator<Item = (String, String, bool)>) {
        self.tracker_up.clear();
        for (upstream, tracker, up) in health {
            let labels = vec![("upstream", upstream), ("tracker", tracker)];
            self.tracker_up.get_or_create(&labels).set(i64::from(up));
        }
    }

    /// Counts a tracker failure.
    pub fn tracker_error(&self, addr: impl ToString) {
        self.tracker_errors
            .get_or_create(&vec![("tracker", addr.to_string())])
            .inc();
    }

    /// Counts a failure of storage node `node` of upstream `upstream`.
    pub fn storage_error(&self, upstream: &str, node: impl ToString) {
        self.storage_errors
            .get_or_create(&vec![
                ("upstream", upstream.to_owned()),
                ("node", node.to_string()),
            ])
            .inc();
    }

    /// The look-up cache counters of `upstream`, for it to keep: counting
    /// through them costs no look-up of labels.
    pub fn lookup_counters(&self, upstream: &str) -> LookupCounters {
        let series = |result: &str| {
            let labels = vec![
                ("upstream", upstream.to_owned()),
                ("result", result.to_owned()),
            ];
            self.cache.get_or_create(&labels).clone()
        };
        LookupCounters {
            hit: series("hit"),
            miss: series("miss"),
        }
    }

    /// Counts a look-up cache hit or miss on `counters`.
    pub fn cache_lookup(&self, counters: &LookupCounters, hit: bool) {
        let (total, series) = if hit {
            (&self.cache_hits, &counters.hit)
        } else {
            (&self.cache_misses, &counters.miss)
        };
        total.fetch_add(1, Ordering::Relaxed);
        series.inc();
    }

    /// Counts a finished request: its count by status, its duration and
    /// the bytes it sent and stored. The series of a label set are looked
    /// up in the families once per thread, then updated through handles:
    /// taking the families' locks and hashing the labels four times per
    /// request was about 4 % of a 4 KiB GET's user-space time (`bench/`,
    /// perf).
    pub fn request_finished(&self, labels: &RequestLabels, done: &Finished) {
        thread_local! {
            static SERIES: RefCell<Memo> = RefCell::new(Memo::default());
        }
        SERIES.with(|memo| {
            let mut memo = memo.borrow_mut();
            if let Some(series) = memo.get(labels) {
                series.add(done);
                return;
            }
            if memo.len() >= MAX_MEMO_SERIES {
                // Locations replaced by reloads leave theirs behind.
                memo.clear();
            }
            let series = self.request_series(labels);
            series.add(done);
            memo.insert(labels.clone(), series);
        });
        self.recent.record(labels.status.is_some_and(|s| s >= 500));
    }

    fn request_series(&self, labels: &RequestLabels) -> RequestSeries {
        let mut labels = labels.clone();
        let requests = self.requests.get_or_create(&labels).clone();
        labels.status = None;
        let duration = self.duration.get_or_create(&labels).clone();
        labels.method = "";
        RequestSeries {
            requests,
            duration,
            bytes_out: self.bytes_out.get_or_create(&labels).clone(),
            bytes_in: self.bytes_in.get_or_create(&labels).clone(),
        }
    }

    /// Hits over lookups since start, `None` before the first lookup.
    pub fn cache_hit_ratio(&self) -> Option<f64> {
        let hits = self.cache_hits.load(Ordering::Relaxed);
        let all = hits + self.cache_misses.load(Ordering::Relaxed);
        (all > 0).then(|| hits as f64 / all as f64)
    }
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests;
