//! Slow readers against the gateway as a process of its own (so only its
//! memory is measured): 1,000 clients reading a 100 MB object at 16 KiB/s,
//! every reader getting its 200 and its bytes, and the gateway's extra RSS
//! below the 64 MiB target, for FastDFS and for MogileFS.
//!
//! `DFS_GATEWAY=<path>` measures another gateway binary.

use devcluster::mogilefs::MogCluster;
use dfs_bench::slow::{SlowPlan, SlowReaders, RATE, TARGET_BYTES};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Readers per protocol.
const READERS: usize = 1000;

/// One measurement at a time: two gateways and 2,000 readers sharing the
/// CPUs would measure each other's scheduling as much as their own buffers.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PLAN: SlowPlan = SlowPlan {
    readers: READERS,
    object_bytes: 100_000_000,
    hold: Duration::from_secs(8),
};

/// Runs `test` against the gateway binary and a one-node MogileFS cluster;
/// checks every reader was served and returns the extra RSS.
async fn measured<F, T>(test: F) -> u64
where
    F: FnOnce(PathBuf, std::net::SocketAddr, PathBuf) -> T,
    T: Future<Output = dfs_bench::error::Result<SlowReaders>>,
{
    let _turn = ONE_AT_A_TIME.lock().await;
    let explicit = std::env::var_os("DFS_GATEWAY").map(PathBuf::from);
    let binary = dfs_bench::gateway::binary(explicit).expect("a gateway binary");
    let cluster = MogCluster::builder()
        .trackers(1)
        .nodes(1)
        .domain(dfs_bench::DOMAIN)
        .class(dfs_bench::DOMAIN, "default", 1)
        .build()
        .await
        .expect("devcluster starts");
    let work = tempfile::tempdir().unwrap();
    let tracker = cluster.tracker_addrs()[0];
    let run = test(binary, tracker, Path::to_owned(work.path()));
    let r = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the slow-reader test ends in time")
        .expect("the slow-reader test runs");
    cluster.shutdown().await;
    println!(
        "slow readers, {}: {} readers at {} KiB/s, extra RSS {:.1} MiB ({} KiB each), {:.1} MiB read, at least {} KiB each",
        r.protocol,
        r.readers,
        RATE >> 10,
        r.extra_bytes() as f64 / f64::from(1 << 20),
        (r.extra_bytes() / READERS as u64) >> 10,
        r.read_bytes as f64 / f64::from(1 << 20),
        r.least_read_bytes >> 10,
    );
    assert!(r.errors.is_empty(), "{}: {:?}", r.protocol, r.errors);
    assert!(r.least_read_bytes > 0, "a reader never got data");
    r.extra_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastdfs_slow_readers_stay_under_the_target() {
    let extra =
        measured(|b, t, w| async move { dfs_bench::slow::fastdfs(&b, t, &w, PLAN).await }).await;
    assert!(extra < TARGET_BYTES, "{} MiB", extra >> 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mogilefs_slow_readers_stay_under_the_target() {
    let extra =
        measured(|b, t, w| async move { dfs_bench::slow::mogilefs(&b, t, &w, PLAN).await }).await;
    assert!(extra < TARGET_BYTES, "{} MiB", extra >> 20);
}
