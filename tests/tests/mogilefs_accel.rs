//! Accel mode without nginx: the gateway answers a read with an
//! `X-Accel-Redirect` naming every replica as `p1`, `p2`, ... for nginx's
//! internal location, with Content-Type from the key; writes are unchanged.
//! (The same through real nginx is in `nginx_accel.rs`.)

use dfs_e2e::{pattern, MogEnv, MogOptions};
use std::time::Duration;

const ACCEL: &str = r#"
[[location]]
prefix = "/fast/"
upstream = "mog"
domain = "imgs"
mode = "accel"
"#;

#[tokio::test]
async fn reads_become_redirects_to_every_replica() {
    let env = MogEnv::start_with(
        1,
        &MogOptions {
            extra_tables: ACCEL.into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(env.put("a.jpg", pattern(1, 1000)).await, 201);
    assert!(
        env.cluster
            .wait_devcount("imgs", "a.jpg", 2, Duration::from_secs(10))
            .await
    );
    let r = env
        .http
        .get(env.gateway.url("/fast/a.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let target = r.headers()["x-accel-redirect"].to_str().unwrap().to_owned();
    assert!(
        target.starts_with("/_dfs_accel/?p1=http://127.0.0.1:"),
        "{target}"
    );
    assert!(target.contains("&p2=http://127.0.0.1:"), "{target}");
    assert!(r.bytes().await.unwrap().is_empty());
    // Each named replica really holds the file.
    for part in target.split_once('?').unwrap().1.split('&') {
        let url = part.split_once('=').unwrap().1;
        let body = env
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(body == pattern(1, 1000), "{url}");
    }
    let r = env
        .http
        .get(env.gateway.url("/fast/missing.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().get("x-accel-redirect").is_none());
}
