//! Slow readers: many clients each reading a large object at a trickle
//! (16 KiB/s) through a fresh gateway process per protocol, and how much the
//! gateway's RSS grows while they read. Each reader is a bare socket read
//! 4 KiB at a time, so all buffering measured is the gateway's.

use crate::error::{BenchError, IoContext, Result};
use crate::gateway::{GatewayProcess, CACHED, UPLOAD};
use crate::{fastdfs, objects, procs};
use devcluster::fastdfs::FdfsCluster;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes per second each reader takes.
pub const RATE: u64 = 16 * 1024;
/// The target: extra RSS for all readers together, per protocol.
pub const TARGET_BYTES: u64 = 64 << 20;
/// How many readers connect at once (the listen backlog stays short).
const BATCH: usize = 100;

/// How the slow-reader test runs.
#[derive(Debug, Clone, Copy)]
pub struct SlowPlan {
    /// Readers per protocol (0 skips the test).
    pub readers: usize,
    /// Size of the object they all read.
    pub object_bytes: u64,
    /// How long they read, once all are connected.
    pub hold: Duration,
}

/// One protocol's result.
#[derive(Debug, Clone, Serialize)]
pub struct SlowReaders {
    /// `MogileFS` or `FastDFS`.
    pub protocol: &'static str,
    /// Readers at once.
    pub readers: usize,
    /// VmRSS of the gateway before they connected.
    pub start_rss_bytes: u64,
    /// Highest VmRSS seen while they read.
    pub peak_rss_bytes: u64,
    /// Bytes all readers received.
    pub read_bytes: u64,
    /// Bytes the slowest-served reader received (0: one never got data).
    pub least_read_bytes: u64,
    /// Readers that failed (no 200, a reset), described.
    pub errors: Vec<String>,
}

impl SlowReaders {
    /// Peak minus start.
    pub fn extra_bytes(&self) -> u64 {
        self.peak_rss_bytes.saturating_sub(self.start_rss_bytes)
    }
}

/// Runs the test for MogileFS (through `mog_tracker`) and for FastDFS (a
/// cluster of its own).
pub async fn measure(
    binary: &Path,
    mog_tracker: SocketAddr,
    work: &Path,
    plan: SlowPlan,
) -> Result<Vec<SlowReaders>> {
    eprintln!(
        "dfs-bench: {} slow readers at {} KiB/s per protocol",
        plan.readers,
        RATE >> 10
    );
    let mog = mogilefs(binary, mog_tracker, work, plan).await?;
    let fdfs = fastdfs(binary, mog_tracker, work, plan).await?;
    Ok(vec![mog, fdfs])
}

/// The test for MogileFS, through `mog_tracker`.
pub async fn mogilefs(
    binary: &Path,
    mog_tracker: SocketAddr,
    work: &Path,
    plan: SlowPlan,
) -> Result<SlowReaders> {
    let gateway =
        GatewayProcess::start(binary, mog_tracker, "", work, "gateway-slow-mogilefs").await?;
    let client = crate::client();
    objects::put(
        &client,
        &format!("{}{UPLOAD}slow/big.bin", gateway.base()),
        plan.object_bytes,
    )
    .await?;
    run(&gateway, &format!("{CACHED}slow/big.bin"), "MogileFS", plan).await
}

/// The test for FastDFS, on a cluster of its own (`mog_tracker` is only
/// there because the gateway's config always has its MogileFS upstream).
pub async fn fastdfs(
    binary: &Path,
    mog_tracker: SocketAddr,
    work: &Path,
    plan: SlowPlan,
) -> Result<SlowReaders> {
    let cluster = FdfsCluster::builder()
        .group(fastdfs::GROUP, 1)
        .trackers(1)
        .shared_ip()
        .build()
        .await
        .context(|| "starting the FastDFS cluster".into())?;
    let store = cluster.storage(fastdfs::GROUP, 0).store_path().to_owned();
    let extra = fastdfs::config_tables(cluster.tracker_addrs()[0], &store);
    let gateway =
        GatewayProcess::start(binary, mog_tracker, &extra, work, "gateway-slow-fastdfs").await?;
    let id = fastdfs::upload_one(&gateway.base(), plan.object_bytes).await?;
    let result = run(
        &gateway,
        &format!("{}{id}", fastdfs::NETWORK),
        "FastDFS",
        plan,
    )
    .await;
    drop(gateway);
    cluster.shutdown().await;
    result
}

/// `plan.readers` slow readers of `path` on `gateway`.
async fn run(
    gateway: &GatewayProcess,
    path: &str,
    protocol: &'static str,
    plan: SlowPlan,
) -> Result<SlowReaders> {
    let pid = gateway.pid()?;
    // One short read first, so pools and caches exist before the baseline.
    let mut warm = Reader::open(gateway.addr, path).await?;
    warm.read_for(Duration::from_millis(500)).await?;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start_rss = procs::status_bytes(pid, "VmRSS").unwrap_or(0);
    let peak = Arc::new(AtomicU64::new(start_rss));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let now = procs::status_bytes(pid, "VmRSS").unwrap_or(0);
                peak.fetch_max(now, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut readers = Vec::new();
    let mut errors = Vec::new();
    for batch in (0..plan.readers).collect::<Vec<_>>().chunks(BATCH) {
        let opened =
            futures_util::future::join_all(batch.iter().map(|_| Reader::open(gateway.addr, path)))
                .await;
        for reader in opened {
            match reader {
                Ok(r) => readers.push(r),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    let hold = plan.hold;
    let tasks: Vec<_> = readers
        .into_iter()
        .map(|mut r| tokio::spawn(async move { r.read_for(hold).await }))
        .collect();
    let (mut read_bytes, mut least) = (0, u64::MAX);
    for task in tasks {
        match task.await {
            Ok(Ok(n)) => {
                read_bytes += n;
                least = least.min(n);
            }
            Ok(Err(e)) => errors.push(e.to_string()),
            Err(e) => errors.push(format!("reader task: {e}")),
        }
    }
    sampler.abort();
    Ok(SlowReaders {
        protocol,
        readers: plan.readers,
        start_rss_bytes: start_rss,
        peak_rss_bytes: peak.load(Ordering::Relaxed),
        read_bytes,
        least_read_bytes: if least == u64::MAX { 0 } else { least },
        errors,
    })
}

/// One client reading a response at [`RATE`].
struct Reader {
    stream: TcpStream,
    path: String,
}

impl Reader {
    async fn open(addr: SocketAddr, path: &str) -> Result<Reader> {
        let mut stream = TcpStream::connect(addr)
            .await
            .context(|| format!("connecting to {addr}"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .context(|| format!("sending GET {path}"))?;
        Ok(Reader {
            stream,
            path: path.to_owned(),
        })
    }

    /// Reads 4 KiB every quarter second for `hold`; the bytes read.
    async fn read_for(&mut self, hold: Duration) -> Result<u64> {
        const STEP: usize = 4096;
        let pause = Duration::from_secs_f64(STEP as f64 / RATE as f64);
        let mut buf = [0u8; STEP];
        let mut total = 0u64;
        let began = Instant::now();
        let mut head_checked = false;
        while began.elapsed() < hold {
            let n = self
                .stream
                .read(&mut buf)
                .await
                .context(|| format!("reading {}", self.path))?;
            if n == 0 {
                return Err(BenchError::Failed(format!(
                    "GET {}: closed after {total} bytes",
                    self.path
                )));
            }
            if !head_checked {
                if !buf[..n].starts_with(b"HTTP/1.1 200 ") {
                    let head = String::from_utf8_lossy(&buf[..n.min(200)]).into_owned();
                    return Err(BenchError::Failed(format!("GET {}: {head}", self.path)));
                }
                head_checked = true;
            }
            total += n as u64;
            tokio::time::sleep(pause).await;
        }
        Ok(total)
    }
}
