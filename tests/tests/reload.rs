//! Config reload while serving (what SIGHUP does):
//! - a new location becomes available to new requests;
//! - a transfer in flight across the reload completes, byte-identical;
//! - a config that cannot be built is rejected and the old one stays.

use dfs_e2e::{client, mog_config, pattern, Gateway, MogEnv, MogOptions};
use dfs_gateway::config::Config;
use futures_util::StreamExt;
use std::time::Duration;

#[tokio::test]
async fn reload_keeps_in_flight_transfers_and_adds_locations() {
    let cluster = MogEnv::cluster(1).await;
    let trackers = cluster.tracker_addrs();
    let first = Config::parse(&mog_config(&trackers, &MogOptions::default())).unwrap();
    let (server, gateway) = Gateway::start_reloadable(&first).await;
    let base = server.url("");
    let http = client();
    let data = pattern(31, 512 * 1024);
    let r = http
        .put(format!("{base}/upload/r.bin"))
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(
        cluster
            .wait_devcount("imgs", "r.bin", 2, Duration::from_secs(10))
            .await
    );
    assert_eq!(
        http.get(format!("{base}/more/r.bin"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // A slow download (about a second) that spans the reload.
    for node in cluster.nodes() {
        node.trickle(64 * 1024, Duration::from_millis(120));
    }
    let response = http
        .get(format!("{base}/images/r.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut received = body.next().await.unwrap().unwrap().to_vec();

    let options = MogOptions {
        extra_tables: "[[location]]\nprefix = \"/more/\"\nupstream = \"mog\"\ndomain = \"imgs\"\n"
            .into(),
        ..Default::default()
    };
    let second = Config::parse(&mog_config(&trackers, &options)).unwrap();
    gateway.reload(&second).unwrap();
    for node in cluster.nodes() {
        node.clear();
    }
    let r = http.get(format!("{base}/more/r.bin")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the new location serves after the reload");
    assert!(r.bytes().await.unwrap() == data);

    while let Some(chunk) = body.next().await {
        received.extend_from_slice(&chunk.expect("the in-flight transfer survives the reload"));
    }
    assert!(received == data);

    // A config whose tracker cannot be resolved is rejected; /more/ stays.
    let mut broken = second.clone();
    let mut upstream = broken.upstreams[0].get_ref().clone();
    upstream.trackers = vec!["no-such-host.invalid:7001".into()];
    broken.upstreams[0] = toml::Spanned::new(0..0, upstream);
    assert!(gateway.reload(&broken).is_err());
    assert_eq!(
        http.get(format!("{base}/more/r.bin"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    server.stopped().await.unwrap();
}
