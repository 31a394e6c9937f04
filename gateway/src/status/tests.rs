//! Status report building and rendering without a cluster:
//! - a tracker that refuses connections or never answers is an error in the
//!   report within the upstream's time-outs, and is marked down;
//! - every string from a tracker is HTML-escaped on the page and stripped of
//!   control characters in the terminal table;
//! - a storage whose registered address the map changes is shown as
//!   "registered → dialled" on the page, the table and in the JSON;
//! - `server.status_path` values are checked.

use super::view::*;
use super::*;
use std::time::Instant;

fn source(addr: std::net::SocketAddr, protocol: Protocol) -> Source {
    Source {
        name: "up<1>".into(),
        protocol,
        trackers: Arc::new(TrackerSet::new(vec![addr], Duration::from_secs(30))),
        connect_timeout: Duration::from_millis(200),
        reply_timeout: Duration::from_millis(200),
        map: Arc::default(),
    }
}

#[tokio::test]
async fn silent_and_closed_trackers_are_errors_not_hangs() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    // Accepts and holds connections without a word.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let sources = [
        source(silent_addr, Protocol::Mogilefs),
        source(silent_addr, Protocol::Fastdfs),
        source(closed, Protocol::Fastdfs),
    ];
    let started = Instant::now();
    let report = build(&sources).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by the time-outs"
    );
    for (u, s) in report.upstreams.iter().zip(&sources) {
        assert!(u.cluster.is_none());
        assert!(u.error.is_some());
        assert!(!u.trackers[0].up, "marked down");
        assert!(u.trackers[0].error.is_some());
        assert!(!s.trackers.any_up());
    }
    assert!(report.upstreams[0].trackers[0]
        .error
        .as_ref()
        .unwrap()
        .contains("get_hosts"));
    let page = html::render(&report);
    assert!(page.contains("up&lt;1&gt;") && !page.contains("up<1>"));
    assert!(table::render(&report).contains("down"));
    holder.abort();
}

#[test]
fn tracker_strings_are_escaped() {
    let report = StatusReport {
        generated_at: 0,
        gateway: GatewayFigures::now(),
        upstreams: vec![UpstreamStatus {
            name: "m".into(),
            protocol: "mogilefs",
            trackers: vec![],
            cluster: Some(ClusterView::Mogilefs {
                hosts: vec![HostRow {
                    hostid: 1,
                    hostname: "<script>alert('x')</script>".into(),
                    ip: "\"onmouseover=x".into(),
                    http_port: None,
                    status: "alive&".into(),
                    dialled: None,
                }],
                devices: vec![],
                domains: vec![],
            }),
            error: None,
        }],
    };
    let page = html::render(&report);
    assert!(!page.contains("<script>"));
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(page.contains("&quot;onmouseover=x") && page.contains("alive&amp;"));
    let mut evil = report.clone();
    if let Some(ClusterView::Mogilefs { hosts, .. }) = &mut evil.upstreams[0].cluster {
        hosts[0].hostname = "a\x1b[2Jb".into();
    }
    assert!(table::render(&evil).contains("a?[2Jb"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["upstreams"][0]["cluster"]["mogilefs"]["hosts"][0]["hostid"],
        1
    );
}

#[test]
fn status_paths_are_checked() {
    assert!(check_path("/_status").is_ok());
    assert!(check_path("/ops/cluster").is_ok());
    for bad in ["_status", "/", "/a/", "/metrics", "/a b", "/a{x}", "/a//b"] {
        assert!(check_path(bad).is_err(), "{bad}");
    }
}

#[test]
fn mapped_storages_show_both_addresses() {
    let entries = [("172.17.0.0/16".to_string(), "127.0.0.0/16".to_string())].into();
    let map = crate::clients::AddressMap::parse(&entries, &[]).unwrap();
    let mut host = HostRow {
        hostid: 1,
        hostname: "h".into(),
        ip: "172.17.0.4".into(),
        http_port: Some(7500),
        status: "alive".into(),
        dialled: None,
    };
    host.map_address(&map);
    assert_eq!(host.address(), "172.17.0.4:7500 → 127.0.0.4:7500");
    let mut plain = host.clone();
    plain.ip = "10.1.1.1".into();
    plain.map_address(&map);
    assert_eq!(plain.address(), "10.1.1.1:7500");
    let report = StatusReport {
        generated_at: 0,
        gateway: GatewayFigures::now(),
        upstreams: vec![UpstreamStatus {
            name: "m".into(),
            protocol: "mogilefs",
            trackers: vec![],
            cluster: Some(ClusterView::Mogilefs {
                hosts: vec![host, plain],
                devices: vec![],
                domains: vec![],
            }),
            error: None,
        }],
    };
    assert!(html::render(&report).contains("172.17.0.4:7500 → 127.0.0.4:7500"));
    assert!(table::render(&report).contains("172.17.0.4:7500 → 127.0.0.4:7500"));
    let json = serde_json::to_value(&report).unwrap();
    let hosts = &json["upstreams"][0]["cluster"]["mogilefs"]["hosts"];
    assert_eq!(hosts[0]["dialled"], "127.0.0.4:7500");
    assert!(hosts[1].get("dialled").is_none());
}
