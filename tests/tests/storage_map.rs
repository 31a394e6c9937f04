//! Storages that register an address the gateway cannot reach (as behind
//! Docker or NAT), served through the upstream's `storage_map`:
//! - MogileFS nodes registered as 127.0.77.1 (nothing listens there): a
//!   gateway with the map stores and reads keys, and its status page shows
//!   "registered → dialled"; without the map both fail;
//! - FastDFS storages registered as 127.0.66.x, one through a bare-IP
//!   entry, one through an exact `ip:port` entry: uploads, reads, and the
//!   status page through the map; without it reads and uploads fail;
//! - a file ID whose encoded source is the registered address leads, when
//!   no tracker answers, to the address that one maps to, and only to
//!   storages a tracker named.

use devcluster::fastdfs::FdfsCluster;
use devcluster::mogilefs::MogCluster;
use dfs_e2e::fastdfs::{bounded, fdfs_config, mint_id, FdfsOptions};
use dfs_e2e::{client, mog_config, pattern, Gateway, MogOptions};
use dfs_protocol::fastdfs::{FileId, Source};
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Where the MogileFS nodes say they are.
const MOG_REGISTERED: Ipv4Addr = Ipv4Addr::new(127, 0, 77, 1);

fn limit() -> Duration {
    Duration::from_secs(60)
}

async fn status_json(gateway: &Gateway) -> Value {
    let response = client()
        .get(gateway.url("/_status.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

async fn status_html(gateway: &Gateway) -> String {
    let response = client().get(gateway.url("/_status")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Two nodes listening on 127.0.0.1, registered as 127.0.77.1.
async fn mog_cluster() -> MogCluster {
    dfs_e2e::init_tracing();
    MogCluster::builder()
        .nodes(2)
        .domain("imgs")
        .class("imgs", "photos", 2)
        .advertise_ip(0, MOG_REGISTERED)
        .advertise_ip(1, MOG_REGISTERED)
        .build()
        .await
        .expect("devcluster starts")
}

fn mog_gateway_config(cluster: &MogCluster, map: &str) -> String {
    let options = MogOptions {
        upstream_extra: format!("cache_ttl = \"0s\"\n{map}\n"),
        ..MogOptions::default()
    };
    mog_config(&cluster.tracker_addrs(), &options)
}

#[tokio::test]
async fn mogilefs_nodes_registered_elsewhere_are_served_through_the_map() {
    bounded(limit(), async {
        let cluster = mog_cluster().await;
        let map = r#"storage_map = { "127.0.77.0/24" = "127.0.0.0/24" }"#;
        let mapped = Gateway::start(&mog_gateway_config(&cluster, map)).await;
        let plain = Gateway::start(&mog_gateway_config(&cluster, "")).await;
        let http = client();
        let data = pattern(28, 10_000);

        let put = |g: &Gateway, key: &str| {
            http.put(g.url(&format!("/upload/{key}")))
                .body(data.clone())
                .send()
        };
        let response = put(&plain, "without").await.unwrap();
        assert!(
            response.status().is_server_error(),
            "PUT without the map: {}",
            response.status()
        );
        let response = put(&mapped, "k1").await.unwrap();
        assert_eq!(response.status(), 201, "PUT through the map");

        let get = |g: &Gateway| http.get(g.url("/images/k1")).send();
        let response = get(&mapped).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap(), data);
        let response = get(&plain).await.unwrap();
        assert!(
            response.status().is_server_error(),
            "GET without the map: {}",
            response.status()
        );

        let info = cluster
            .file("imgs", "k1")
            .expect("the tracker knows the key");
        assert!(
            info.urls
                .iter()
                .all(|u| u.starts_with("http://127.0.77.1:")),
            "{:?}",
            info.urls
        );

        let node = cluster.node_addrs()[0];
        let registered = format!("{MOG_REGISTERED}:{}", node.port());
        let shown = format!("{registered} → {node}");
        let report = status_json(&mapped).await;
        let hosts = &report["upstreams"][0]["cluster"]["mogilefs"]["hosts"];
        let host = hosts
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["http_port"] == node.port())
            .expect("the node is listed");
        assert_eq!(host["ip"], MOG_REGISTERED.to_string());
        assert_eq!(host["dialled"], node.to_string());
        assert!(
            status_html(&mapped).await.contains(&shown),
            "the page shows {shown}"
        );
        let unmapped = status_json(&plain).await;
        let hosts = &unmapped["upstreams"][0]["cluster"]["mogilefs"]["hosts"];
        assert!(hosts[0].get("dialled").is_none());

        mapped.stop().await;
        plain.stop().await;
        cluster.shutdown().await;
    })
    .await;
}

/// group1's two storages registered as 127.0.66.2 and 127.0.66.3, their
/// ports kept.
async fn fdfs_cluster() -> FdfsCluster {
    dfs_e2e::init_tracing();
    FdfsCluster::builder()
        .group("group1", 2)
        .advertise_ip("group1", 0, Ipv4Addr::new(127, 0, 66, 2))
        .advertise_ip("group1", 1, Ipv4Addr::new(127, 0, 66, 3))
        .build()
        .await
        .expect("devcluster starts")
}

/// Registered and listening addresses of storage `i` of group1.
fn fdfs_addrs(cluster: &FdfsCluster, i: usize) -> (SocketAddr, SocketAddr) {
    let storage = cluster.storage("group1", i);
    let listening = storage.addr();
    (
        SocketAddr::from((storage.ip(), listening.port())),
        listening,
    )
}

/// A bare-IP entry for storage 0, an exact one for storage 1.
fn fdfs_map(cluster: &FdfsCluster) -> String {
    let (reg0, at0) = fdfs_addrs(cluster, 0);
    let (reg1, at1) = fdfs_addrs(cluster, 1);
    format!(
        "storage_map = {{ \"{}\" = \"{}\", \"{reg1}\" = \"{at1}\" }}",
        reg0.ip(),
        at0.ip()
    )
}

async fn fdfs_gateway(cluster: &FdfsCluster, map: &str) -> Gateway {
    let options = FdfsOptions {
        upstream_extra: format!("cache_ttl = \"0s\"\n{map}\n"),
        ..FdfsOptions::default()
    };
    Gateway::start(&fdfs_config(&cluster.tracker_addrs(), &options)).await
}

async fn upload(gateway: &Gateway, data: &[u8]) -> reqwest::Response {
    let url = gateway.url("/fdfs/?ext=bin");
    client().post(url).body(data.to_vec()).send().await.unwrap()
}

#[tokio::test]
async fn fastdfs_storages_registered_elsewhere_are_served_through_the_map() {
    bounded(limit(), async {
        let cluster = fdfs_cluster().await;
        let mapped = fdfs_gateway(&cluster, &fdfs_map(&cluster)).await;
        let plain = fdfs_gateway(&cluster, "").await;
        let data = pattern(66, 5_000);

        let response = upload(&plain, &data).await;
        assert!(
            response.status().is_server_error(),
            "upload without the map: {}",
            response.status()
        );
        let mut ids = Vec::new();
        for _ in 0..4 {
            let (id, size) = dfs_e2e::fastdfs::created(upload(&mapped, &data).await).await;
            assert_eq!(size, data.len() as u64);
            ids.push(id);
        }
        let sources: Vec<Source> = ids.iter().map(FileId::source).collect();
        for i in 0..2 {
            let registered = Source::Ip(cluster.storage("group1", i).ip());
            assert!(
                sources.contains(&registered),
                "storage {i} took an upload: {sources:?}"
            );
        }

        for id in &ids {
            let url = format!("/{id}");
            let response = client().get(mapped.url(&url)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{id} through the map");
            assert_eq!(response.bytes().await.unwrap(), data);
            let response = client().get(plain.url(&url)).send().await.unwrap();
            assert!(
                response.status().is_server_error(),
                "{id} without the map: {}",
                response.status()
            );
        }

        let report = status_json(&mapped).await;
        let storages = &report["upstreams"][0]["cluster"]["fastdfs"]["groups"][0]["storages"];
        let page = status_html(&mapped).await;
        for i in 0..2 {
            let (registered, listening) = fdfs_addrs(&cluster, i);
            let row = storages
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["ip"] == registered.ip().to_string())
                .expect("the storage is listed by its registered address");
            assert_eq!(row["dialled"], listening.to_string());
            let shown = format!("{registered} → {listening}");
            assert!(page.contains(&shown), "the page shows {shown}");
        }

        mapped.stop().await;
        plain.stop().await;
        cluster.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_file_ids_registered_source_leads_to_its_mapped_address() {
    bounded(limit(), async {
        let cluster = fdfs_cluster().await;
        let mapped = fdfs_gateway(&cluster, &fdfs_map(&cluster)).await;
        let data = pattern(613, 3_000);
        let (id, _) = dfs_e2e::fastdfs::created(upload(&mapped, &data).await).await;
        let Source::Ip(source) = id.source() else {
            panic!("devcluster encodes addresses in IDs");
        };
        assert_eq!(
            source.octets()[..3],
            [127, 0, 66],
            "the ID names the registered address"
        );

        // No tracker answers now: only the ID's source is left to try.
        cluster.tracker(0).stop().await;
        let response = client()
            .get(mapped.url(&format!("/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "read from the mapped source");
        assert_eq!(response.bytes().await.unwrap(), data);

        // A source no tracker named is never dialled, map or not.
        let other = mint_id("group1", Ipv4Addr::new(127, 0, 66, 9), 3_000, (0, 0));
        let response = client()
            .get(mapped.url(&format!("/{other}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{other}");

        mapped.stop().await;
        cluster.shutdown().await;
    })
    .await;
}
