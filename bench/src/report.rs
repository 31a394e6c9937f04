//! Results: rows, ratios and target checks, as Markdown and as JSON.

use crate::wrk::{Load, Summary};
use serde::Serialize;
use std::fmt::Write as _;

/// Names of the read targets, in table order.
pub const DIRECT: &str = "direct";
/// nginx reverse proxy in front of the storage node.
pub const PROXY: &str = "nginx-proxy";
/// The gateway with its look-up cache.
pub const GATEWAY: &str = "gateway";
/// The gateway asking the tracker on every request.
pub const GATEWAY_NOCACHE: &str = "gateway-nocache";
/// The gateway answering from its object cache (objects up to 1 MiB).
pub const GATEWAY_OBJCACHE: &str = "gateway-objcache";

/// One measurement (or the reason there is none).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `GET` or `PUT`.
    pub op: &'static str,
    /// What was loaded.
    pub target: String,
    /// Size class label.
    pub size: String,
    /// Bytes per object.
    pub size_bytes: u64,
    /// The figures, when measured.
    pub measured: Option<Measured>,
    /// Why not measured, or what went wrong.
    pub note: Option<String>,
}

/// Figures of one measured row.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// Responses per second.
    pub req_per_s: f64,
    /// Payload MiB per second (responses × object size; headers not counted).
    pub mib_per_s: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Errors in the measured run plus its warm-up.
    pub errors: u64,
    /// Of which in the warm-up.
    pub warmup_errors: u64,
    /// CPU time of the middle tier (gateway or proxy) per request, µs.
    pub cpu_us_per_req: Option<f64>,
    /// wrk's raw summary.
    pub wrk: Summary,
}

/// The gateway's memory while streaming.
#[derive(Debug, Clone, Serialize)]
pub struct Rss {
    /// Concurrent clients, each streaming up and down at once.
    pub clients: usize,
    /// Bytes each client sends and receives.
    pub bytes_each_way: u64,
    /// The object cache filled (and kept full) before the streams, MiB.
    pub cache_mib: f64,
    /// VmRSS of the fresh gateway before the cache was filled.
    pub start_rss_bytes: u64,
    /// VmHWM after them: the peak.
    pub peak_rss_bytes: u64,
    /// Aggregate upload rate.
    pub up_mib_per_s: f64,
    /// Aggregate download rate.
    pub down_mib_per_s: f64,
    /// Failed transfers, described.
    pub errors: Vec<String>,
}

/// One target of the issue, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is required.
    pub target: String,
    /// What was measured, in the target's unit.
    pub measured: Option<f64>,
    /// Met, missed, or `None` when not measured.
    pub pass: Option<bool>,
}

/// Everything one run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// A `--quick` run (figures for smoke only).
    pub quick: bool,
    /// CPUs of the machine (everything shares them).
    pub cpus: usize,
    /// The load applied to every target.
    pub load: Load,
    /// `/proc/loadavg` when the run started and when it ended: other work on
    /// the machine skews every figure.
    pub loadavg: [String; 2],
    /// All rows.
    pub rows: Vec<Row>,
    /// Ratios per size class.
    pub ratios: Vec<Ratios>,
    /// The streaming memory test, when it ran.
    pub rss: Option<Rss>,
    /// The slow-reader memory test, one entry per protocol, when it ran.
    pub slow: Vec<crate::slow::SlowReaders>,
    /// Targets checked.
    pub checks: Vec<Check>,
}

/// Ratios of one size class (`None` where a side was not measured).
#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    /// Size class label.
    pub size: String,
    /// gateway / nginx-proxy, req/s.
    pub gateway_vs_proxy: Option<f64>,
    /// gateway / nginx-proxy, p99 latency.
    pub gateway_vs_proxy_p99: Option<f64>,
    /// gateway / direct, req/s (= MiB/s).
    pub gateway_vs_direct: Option<f64>,
    /// gateway without cache / nginx-proxy, req/s.
    pub nocache_vs_proxy: Option<f64>,
}

impl Report {
    /// The measured figures of `op` on `target` for `size`.
    pub fn find(&self, op: &str, target: &str, size: &str) -> Option<&Measured> {
        let row = self
            .rows
            .iter()
            .find(|r| r.op == op && r.target == target && r.size == size);
        row.and_then(|r| r.measured.as_ref())
    }

    /// Computes ratios and checks from the rows and the RSS test.
    pub fn finish(&mut self) {
        let mut sizes: Vec<String> = Vec::new();
        for row in self.rows.iter().filter(|r| r.op == "GET") {
            if !sizes.contains(&row.size) {
                sizes.push(row.size.clone());
            }
        }
        self.ratios = sizes.iter().map(|s| self.ratios_for(s)).collect();
        self.checks = crate::targets::check(self);
    }

    fn ratios_for(&self, size: &str) -> Ratios {
        let rps = |t: &str| self.find("GET", t, size).map(|m| m.req_per_s);
        let p99 = |t: &str| self.find("GET", t, size).map(|m| m.p99_ms);
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        Ratios {
            size: size.to_owned(),
            gateway_vs_proxy: ratio(rps(GATEWAY), rps(PROXY)),
            gateway_vs_proxy_p99: ratio(p99(GATEWAY), p99(PROXY)),
            gateway_vs_direct: ratio(rps(GATEWAY), rps(DIRECT)),
            nocache_vs_proxy: ratio(rps(GATEWAY_NOCACHE), rps(PROXY)),
        }
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let load = &self.load;
        let _ = writeln!(
            out,
            "wrk: {} threads, {} connections, {:.0} s per target after a warm-up; {} CPUs shared by every process{}",
            load.threads,
            load.connections,
            load.duration.as_secs_f64(),
            self.cpus,
            if self.quick { "; QUICK RUN (smoke figures only)" } else { "" }
        );
        let _ = writeln!(
            out,
            "load average (1, 5, 15 min) at start {}, at end {}\n",
            self.loadavg[0], self.loadavg[1]
        );
        out.push_str(
            "| op | target | size | req/s | MiB/s | p50 | p99 | errors | CPU/req (middle tier) |\n",
        );
        out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|\n");
        for row in &self.rows {
            out.push_str(&row_line(row));
        }
        out.push('\n');
        out.push_str(&self.ratio_table());
        if let Some(rss) = &self.rss {
            out.push_str(&rss_lines(rss));
        }
        if !self.slow.is_empty() {
            out.push_str(&slow_table(&self.slow));
        }
        out.push_str("\nTargets:\n");
        for check in &self.checks {
            let mark = match check.pass {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "not measured",
            };
            let value = check
                .measured
                .map_or(String::new(), |v| format!(" (measured {v:.2})"));
            let _ = writeln!(out, "- {mark}: {}{value}", check.target);
        }
        out
    }

    fn ratio_table(&self) -> String {
        let mut out = String::from(
            "| size | gateway/nginx-proxy req/s | gateway/nginx-proxy p99 | gateway/direct req/s | gateway-nocache/nginx-proxy req/s |\n|---|---:|---:|---:|---:|\n",
        );
        for r in &self.ratios {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                r.size,
                ratio(r.gateway_vs_proxy),
                ratio(r.gateway_vs_proxy_p99),
                ratio(r.gateway_vs_direct),
                ratio(r.nocache_vs_proxy)
            );
        }
        out
    }
}

fn row_line(row: &Row) -> String {
    let head = format!("| {} | {} | {} ", row.op, row.target, row.size);
    let Some(m) = &row.measured else {
        let note = row.note.as_deref().unwrap_or("not measured");
        return format!("{head}| — | — | — | — | — | — | {note}\n");
    };
    let cpu = m
        .cpu_us_per_req
        .map_or("—".into(), |c| format!("{c:.0} µs"));
    let note = row
        .note
        .as_deref()
        .map_or(String::new(), |n| format!(" {n}"));
    format!(
        "{head}| {:.0} | {:.1} | {} | {} | {} | {cpu} |{note}\n",
        m.req_per_s,
        m.mib_per_s,
        millis(m.p50_ms),
        millis(m.p99_ms),
        m.errors
    )
}

fn rss_lines(rss: &Rss) -> String {
    let mib = |b: u64| b as f64 / crate::objects::MIB_F;
    format!(
        "\nGateway memory, object cache full ({:.0} MiB), then {} clients each streaming {:.0} MiB up and {:.0} MiB down at once: \
         peak RSS (VmHWM) {:.1} MiB, {:.1} MiB at start; up {:.0} MiB/s, down {:.0} MiB/s in all; {} errors{}\n",
        rss.cache_mib,
        rss.clients,
        mib(rss.bytes_each_way),
        mib(rss.bytes_each_way),
        mib(rss.peak_rss_bytes),
        mib(rss.start_rss_bytes),
        rss.up_mib_per_s,
        rss.down_mib_per_s,
        rss.errors.len(),
        if rss.errors.is_empty() { String::new() } else { format!(": {}", rss.errors.join("; ")) }
    )
}

fn slow_table(slow: &[crate::slow::SlowReaders]) -> String {
    let mib = |b: u64| b as f64 / crate::objects::MIB_F;
    let mut out = String::from(
        "\n| memory | readers | extra RSS | per reader | target | read in all | errors |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in slow {
        let _ = writeln!(
            out,
            "| extra RSS, {} slow readers ({} KiB/s), {} | {} | {:.1} MiB | {:.0} KiB | {:.0} MiB | {:.1} MiB | {} |",
            thousands(s.readers),
            crate::slow::RATE >> 10,
            s.protocol,
            s.readers,
            mib(s.extra_bytes()),
            s.extra_bytes() as f64 / 1024.0 / s.readers.max(1) as f64,
            mib(crate::slow::TARGET_BYTES),
            mib(s.read_bytes),
            s.errors.len()
        );
    }
    out
}

/// `1000` as `1,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(r: Option<f64>) -> String {
    r.map_or("—".into(), |r| format!("{r:.2}"))
}

fn millis(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.2} ms")
    }
}
