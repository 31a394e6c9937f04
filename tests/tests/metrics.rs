//! `/metrics` as Prometheus scrapes it:
//! - content negotiation: the 0.0.4 text format for `text/plain`, OpenMetrics
//!   for OpenMetrics-capable scrapers and by default;
//! - families: build_info, process_*, per-tracker up gauges, request bytes
//!   counted by location for MogileFS and FastDFS uploads alike;
//! - a storage node that fails a read is counted in
//!   `dfs_gateway_storage_errors_total` by upstream and node, others are not;
//! - `promtool check metrics` accepts the 0.0.4 text (when promtool is
//!   installed).

use dfs_e2e::fastdfs::{bounded, FdfsEnv, FdfsOptions};
use dfs_e2e::{pattern, Gateway, MogEnv};
use std::time::Duration;

const TEXT004: &str = "text/plain;version=0.0.4";
/// What Prometheus 2.x sends.
const PROMETHEUS: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

async fn scrape(gateway: &Gateway, accept: Option<&str>) -> (String, String) {
    let mut request = dfs_e2e::client().get(gateway.url("/metrics"));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, response.text().await.unwrap())
}

/// The value of the sample line starting with `series `.
fn sample(text: &str, series: &str) -> Option<f64> {
    let line = text
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))?;
    line[series.len()..].trim().parse().ok()
}

#[tokio::test]
async fn formats_follow_the_accept_header() {
    bounded(Duration::from_secs(30), async {
        let env = FdfsEnv::start().await;
        let (ct, text) = scrape(&env.gateway, Some(TEXT004)).await;
        assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
        assert!(!text.contains("# EOF"));
        assert!(text.contains("# TYPE dfs_gateway_shed_requests_total counter"));
        for accept in [Some(PROMETHEUS), None, Some("*/*")] {
            let (ct, text) = scrape(&env.gateway, accept).await;
            assert!(
                ct.starts_with("application/openmetrics-text; version=1.0.0"),
                "{accept:?}"
            );
            assert!(text.ends_with("# EOF\n"));
            assert!(text.contains("# TYPE dfs_gateway_shed_requests counter"));
        }
        env.gateway.stop().await;
    })
    .await;
}

#[tokio::test]
async fn families_cover_process_trackers_and_upload_bytes() {
    bounded(Duration::from_secs(30), async {
        let env = FdfsEnv::start_with(&FdfsOptions::default()).await;
        let body = vec![7u8; 12_345];
        env.upload(body, "bin").await;
        let (_, text) = scrape(&env.gateway, Some(TEXT004)).await;
        let stored = sample(
            &text,
            "dfs_gateway_request_bytes_total{location=\"/fdfs/\"}",
        );
        assert!(
            stored >= Some(12_345.0),
            "FastDFS upload bytes counted: {stored:?}\n{text}"
        );
        let tracker = env.cluster.tracker_addrs()[0];
        let up = format!("dfs_gateway_tracker_up{{upstream=\"fdfs\",tracker=\"{tracker}\"}}");
        assert_eq!(sample(&text, &up), Some(1.0), "{text}");
        assert_eq!(
            sample(
                &text,
                &format!(
                    "dfs_gateway_build_info{{version=\"{}\"}}",
                    env!("CARGO_PKG_VERSION")
                )
            ),
            Some(1.0)
        );
        assert!(sample(&text, "process_resident_memory_bytes") > Some(0.0));
        assert!(sample(&text, "process_open_fds") > Some(0.0));
        assert!(sample(&text, "process_cpu_seconds_total").is_some());
        assert!(sample(&text, "process_start_time_seconds") > Some(1.0e9));
        env.gateway.stop().await;
    })
    .await;
}

/// The storage-error series of MogileFS node `i` of `env`.
fn storage_errors(env: &MogEnv, i: usize) -> String {
    let node = env.cluster.node(i).addr();
    format!("dfs_gateway_storage_errors_total{{upstream=\"mog\",node=\"{node}\"}}")
}

#[tokio::test]
async fn a_failing_storage_node_is_counted_by_upstream_and_node() {
    bounded(Duration::from_secs(60), async {
        let env = MogEnv::start().await;
        // One copy only, so the read has to try the node that holds it.
        env.cluster.pause_replication(true);
        assert_eq!(env.put("errors/a.jpg", pattern(21, 5000)).await, 201);
        let file = env.cluster.file("imgs", "errors/a.jpg").expect("stored");
        let nodes = env.cluster.node_addrs();
        let holder = (0..2)
            .find(|&i| file.urls[0].contains(&format!("//{}/", nodes[i])))
            .expect("one of the two nodes holds the copy");
        let (_, before) = scrape(&env.gateway, Some(TEXT004)).await;
        let count = |text: &str, i| sample(text, &storage_errors(&env, i)).unwrap_or(0.0);
        let (holder_was, other_was) = (count(&before, holder), count(&before, 1 - holder));

        env.cluster.node(holder).stop().await;
        let (status, _) = env.get("errors/a.jpg").await;
        assert!(status >= 500, "the only copy is down, got {status}");
        let (_, after) = scrape(&env.gateway, Some(TEXT004)).await;
        assert!(
            count(&after, holder) > holder_was,
            "{} did not grow:\n{after}",
            storage_errors(&env, holder)
        );
        assert_eq!(count(&after, 1 - holder), other_was, "{after}");
        env.gateway.stop().await;
    })
    .await;
}

#[tokio::test]
#[cfg_attr(not(has_promtool), ignore = "promtool not installed")]
async fn promtool_accepts_the_text_format() {
    use tokio::io::AsyncWriteExt;
    bounded(Duration::from_secs(60), async {
        let env = FdfsEnv::start().await;
        env.upload(vec![1u8; 100], "txt").await;
        let _ = env.get("/group1/M00/00/00/nothing").await;
        let (_, text) = scrape(&env.gateway, Some(TEXT004)).await;
        let mut child = tokio::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("promtool runs");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).await.unwrap();
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && said.trim().is_empty(),
            "promtool: {said}\n{text}"
        );
        env.gateway.stop().await;
    })
    .await;
}
