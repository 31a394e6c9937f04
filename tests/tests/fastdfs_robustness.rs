//! FastDFS uploads and reads when things go wrong at the edges:
//! - a client vanishing mid-upload (Content-Length or chunked) leaves no
//!   file on any storage;
//! - a storage refusing an upload (ENOSPC) → 5xx, nothing reported or
//!   left stored;
//! - a download the client abandons half-way does not poison the pooled
//!   storage connection: later reads from that storage are byte-identical;
//! - concurrent uploads and reads (more than the pool keeps) all succeed
//!   with the right bytes;
//! - sequential requests reuse pooled tracker and storage connections;
//! - a Range request for a deleted or never-stored ID is 404, whatever the
//!   range.

use devcluster::fastdfs::FetchPolicy;
use dfs_e2e::fastdfs::{bounded, FdfsEnv, FdfsOptions};
use dfs_e2e::pattern;
use dfs_protocol::fastdfs::status;
use futures_util::{stream, StreamExt};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(60);

/// Regular files under `dir`, recursively.
fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => files_under(&e.path()),
            Ok(t) if t.is_file() => 1,
            _ => 0,
        })
        .sum()
}

/// Files on group1's storages (data and temporary), once they settle.
async fn stored_files(env: &FdfsEnv) -> usize {
    let count = || -> usize {
        let storages = env.cluster.storages("group1");
        storages.iter().map(|s| files_under(s.store_path())).sum()
    };
    // A storage notices a cut upload when its connection closes; give it
    // a moment, then report what stays.
    let deadline = Instant::now() + Duration::from_secs(5);
    while count() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    count()
}

#[tokio::test]
async fn a_client_vanishing_mid_upload_leaves_nothing_stored() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let heads = [
            "Content-Length: 1000000\r\n",
            "Transfer-Encoding: chunked\r\n",
        ];
        for head in heads {
            let mut stream = TcpStream::connect(env.gateway.addr).await.unwrap();
            let request = format!("POST /fdfs/?ext=bin HTTP/1.1\r\nHost: x\r\n{head}\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let part = pattern(101, 300_000);
            if head.starts_with("Transfer") {
                stream.write_all(b"493E0\r\n").await.unwrap();
            }
            stream.write_all(&part).await.unwrap();
            // Let the gateway start passing it on, then vanish.
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(stream);
        }
        assert_eq!(stored_files(&env).await, 0, "a partial upload was kept");
        let uploads: u64 = env
            .cluster
            .storages("group1")
            .iter()
            .map(|s| s.stats().uploads)
            .sum();
        assert_eq!(uploads, 0);
        // The gateway and the storages are fine afterwards.
        let data = pattern(102, 10_000);
        let id = env.upload(data.clone(), "bin").await;
        assert!(env.get_id(&id).await.1 == data);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_storage_refusing_an_upload_is_a_5xx_and_stores_nothing() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        for storage in env.cluster.storages("group1") {
            storage.fail_next(status::ENOSPC);
        }
        let response = env.post("ext=bin", pattern(103, 50_000)).await;
        let code = response.status().as_u16();
        assert!((500..600).contains(&code), "status {code}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("file_id"), "{body}");
        assert_eq!(stored_files(&env).await, 0);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_abandoned_download_does_not_poison_the_pool() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        env.cluster.set_fetch_policy(FetchPolicy::Storage(0));
        let big = pattern(104, 4 << 20);
        let small = pattern(105, 5000);
        let big_id = env.upload(big.clone(), "bin").await;
        let small_id = env.upload(small.clone(), "bin").await;
        for round in 0..3 {
            let response = env.http.get(env.file_url(&big_id)).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let mut body = response.bytes_stream();
            let first = body.next().await.unwrap().unwrap();
            assert!(first[..] == big[..first.len()]);
            drop(body);
            for _ in 0..3 {
                let (status, got) = env.get_id(&small_id).await;
                assert_eq!(status, 200, "round {round}");
                assert!(
                    got == small,
                    "round {round}: wrong bytes after an abandoned read"
                );
            }
        }
        assert!(env.get_id(&big_id).await.1 == big);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_uploads_and_reads_all_succeed() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let uploads: Vec<_> = stream::iter(0..40u64)
            .map(|i| {
                let env = &env;
                async move {
                    let data = pattern(200 + i, 1000 + i as usize * 997);
                    (env.upload(data.clone(), "bin").await, data)
                }
            })
            .buffer_unordered(20)
            .collect()
            .await;
        let reads = stream::iter(uploads.iter().cycle().take(200))
            .map(|(id, data)| {
                let env = &env;
                async move { (env.get_id(id).await, data) }
            })
            .buffer_unordered(40);
        let failures = reads
            .filter(|((status, body), data)| {
                let bad = *status != 200 || body != data;
                async move { bad }
            })
            .count()
            .await;
        assert_eq!(failures, 0);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn connections_to_trackers_and_storages_are_reused() {
    bounded(LIMIT, async {
        // No look-up cache: every read asks the tracker.
        let options = FdfsOptions {
            upstream_extra: "cache_ttl = \"0s\"".into(),
            ..Default::default()
        };
        let env = FdfsEnv::start_with(&options).await;
        let data = pattern(14, 3000);
        let mut ids = Vec::new();
        for _ in 0..6 {
            ids.push(env.upload(data.clone(), "jpg").await);
        }
        for _ in 0..5 {
            for id in &ids {
                assert!(env.get_id(id).await.1 == data);
            }
        }
        let tracker = env.cluster.tracker(0).stats();
        assert!(tracker.requests >= 36, "{tracker:?}");
        // Sequential requests need one connection each; a second may open
        // while the last response's body is still being released, or the
        // background probe holds the tracker's.
        assert!(tracker.connections <= 3, "tracker: {tracker:?}");
        for storage in env.cluster.storages("group1") {
            let stats = storage.stats();
            assert!(stats.requests >= 15, "{stats:?}");
            assert!(stats.connections <= 3, "storage: {stats:?}");
        }
        env.stop().await;
    })
    .await;
}

/// The size in a well-formed ID says nothing about whether the file exists:
/// an unsatisfiable range of a missing file must be 404, not 416.
#[tokio::test]
async fn a_range_of_a_file_that_does_not_exist_is_404() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let id = env.upload(pattern(106, 100), "jpg").await;
        assert_eq!(env.delete(&id).await, 204);
        let never =
            dfs_e2e::fastdfs::mint_id("group1", env.cluster.storage("group1", 0).ip(), 100, (0, 0));
        for gone in [&id, &never] {
            for range in ["bytes=0-9", "bytes=100-", "bytes=500-600"] {
                let r = env
                    .http
                    .get(env.file_url(gone))
                    .header(reqwest::header::RANGE, range)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 404, "{gone} {range}");
            }
        }
        env.stop().await;
    })
    .await;
}
