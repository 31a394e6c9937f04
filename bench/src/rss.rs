//! The gateway's memory while streaming: a fresh gateway process (so its
//! high-water mark covers this test alone) whose object cache is first
//! filled (a quarter more than it holds, read through [`HOT`]), then several
//! clients each upload and download a large object at the same time. Bodies
//! are generated and counted on the fly; nothing else holds a whole object.

use crate::error::{BenchError, Result};
use crate::gateway::{GatewayProcess, HOT, HOT_CACHE_MIB, UPLOAD};
use crate::objects::{self, MIB_F};
use crate::procs;
use crate::report::Rss;
use futures_util::{stream, StreamExt, TryStreamExt};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// What one client saw: how long each direction took, and failures.
struct Streams {
    up: Duration,
    down: Duration,
    errors: Vec<String>,
}

/// Runs `clients` clients, each putting `bytes` up and getting `bytes` down
/// through a new gateway on `tracker` (its object cache filled first if
/// `fill`), and reports the gateway's peak RSS.
pub async fn measure(
    binary: &Path,
    tracker: SocketAddr,
    work: &Path,
    clients: usize,
    bytes: u64,
    fill: bool,
) -> Result<Rss> {
    eprintln!(
        "dfs-bench: streaming {clients} × {} MiB each way",
        bytes / (1 << 20)
    );
    let gateway = GatewayProcess::start(binary, tracker, "", work, "gateway-rss").await?;
    let pid = gateway.pid()?;
    let start_rss = procs::status_bytes(pid, "VmRSS").unwrap_or(0);
    let client = crate::client();
    if fill {
        fill_cache(&client, &gateway.base()).await?;
    }
    let seed = format!("{}{UPLOAD}rss/seed.bin", gateway.base());
    objects::put(&client, &seed, bytes).await?;
    let down_url = format!("{}/images/rss/seed.bin", gateway.base());
    let runs = (0..clients).map(|i| {
        let up_url = format!("{}{UPLOAD}rss/up-{i}.bin", gateway.base());
        let (client, down_url) = (client.clone(), down_url.clone());
        tokio::spawn(async move { both_ways(&client, &up_url, &down_url, bytes).await })
    });
    let mut results = Vec::new();
    for run in runs.collect::<Vec<_>>() {
        results.push(
            run.await
                .map_err(|e| BenchError::Failed(format!("stream task: {e}")))?,
        );
    }
    let peak = procs::status_bytes(pid, "VmHWM")
        .ok_or_else(|| BenchError::Failed("cannot read the gateway's VmHWM".into()))?;
    let mut rss = summarize(&results, clients, bytes, start_rss, peak);
    rss.cache_mib = if fill { HOT_CACHE_MIB as f64 } else { 0.0 };
    Ok(rss)
}

/// Size of the objects that fill the cache: under its 1 MiB per-object limit.
const FILL_OBJECT: u64 = 1000 << 10;

/// Puts objects worth a quarter more than the object cache of [`HOT`] holds,
/// and reads each through it, so that the cache is full (and evicting).
async fn fill_cache(client: &reqwest::Client, base: &str) -> Result<()> {
    let count = (HOT_CACHE_MIB << 20) * 5 / 4 / FILL_OBJECT;
    eprintln!("dfs-bench: filling the {HOT_CACHE_MIB} MiB object cache ({count} objects)");
    stream::iter(0..count)
        .map(|i| async move {
            let up = format!("{base}{UPLOAD}rss/fill/{i}.bin");
            objects::put(client, &up, FILL_OBJECT).await?;
            let hot = format!("{base}{HOT}rss/fill/{i}.bin");
            objects::get_exact(client, &hot, FILL_OBJECT).await
        })
        .buffer_unordered(8)
        .try_collect()
        .await
}

/// One client: an upload and a download at the same time.
async fn both_ways(client: &reqwest::Client, up_url: &str, down_url: &str, bytes: u64) -> Streams {
    let ((up, up_err), (down, down_err)) = tokio::join!(
        timed(objects::put(client, up_url, bytes)),
        timed(objects::get_exact(client, down_url, bytes))
    );
    Streams {
        up,
        down,
        errors: up_err.into_iter().chain(down_err).collect(),
    }
}

/// How long `transfer` took, and its error if any.
async fn timed(transfer: impl Future<Output = Result<()>>) -> (Duration, Option<String>) {
    let start = Instant::now();
    let result = transfer.await;
    (start.elapsed(), result.err().map(|e| e.to_string()))
}

fn summarize(results: &[Streams], clients: usize, bytes: u64, start_rss: u64, peak: u64) -> Rss {
    let total = (clients as u64 * bytes) as f64 / MIB_F;
    let slowest = |f: fn(&Streams) -> Duration| {
        results
            .iter()
            .map(f)
            .max()
            .unwrap_or_default()
            .as_secs_f64()
            .max(1e-9)
    };
    Rss {
        cache_mib: 0.0,
        clients,
        bytes_each_way: bytes,
        start_rss_bytes: start_rss,
        peak_rss_bytes: peak,
        up_mib_per_s: total / slowest(|s| s.up),
        down_mib_per_s: total / slowest(|s| s.down),
        errors: results.iter().flat_map(|s| s.errors.clone()).collect(),
    }
}
