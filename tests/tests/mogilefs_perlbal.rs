//! Uploads through the gateway to Perlbal-mode storage nodes (HTTP/1.0
//! keep-alive replies, a PUT without length stored empty, as mogstored does):
//! - 40 chunked PUTs in a row each read back byte-identical, and the tracker
//!   holds each at its real size (the pooled HTTP/1.0 connection once turned
//!   them into bodiless PUTs, stored empty and answered 201);
//! - a destination that fails partway inside the replay window, keeping a
//!   partial file, gets that file deleted while the next one takes the upload;
//! - `storage_timeout` bounds waiting, not a transfer: a client sending
//!   slowly but steadily for longer than it still gets 201, and the node
//!   is not avoided afterwards.

use bytes::Bytes;
use devcluster::mogilefs::MogCluster;
use dfs_e2e::{pattern, MogEnv, MogOptions};
use futures_util::{stream, StreamExt};
use std::time::{Duration, Instant};

/// `data` as a chunked request body of `chunk`-byte pieces.
fn chunked(data: &[u8], chunk: usize) -> reqwest::Body {
    let parts: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    reqwest::Body::wrap_stream(stream::iter(parts))
}

#[tokio::test]
async fn forty_chunked_puts_in_a_row_read_back_byte_identical() {
    let env = MogEnv::start().await;
    assert!(env
        .cluster
        .nodes()
        .iter()
        .all(|n| n.mode() == devcluster::storage_node::NodeMode::Perlbal));
    for i in 0..40u64 {
        // Small (in memory) and large (spooled to disk) bodies alternate.
        let len = if i % 2 == 0 {
            1000 + 37 * i
        } else {
            100_000 + 997 * i
        };
        let data = pattern(500 + i, len as usize);
        let key = format!("chunked/{i}");
        let status = env.put(&key, chunked(&data, 4096)).await;
        assert_eq!(status, 201, "PUT {key}");
        let (status, body) = env.get(&key).await;
        assert_eq!(status, 200, "GET {key}");
        assert!(
            body == data,
            "{key}: read back {} bytes, {len} were put",
            body.len()
        );
        let file = env.cluster.file("imgs", &key).expect("committed");
        assert_eq!(file.length, len, "{key}: size committed to the tracker");
    }
}

#[tokio::test]
async fn a_destination_failing_partway_has_its_partial_file_deleted() {
    dfs_e2e::init_tracing();
    // One copy per file: nothing but the gateway writes to a node's paths.
    let cluster = MogCluster::builder()
        .nodes(2)
        .domain("imgs")
        .class("imgs", "photos", 1)
        .build()
        .await
        .unwrap();
    let addrs = cluster.tracker_addrs();
    let env = MogEnv::with_cluster(cluster, &addrs, &MogOptions::default()).await;
    let failing = env.cluster.node(0);
    // Inside the replay window: the body can go to the other node afterwards.
    failing.reset_mid_body(100_000);
    let mut hit = false;
    for i in 0..30u64 {
        let data = pattern(900 + i, 150_000);
        let key = format!("partial/{i}");
        assert_eq!(env.put(&key, data.clone()).await, 201, "PUT {key}");
        assert!(env.get(&key).await.1 == data, "{key}: wrong content");
        if failing.stats().put > 0 {
            hit = true;
            break;
        }
    }
    assert!(hit, "the failing node never was the first destination");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !failing.files().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        failing.files().unwrap(),
        vec![],
        "the failed destination keeps a partial file"
    );
}

#[tokio::test]
async fn a_slow_steady_upload_outlasts_storage_timeout() {
    let env = MogEnv::start_with(
        1,
        &MogOptions {
            upstream_extra: "storage_timeout = \"400ms\"\nfail_timeout = \"60s\"".into(),
            ..Default::default()
        },
    )
    .await;
    // 2 s in all, never more than 100 ms without a byte.
    let data = pattern(77, 20 * 1024);
    let parts: Vec<Bytes> = data.chunks(1024).map(Bytes::copy_from_slice).collect();
    let slow = stream::iter(parts).then(|part| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<_, std::io::Error>(part)
    });
    let started = Instant::now();
    let response = env
        .http
        .put(env.upload("slow.bin"))
        .header(reqwest::header::CONTENT_LENGTH, data.len())
        .body(reqwest::Body::wrap_stream(slow))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert!(started.elapsed() > Duration::from_millis(1500));
    assert!(env.get("slow.bin").await.1 == data);
    // Neither node was marked failed: each still gets its share of first
    // attempts (a failed one would be tried last for a minute).
    for node in env.cluster.nodes() {
        node.reset_stats();
    }
    for i in 0..16u64 {
        assert_eq!(env.put(&format!("after/{i}"), pattern(i, 100)).await, 201);
    }
    for node in env.cluster.nodes() {
        assert!(node.stats().put > 0, "a node got no uploads: avoided");
    }
}
