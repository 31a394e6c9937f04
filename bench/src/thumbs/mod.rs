//! Thumbnails of one 1600×1200 JPEG (~300 KiB, generated the same way on
//! every run) to 150×150:
//!
//! - **engine**: the gateway's transform engine called directly on 1..=N
//!   threads (transforms/s), plus decode-only timings that show what JPEG
//!   shrink-on-load saves;
//! - **memory**: peak RSS of this process while 16 transforms run at once;
//! - **nginx image_filter**: `image_filter resize 150 150` (Debian's
//!   `libnginx-mod-http-image-filter`) loaded by wrk with the bench's usual
//!   settings, the baseline a gateway row is compared with.

pub mod engine;
pub mod nginx;
pub mod sample;

use crate::error::{IoContext, Result};
use serde::Serialize;

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
    pub nginx: Option<nginx::NginxRow>,
}

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
        if let Some(n) = &self.nginx {
            out += &format!(
                "| nginx image_filter | {} | {:.1} | {:.2} | {:.2} |\n",
                n.connections, n.per_second, n.p50_ms, n.p99_ms
            );
        }
        out += "\n| decode only | ms per image |\n|---|---|\n";
        for d in &self.decode {
            out += &format!("| {} | {:.2} |\n", d.what, d.ms);
        }
        out += "\n| peak RSS, 16 transforms at once | MiB above idle |\n|---|---|\n";
        for m in &self.memory {
            out += &format!("| {} | {:.1} |\n", m.what, m.peak_mib);
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
