//! The FastDFS look-up cache (file ID → storage):
//! - repeated and concurrent reads of one file ask the tracker once;
//! - a cached storage that fails is dropped and the file read elsewhere;
//! - a delete through the gateway forgets the file at once.

use dfs_e2e::fastdfs::{bounded, FdfsEnv, FdfsOptions};
use dfs_e2e::pattern;
use std::time::Duration;

#[tokio::test]
async fn reads_ask_the_tracker_once_and_recover_from_a_dead_storage() {
    bounded(Duration::from_secs(60), async {
        let options = FdfsOptions {
            upstream_extra: "probe_interval = \"0s\"\ncache_ttl = \"60s\"".into(),
            notice_stop_after: None,
            ..Default::default()
        };
        let env = FdfsEnv::start_with(&options).await;
        let data = pattern(61, 5000);
        let id = env.upload(data.clone(), "png").await;
        let tracker = env.cluster.tracker(0);

        let before = tracker.stats().requests;
        let reads = (0..20).map(|_| env.get_id(&id));
        for (status, body) in futures_util::future::join_all(reads).await {
            assert_eq!(status, 200);
            assert!(body == data);
        }
        for _ in 0..5 {
            assert!(env.get_id(&id).await.1 == data);
        }
        let asked = tracker.stats().requests - before;
        assert_eq!(
            asked, 1,
            "25 reads, one of them concurrent with 19 others, asked the tracker {asked} times"
        );

        // Whichever storage is cached, stopping it moves reads to the other.
        for i in 0..2 {
            env.cluster.storage("group1", i).stop().await;
            let (status, body) = env.get_id(&id).await;
            assert_eq!(status, 200, "storage {i} stopped");
            assert!(body == data);
            env.cluster.storage("group1", i).start().unwrap();
        }

        assert_eq!(env.delete(&id).await, 204);
        assert_eq!(env.get_id(&id).await.0, 404);
        env.stop().await;
    })
    .await;
}
