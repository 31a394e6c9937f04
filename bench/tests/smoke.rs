//! Smoke run of the bench machinery, far smaller than `--quick`: a few
//! 4 KiB objects, 1 s per target, one small stream each way. Covers:
//! - the cluster, the gateway process and the nginx proxy start and answer;
//! - every read and write target is checked, loaded and measured;
//! - no errors are counted anywhere, and the report renders;
//! - the slow-reader memory test runs for both protocols, every reader served.
//!
//! The figures mean nothing (a debug gateway, a busy machine). Listed by
//! `cargo test` as ignored, with the reason, when nginx or wrk is not
//! installed (bench/build.rs).

use dfs_bench::objects::SizeClass;
use dfs_bench::{wrk, Plan};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(all(has_nginx, has_wrk)), ignore = "nginx or wrk not installed")]
async fn a_tiny_bench_runs_without_errors() {
    let class = SizeClass {
        label: "4KiB",
        size: 4096,
        count: 8,
    };
    let plan = Plan {
        quick: true,
        load: wrk::Load {
            threads: 1,
            connections: 2,
            duration: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
        },
        warmup: Duration::from_secs(1),
        read_sizes: vec![class],
        write_sizes: vec![class],
        stream_clients: 1,
        stream_bytes: 4 << 20,
        fill_cache: false,
        slow: dfs_bench::slow::SlowPlan {
            readers: 20,
            object_bytes: 8 << 20,
            hold: Duration::from_secs(2),
        },
        gateway: None,
    };
    let report = dfs_bench::run(&plan).await.expect("the bench runs");
    let text = report.markdown();
    let measured = report.rows.iter().filter(|r| r.measured.is_some()).count();
    assert_eq!(
        measured, 12,
        "5 read, 2 write and 5 FastDFS targets:\n{text}"
    );
    let errors = report
        .checks
        .iter()
        .find(|c| c.target.starts_with("zero errors"));
    assert_eq!(errors.and_then(|c| c.pass), Some(true), "{text}");
    assert_eq!(report.slow.len(), 2, "{text}");
    for slow in &report.slow {
        assert!(slow.errors.is_empty(), "{:?}\n{text}", slow.errors);
        assert!(slow.read_bytes > 0, "{text}");
    }
    assert!(text.contains("slow readers"), "{text}");
    assert!(
        report.rss.as_ref().is_some_and(|r| r.peak_rss_bytes > 0),
        "{text}"
    );
}
