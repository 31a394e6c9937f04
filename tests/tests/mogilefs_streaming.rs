//! Streaming without buffering, both ways:
//! - a client receives the first bytes of a file while a deliberately slow
//!   storage node is still sending the rest;
//! - 200 MiB goes up and comes back byte-identical while this process's
//!   resident memory (client, gateway and storage node together) stays far
//!   below the file size;
//! - a storage node that dies mid-body breaks the client's response instead
//!   of ending it cleanly short;
//! - so does one that stalls mid-body, once `storage_timeout` has passed.

use dfs_e2e::{byte_at, pattern, pattern_stream, rss_bytes, MogEnv, MogOptions};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test]
async fn first_bytes_arrive_before_a_slow_node_finishes() {
    let env = MogEnv::start().await;
    let data = pattern(21, 256 * 1024);
    assert_eq!(env.put("slow.bin", data.clone()).await, 201);
    assert!(
        env.cluster
            .wait_devcount("imgs", "slow.bin", 2, Duration::from_secs(10))
            .await
    );
    // Both replicas trickle: 16 KiB every 50 ms, so the whole file takes ~0.8 s.
    for node in env.cluster.nodes() {
        node.trickle(16 * 1024, Duration::from_millis(50));
        node.reset_stats();
    }
    let response = env.http.get(env.image("slow.bin")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    let completed: u64 = env
        .cluster
        .nodes()
        .iter()
        .map(|n| n.stats().get_bodies_completed)
        .sum();
    assert_eq!(
        completed, 0,
        "the node had already sent everything: the gateway buffered"
    );
    let mut received = first.to_vec();
    while let Some(chunk) = body.next().await {
        received.extend_from_slice(&chunk.unwrap());
    }
    assert!(received == data);
    let completed: u64 = env
        .cluster
        .nodes()
        .iter()
        .map(|n| n.stats().get_bodies_completed)
        .sum();
    assert_eq!(completed, 1);
}

#[tokio::test]
async fn a_node_dying_mid_body_breaks_the_response() {
    let env = MogEnv::start().await;
    let data = pattern(22, 1 << 20);
    assert_eq!(env.put("dies.bin", data).await, 201);
    assert!(
        env.cluster
            .wait_devcount("imgs", "dies.bin", 2, Duration::from_secs(10))
            .await
    );
    for node in env.cluster.nodes() {
        node.reset_mid_body(100_000);
    }
    let response = env.http.get(env.image("dies.bin")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), Some(1 << 20));
    let result = response.bytes().await;
    assert!(
        result.is_err(),
        "a truncated body was delivered as complete"
    );
}

#[tokio::test]
async fn a_node_stalling_mid_body_breaks_the_response_after_the_timeout() {
    let options = MogOptions {
        upstream_extra: "storage_timeout = \"500ms\"".into(),
        ..MogOptions::default()
    };
    let env = MogEnv::start_with(1, &options).await;
    let data = pattern(23, 1 << 20);
    assert_eq!(env.put("stalls.bin", data).await, 201);
    assert!(
        env.cluster
            .wait_devcount("imgs", "stalls.bin", 2, Duration::from_secs(10))
            .await
    );
    // 64 KiB, then nothing for 30 s: only the idle time-out can end it soon.
    for node in env.cluster.nodes() {
        node.trickle(64 * 1024, Duration::from_secs(30));
    }
    let started = Instant::now();
    let response = env.http.get(env.image("stalls.bin")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), Some(1 << 20));
    let mut body = response.bytes_stream();
    let mut received = 0;
    let outcome = loop {
        match body.next().await {
            Some(Ok(chunk)) => received += chunk.len(),
            Some(Err(e)) => break Err(e),
            None => break Ok(()),
        }
    };
    let elapsed = started.elapsed();
    eprintln!("stalled body cut after {received} bytes and {elapsed:?}");
    assert!(
        outcome.is_err(),
        "a stalled body ended cleanly after {received} bytes"
    );
    assert!(received < 1 << 20, "{received} bytes");
    assert!(
        elapsed < Duration::from_secs(10),
        "the stalled body was held open for {elapsed:?}"
    );
}

/// Samples this process's RSS until stopped; returns the peak.
fn sample_rss(stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(rss_bytes().unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    })
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
    let env = MogEnv::start().await;
    assert_eq!(env.put("warmup.bin", pattern(1, 1 << 20)).await, 201);
    let _ = env.get("warmup.bin").await;
    let baseline = rss_bytes().expect("/proc/self/statm is readable on Linux");

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_rss(stop.clone());
    let response = env
        .http
        .put(env.upload("huge.bin"))
        .header("content-length", LEN)
        .body(pattern_stream(23, LEN))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let response = env.http.get(env.image("huge.bin")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), Some(LEN));
    let offset = AtomicU64::new(0);
    let mut body = response.bytes_stream();
    let mut mismatches = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        let start = offset.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        mismatches += chunk
            .iter()
            .enumerate()
            .filter(|(i, b)| **b != byte_at(23, start + *i as u64))
            .count() as u64;
    }
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.await.unwrap();
    assert_eq!(offset.load(Ordering::Relaxed), LEN);
    assert_eq!(mismatches, 0);
    let growth = peak.saturating_sub(baseline);
    println!(
        "streaming 200 MiB up and down: baseline RSS {} MiB, peak {} MiB, growth {} MiB (bound {} MiB)",
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
}
