//! The transform engine measured in-process: throughput on N threads,
//! decode-only timings, and peak RSS with 16 transforms at once.

use bytes::Bytes;
use dfs_gateway::thumbs::decode::decode;
use dfs_gateway::thumbs::{transform, Fit, Kind, Limits, Output, Params, ThumbPool};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Transforms per second on some threads.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// `jpeg` (source format) or `webp`.
    pub output: &'static str,
    /// Threads transforming at once.
    pub threads: usize,
    /// Transforms finished per second, all threads together.
    pub per_second: f64,
    /// Mean time of one transform, ms.
    pub mean_ms: f64,
}

/// Time to decode the sample one way.
#[derive(Debug, Clone, Serialize)]
pub struct DecodeTiming {
    /// Which decoder and scale.
    pub what: &'static str,
    /// Mean ms per decode.
    pub ms: f64,
}

/// Peak resident memory above idle.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// What ran.
    pub what: String,
    /// MiB of peak RSS above the RSS before.
    pub peak_mib: f64,
}

/// The bench's request: 150×150, cover (the list-thumbnail case).
pub fn params(output: Output) -> Params {
    Params {
        width: 150,
        height: 150,
        fit: Fit::Cover,
        output,
        quality: 80,
        enlarge: false,
    }
}

fn limits() -> Limits {
    Limits {
        max_source_bytes: 20 << 20,
        max_pixels: 50_000_000,
        time_budget: Duration::from_secs(30),
    }
}

/// Runs transforms of `source` on `threads` threads for `duration`.
pub fn throughput(
    source: &Bytes,
    output: Output,
    threads: usize,
    duration: Duration,
) -> Throughput {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (done, stop, source) = (done.clone(), stop.clone(), source.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let thumb = transform(source.clone(), &params(output), &limits())
                        .expect("the sample transforms");
                    assert_eq!((thumb.width, thumb.height), (150, 150));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("bench thread");
    }
    let secs = started.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed) as f64;
    Throughput {
        output: match output {
            Output::Source => "jpeg",
            Output::Webp => "webp",
        },
        threads,
        per_second: n / secs,
        mean_ms: secs * 1000.0 * threads as f64 / n.max(1.0),
    }
}

fn mean_ms(rounds: u32, mut f: impl FnMut()) -> f64 {
    f();
    let started = Instant::now();
    for _ in 0..rounds {
        f();
    }
    started.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds)
}

/// Decoding the sample in full (zune-jpeg through `image`, jpeg-decoder),
/// with jpeg-decoder's DCT scaling to 1/8, and the engine's own decode
/// (libjpeg-turbo, DCT-scaled to 1/8).
pub fn decode_timings(source: &[u8], rounds: u32) -> Vec<DecodeTiming> {
    let full_image = mean_ms(rounds, || {
        image::load_from_memory(source).expect("sample decodes");
    });
    let jpeg = |scale: Option<(u16, u16)>| {
        mean_ms(rounds, || {
            let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(source));
            if let Some((w, h)) = scale {
                d.scale(w, h).expect("scale");
            }
            d.decode().expect("sample decodes");
        })
    };
    vec![
        DecodeTiming {
            what: "zune-jpeg (image crate), full 1600x1200",
            ms: full_image,
        },
        DecodeTiming {
            what: "jpeg-decoder, full 1600x1200",
            ms: jpeg(None),
        },
        DecodeTiming {
            what: "jpeg-decoder, DCT-scaled to 200x150",
            ms: jpeg(Some((150, 150))),
        },
        DecodeTiming {
            what: "libjpeg-turbo, DCT-scaled to 200x150 (engine)",
            ms: mean_ms(rounds, || {
                let want = |_, _, _| (150, 150);
                let deadline = Instant::now() + limits().time_budget;
                decode(source, Kind::Jpeg, &limits(), deadline, want).expect("sample decodes");
            }),
        },
    ]
}

/// VmRSS or VmHWM of this process, bytes.
fn status(field: &str) -> u64 {
    crate::procs::status_bytes(std::process::id(), field).unwrap_or(0)
}

/// Peak RSS above idle while 16 transforms are submitted at once to a pool
/// of `pool_size` (0 = one per CPU, the gateway's default).
pub async fn peak_rss(source: &Bytes, pool_size: usize) -> Memory {
    let pool = ThumbPool::new(pool_size);
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status("VmRSS:");
    let jobs: Vec<_> = (0..16)
        .map(|_| {
            let (pool, source) = (pool.clone(), source.clone());
            tokio::spawn(async move { pool.run(source, params(Output::Webp), limits()).await })
        })
        .collect();
    for job in jobs {
        job.await
            .expect("transform task")
            .expect("the sample transforms");
    }
    let peak = status("VmHWM:");
    Memory {
        what: format!("pool of {}", pool.size()),
        peak_mib: peak.saturating_sub(before) as f64 / f64::from(1 << 20),
    }
}
