//! The FastDFS store against devcluster's tracker and storages:
//! - metadata of a normal file comes from its ID (no server asked), with its
//!   identity; a write through the store reads back byte-identical;
//! - the look-up cache answers repeated reads with one tracker call, and is
//!   dropped by a DELETE through the store (then 404, not a cached storage);
//! - failures map to storage error kinds: a missing file, a bad ID.

use super::failover::FdfsUpstream;
use super::FdfsStore;
use crate::clients::fastdfs::{FdfsClient, FdfsTimeouts};
use crate::clients::{PoolLimits, TrackerSet};
use crate::storage::{Need, Read, StorageError, Store, WriteLimits, WriteTarget};
use devcluster::fastdfs::FdfsCluster;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

async fn cluster() -> FdfsCluster {
    FdfsCluster::builder()
        .group("group1", 2)
        .trackers(1)
        .tracker_notices_stop_after(None)
        .build()
        .await
        .unwrap()
}

fn store(c: &FdfsCluster, ttl: Duration) -> FdfsStore {
    let second = Duration::from_secs(2);
    let timeouts = FdfsTimeouts {
        connect: second,
        reply: second,
        io: second,
    };
    let trackers = TrackerSet::new(c.tracker_addrs(), Duration::from_secs(30));
    let client = Arc::new(FdfsClient::new(
        Arc::new(trackers),
        PoolLimits::new(4),
        timeouts,
    ));
    let up = FdfsUpstream::new("fdfs", client, ttl, 100);
    FdfsStore::new(Arc::new(up), Some("group1".into()), None)
}

async fn write(store: &FdfsStore, data: &'static [u8]) -> String {
    let body = crate::storage::body::from_bytes(bytes::Bytes::from_static(data));
    let target = WriteTarget {
        key: None,
        extension: "txt",
        length: Some(data.len() as u64),
    };
    let limits = WriteLimits { max_size: 1 << 20 };
    store.write(target, body, limits).await.unwrap().key
}

async fn read(store: &FdfsStore, key: &str) -> Result<Vec<u8>, StorageError> {
    let meta = store.meta(key, Need::Location).await?;
    let object = store.open(key, &meta, Read::default()).await?;
    let mut body = object.body.expect("a GET has a body");
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    Ok(out)
}

#[tokio::test]
async fn meta_from_the_id_and_a_write_reads_back() {
    let c = cluster().await;
    let store = store(&c, Duration::ZERO);
    let key = write(&store, b"hello, store").await;
    let before = c.tracker(0).stats().requests;
    let meta = store.meta(&key, Need::Validators).await.unwrap();
    assert_eq!(c.tracker(0).stats().requests, before, "the ID tells");
    assert_eq!(meta.size, Some(12));
    let identity = meta.identity.unwrap();
    assert_eq!((identity.id.as_str(), identity.size), (key.as_str(), 12));
    assert!(meta.validators.etag.unwrap().ends_with("-c\""));
    assert_eq!(read(&store, &key).await.unwrap(), b"hello, store");
}

#[tokio::test]
async fn the_lookup_cache_is_dropped_by_a_delete() {
    let c = cluster().await;
    let store = store(&c, Duration::from_secs(60));
    let key = write(&store, b"cached").await;
    let before = c.tracker(0).stats().requests;
    for _ in 0..3 {
        assert_eq!(read(&store, &key).await.unwrap(), b"cached");
    }
    let asked = c.tracker(0).stats().requests - before;
    assert_eq!(asked, 1, "three reads asked the tracker {asked} times");

    store.delete(&key).await.unwrap();
    let e = read(&store, &key).await.unwrap_err();
    assert!(matches!(e, StorageError::NotFound { .. }), "{e}");
}

#[tokio::test]
async fn bad_ids_and_missing_files_are_not_found() {
    let c = cluster().await;
    let store = store(&c, Duration::ZERO);
    let e = store
        .meta("not/a/file/id", Need::Location)
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NotFound { .. }), "{e}");
    let key = write(&store, b"short-lived").await;
    store.delete(&key).await.unwrap();
    let e = store.delete(&key).await.unwrap_err();
    assert!(matches!(e, StorageError::NotFound { .. }), "{e}");
}
