//! Slow readers (its own test binary, so no other test's memory is counted):
//! 64 clients reading a 64 MiB file at a trickle for a few seconds each keep
//! this process's RSS (clients, gateway and storage node together) bounded,
//! because backpressure runs end to end instead of anything buffering.

use dfs_e2e::{rss_bytes, MogEnv};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "reads /proc/self/statm (Linux only)"
)]
async fn slow_readers_do_not_pin_memory() {
    const READERS: usize = 64;
    const LEN: usize = 64 << 20;
    // Every reader holds at most a few socket and hyper buffers.
    const BOUND: u64 = 192 << 20;
    let env = MogEnv::start().await;
    let response = env
        .http
        .put(env.upload("big.bin"))
        .body(dfs_e2e::pattern_stream(5, LEN as u64))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let baseline = rss_bytes().expect("/proc/self/statm is readable on Linux");
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(rss_bytes().unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        })
    };
    // Each reader takes RATE bytes per second for 3 seconds, then hangs up.
    const RATE: usize = 256 * 1024;
    let readers = (0..READERS).map(|_| {
        let request = env.http.get(env.image("big.bin")).send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 200);
            let mut body = response.bytes_stream();
            let mut read = 0usize;
            let began = Instant::now();
            while began.elapsed() < Duration::from_secs(3) {
                match body.next().await {
                    Some(chunk) => read += chunk.unwrap().len(),
                    None => break,
                }
                // Stay at RATE bytes per second: sleep off any lead.
                let allowed = RATE as f64 * began.elapsed().as_secs_f64();
                if read as f64 > allowed {
                    tokio::time::sleep(Duration::from_secs_f64(
                        (read as f64 - allowed) / RATE as f64,
                    ))
                    .await;
                }
            }
            read
        }
    });
    let read: usize = futures_util::future::join_all(readers)
        .await
        .into_iter()
        .sum();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.await.unwrap();
    let growth = peak.saturating_sub(baseline);
    println!(
        "fault scenario slow readers: {READERS} readers read {} MiB of {} MiB offered; RSS baseline {} MiB, peak {} MiB, growth {} MiB (bound {} MiB), {:.1} s",
        read >> 20,
        (READERS * LEN) >> 20,
        baseline >> 20,
        peak >> 20,
        growth >> 20,
        BOUND >> 20,
        started.elapsed().as_secs_f64()
    );
    assert!(growth < BOUND, "slow readers pinned {} MiB", growth >> 20);
}
