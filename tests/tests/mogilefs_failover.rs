//! MogileFS failures the gateway hides or reports cleanly:
//! - the second replica is served when the first storage node is stopped;
//! - a replica answering 500 or 404 is skipped for the next one;
//! - a node that failed is tried last for a while, not once per request;
//! - the second tracker is used when the first is stopped, and 503 when none answers;
//! - an upload whose every destination fails is a 5xx and leaves the key absent;
//! - concurrent PUTs of one key leave exactly one whole version.

use dfs_e2e::{pattern, MogEnv, MogOptions};
use std::time::Duration;

const REPLICATED: Duration = Duration::from_secs(10);

#[tokio::test]
async fn second_replica_served_when_a_node_is_down() {
    let env = MogEnv::start().await;
    let data = pattern(11, 50_000);
    assert_eq!(env.put("rep.jpg", data.clone()).await, 201);
    assert!(
        env.cluster
            .wait_devcount("imgs", "rep.jpg", 2, REPLICATED)
            .await,
        "replicated to 2 devices"
    );
    for node in 0..2 {
        env.cluster.node(node).stop().await;
        for _ in 0..4 {
            let (status, body) = env.get("rep.jpg").await;
            assert_eq!(status, 200, "node {node} stopped");
            assert!(body == data);
        }
        env.cluster.node(node).start().await.unwrap();
    }
}

#[tokio::test]
async fn a_failed_node_is_tried_last_for_a_while() {
    let env = MogEnv::start().await;
    let data = pattern(12, 10_000);
    assert_eq!(env.put("avoid.jpg", data.clone()).await, 201);
    assert!(
        env.cluster
            .wait_devcount("imgs", "avoid.jpg", 2, REPLICATED)
            .await
    );
    // The node that serves first while both are healthy (the look-up cache
    // keeps the tracker's order) is made to fail every request.
    for node in env.cluster.nodes() {
        node.reset_stats();
    }
    assert_eq!(env.get("avoid.jpg").await.0, 200);
    let first = (0..2)
        .find(|&i| env.cluster.node(i).stats().get == 1)
        .expect("one node served the first GET");
    let other = 1 - first;
    env.cluster.node(first).fail_next(1000, 500);
    for node in env.cluster.nodes() {
        node.reset_stats();
    }
    for _ in 0..10 {
        let (status, body) = env.get("avoid.jpg").await;
        assert_eq!(status, 200);
        assert!(body == data);
    }
    assert_eq!(
        env.cluster.node(first).stats().get,
        1,
        "the failing node was asked again within fail_timeout"
    );
    assert_eq!(env.cluster.node(other).stats().get, 10);
}

#[tokio::test]
async fn failing_replicas_are_skipped() {
    let env = MogEnv::start().await;
    let data = pattern(12, 3000);
    assert_eq!(env.put("flaky.jpg", data.clone()).await, 201);
    assert!(
        env.cluster
            .wait_devcount("imgs", "flaky.jpg", 2, REPLICATED)
            .await
    );
    for status in [500u16, 404, 503] {
        // Whichever node the tracker lists first fails once; the other serves.
        for node in 0..2 {
            env.cluster.node(node).fail_next(1, status);
            let (got, body) = env.get("flaky.jpg").await;
            assert_eq!(got, 200, "node {node} answered {status}");
            assert!(body == data);
            env.cluster.node(node).clear();
        }
    }
    // Both replicas failing is a 502, not a hang or a short body (after the
    // cached paths failed, the tracker is asked once more: two rounds).
    env.cluster.node(0).fail_next(2, 500);
    env.cluster.node(1).fail_next(2, 500);
    assert_eq!(env.get("flaky.jpg").await.0, 502);
}

#[tokio::test]
async fn second_tracker_used_when_the_first_is_down() {
    let env = MogEnv::start_with(2, &MogOptions::default()).await;
    let data = pattern(13, 10_000);
    assert_eq!(env.put("t.jpg", data.clone()).await, 201);
    for tracker in 0..2 {
        env.cluster.stop_tracker(tracker).await;
        for i in 0..4 {
            let (status, body) = env.get("t.jpg").await;
            assert_eq!(status, 200, "tracker {tracker} stopped, GET {i}");
            assert!(body == data);
            assert_eq!(env.put(&format!("t{tracker}-{i}.jpg"), "x").await, 201);
        }
        env.cluster.start_tracker(tracker).await.unwrap();
    }
    env.cluster.stop_tracker(0).await;
    env.cluster.stop_tracker(1).await;
    // A key whose paths are cached is still served; any other needs a tracker.
    assert_eq!(env.get("t.jpg").await.0, 200);
    let r = env.http.get(env.image("t0-0.jpg")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(env.put("nowhere.jpg", "x").await, 503);
}

#[tokio::test]
async fn failed_upload_leaves_no_version() {
    let env = MogEnv::start().await;
    assert_eq!(env.put("keep.jpg", "old bytes").await, 201);
    env.cluster.node(0).fail_next(100, 500);
    env.cluster.node(1).fail_next(100, 500);
    let status = env.put("keep.jpg", pattern(14, 20_000)).await;
    assert!((500..600).contains(&status), "status {status}");
    let status = env.put("new.jpg", pattern(14, 20_000)).await;
    assert!((500..600).contains(&status), "status {status}");
    env.cluster.node(0).clear();
    env.cluster.node(1).clear();
    assert_eq!(&env.get("keep.jpg").await.1[..], b"old bytes");
    assert_eq!(env.get("new.jpg").await.0, 404);
}

#[tokio::test]
async fn concurrent_puts_leave_one_whole_version() {
    let env = MogEnv::start().await;
    let versions: Vec<Vec<u8>> = (0..8)
        .map(|i| pattern(200 + i, 200_000 + i as usize))
        .collect();
    let puts = versions.iter().map(|v| env.put("same.bin", v.clone()));
    let statuses = futures_util::future::join_all(puts).await;
    assert!(statuses.iter().all(|&s| s == 201), "{statuses:?}");
    let (status, body) = env.get("same.bin").await;
    assert_eq!(status, 200);
    assert!(
        versions.iter().any(|v| *v == body),
        "the stored bytes match no single upload"
    );
}
