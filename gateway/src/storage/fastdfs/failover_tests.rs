//! The FastDFS client and the storage layer's failover over it, against
//! devcluster's FastDFS servers:
//! - upload → download byte-identical (empty, small, 10 MiB), offsets and
//!   one-byte ranges, connections reused from the pool;
//! - a 0-byte file through QUERY_FILE_INFO; missing files and groups;
//! - failover: a replica without the file yet, a stopped storage the
//!   tracker still names, a stopped tracker, the source as last resort, and
//!   never an encoded source the trackers did not name;
//! - a body dropped early or cut by the server; time-outs; stale pooled
//!   connections; upload bodies of the wrong length; delete.

use super::failover::FdfsUpstream;
use crate::clients::fastdfs::{Download, FdfsClient, FdfsError, FdfsTimeouts};
use crate::clients::{PoolLimits, TrackerSet};
use bytes::Bytes;
use devcluster::fastdfs::{FdfsCluster, FetchPolicy};
use dfs_protocol::fastdfs::{status, FileId, NewName};
use futures_util::{stream, Stream, StreamExt};
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("test timed out")
}

const TIMEOUTS: FdfsTimeouts = FdfsTimeouts {
    connect: Duration::from_secs(2),
    reply: Duration::from_secs(2),
    io: Duration::from_secs(2),
};

/// An upstream without a look-up cache, as the tests below were written
/// for the client alone.
fn client_with(c: &FdfsCluster, timeouts: FdfsTimeouts) -> FdfsUpstream {
    let trackers = TrackerSet::new(c.tracker_addrs(), Duration::from_secs(30));
    let client = FdfsClient::new(Arc::new(trackers), PoolLimits::new(4), timeouts);
    FdfsUpstream::new("fdfs", Arc::new(client), Duration::ZERO, 0)
}

fn client(c: &FdfsCluster) -> FdfsUpstream {
    client_with(c, TIMEOUTS)
}

async fn cluster(storages: usize, trackers: usize) -> FdfsCluster {
    let builder = FdfsCluster::builder()
        .group("group1", storages)
        .trackers(trackers);
    builder
        .tracker_notices_stop_after(None)
        .build()
        .await
        .unwrap()
}

fn body(data: &[u8]) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let chunks: Vec<io::Result<Bytes>> = data
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks)
}

async fn put(client: &FdfsUpstream, data: &[u8]) -> FileId {
    client
        .client()
        .upload(None, "bin", data.len() as u64, body(data))
        .await
        .unwrap()
        .id
}

async fn collect(download: Download) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunks = download.into_stream();
    while let Some(chunk) = chunks.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

async fn get(
    client: &FdfsUpstream,
    id: &FileId,
    offset: u64,
    length: u64,
) -> Result<Vec<u8>, FdfsError> {
    let (download, _) = client.open_download(id, offset, length).await?;
    Ok(collect(download).await.expect("a complete body"))
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn uploads_download_byte_identical_on_reused_connections() {
    bounded(async {
        let c = cluster(2, 1).await;
        let client = client(&c);
        for len in [1usize, 4096, 10 << 20] {
            let data = pattern(len);
            let id = put(&client, &data).await;
            assert_eq!(id.size(), Some(len as u64));
            assert_eq!(get(&client, &id, 0, 0).await.unwrap(), data, "{len} bytes");
        }
        let id = put(&client, b"0123456789").await;
        assert_eq!(
            get(&client, &id, 0, 1).await.unwrap(),
            b"0",
            "bytes=0-0 is one byte"
        );
        assert_eq!(get(&client, &id, 4, 3).await.unwrap(), b"456");
        let connections: u64 = c
            .storages("group1")
            .iter()
            .map(|s| s.stats().connections)
            .sum();
        assert!(
            connections <= 4,
            "{connections} storage connections for 8 requests"
        );
        assert_eq!(c.tracker(0).stats().connections, 1);
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn empty_missing_and_deleted_files() {
    bounded(async {
        let c = cluster(2, 1).await;
        let client = client(&c);
        let empty = put(&client, b"").await;
        let (download, _) = client.open_download(&empty, 0, 0).await.unwrap();
        assert!(download.is_empty());
        assert_eq!(collect(download).await.unwrap(), b"");

        let id = put(&client, b"short-lived").await;
        client.delete(&id).await.unwrap();
        assert!(client
            .open_download(&id, 0, 0)
            .await
            .unwrap_err()
            .is_not_found());
        assert!(client.delete(&id).await.unwrap_err().is_not_found());
        client.delete(&empty).await.unwrap();
        assert!(client
            .open_download(&empty, 0, 0)
            .await
            .unwrap_err()
            .is_not_found());

        let elsewhere = FileId::from_parts("group9", id.remote_name()).unwrap();
        assert!(client
            .open_download(&elsewhere, 0, 0)
            .await
            .unwrap_err()
            .is_not_found());
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_replica_without_the_file_falls_back_to_one_with_it() {
    bounded(async {
        let c = cluster(2, 1).await;
        let client = client(&c);
        c.set_sync(false).await;
        let id = put(&client, b"only on the source").await;
        let without = c
            .storages("group1")
            .iter()
            .position(|s| !s.has_file(&id))
            .unwrap();
        c.set_fetch_policy(FetchPolicy::Storage(without));
        assert_eq!(
            get(&client, &id, 0, 0).await.unwrap(),
            b"only on the source"
        );
        let (info, _) = client.file_info(&id).await.unwrap();
        assert_eq!(info.size, 18);
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_stopped_storage_and_a_stopped_tracker_are_skipped() {
    bounded(async {
        let c = cluster(2, 2).await;
        let client = client(&c);
        let id = put(&client, b"replicated").await;
        c.set_fetch_policy(FetchPolicy::Storage(0));
        c.storage("group1", 0).stop().await;
        assert_eq!(get(&client, &id, 0, 0).await.unwrap(), b"replicated");
        c.tracker(0).stop().await;
        for _ in 0..3 {
            assert_eq!(get(&client, &id, 0, 0).await.unwrap(), b"replicated");
        }
        assert!(client.client().trackers().any_up());
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn without_trackers_only_a_known_source_is_tried() {
    bounded(async {
        let c = cluster(2, 1).await;
        let client = client(&c);
        let id = put(&client, b"still here").await;
        c.tracker(0).stop().await;
        assert_eq!(
            get(&client, &id, 0, 0).await.unwrap(),
            b"still here",
            "via the known source"
        );

        let stranger = NewName {
            source: Ipv4Addr::new(192, 0, 2, 77),
            create_time: 1_700_000_000,
            size: 5,
            crc32: 1,
            appender: false,
            random: 42,
            ext: "txt".into(),
        };
        let forged = FileId::mint("group1", 0, (0, 0), &stranger).unwrap();
        let e = client.open_download(&forged, 0, 0).await.unwrap_err();
        assert!(matches!(e, FdfsError::NoTracker { .. }), "{e}");
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn partial_and_cut_bodies_never_return_their_connection() {
    bounded(async {
        let c = cluster(1, 1).await;
        let client = client(&c);
        let data = pattern(1 << 20);
        let id = put(&client, &data).await;
        let storage = c.storage("group1", 0).addr();
        let (mut download, _) = client.open_download(&id, 0, 0).await.unwrap();
        assert!(download.next().await.unwrap().is_ok());
        drop(download);
        assert_eq!(
            client.client().pool().idle_count(&storage),
            0,
            "a half-read connection is dropped"
        );
        assert_eq!(get(&client, &id, 0, 0).await.unwrap(), data);
        assert_eq!(
            client.client().pool().idle_count(&storage),
            1,
            "a fully read one is kept"
        );

        c.storage("group1", 0).close_mid_body();
        let (cut, _) = client.open_download(&id, 0, 0).await.unwrap();
        let e = collect(cut).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn stale_connections_are_replaced_and_slow_servers_time_out() {
    bounded(async {
        let c = cluster(1, 1).await;
        let fast = Duration::from_millis(300);
        let client = client_with(
            &c,
            FdfsTimeouts {
                reply: fast,
                io: fast,
                ..TIMEOUTS
            },
        );
        let id = put(&client, b"abc").await;
        let s = c.storage("group1", 0);
        s.stop().await;
        s.start().unwrap();
        assert_eq!(
            get(&client, &id, 0, 0).await.unwrap(),
            b"abc",
            "the pooled socket was dead"
        );

        s.set_latency(Duration::from_secs(1));
        let e = client.open_download(&id, 0, 0).await.unwrap_err();
        assert!(e.is_timeout() && e.is_retryable(), "{e}");
        s.set_latency(Duration::ZERO);
        c.tracker(0).set_latency(Duration::from_secs(1));
        assert_eq!(
            get(&client, &id, 0, 0).await.unwrap(),
            b"abc",
            "the source, known from before"
        );
        assert!(!client.client().trackers().any_up());
        let newcomer = client_with(
            &c,
            FdfsTimeouts {
                reply: fast,
                io: fast,
                ..TIMEOUTS
            },
        );
        let e = newcomer.open_download(&id, 0, 0).await.unwrap_err();
        assert!(
            matches!(e, FdfsError::NoTracker { .. }) && e.is_retryable(),
            "{e}"
        );
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn upload_bodies_must_match_their_size() {
    bounded(async {
        let c = cluster(1, 1).await;
        let client = client(&c);
        let short = client
            .client()
            .upload(None, "txt", 10, body(b"abc"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                short,
                FdfsError::BodyLength {
                    expected: 10,
                    got: 3
                }
            ),
            "{short}"
        );
        let long = client
            .client()
            .upload(None, "txt", 2, body(b"abc"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                long,
                FdfsError::BodyLength {
                    expected: 2,
                    got: 3
                }
            ),
            "{long}"
        );
        let broken = stream::iter(vec![
            Ok(Bytes::from_static(b"ab")),
            Err(io::Error::other("client gone")),
        ]);
        let e = client
            .client()
            .upload(None, "txt", 4, broken)
            .await
            .unwrap_err();
        assert!(matches!(e, FdfsError::Body(_)), "{e}");
        c.storage("group1", 0).fail_next(status::ENOSPC);
        let e = client
            .client()
            .upload(None, "txt", 3, body(b"abc"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                FdfsError::Storage {
                    status: status::ENOSPC,
                    ..
                }
            ),
            "{e}"
        );
        let stored = client
            .client()
            .upload(Some("group1"), "txt", 3, body(b"abc"))
            .await
            .unwrap();
        assert_eq!(stored.storage, c.storage("group1", 0).addr());
        let tracker: SocketAddr = c.tracker_addrs()[0];
        assert_eq!(stored.tracker, tracker);
        assert!(matches!(
            client
                .client()
                .upload(Some("nosuch"), "", 0, body(b""))
                .await,
            Err(FdfsError::NoStorage { .. })
        ));
        c.shutdown().await;
    })
    .await;
}
