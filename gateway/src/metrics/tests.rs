//! The registry renders every family with HELP, in both formats:
//! - OpenMetrics with `# EOF`, counters as `_total` samples, storage errors
//!   by upstream and node;
//! - 0.0.4 with `_total` family names, no `# EOF`, `build_info` and `process_*`;
//! - tracker up/down gauges follow the last health given, forgetting old trackers;
//! - a finished request's series, counted through a thread's handles, add up
//!   on the families, as do those of other threads;
//! - concurrent scrapes of one registry each render the trackers they set.

use super::*;
use std::sync::Arc;

#[test]
fn finished_requests_add_up_on_the_families_from_every_thread() {
    let m = metrics();
    let labels = |status| RequestLabels {
        location: "/finished-test/".into(),
        method: "GET",
        status: Some(status),
    };
    let done = Finished {
        elapsed: Duration::from_millis(3),
        bytes_out: 100,
        stored: Some(7),
    };
    m.request_finished(&labels(200), &done);
    m.request_finished(&labels(200), &done);
    std::thread::spawn(move || {
        metrics().request_finished(&labels(200), &done);
        metrics().request_finished(&labels(404), &done);
    })
    .join()
    .unwrap();
    let text = m.render();
    for wanted in [
        "dfs_gateway_requests_total{location=\"/finished-test/\",method=\"GET\",status=\"200\"} 3",
        "dfs_gateway_requests_total{location=\"/finished-test/\",method=\"GET\",status=\"404\"} 1",
        "dfs_gateway_request_duration_seconds_count{location=\"/finished-test/\",method=\"GET\"} 4",
        "dfs_gateway_response_bytes_total{location=\"/finished-test/\"} 400",
        "dfs_gateway_request_bytes_total{location=\"/finished-test/\"} 28",
    ] {
        assert!(text.contains(wanted), "{wanted} missing from\n{text}");
    }
}

#[test]
fn renders_both_formats() {
    let m = metrics();
    m.tracker_error("127.0.0.1:7001");
    m.storage_error("mog", "127.0.0.1:7500");
    m.cache_lookup(&m.lookup_counters("mog"), true);
    m.requests
        .get_or_create(&RequestLabels {
            location: "/images/".into(),
            method: "GET",
            status: Some(200),
        })
        .inc();
    m.bytes_out
        .get_or_create(&RequestLabels {
            location: "/images/".into(),
            method: "",
            status: None,
        })
        .inc_by(5);
    let text = m.render();
    for wanted in [
        "dfs_gateway_tracker_errors_total{tracker=\"127.0.0.1:7001\"}",
        "dfs_gateway_storage_errors_total{upstream=\"mog\",node=\"127.0.0.1:7500\"}",
        "dfs_gateway_cache_lookups_total{upstream=\"mog\",result=\"hit\"}",
        "dfs_gateway_requests_total{location=\"/images/\",method=\"GET\",status=\"200\"}",
        "dfs_gateway_response_bytes_total{location=\"/images/\"} 5",
        "# TYPE dfs_gateway_requests counter",
        "# EOF",
    ] {
        assert!(text.contains(wanted), "{wanted} missing from\n{text}");
    }
    let old = m.render_text004();
    for wanted in [
        "# TYPE dfs_gateway_requests_total counter",
        "# HELP dfs_gateway_requests_total HTTP requests",
        "dfs_gateway_build_info{version=\"",
        "# TYPE process_cpu_seconds_total counter",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_start_time_seconds ",
    ] {
        assert!(old.contains(wanted), "{wanted} missing from\n{old}");
    }
    assert!(!old.contains("# EOF") && !old.contains("# UNIT"));
    let families = old.lines().filter(|l| l.starts_with("# TYPE ")).count();
    let helps = old.lines().filter(|l| l.starts_with("# HELP ")).count();
    assert_eq!(families, helps, "every family has HELP");
}

#[test]
fn tracker_health_gauges_follow_the_latest_view() {
    // A registry of its own: other tests scrape the global one concurrently,
    // and each scrape replaces the whole tracker view.
    let m = Metrics::new();
    let up = |t: &str, v| ("up-test".to_owned(), t.to_owned(), v);
    m.set_tracker_health([up("127.0.0.1:1", true), up("127.0.0.1:2", false)]);
    let text = m.render();
    assert!(text.contains("tracker_up{upstream=\"up-test\",tracker=\"127.0.0.1:1\"} 1"));
    assert!(text.contains("tracker_up{upstream=\"up-test\",tracker=\"127.0.0.1:2\"} 0"));
    m.set_tracker_health([up("127.0.0.1:2", true)]);
    let text = m.render();
    assert!(
        !text.contains("tracker_up{upstream=\"up-test\",tracker=\"127.0.0.1:1\"}"),
        "forgotten once gone"
    );
    assert!(text.contains("tracker_up{upstream=\"up-test\",tracker=\"127.0.0.1:2\"} 1"));
}

#[test]
fn concurrent_scrapes_each_render_their_own_trackers() {
    // Two gateways sharing one registry, as end-to-end tests run them.
    let m = Arc::new(Metrics::new());
    let scrapes = ["up-a", "up-b"].map(|upstream| {
        let m = Arc::clone(&m);
        std::thread::spawn(move || {
            for _ in 0..500 {
                let health = [(upstream.to_owned(), "127.0.0.1:1".to_owned(), true)];
                let text = m.scrape(health, false);
                let own =
                    format!("tracker_up{{upstream=\"{upstream}\",tracker=\"127.0.0.1:1\"}} 1");
                assert!(
                    text.contains(&own),
                    "{upstream} missing from its own scrape"
                );
            }
        })
    });
    for scrape in scrapes {
        scrape.join().expect("every scrape saw its trackers");
    }
}
