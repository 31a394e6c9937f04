//! Real nginx with the shipped `nginx/dfs-gateway-accel.conf` in front of the
//! gateway in accel mode (client → nginx → gateway resolves → nginx fetches
//! from the storage node itself):
//! - GET and HEAD give byte-identical bodies with the gateway's Content-Type;
//! - Range is answered (by the storage node) with the right bytes;
//! - when the first replica's node is down, nginx falls back to the second;
//! - an unknown key is the gateway's 404; PUT and DELETE go through the gateway.
//!
//! Without nginx installed each test is listed as ignored ("nginx not installed").

use dfs_e2e::nginx::Nginx;
use dfs_e2e::{mog_config, pattern, MogEnv, MogOptions};
use reqwest::header;
use std::path::Path;
use std::time::Duration;

const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../nginx/dfs-gateway-accel.conf"
);

async fn start() -> (MogEnv, Nginx) {
    let cluster = MogEnv::cluster(1).await;
    let trackers = cluster.tracker_addrs();
    // The demo config with /images/ switched to accel mode.
    let text = mog_config(&trackers, &MogOptions::default()).replace(
        "prefix = \"/images/\"\n",
        "prefix = \"/images/\"\nmode = \"accel\"\n",
    );
    let mut env = MogEnv::with_cluster(cluster, &trackers, &MogOptions::default()).await;
    env.gateway = dfs_e2e::Gateway::start(&text).await;
    let gateway = env.gateway.addr.to_string();
    let values = [
        ("SERVER_NAME", "localhost"),
        ("GATEWAY", gateway.as_str()),
        ("MAX_BODY_SIZE", "1g"),
    ];
    let nginx = Nginx::with_site(Path::new(TEMPLATE), &values).await;
    (env, nginx)
}

#[tokio::test]
#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]
async fn nginx_moves_the_bytes_and_falls_back() {
    let (env, nginx) = start().await;
    let data = pattern(41, 300_000);
    let put = env
        .http
        .put(nginx.url("/upload/a/photo.jpg"))
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201, "{}", nginx.logs());
    assert!(
        env.cluster
            .wait_devcount("imgs", "a/photo.jpg", 2, Duration::from_secs(10))
            .await
    );

    let get = env
        .http
        .get(nginx.url("/images/a/photo.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200, "{}", nginx.logs());
    assert_eq!(get.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert!(
        get.headers().get("x-accel-redirect").is_none(),
        "nginx must consume the header"
    );
    assert!(get.bytes().await.unwrap() == data);
    let before = env
        .cluster
        .nodes()
        .iter()
        .map(|n| n.stats().get)
        .sum::<u64>();
    assert!(before >= 1, "the storage nodes served the GET themselves");

    let head = env
        .http
        .head(nginx.url("/images/a/photo.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()[header::CONTENT_LENGTH], "300000");

    let range = env
        .http
        .get(nginx.url("/images/a/photo.jpg"))
        .header(header::RANGE, "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), 206);
    assert_eq!(&range.bytes().await.unwrap()[..], &data[1000..2000]);

    // Whichever node is listed first, one of them down still serves.
    for node in 0..2 {
        env.cluster.node(node).stop().await;
        let get = env
            .http
            .get(nginx.url("/images/a/photo.jpg"))
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), 200, "node {node} down\n{}", nginx.logs());
        assert!(get.bytes().await.unwrap() == data);
        env.cluster.node(node).start().await.unwrap();
    }

    let missing = env
        .http
        .get(nginx.url("/images/a/missing.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let delete = env
        .http
        .delete(nginx.url("/upload/a/photo.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 204);
    let gone = env
        .http
        .get(nginx.url("/images/a/photo.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}
