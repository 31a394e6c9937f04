//! A cluster whose storage nodes are real nginx processes (WebDAV), when an
//! `nginx` binary is installed (listed as ignored, with the reason, otherwise):
//! - store, replication to both nodes, get_paths, GET, delete, no orphans;
//! - dropping the cluster kills nginx (its ports close).

use devcluster::mogilefs::{MogCluster, TrackerClient};
use std::time::Duration;
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]
async fn nginx_nodes_store_replicate_and_delete() {
    let test = async {
        let cluster = MogCluster::builder()
            .nginx_storage(true)
            .domain("imgs")
            .build()
            .await
            .unwrap();
        assert!(
            cluster.uses_nginx(),
            "nginx was found when the tests were built but not now"
        );
        cluster
            .store("imgs", "k", b"served by nginx".to_vec())
            .await
            .unwrap();
        assert!(cluster.wait_devcount("imgs", "k", 2, WAIT).await);
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        for url in cluster.file("imgs", "k").unwrap().urls {
            let body = http.get(&url).send().await.unwrap().bytes().await.unwrap();
            assert_eq!(&body[..], b"served by nginx", "{url}");
        }
        let mut tracker = TrackerClient::connect(cluster.tracker_addrs()[0])
            .await
            .unwrap();
        let paths = tracker.raw("get_paths domain=imgs&key=k").await.unwrap();
        assert!(paths.contains("paths=2"), "{paths}");
        assert_eq!(
            tracker.raw("delete domain=imgs&key=k").await.unwrap(),
            "OK "
        );
        assert!(
            cluster.wait_no_orphans(WAIT).await,
            "{:?}",
            cluster.orphans()
        );
        let addrs = cluster.node_addrs();
        drop(cluster);
        tokio::time::sleep(Duration::from_millis(200)).await;
        for addr in addrs {
            assert!(
                TcpStream::connect(addr).await.is_err(),
                "nginx on {addr} survived"
            );
        }
    };
    tokio::time::timeout(Duration::from_secs(30), test)
        .await
        .expect("timed out");
}
