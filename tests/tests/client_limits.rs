//! Slow, idle and too many clients (each test bounded, short time-outs):
//! - uploads that stall after one chunk (MogileFS PUT chunked, FastDFS POST
//!   chunked and with Content-Length) fill `max_concurrent_requests`, yet
//!   `/healthz` and `/metrics` still answer 200; after
//!   `client_body_timeout` each stalled upload gets 408 and its place is free;
//! - h2c (HTTP/2 prior knowledge on the plain port) is refused by default;
//! - with `h2c = true`, requests over h2c work, and an idle h2c connection
//!   or one that never finishes its HEADERS block is closed after
//!   `header_read_timeout`;
//! - `max_connections`: one connection more than the limit is closed at
//!   once, and served again once a place is free;
//! - the new keys' ranges are checked.

use devcluster::mogilefs::MogCluster;
use dfs_e2e::fastdfs::{bounded, fdfs_config, FdfsEnv, FdfsOptions};
use dfs_e2e::{client, mog_config, Gateway, MogEnv, MogOptions};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `config` with `lines` added to its `[server]` table.
fn with_server(config: &str, lines: &str) -> String {
    assert!(config.contains("[server]\n"));
    config.replacen("[server]\n", &format!("[server]\n{lines}\n"), 1)
}

/// Sends `head` (and whatever body bytes it carries) and keeps the socket.
async fn send(addr: SocketAddr, bytes: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes.as_bytes()).await.unwrap();
    stream
}

/// Everything the server sends until it closes, within `limit`.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection in time")
        .ok();
    out
}

async fn status(url: &str) -> u16 {
    client().get(url).send().await.unwrap().status().as_u16()
}

/// Waits until `url` gets 503: every request place is taken.
async fn until_full(url: &str) {
    let start = Instant::now();
    while status(url).await != 503 {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the limit never filled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks the stalled uploads on `gateway`: limit full, admin endpoints up,
/// then a 408 for each and the places free again.
async fn check_stalls(gateway: &Gateway, mut stalled: Vec<TcpStream>, probe: &str) {
    until_full(&gateway.url(probe)).await;
    assert_eq!(status(&gateway.url("/healthz")).await, 200);
    assert_eq!(status(&gateway.url("/metrics")).await, 200);
    assert_eq!(status(&gateway.url("/readyz")).await, 200);
    for stream in &mut stalled {
        let reply = read_to_close(stream, Duration::from_secs(8)).await;
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 408 "), "{reply}");
    }
    assert_ne!(
        status(&gateway.url(probe)).await,
        503,
        "places are free again"
    );
}

const LIMITS: &str = "max_concurrent_requests = 4\nclient_body_timeout = \"2s\"\nworkers = 1";

#[tokio::test]
async fn stalled_mogilefs_uploads_time_out_and_health_stays_up() {
    bounded(Duration::from_secs(30), async {
        let cluster = MogEnv::cluster(1).await;
        let config = mog_config(&cluster.tracker_addrs(), &MogOptions::default());
        let gateway = Gateway::start(&with_server(&config, LIMITS)).await;
        let mut stalled = Vec::new();
        for i in 0..4 {
            let head = format!(
                "PUT /upload/stall-{i} HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
            );
            stalled.push(send(gateway.addr, &head).await);
        }
        check_stalls(&gateway, stalled, "/images/absent").await;
        drop(cluster);
    })
    .await;
}

#[tokio::test]
async fn stalled_fastdfs_uploads_time_out_and_health_stays_up() {
    bounded(Duration::from_secs(30), async {
        let options = FdfsOptions::default();
        let cluster = FdfsEnv::cluster(&options).await;
        let config = fdfs_config(&cluster.tracker_addrs(), &options);
        let gateway = Gateway::start(&with_server(&config, LIMITS)).await;
        let mut stalled = Vec::new();
        for i in 0..4 {
            let head = if i % 2 == 0 {
                "POST /fdfs/?ext=bin HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n".to_owned()
            } else {
                "POST /fdfs/?ext=bin HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\nhello".to_owned()
            };
            stalled.push(send(gateway.addr, &head).await);
        }
        check_stalls(&gateway, stalled, "/group1/M00/00/00/absent.jpg").await;
        drop(cluster);
    })
    .await;
}

/// The HTTP/2 connection preface and an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

async fn h2_gateway(h2c: bool) -> (MogCluster, Gateway) {
    let cluster = MogEnv::cluster(1).await;
    let config = mog_config(&cluster.tracker_addrs(), &MogOptions::default());
    let lines = format!("header_read_timeout = \"1s\"\nh2c = {h2c}");
    let gateway = Gateway::start(&with_server(&config, &lines)).await;
    (cluster, gateway)
}

#[tokio::test]
async fn h2c_is_refused_by_default() {
    bounded(Duration::from_secs(20), async {
        let (_env, gateway) = h2_gateway(false).await;
        let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
        stream.write_all(H2_PREFACE).await.unwrap();
        let reply = read_to_close(&mut stream, Duration::from_secs(5)).await;
        // An HTTP/2 server answers with its SETTINGS frame (type 4).
        assert!(
            reply.len() < 9 || reply[3] != 4,
            "the plain port spoke HTTP/2: {reply:?}"
        );
        let prior_knowledge = reqwest::Client::builder()
            .no_proxy()
            .http2_prior_knowledge()
            .build()
            .unwrap();
        assert!(prior_knowledge
            .get(gateway.url("/healthz"))
            .send()
            .await
            .is_err());
    })
    .await;
}

#[tokio::test]
async fn idle_and_unfinished_h2c_connections_are_closed() {
    bounded(Duration::from_secs(20), async {
        let (_env, gateway) = h2_gateway(true).await;
        let prior_knowledge = reqwest::Client::builder()
            .no_proxy()
            .http2_prior_knowledge()
            .build()
            .unwrap();
        let response = prior_knowledge
            .get(gateway.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        assert_eq!(response.status(), 200);

        let idle = TcpStream::connect(gateway.addr).await.unwrap();
        // HEADERS (type 1) on stream 1 without END_HEADERS, then nothing.
        let mut unfinished = H2_PREFACE.to_vec();
        unfinished.extend_from_slice(b"\x00\x00\x01\x01\x04\x00\x00\x00\x01\x82");
        let started = Instant::now();
        let mut streams = vec![idle, TcpStream::connect(gateway.addr).await.unwrap()];
        streams[0].write_all(H2_PREFACE).await.unwrap();
        streams[1].write_all(&unfinished).await.unwrap();
        for stream in &mut streams {
            read_to_close(stream, Duration::from_secs(6)).await;
        }
        println!("idle h2c connections closed after {:?}", started.elapsed());
    })
    .await;
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() {
    bounded(Duration::from_secs(20), async {
        let cluster = MogEnv::cluster(1).await;
        let config = mog_config(&cluster.tracker_addrs(), &MogOptions::default());
        let lines = "max_connections = 3\nworkers = 1\nheader_read_timeout = \"8s\"";
        let gateway = Gateway::start(&with_server(&config, lines)).await;
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(TcpStream::connect(gateway.addr).await.unwrap());
        }
        // Let the gateway accept them before the next one arrives.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut extra = send(gateway.addr, "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n").await;
        let reply = read_to_close(&mut extra, Duration::from_secs(2)).await;
        assert!(reply.is_empty(), "{}", String::from_utf8_lossy(&reply));
        drop(held.pop());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut next = send(
            gateway.addr,
            "GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
        )
        .await;
        let reply = read_to_close(&mut next, Duration::from_secs(2)).await;
        assert!(reply.starts_with(b"HTTP/1.1 200 "), "{reply:?}");
        drop(cluster);
    })
    .await;
}

#[test]
fn client_limits_are_range_checked() {
    let tracker: SocketAddr = "127.0.0.1:7001".parse().unwrap();
    let base = mog_config(&[tracker], &MogOptions::default());
    let parse = |lines: &str| dfs_gateway::config::Config::parse(&with_server(&base, lines));
    for (line, key) in [
        ("client_body_timeout = \"0s\"", "server.client_body_timeout"),
        (
            "client_body_timeout = \"2days\"",
            "server.client_body_timeout",
        ),
        ("max_connections = 0", "server.max_connections"),
        (
            "max_connections = 9223372036854775807",
            "server.max_connections",
        ),
    ] {
        let err = parse(line)
            .err()
            .unwrap_or_else(|| panic!("{line} was accepted"))
            .to_string();
        assert!(err.contains(key), "{line}: {err}");
    }
    let ok = parse("client_body_timeout = \"5s\"\nmax_connections = 100\nh2c = true").unwrap();
    assert_eq!(ok.server.client_body_timeout.0, Duration::from_secs(5));
    assert_eq!(ok.server.max_connections, 100);
    assert!(ok.server.h2c);
    let defaults = parse("").unwrap();
    assert_eq!(
        defaults.server.client_body_timeout.0,
        Duration::from_secs(60)
    );
    assert_eq!(defaults.server.max_connections, 4096);
    assert!(!defaults.server.h2c);
}
