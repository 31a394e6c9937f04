//! dfs-bench: the gateway against nginx, side by side on one machine, all on
//! 127.0.0.1 — a MogileFS tracker (devcluster, in this process) over a real
//! nginx storage node, the gateway as a child process, nginx as a reverse
//! proxy, and wrk loading each of them in turn with the same settings.
//!
//! ```text
//!   wrk ──▶ storage nginx                                  (direct)
//!   wrk ──▶ nginx proxy ──▶ storage nginx                  (nginx-proxy)
//!   wrk ──▶ dfs-gateway ──▶ storage nginx                  (gateway, gateway-nocache)
//!               └─ get_paths ─▶ tracker (this process)
//! ```
//!
//! plus FastDFS 4 KiB reads (see [`fastdfs`]).
//!
//! # Layout
//! - [`run`]: the whole bench; [`Plan`] says how long and how hard.
//! - [`gateway`]: building, configuring and starting the gateway process.
//! - [`proxy`]: the nginx reverse proxy.
//! - [`objects`]: the fixed object set and generated bodies.
//! - [`wrk`]: the load generator and its Lua script.
//! - [`measure`]: one row — check, warm up, load, figures.
//! - [`rss`]: the gateway's memory while streaming large objects.
//! - [`slow`]: the gateway's memory while many clients read at a trickle.
//! - [`fastdfs`]: FastDFS reads — gateway local-disk and network, nginx static.
//! - [`report`] and [`targets`]: the table, ratios, JSON and target checks.
//! - [`thumbs`]: thumbnails — the gateway's engine and nginx image_filter.
//! - [`procs`]: child processes, ports, `/proc` readings.
//! - [`error`]: the bench's error type.

pub mod error;
pub mod fastdfs;
pub mod gateway;
pub mod measure;
pub mod objects;
pub mod procs;
pub mod proxy;
pub mod report;
pub mod rss;
pub mod slow;
pub mod targets;
pub mod thumbs;
pub mod wrk;

mod scenarios;

use devcluster::mogilefs::MogCluster;
use error::{BenchError, IoContext, Result};
use objects::SizeClass;
use report::Report;
use std::path::PathBuf;
use std::time::Duration;

/// The MogileFS domain of every object.
pub const DOMAIN: &str = "imgs";

/// How much to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    /// A smoke run (short runs, small streams).
    pub quick: bool,
    /// The load applied to every target.
    pub load: wrk::Load,
    /// Unmeasured load before each measured run.
    pub warmup: Duration,
    /// Size classes read (all of [`objects::OBJECT_SET`] normally).
    pub read_sizes: Vec<SizeClass>,
    /// Size classes written.
    pub write_sizes: Vec<SizeClass>,
    /// Streaming clients for the memory test (0 skips it).
    pub stream_clients: usize,
    /// Bytes each streaming client sends and receives.
    pub stream_bytes: u64,
    /// Whether the memory test fills the object cache before streaming.
    pub fill_cache: bool,
    /// The slow-reader memory test.
    pub slow: slow::SlowPlan,
    /// The gateway binary (default: built next to this one).
    pub gateway: Option<PathBuf>,
}

/// An HTTP client for the started servers: no proxy from the environment,
/// no overall time limit (large transfers are timed by the bench itself).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("static reqwest configuration")
}

/// Runs the whole bench; everything it started is stopped when it returns,
/// whether it succeeds or not.
pub async fn run(plan: &Plan) -> Result<Report> {
    let wrk = procs::find_tool("wrk").ok_or(BenchError::Missing {
        tool: "wrk",
        hint: "apt-get install -y wrk",
    })?;
    let nginx = procs::find_tool("nginx").ok_or(BenchError::Missing {
        tool: "nginx",
        hint: "apt-get install -y nginx",
    })?;
    let binary = gateway::binary(plan.gateway.clone())?;
    let work = tempfile::Builder::new()
        .prefix("dfs-bench-")
        .tempdir()
        .context(|| "creating a work directory".into())?;
    let cluster = cluster().await?;
    let bench = measure::Bench {
        wrk,
        work: work.path().to_owned(),
        load: plan.load,
        warmup: plan.warmup,
    };
    let mut report = Report {
        quick: plan.quick,
        cpus: cpus(),
        load: plan.load,
        loadavg: [loadavg(), String::new()],
        rows: Vec::new(),
        ratios: Vec::new(),
        rss: None,
        slow: Vec::new(),
        checks: Vec::new(),
    };
    let setup = scenarios::Setup {
        plan,
        bench: &bench,
        cluster: &cluster,
        binary: &binary,
        nginx: &nginx,
    };
    report.rows = setup.throughput().await?;
    if plan.stream_clients > 0 {
        let tracker = cluster.tracker_addrs()[0];
        let rss = rss::measure(
            &binary,
            tracker,
            work.path(),
            plan.stream_clients,
            plan.stream_bytes,
            plan.fill_cache,
        );
        report.rss = Some(rss.await?);
    }
    if plan.slow.readers > 0 {
        let tracker = cluster.tracker_addrs()[0];
        report.slow = slow::measure(&binary, tracker, work.path(), plan.slow).await?;
    }
    cluster.shutdown().await;
    report.loadavg[1] = loadavg();
    report.finish();
    Ok(report)
}

/// One tracker and one nginx storage node holding every object once: all
/// targets end at the same storage process, so they differ only in what
/// stands in front of it.
pub(crate) async fn cluster() -> Result<MogCluster> {
    let cluster = MogCluster::builder()
        .trackers(1)
        .nodes(1)
        .domain(DOMAIN)
        .class(DOMAIN, "default", 1)
        .nginx_storage(true)
        .build()
        .await
        .context(|| "starting the MogileFS cluster".into())?;
    if !cluster.uses_nginx() {
        return Err(BenchError::Failed("the storage node is not nginx".into()));
    }
    Ok(cluster)
}

/// The first three fields of `/proc/loadavg`.
fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// CPUs this process may use.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
