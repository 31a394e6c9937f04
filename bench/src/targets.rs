//! The targets, checked against one run's figures.

use crate::fastdfs::{GATEWAY_INLINE, GATEWAY_LOCAL, NGINX_STATIC};
use crate::report::{Check, Report, DIRECT, GATEWAY, GATEWAY_OBJCACHE, PROXY};

/// Peak RSS allowed while streaming.
const RSS_LIMIT_MIB: f64 = 64.0;

/// Every target, met, missed or not measured.
pub fn check(report: &Report) -> Vec<Check> {
    let get = |target: &str, size: &str| report.find("GET", target, size);
    let ratio =
        |a: Option<f64>, b: Option<f64>| a.zip(b).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b);
    let rps_4k = ratio(
        get(GATEWAY, "4KiB").map(|m| m.req_per_s),
        get(PROXY, "4KiB").map(|m| m.req_per_s),
    );
    let p99_4k = ratio(
        get(GATEWAY, "4KiB").map(|m| m.p99_ms),
        get(PROXY, "4KiB").map(|m| m.p99_ms),
    );
    let hot_4k = ratio(
        get(GATEWAY_OBJCACHE, "4KiB").map(|m| m.req_per_s),
        get(PROXY, "4KiB").map(|m| m.req_per_s),
    );
    let big = ratio(
        get(GATEWAY, "64MiB").map(|m| m.mib_per_s),
        get(DIRECT, "64MiB").map(|m| m.mib_per_s),
    );
    let fdfs = |gateway: &str| {
        ratio(
            get(gateway, "4KiB").map(|m| m.req_per_s),
            get(NGINX_STATIC, "4KiB").map(|m| m.req_per_s),
        )
    };
    let rss = report
        .rss
        .as_ref()
        .map(|r| r.peak_rss_bytes as f64 / crate::objects::MIB_F);
    let streams = report.rss.as_ref().map_or(String::new(), |r| {
        format!(" ({} × {} MiB each way)", r.clients, r.bytes_each_way >> 20)
    });
    vec![
        at_least(
            "4KiB GET, object cache off: gateway req/s ≥ 1.0 × nginx-proxy",
            rps_4k,
            1.0,
        ),
        at_most(
            "4KiB GET, object cache off: gateway p99 ≤ 1.5 × nginx-proxy p99",
            p99_4k,
            1.5,
        ),
        at_least(
            "4KiB GET, object cache on: gateway-objcache req/s ≥ 1.0 × nginx-proxy",
            hot_4k,
            1.0,
        ),
        at_least("64MiB GET: gateway MiB/s ≥ 0.9 × direct", big, 0.9),
        at_least(
            "FastDFS 4KiB GET: gateway local-disk req/s ≥ 0.8 × nginx static",
            fdfs(GATEWAY_LOCAL),
            0.8,
        ),
        at_least(
            "FastDFS 4KiB GET, disk_reads = \"inline\": gateway req/s ≥ 0.8 × nginx static",
            fdfs(GATEWAY_INLINE),
            0.8,
        ),
        Check {
            target: format!("peak gateway RSS while streaming{streams} < {RSS_LIMIT_MIB} MiB"),
            measured: rss,
            pass: rss.map(|r| r < RSS_LIMIT_MIB),
        },
        zero_errors(report),
    ]
    .into_iter()
    .chain(report.slow.iter().map(slow_readers))
    .collect()
}

/// The slow-reader target of one protocol: extra RSS below the target, and
/// every reader served.
fn slow_readers(s: &crate::slow::SlowReaders) -> Check {
    let mib = s.extra_bytes() as f64 / crate::objects::MIB_F;
    let limit = crate::slow::TARGET_BYTES as f64 / crate::objects::MIB_F;
    Check {
        target: format!(
            "extra gateway RSS, {} slow readers, {}: < {limit:.0} MiB, no reader failed ({} failed)",
            s.readers,
            s.protocol,
            s.errors.len()
        ),
        measured: Some(mib),
        pass: Some(mib < limit && s.errors.is_empty()),
    }
}

fn at_least(target: &str, measured: Option<f64>, limit: f64) -> Check {
    Check {
        target: target.into(),
        measured,
        pass: measured.map(|m| m >= limit),
    }
}

fn at_most(target: &str, measured: Option<f64>, limit: f64) -> Check {
    Check {
        target: target.into(),
        measured,
        pass: measured.map(|m| m <= limit),
    }
}

/// Errors anywhere, including rows that could not be measured at all.
fn zero_errors(report: &Report) -> Check {
    let in_rows: u64 = report
        .rows
        .iter()
        .filter_map(|r| r.measured.as_ref())
        .map(|m| m.errors)
        .sum();
    let failed_rows = report.rows.iter().filter(|r| r.measured.is_none()).count() as u64;
    let in_rss = report.rss.as_ref().map_or(0, |r| r.errors.len() as u64);
    let total = in_rows + failed_rows + in_rss;
    Check {
        target: "zero errors in every run (rows that failed to run count as errors)".into(),
        measured: Some(total as f64),
        pass: Some(total == 0),
    }
}
