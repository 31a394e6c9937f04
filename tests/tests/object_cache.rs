//! The hot-object cache in the read path, against devcluster:
//! - MogileFS: the second GET of a key reads no storage node; a range and a
//!   HEAD of the cached object carry the uncached answer's headers; a PUT
//!   or DELETE through the gateway is seen by the next GET at once;
//! - FastDFS: the second GET of a file ID downloads nothing from storage;
//! - an object over `max_object` is read from storage every time;
//! - the cache's figures reach `/metrics`.

use dfs_e2e::fastdfs::{FdfsEnv, FdfsOptions};
use dfs_e2e::{pattern, MogEnv, MogOptions};
use reqwest::header;

const CACHE: &str = "object_cache = { size = \"4MiB\", max_object = \"64KiB\" }\n";

/// GETs all storage nodes of `env` have served so far.
fn node_gets(env: &MogEnv) -> u64 {
    env.cluster.nodes().iter().map(|n| n.stats().get).sum()
}

/// The headers a cached answer must repeat.
fn entity(r: &reqwest::Response) -> Vec<(String, String)> {
    let names = [
        header::CONTENT_TYPE,
        header::ETAG,
        header::LAST_MODIFIED,
        header::ACCEPT_RANGES,
        header::CONTENT_LENGTH,
    ];
    names
        .iter()
        .map(|n| {
            let value = r.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
            (n.to_string(), value.unwrap_or_default())
        })
        .collect()
}

#[tokio::test]
async fn mogilefs_reads_come_from_the_cache_and_writes_are_seen_at_once() {
    let options = MogOptions {
        upstream_extra: CACHE.into(),
        ..MogOptions::default()
    };
    let env = MogEnv::start_with(1, &options).await;
    let data = pattern(3, 5000);
    assert_eq!(env.put("hot/a.png", data.clone()).await, 201);

    let first = env.http.get(env.image("hot/a.png")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let headers = entity(&first);
    assert_eq!(first.bytes().await.unwrap(), data);
    let after_first = node_gets(&env);

    let second = env.http.get(env.image("hot/a.png")).send().await.unwrap();
    assert_eq!(entity(&second), headers);
    assert_eq!(second.bytes().await.unwrap(), data);
    let range = env
        .http
        .get(env.image("hot/a.png"))
        .header(header::RANGE, "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), 206);
    assert_eq!(range.headers()[header::CONTENT_RANGE], "bytes 100-199/5000");
    assert_eq!(range.headers()[header::ETAG], headers[1].1.as_str());
    assert_eq!(range.bytes().await.unwrap(), data[100..200]);
    assert_eq!(
        node_gets(&env),
        after_first,
        "a cached read went to storage"
    );

    // A new version through the gateway, then a delete.
    let new = pattern(4, 3000);
    assert_eq!(env.put("hot/a.png", new.clone()).await, 201);
    assert_eq!(env.get("hot/a.png").await, (200, new.into()));
    let deleted = env
        .http
        .delete(env.upload("hot/a.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(env.get("hot/a.png").await.0, 404);

    let metrics = env
        .http
        .get(env.gateway.url("/metrics"))
        .send()
        .await
        .unwrap();
    let text = metrics.text().await.unwrap();
    let hits = text
        .lines()
        .find(|l| l.contains("object_cache_lookups") && l.contains("result=\"hit\""))
        .unwrap_or_else(|| panic!("no hit counter in\n{text}"));
    let count: f64 = hits.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 2.0, "{hits}");
}

#[tokio::test]
async fn mogilefs_objects_over_the_limit_are_read_every_time() {
    let options = MogOptions {
        upstream_extra: CACHE.into(),
        ..MogOptions::default()
    };
    let env = MogEnv::start_with(1, &options).await;
    let data = pattern(5, 100_000);
    assert_eq!(env.put("big.bin", data.clone()).await, 201);
    let before = node_gets(&env);
    for _ in 0..3 {
        assert_eq!(env.get("big.bin").await, (200, data.clone().into()));
    }
    assert_eq!(node_gets(&env), before + 3);
}

#[tokio::test]
async fn fastdfs_reads_come_from_the_cache() {
    let options = FdfsOptions {
        upstream_extra: CACHE.into(),
        ..FdfsOptions::default()
    };
    let env = FdfsEnv::start_with(&options).await;
    let data = pattern(6, 7000);
    let id = env.upload(data.clone(), "jpg").await;
    assert_eq!(env.get_id(&id).await, (200, data.clone().into()));
    let downloads: u64 = env.storage_downloads("group1").iter().sum();
    for _ in 0..3 {
        assert_eq!(env.get_id(&id).await, (200, data.clone().into()));
    }
    let again: u64 = env.storage_downloads("group1").iter().sum();
    assert_eq!(again, downloads, "a cached FastDFS read downloaded");
    env.stop().await;
}
