//! Fault injection, bounded in count and time, each scenario printing a
//! summary line (requests, errors, peak RSS):
//! - 2,000 GETs over 200 keys at 64-way concurrency while one of two trackers
//!   is killed and restarted and one of two storage nodes is killed: no
//!   client-visible error, since every key keeps a live replica;
//! - 200 PUTs at 16-way concurrency while a storage destination fails: each
//!   is either 201 and readable afterwards, or 5xx and absent;
//! - garbage, cut-off and silent tracker replies: 502/503, never a panic.

use dfs_e2e::fault_proxy::{Fault, FaultProxy};
use dfs_e2e::{pattern, rss_bytes, MogEnv, MogOptions};
use futures_util::{stream, StreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn summary(scenario: &str, requests: usize, errors: usize, started: Instant) {
    let rss = rss_bytes().map_or_else(|| "n/a".to_owned(), |b| format!("{} MiB", b >> 20));
    println!(
        "fault scenario {scenario}: {requests} requests, {errors} errors, {:.1} s, RSS now {rss}",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn gets_survive_a_tracker_restart_and_a_dead_node() {
    const KEYS: usize = 200;
    const GETS: usize = 2000;
    let env = MogEnv::start_with(
        2,
        &MogOptions {
            upstream_extra: "cache_ttl = \"200ms\"\nfail_timeout = \"500ms\"".into(),
            ..Default::default()
        },
    )
    .await;
    for k in 0..KEYS {
        assert_eq!(
            env.put(&format!("chaos/{k}"), pattern(k as u64, 4096))
                .await,
            201
        );
    }
    for k in 0..KEYS {
        assert!(
            env.cluster
                .wait_devcount("imgs", &format!("chaos/{k}"), 2, Duration::from_secs(20))
                .await
        );
    }
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let chaos = {
        let (done, cluster) = (done.clone(), &env.cluster);
        async move {
            let wait_for = |n: usize| {
                let done = done.clone();
                async move {
                    while done.load(Ordering::Relaxed) < n {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            };
            wait_for(300).await;
            cluster.stop_tracker(0).await;
            wait_for(900).await;
            cluster.start_tracker(0).await.unwrap();
            wait_for(1100).await;
            cluster.node(0).stop().await;
        }
    };
    let gets = stream::iter(0..GETS)
        .map(|i| {
            let (env, done) = (&env, done.clone());
            async move {
                let key = i * 7 % KEYS;
                let response = env
                    .http
                    .get(env.image(&format!("chaos/{key}")))
                    .send()
                    .await;
                done.fetch_add(1, Ordering::Relaxed);
                let outcome = match response {
                    Ok(r) => (
                        r.status().as_u16(),
                        r.bytes().await.map_err(|e| e.to_string()),
                    ),
                    Err(e) => (0, Err(e.to_string())),
                };
                let ok = outcome.0 == 200
                    && outcome
                        .1
                        .as_ref()
                        .is_ok_and(|b| *b == pattern(key as u64, 4096));
                if !ok {
                    eprintln!(
                        "GET chaos/{key} failed: status {} {:?}",
                        outcome.0,
                        outcome.1.map(|b| b.len())
                    );
                }
                ok
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<bool>>();
    let (results, ()) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(gets, chaos)
    })
    .await
    .expect("scenario finishes in time");
    let errors = results.iter().filter(|ok| !**ok).count();
    summary(
        "GET under tracker restart + dead node",
        GETS,
        errors,
        started,
    );
    assert_eq!(errors, 0);
}

#[tokio::test]
async fn puts_with_a_failing_destination_are_all_or_nothing() {
    const PUTS: usize = 200;
    let env = MogEnv::start().await;
    env.cluster.node(0).fail_next(u32::MAX, 500);
    let started = Instant::now();
    let statuses: Vec<(usize, u16)> = stream::iter(0..PUTS)
        .map(|i| {
            let env = &env;
            async move {
                (
                    i,
                    env.put(&format!("put/{i}"), pattern(1000 + i as u64, 10_000 + i))
                        .await,
                )
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    env.cluster.node(0).clear();
    let mut errors = 0;
    for (i, status) in statuses {
        let (got, body) = env.get(&format!("put/{i}")).await;
        match status {
            201 => {
                assert_eq!(got, 200, "put/{i} reported stored but is not readable");
                assert!(
                    body == pattern(1000 + i as u64, 10_000 + i),
                    "put/{i} content differs"
                );
            }
            500..=599 => {
                errors += 1;
                assert_eq!(
                    got, 404,
                    "put/{i} failed with {status} but a version is visible"
                );
            }
            other => panic!("put/{i}: unexpected status {other}"),
        }
    }
    summary("PUT with a failing destination", PUTS, errors, started);
}

#[tokio::test]
async fn broken_tracker_replies_are_errors_not_panics() {
    let cluster = MogEnv::cluster(1).await;
    let proxy = FaultProxy::start(cluster.tracker_addrs()[0]).await;
    let options = MogOptions {
        upstream_extra: "reply_timeout = \"300ms\"\ncache_ttl = \"0s\"\nprobe_interval = \"0s\"\nfail_timeout = \"0s\"".into(),
        ..Default::default()
    };
    let env = MogEnv::with_cluster(cluster, &[proxy.addr()], &options).await;
    assert_eq!(env.put("ok.jpg", "fine").await, 201);
    let started = Instant::now();
    let cases = [
        (
            Fault::Garbage(b"HTTP/1.0 400 Bad request\r\n\r\n".to_vec()),
            502,
        ),
        (Fault::Garbage(b"OK paths=notanumber\r\n".to_vec()), 502),
        (Fault::Garbage(vec![0xff; 100]), 502),
        (Fault::CloseMidReply, 502),
        (Fault::Truncate(0), 503),
        (Fault::Stall, 503),
    ];
    for (fault, expected) in &cases {
        proxy.set(fault.clone());
        let (status, _) = env.get("ok.jpg").await;
        assert_eq!(status, *expected, "GET with {fault:?}");
        let status = env.put("new.jpg", "data").await;
        assert!((500..600).contains(&status), "PUT with {fault:?}: {status}");
    }
    proxy.set(Fault::Pass);
    assert_eq!(
        env.get("ok.jpg").await.0,
        200,
        "the gateway recovers once the tracker does"
    );
    summary("broken tracker replies", cases.len() * 2 + 1, 0, started);
}

#[tokio::test]
async fn overload_is_refused_not_queued() {
    let options = MogOptions {
        extra_tables: String::new(),
        ..Default::default()
    };
    let cluster = MogEnv::cluster(1).await;
    let trackers = cluster.tracker_addrs();
    let text = dfs_e2e::mog_config(&trackers, &options)
        .replace("[server]\n", "[server]\nmax_concurrent_requests = 2\n");
    let gateway = dfs_e2e::Gateway::start(&text).await;
    let http = dfs_e2e::client();
    let r = http
        .put(gateway.url("/upload/slow.bin"))
        .body(pattern(9, 256 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(
        cluster
            .wait_devcount("imgs", "slow.bin", 2, Duration::from_secs(10))
            .await
    );
    for node in cluster.nodes() {
        node.trickle(16 * 1024, Duration::from_millis(50));
    }
    let started = Instant::now();
    // Two slow downloads hold both slots until their bodies end.
    let a = http
        .get(gateway.url("/images/slow.bin"))
        .send()
        .await
        .unwrap();
    let b = http
        .get(gateway.url("/images/slow.bin"))
        .send()
        .await
        .unwrap();
    let refused = http
        .get(gateway.url("/images/slow.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert!(a.bytes().await.unwrap() == pattern(9, 256 * 1024));
    assert!(b.bytes().await.unwrap() == pattern(9, 256 * 1024));
    for node in cluster.nodes() {
        node.clear();
    }
    assert_eq!(
        http.get(gateway.url("/images/slow.bin"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    summary("overload", 4, 1, started);
}

#[tokio::test]
async fn broken_fastdfs_tracker_packets_are_errors_not_panics() {
    use dfs_e2e::fastdfs::{fdfs_config, FdfsEnv, FdfsOptions};
    let options = FdfsOptions {
        upstream_extra: "reply_timeout = \"300ms\"\ncache_ttl = \"0s\"\nprobe_interval = \"0s\"\nfail_timeout = \"0s\"".into(),
        ..Default::default()
    };
    let cluster = FdfsEnv::cluster(&options).await;
    let proxy = FaultProxy::start(cluster.tracker_addrs()[0]).await;
    let gateway = dfs_e2e::Gateway::start(&fdfs_config(&[proxy.addr()], &options)).await;
    let http = dfs_e2e::client();
    let response = http
        .post(gateway.url("/fdfs/?ext=bin"))
        .body("fine")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let started = Instant::now();
    // Uploads need the tracker: broken packets are 502, silence 503. Reads of
    // a file whose source storage a tracker named before fall back to it.
    let cases = [
        (
            Fault::Garbage(b"HTTP/1.0 400 Bad request\r\n\r\n".to_vec()),
            502,
        ),
        (Fault::Garbage(vec![0xff; 10]), 502),
        // A header that promises more body than ever comes, and a cut header.
        (Fault::Truncate(12), 502),
        (Fault::Truncate(5), 502),
        (Fault::Stall, 503),
    ];
    for (fault, expected) in &cases {
        proxy.set(fault.clone());
        let status = http
            .post(gateway.url("/fdfs/?ext=bin"))
            .body("data")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, *expected, "POST with {fault:?}");
        let response = http.get(gateway.url(&location)).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET with {fault:?}");
        assert_eq!(&response.bytes().await.unwrap()[..], b"fine");
    }
    proxy.set(Fault::Pass);
    assert_eq!(
        http.get(gateway.url(&location))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    summary(
        "broken FastDFS tracker packets",
        cases.len() * 2 + 2,
        0,
        started,
    );
}
