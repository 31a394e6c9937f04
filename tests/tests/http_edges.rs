//! HTTP edges of the request path:
//! - a FastDFS file ID with a store path the storage lacks (`M99`) is 404,
//!   and its body names no storage;
//! - FastDFS error bodies (no tracker answering) carry no tracker or
//!   storage address; nor do MogileFS ones;
//! - `/group1/M00/00/00%2F<name>` is 400, not a second URL for the file
//!   (the plain URL still serves it); a MogileFS key may contain `%2F`,
//!   which names the key with a `/`;
//! - an HTTP/1.1 request without `Host` is 400; HTTP/1.0 without it and
//!   HTTP/1.1 with it are served.

use dfs_e2e::fastdfs::{bounded, fdfs_config, raw_get, raw_http, FdfsEnv, FdfsOptions};
use dfs_e2e::{mog_config, pattern, Gateway, MogEnv, MogOptions};
use std::time::Duration;

/// A 127.0.0.1 port nothing listens on.
async fn dead_addr() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn a_missing_store_path_is_not_found_without_addresses() {
    bounded(Duration::from_secs(30), async {
        let env = FdfsEnv::start().await;
        let id = env.upload(pattern(1, 1000), "bin").await;
        let path = format!("/{id}");
        assert!(path.contains("/M00/"), "{path}");
        let (status, body) = env.get(&path.replace("/M00/", "/M99/")).await;
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 404, "{body}");
        assert!(!body.contains("127.0.0.1"), "{body}");
        let (status, body) = env.get(&path).await;
        assert_eq!((status, body.len()), (200, 1000));
    })
    .await;
}

#[tokio::test]
async fn error_bodies_carry_no_server_address() {
    bounded(Duration::from_secs(30), async {
        let env = FdfsEnv::start().await;
        let id = env.upload(pattern(2, 100), "bin").await;
        let dead = dead_addr().await;
        let lonely = Gateway::start(&fdfs_config(&[dead], &FdfsOptions::default())).await;
        let (status, text) = raw_get(lonely.addr, &format!("/{id}")).await;
        assert!((500..600).contains(&status), "{text}");
        assert!(!text.contains("127.0.0.1"), "{text}");

        let mog = Gateway::start(&mog_config(&[dead], &MogOptions::default())).await;
        let (status, text) = raw_get(mog.addr, "/images/some-key").await;
        assert!((500..600).contains(&status), "{text}");
        assert!(!text.contains("127.0.0.1"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn an_encoded_slash_is_not_a_second_url_for_a_file() {
    bounded(Duration::from_secs(30), async {
        let env = FdfsEnv::start().await;
        let id = env.upload(pattern(3, 500), "jpg").await;
        let path = format!("/{id}");
        let (last, _) = path.rsplit_once('/').unwrap();
        let name = &path[last.len() + 1..];
        for slash in ["%2f", "%2F"] {
            let (status, text) = raw_get(env.gateway.addr, &format!("{last}{slash}{name}")).await;
            assert_eq!(status, 400, "{text}");
        }
        let (status, text) = raw_get(env.gateway.addr, &path).await;
        assert_eq!(status, 200, "{text}");
    })
    .await;
}

#[tokio::test]
async fn a_mogilefs_key_may_spell_its_slash_encoded() {
    bounded(Duration::from_secs(30), async {
        let env = MogEnv::start().await;
        let data = pattern(4, 300);
        assert_eq!(env.put("dir/file.bin", data.clone()).await, 201);
        let (status, body) = env.get("dir%2Ffile.bin").await;
        assert_eq!((status, &body[..]), (200, &data[..]));
    })
    .await;
}

#[tokio::test]
async fn http11_without_host_is_400() {
    bounded(Duration::from_secs(30), async {
        let env = MogEnv::start().await;
        let addr = env.gateway.addr;
        let (status, text) =
            raw_http(addr, b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n").await;
        assert_eq!(status, 400, "{text}");
        let (status, text) =
            raw_http(addr, b"GET /images/x HTTP/1.1\r\nConnection: close\r\n\r\n").await;
        assert_eq!(status, 400, "{text}");
        let (status, text) = raw_http(addr, b"GET /healthz HTTP/1.0\r\n\r\n").await;
        assert_eq!(status, 200, "{text}");
        let (status, text) = raw_http(
            addr,
            b"GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status, 200, "{text}");
    })
    .await;
}
