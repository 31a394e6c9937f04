//! Config values at the edge of what the runtime takes:
//! - every config that `Config::parse` accepts with each duration at
//!   10 years, 1000 years or 300000000000 years, or `max_concurrent_requests`
//!   at tokio's semaphore limit or at i64::MAX, starts and serves uploads and
//!   reads, with a dead tracker that gets skipped for the whole
//!   `fail_timeout` (the others must be rejected; the largest values allowed
//!   are among those accepted);
//! - a reload that panics while building the new state is an error, the
//!   running config keeps serving, and the next reload works.

use dfs_e2e::{client, mog_config, pattern, Gateway, MogEnv, MogOptions};
use dfs_gateway::config::{limits, Config, Secs};
use std::time::Duration;

const DURATIONS: [&str; 8] = [
    "connect_timeout",
    "reply_timeout",
    "fail_timeout",
    "cache_ttl",
    "probe_interval",
    "storage_connect_timeout",
    "storage_timeout",
    "header_read_timeout",
];

/// The demo config with every duration at `duration`, both server
/// durations too, and `max_concurrent_requests` at `permits`; the first
/// tracker refuses connections.
fn extreme_config(trackers: &[std::net::SocketAddr], duration: &str, permits: u64) -> String {
    let mut upstream_extra = String::new();
    for key in &DURATIONS[..7] {
        upstream_extra.push_str(&format!("{key} = \"{duration}\"\n"));
    }
    let mut all = vec!["127.0.0.1:1".parse().unwrap()];
    all.extend_from_slice(trackers);
    let options = MogOptions {
        upstream_extra,
        ..Default::default()
    };
    mog_config(&all, &options).replace(
        "[server]\n",
        &format!(
            "[server]\nheader_read_timeout = \"{duration}\"\nshutdown_grace = \"{duration}\"\n\
             max_header_size = \"1MiB\"\nmax_concurrent_requests = {permits}\n"
        ),
    )
}

/// Uploads and reads back through a gateway started with `config`.
async fn serves(config: &str, seed: u64) {
    let gateway = Gateway::start(config).await;
    let http = client();
    for round in 0..4 {
        let key = format!("edge-{seed}-{round}.bin");
        let data = pattern(seed * 10 + round, 4096);
        let put = http
            .put(gateway.url(&format!("/upload/{key}")))
            .body(data.clone())
            .send()
            .await
            .expect("the gateway answers an upload");
        assert_eq!(put.status(), 201, "upload {key}");
        let get = http
            .get(gateway.url(&format!("/images/{key}")))
            .send()
            .await
            .expect("the gateway answers a read");
        assert_eq!(get.status(), 200, "read {key}");
        assert!(get.bytes().await.unwrap() == data, "{key} reads back");
    }
    drop(http);
    gateway.stop().await;
}

#[tokio::test]
async fn every_accepted_extreme_config_starts_and_serves() {
    let cluster = MogEnv::cluster(1).await;
    let trackers = cluster.tracker_addrs();
    let max = limits::MAX_CONCURRENT_REQUESTS as u64;
    let candidates = [
        ("10y", max),
        ("1000y", max),
        ("300000000000y", max),
        ("10y", i64::MAX as u64),
    ];
    let mut accepted = Vec::new();
    for (seed, (duration, permits)) in (1..).zip(candidates) {
        let text = extreme_config(&trackers, duration, permits);
        if Config::parse(&text).is_ok() {
            serves(&text, seed).await;
            accepted.push((duration, permits));
        }
    }
    assert!(
        accepted.contains(&("10y", max)),
        "the largest allowed values are accepted: {accepted:?}"
    );
}

#[tokio::test]
async fn a_reload_that_panics_is_followed_by_one_that_works() {
    let env = MogEnv::start().await;
    let trackers = env.cluster.tracker_addrs();
    let first = Config::parse(&mog_config(&trackers, &MogOptions::default())).unwrap();
    let (server, gateway) = Gateway::start_reloadable(&first).await;
    let base = server.url("");
    let http = client();
    let data = pattern(7, 10_000);
    let put = http.put(format!("{base}/upload/p.bin")).body(data.clone());
    assert_eq!(put.send().await.unwrap().status(), 201);

    // Built without validation: the look-up cache refuses a TTL over 1000
    // (365-day) years by panicking.
    let mut unbuildable = first.clone();
    unbuildable.upstreams[0].get_mut().cache_ttl =
        Some(Secs(Duration::from_secs(1001 * 31_557_600)));
    let e = gateway
        .reload_with(move || Ok(unbuildable))
        .await
        .unwrap_err();
    assert!(e.contains("panicked"), "{e}");
    let r = http
        .get(format!("{base}/images/p.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the running config still serves");

    let options = MogOptions {
        extra_tables: "[[location]]\nprefix = \"/more/\"\nupstream = \"mog\"\ndomain = \"imgs\"\n"
            .into(),
        ..Default::default()
    };
    let second = Config::parse(&mog_config(&trackers, &options)).unwrap();
    gateway.reload_with(move || Ok(second)).await.unwrap();
    let r = http.get(format!("{base}/more/p.bin")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the next reload is in force");
    assert!(r.bytes().await.unwrap() == data);

    drop(http);
    server.stop().await;
}
