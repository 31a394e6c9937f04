//! Thumbnails of one 1600×1200 JPEG (~300 KiB, generated the same way on
//! every run) to 150×150:
//!
//! - **engine**: the gateway's transform engine called directly on 1..=N
//!   threads (transforms/s), plus decode-only timings that show what JPEG
//!   shrink-on-load saves;
//! - **memory**: peak RSS of this process while 16 transforms run at once;
//! - **nginx image_filter**: `image_filter resize 150 150` (Debian's
//!   `libnginx-mod-http-image-filter`) loaded by wrk with the bench's usual
//!   settings, the baseline the gateway rows are compared with;
//! - **gateway**: the same sample in a MogileFS devcluster, `?w=150&h=150`
//!   through a gateway process with the same wrk settings: object cache off
//!   (every request transforms) and on.

pub mod engine;
pub mod gateway;
pub mod nginx;
pub mod sample;

use crate::error::{BenchError, IoContext, Result};
use crate::wrk::{self, Load, Script};
use serde::Serialize;
use std::path::Path;

/// What wrk measured against one thumbnail URL.
#[derive(Debug, Clone, Serialize)]
pub struct LoadRow {
    /// What served it.
    pub what: String,
    /// wrk connections.
    pub connections: u32,
    /// Responses per second.
    pub per_second: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Errors of any kind (must be 0).
    pub errors: u64,
    /// Size of one thumbnail served, bytes.
    pub thumb_bytes: usize,
}

/// Checks the thumbnail at `base` + `path` by hand, then loads it with
/// wrk (script in `work`).
pub async fn wrk_row(
    what: &str,
    wrk_bin: &Path,
    base: &str,
    path: &str,
    work: &Path,
    load: &Load,
) -> Result<LoadRow> {
    let thumb_bytes = check(&format!("{base}{path}")).await?;
    let script = work.join("thumb.lua");
    let text = wrk::script_text(&Script {
        method: "GET",
        paths: vec![path.into()],
        body_size: 0,
    });
    std::fs::write(&script, text).context(|| "writing the wrk script".into())?;
    let s = wrk::run(wrk_bin, base, &script, load).await?;
    Ok(LoadRow {
        what: what.into(),
        connections: load.connections,
        per_second: s.requests as f64 / (s.duration_us as f64 / 1e6),
        p50_ms: s.p50_us / 1000.0,
        p99_ms: s.p99_us / 1000.0,
        errors: s.errors(),
        thumb_bytes,
    })
}

/// One request by hand: 200, an image that fits 150×150; its size.
async fn check(url: &str) -> Result<usize> {
    let response = crate::client()
        .get(url)
        .send()
        .await
        .map_err(|source| BenchError::Http {
            what: format!("GET {url}"),
            source,
        })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|source| BenchError::Http {
        what: format!("reading {url}"),
        source,
    })?;
    let image = image::load_from_memory(&body).map_err(|e| {
        BenchError::Failed(format!(
            "{url}: the thumbnail ({status}) does not decode: {e}"
        ))
    })?;
    if !status.is_success() || image.width() > 150 || image.height() > 150 {
        return Err(BenchError::Failed(format!(
            "{url} answered {status} with a {}x{} image",
            image.width(),
            image.height()
        )));
    }
    Ok(body.len())
}

/// Everything one run measured.
#[derive(Debug, Serialize)]
pub struct ThumbReport {
    /// Bytes of the source JPEG.
    pub source_bytes: usize,
    /// CPUs available.
    pub cpus: usize,
    /// Engine throughput per thread count.
    pub engine: Vec<engine::Throughput>,
    /// Decode-only timings.
    pub decode: Vec<engine::DecodeTiming>,
    /// Peak RSS under 16 concurrent transforms.
    pub memory: Vec<engine::Memory>,
    /// nginx image_filter under wrk, when nginx and the module are installed.
    pub nginx: Option<LoadRow>,
    /// The gateway under the same load, when wrk is installed.
    pub gateway: Option<gateway::GatewayRows>,
}

/// The targets: object cache off ≥ 3 × nginx, on ≥ 20 ×.
pub const TARGETS: [(&str, f64); 2] = [(gateway::COLD, 3.0), (gateway::HOT, 20.0)];

impl ThumbReport {
    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "Thumbnails: 1600x1200 JPEG ({} KiB) -> 150x150, {} CPUs\n\n\
             | target | threads/conns | per second | p50 ms | p99 ms |\n|---|---|---|---|---|\n",
            self.source_bytes / 1024,
            self.cpus
        );
        for t in &self.engine {
            out += &format!(
                "| engine ({}) | {} | {:.1} | {:.2} | |\n",
                t.output, t.threads, t.per_second, t.mean_ms
            );
        }
        let loaded = self.nginx.iter();
        let loaded = loaded.chain(self.gateway.iter().flat_map(|g| g.rows.iter()));
        for n in loaded {
            out += &format!(
                "| {} | {} | {:.1} | {:.2} | {:.2} |\n",
                n.what, n.connections, n.per_second, n.p50_ms, n.p99_ms
            );
        }
        out += &self.ratios();
        out += "\n| decode only | ms per image |\n|---|---|\n";
        for d in &self.decode {
            out += &format!("| {} | {:.2} |\n", d.what, d.ms);
        }
        out += "\n| peak RSS, 16 transforms at once | MiB above idle |\n|---|---|\n";
        for m in &self.memory {
            out += &format!("| {} | {:.1} |\n", m.what, m.peak_mib);
        }
        if let Some(g) = &self.gateway {
            out += &format!(
                "| gateway process, peak RSS (VmHWM) after the loads | {:.1} (total) |\n",
                g.peak_rss_mib
            );
        }
        out
    }

    /// Each gateway row against nginx, with its target.
    fn ratios(&self) -> String {
        let (Some(nginx), Some(g)) = (&self.nginx, &self.gateway) else {
            return String::new();
        };
        let mut out =
            "\n| vs nginx image_filter, req/s | ratio | target | errors |\n|---|---|---|---|\n"
                .to_string();
        for (what, target) in TARGETS {
            if let Some(row) = g.rows.iter().find(|r| r.what == what) {
                let ratio = row.per_second / nginx.per_second;
                let verdict = if ratio >= target { "met" } else { "missed" };
                out += &format!(
                    "| {what} | {ratio:.2} | >= {target} ({verdict}) | {} |\n",
                    row.errors + nginx.errors
                );
            }
        }
        out
    }

    /// Writes the JSON form to `path`.
    pub fn write(&self, path: &std::path::Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("report serialises");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, text).context(|| format!("writing {}", path.display()))
    }
}
