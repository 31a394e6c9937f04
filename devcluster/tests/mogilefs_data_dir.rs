//! A MogileFS cluster given a data directory keeps its metadata across a
//! restart on the same directory:
//! - keys read back with the same bytes, fid, class and copies;
//! - classes created over the protocol, renames and deletes are kept;
//! - fids go on from where they were, so a new upload never overwrites a
//!   kept file's copies.

use devcluster::mogilefs::{MogCluster, TrackerClient};
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn start(dir: &Path) -> MogCluster {
    MogCluster::builder()
        .nodes(2)
        .domain("imgs")
        .class("imgs", "photos", 2)
        .data_dir(dir)
        .build()
        .await
        .unwrap()
}

async fn tracker(cluster: &MogCluster) -> TrackerClient {
    TrackerClient::connect(cluster.tracker_addrs()[0])
        .await
        .unwrap()
}

async fn read(url: &str) -> Vec<u8> {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = http.get(url).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn metadata_survives_a_restart_on_the_same_directory() {
    let test = async {
        let dir = tempfile::tempdir().unwrap();
        let cluster = start(dir.path()).await;
        cluster
            .store("imgs", "kept", b"first bytes".to_vec())
            .await
            .unwrap();
        cluster
            .store("imgs", "gone", b"deleted".to_vec())
            .await
            .unwrap();
        cluster
            .store("imgs", "old-name", b"renamed".to_vec())
            .await
            .unwrap();
        assert!(cluster.wait_devcount("imgs", "kept", 2, WAIT).await);
        let mut t = tracker(&cluster).await;
        let created = t
            .raw("create_class domain=imgs&class=single&mindevcount=1")
            .await
            .unwrap();
        assert!(created.starts_with("OK "), "{created}");
        assert!(t
            .raw("delete domain=imgs&key=gone")
            .await
            .unwrap()
            .starts_with("OK"));
        let renamed = t
            .raw("rename domain=imgs&from_key=old-name&to_key=new-name")
            .await
            .unwrap();
        assert!(renamed.starts_with("OK"), "{renamed}");
        let before = cluster.file("imgs", "kept").unwrap();
        drop(t);
        cluster.shutdown().await;
        drop(cluster);

        let cluster = start(dir.path()).await;
        let after = cluster.file("imgs", "kept").expect("key lost on restart");
        assert_eq!(
            (after.fid, &after.class, after.length),
            (before.fid, &before.class, before.length)
        );
        let mut devids = after.devids.clone();
        devids.sort_unstable();
        assert_eq!(devids, vec![1, 2]);
        let mut t = tracker(&cluster).await;
        let paths = t.raw("get_paths domain=imgs&key=kept").await.unwrap();
        assert!(paths.starts_with("OK paths=2"), "{paths}");
        for url in &after.urls {
            assert_eq!(read(url).await, b"first bytes");
        }
        assert!(cluster.file("imgs", "gone").is_none());
        assert!(cluster.file("imgs", "old-name").is_none());
        assert!(cluster.file("imgs", "new-name").is_some());
        let classes = t.raw("get_domains").await.unwrap();
        assert!(classes.contains("single"), "{classes}");

        // A new upload takes a new fid: the kept copies stay as they were.
        let fid = cluster
            .store("imgs", "new", b"other bytes".to_vec())
            .await
            .unwrap();
        assert!(fid > before.fid, "fid {fid} reused (kept {})", before.fid);
        for url in &after.urls {
            assert_eq!(read(url).await, b"first bytes");
        }
        cluster.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("timed out");
}
