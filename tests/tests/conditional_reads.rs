//! A conditional read answered from validators alone opens no storage body:
//! - MogileFS: `If-None-Match` / `If-Modified-Since` answered 304 and
//!   `If-Match` answered 412 cost no GET on any storage node (a HEAD at most);
//! - a stale `If-Range` gets the whole object with a single GET, not a ranged
//!   GET thrown away and a second one;
//! - the same requests without a matching validator still stream the bytes.

use dfs_e2e::{pattern, MogEnv};
use reqwest::header;

/// GETs all storage nodes of `env` have served so far.
fn node_gets(env: &MogEnv) -> u64 {
    env.cluster.nodes().iter().map(|n| n.stats().get).sum()
}

#[tokio::test]
async fn a_304_or_412_costs_no_storage_get() {
    let env = MogEnv::start().await;
    assert_eq!(env.put("cond/a.png", pattern(5, 2000)).await, 201);
    let first = env.http.get(env.image("cond/a.png")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    let modified = first.headers()[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(first.bytes().await.unwrap().len(), 2000);

    let before = node_gets(&env);
    for (name, value, status) in [
        (header::IF_NONE_MATCH, etag.as_str(), 304),
        (header::IF_MODIFIED_SINCE, modified.as_str(), 304),
        (header::IF_MATCH, "\"not-this-one\"", 412),
    ] {
        let r = env
            .http
            .get(env.image("cond/a.png"))
            .header(name.clone(), value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{name}: {value}");
        if status == 304 {
            assert_eq!(r.headers()[header::ETAG], etag.as_str());
        }
    }
    assert_eq!(node_gets(&env), before, "a 304/412 opened a storage body");

    // Not matching: the body is read, once.
    let r = env
        .http
        .get(env.image("cond/a.png"))
        .header(header::IF_NONE_MATCH, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), 2000);
    assert_eq!(node_gets(&env), before + 1);
}

#[tokio::test]
async fn a_stale_if_range_reads_the_object_once() {
    let env = MogEnv::start().await;
    let data = pattern(6, 3000);
    assert_eq!(env.put("cond/b.bin", data.clone()).await, 201);
    let before = node_gets(&env);
    let r = env
        .http
        .get(env.image("cond/b.bin"))
        .header(header::RANGE, "bytes=0-9")
        .header(header::IF_RANGE, "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap() == data);
    assert_eq!(node_gets(&env), before + 1, "one GET for the whole object");
}
