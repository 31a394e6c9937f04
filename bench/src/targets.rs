//! The targets, checked against one run's figures.

use crate::fastdfs::{GATEWAY_LOCAL, GATEWAY_LOCAL_NOCACHE, NGINX_STATIC};
use crate::report::{Check, Report, DIRECT, GATEWAY, GATEWAY_OBJCACHE, PROXY};

/// Peak RSS allowed while streaming, over the object cache's size.
const RSS_OVER_CACHE_MIB: f64 = 64.0;

/// Every target of the table, met, missed or not measured.
pub fn check(report: &Report) -> Vec<Check> {
    let get = |target: &str, size: &str| report.find("GET", target, size);
    let ratio =
        |a: Option<f64>, b: Option<f64>| a.zip(b).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b);
    let rps = |a: &str, b: &str, size: &str| {
        ratio(
            get(a, size).map(|m| m.req_per_s),
            get(b, size).map(|m| m.req_per_s),
        )
    };
    let cpu_4k = ratio(
        get(GATEWAY, "4KiB").and_then(|m| m.cpu_us_per_req),
        get(PROXY, "4KiB").and_then(|m| m.cpu_us_per_req),
    );
    let hot_p99_4k = ratio(
        get(GATEWAY_OBJCACHE, "4KiB").map(|m| m.p99_ms),
        get(DIRECT, "4KiB").map(|m| m.p99_ms),
    );
    let big = ratio(
        get(GATEWAY, "64MiB").map(|m| m.mib_per_s),
        get(DIRECT, "64MiB").map(|m| m.mib_per_s),
    );
    let limit = report
        .rss
        .as_ref()
        .map_or(RSS_OVER_CACHE_MIB, |r| r.cache_mib + RSS_OVER_CACHE_MIB);
    let rss = report
        .rss
        .as_ref()
        .map(|r| r.peak_rss_bytes as f64 / crate::objects::MIB_F);
    let streams = report.rss.as_ref().map_or(String::new(), |r| {
        format!(
            ", object cache full ({:.0} MiB), {} × {} MiB each way",
            r.cache_mib,
            r.clients,
            r.bytes_each_way >> 20
        )
    });
    vec![
        at_least(
            "4KiB GET, object cache off: gateway req/s ≥ 1.0 × nginx-proxy",
            rps(GATEWAY, PROXY, "4KiB"),
            1.0,
        ),
        at_most(
            "4KiB GET, object cache off: gateway CPU per request ≤ 1.0 × nginx-proxy's",
            cpu_4k,
            1.0,
        ),
        at_least(
            "4KiB GET, object cache on: gateway-objcache req/s ≥ 1.0 × direct (nginx serving the files)",
            rps(GATEWAY_OBJCACHE, DIRECT, "4KiB"),
            1.0,
        ),
        at_most(
            "4KiB GET, object cache on: gateway-objcache p99 ≤ 1.5 × direct's",
            hot_p99_4k,
            1.5,
        ),
        at_least(
            "64KiB GET, object cache off: gateway req/s ≥ 1.0 × nginx-proxy",
            rps(GATEWAY, PROXY, "64KiB"),
            1.0,
        ),
        at_least(
            "FastDFS 4KiB GET, default config: gateway local-disk req/s ≥ 1.0 × nginx static",
            rps(GATEWAY_LOCAL, NGINX_STATIC, "4KiB"),
            1.0,
        ),
        at_least(
            "FastDFS 4KiB GET, object cache off: gateway local-disk req/s ≥ 0.8 × nginx static",
            rps(GATEWAY_LOCAL_NOCACHE, NGINX_STATIC, "4KiB"),
            0.8,
        ),
        at_least("64MiB GET: gateway MiB/s ≥ 0.9 × direct", big, 0.9),
        Check {
            target: format!("peak gateway RSS{streams} < {limit:.0} MiB"),
            measured: rss,
            pass: rss.map(|r| r < limit),
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
