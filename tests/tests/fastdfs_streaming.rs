//! FastDFS streaming without buffering, alone in its test binary so no other
//! test shares the process whose memory is measured:
//! - 200 MiB goes up and comes back byte-identical, while this process's
//!   resident memory (client, gateway and storage servers together) stays
//!   far below the file size: with Content-Length (straight through to the
//!   storage) and chunked (spooled to a temporary file, not to memory).

use dfs_e2e::fastdfs::{bounded, created, FdfsEnv};
use dfs_e2e::{byte_at, pattern, pattern_stream, rss_bytes};
use dfs_protocol::fastdfs::FileId;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Samples this process's RSS until stopped; returns the peak and the
/// number of samples.
fn sample_rss(stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(u64, u32)> {
    tokio::spawn(async move {
        let (mut peak, mut samples) = (0, 0);
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(rss_bytes().unwrap_or(0));
            samples += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (peak, samples)
    })
}

/// Streams `id` down; returns how many bytes differ from [`byte_at`] of `seed`.
async fn download_and_compare(env: &FdfsEnv, id: &FileId, seed: u64) -> u64 {
    let response = env.http.get(env.file_url(id)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), id.size());
    let mut offset = 0u64;
    let mut mismatches = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        mismatches += chunk
            .iter()
            .enumerate()
            .filter(|(i, b)| **b != byte_at(seed, offset + *i as u64))
            .count() as u64;
        offset += chunk.len() as u64;
    }
    assert_eq!(Some(offset), id.size(), "bytes received");
    mismatches
}

#[tokio::test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "reads /proc/self/statm (Linux only)"
)]
async fn two_hundred_mib_up_and_down_in_flat_memory() {
    const LEN: u64 = 200 << 20;
    // Whatever the rest of the process holds, a buffered 200 MiB body would
    // push the peak far past this.
    const BOUND: u64 = 96 << 20;
    bounded(Duration::from_secs(300), async {
        let env = FdfsEnv::start().await;
        // Warm up pools, buffers and the allocator before the baseline.
        let warm = env.upload(pattern(1, 1 << 20), "bin").await;
        assert_eq!(env.get_id(&warm).await.0, 200);
        let baseline = rss_bytes().expect("/proc/self/statm is readable on Linux");

        let stop = Arc::new(AtomicBool::new(false));
        let sampler = sample_rss(stop.clone());
        for (seed, declared) in [(23, true), (24, false)] {
            let mut request = env.http.post(env.url("/fdfs/?ext=bin"));
            if declared {
                request = request.header("content-length", LEN);
            }
            let response = request
                .body(pattern_stream(seed, LEN))
                .send()
                .await
                .unwrap();
            let (id, size) = created(response).await;
            assert_eq!((size, id.size()), (LEN, Some(LEN)), "declared: {declared}");
            let mismatches = download_and_compare(&env, &id, seed).await;
            assert_eq!(mismatches, 0, "declared: {declared}");
        }
        stop.store(true, Ordering::Relaxed);
        let (peak, samples) = sampler.await.unwrap();
        // The transfers take seconds; a sampler starved throughout would
        // make the bound meaningless.
        assert!(samples >= 10, "only {samples} RSS samples were taken");
        let growth = peak.saturating_sub(baseline);
        println!(
            "FastDFS 200 MiB up and down, twice: baseline RSS {} MiB, peak {} MiB ({samples} samples), growth {} MiB (bound {} MiB)",
            baseline >> 20,
            peak >> 20,
            growth >> 20,
            BOUND >> 20
        );
        assert!(
            growth < BOUND,
            "RSS grew by {} MiB while moving 200 MiB",
            growth >> 20
        );
        env.stop().await;
    })
    .await;
}
