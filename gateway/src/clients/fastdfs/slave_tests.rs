//! Slave uploads against devcluster's FastDFS:
//! - upload a master, then its `_150x150` slave: the slave's ID is the
//!   master's with the prefix before the extension, and it downloads with
//!   exactly the bytes sent;
//! - the same slave again is `Exists` (EEXIST), a missing master `NotFound`;
//! - a prefix that makes no slave name is refused before anything is sent.

use super::slave::SlaveError;
use super::*;
use crate::clients::{PoolLimits, TrackerSet};
use bytes::Bytes;
use devcluster::fastdfs::FdfsCluster;
use dfs_protocol::fastdfs::FileId;
use futures_util::{stream, StreamExt};
use std::sync::Arc;
use std::time::Duration;

fn client(c: &FdfsCluster) -> FdfsClient {
    let trackers = TrackerSet::new(c.tracker_addrs(), Duration::from_secs(30));
    let t = FdfsTimeouts {
        connect: Duration::from_secs(2),
        reply: Duration::from_secs(2),
        io: Duration::from_secs(2),
    };
    FdfsClient::new(Arc::new(trackers), PoolLimits::new(4), t)
}

async fn read_all(client: &FdfsClient, id: &FileId) -> Vec<u8> {
    let (storage, _) = client.query_fetch_one(id).await.unwrap();
    let download = client
        .download_from(storage.into(), id, 0, 0)
        .await
        .unwrap();
    let mut body = download.into_stream();
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

#[tokio::test]
async fn a_slave_is_stored_next_to_its_master_and_reads_back() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let c = FdfsCluster::builder()
            .group("group1", 1)
            .build()
            .await
            .unwrap();
        let client = client(&c);
        let master = client
            .upload(
                None,
                "jpg",
                6,
                stream::iter([Ok(Bytes::from_static(b"master"))]),
            )
            .await
            .unwrap()
            .id;
        let thumb = Bytes::from(vec![7u8; 3000]);
        let slave = client
            .upload_slave(&master, "_150x150", "jpg", thumb.clone())
            .await
            .unwrap();
        let stem = master.as_str().strip_suffix(".jpg").unwrap();
        assert_eq!(slave.as_str(), format!("{stem}_150x150.jpg"));
        assert_eq!(read_all(&client, &slave).await, thumb.to_vec());

        let again = client.upload_slave(&master, "_150x150", "jpg", thumb).await;
        assert!(
            matches!(again, Err(SlaveError::Exists(ref id)) if id == slave.as_str()),
            "{again:?}"
        );

        let (storage, _) = client.query_update(&master).await.unwrap();
        client.delete_from(storage.into(), &master).await.unwrap();
        let orphan = client
            .upload_slave(&master, "_300x300", "jpg", Bytes::from_static(b"x"))
            .await;
        assert!(
            matches!(orphan, Err(SlaveError::Fdfs(FdfsError::NotFound { .. }))),
            "{orphan:?}"
        );

        let bad = client
            .upload_slave(&master, "/../x", "jpg", Bytes::from_static(b"x"))
            .await;
        assert!(matches!(bad, Err(SlaveError::BadName { .. })), "{bad:?}");
    })
    .await
    .unwrap();
}
