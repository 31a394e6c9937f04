//! FastDFS file IDs at the edge:
//! - malformed and traversal-shaped IDs get 400 on GET, HEAD and DELETE,
//!   sent raw so no client normalises them: `..` and `%2e%2e` segments,
//!   encoded slashes, lower-case hex directories, names too short or too
//!   long, bad groups, `M0G`, bad base64, NUL and invalid UTF-8, the
//!   storage's `-m` metadata sidecar; a well-formed ID differing only in
//!   the case of its directories is 404, so the shape alone made it 400;
//! - an ID whose encoded source address is no storage of its group (an
//!   unused address, or a storage of another group) is never connected to:
//!   404 while the tracker answers, 503 when it does not, quickly, and
//!   nothing listening at that address sees a connection.

use dfs_e2e::fastdfs::{bounded, mint_id, raw_get, raw_http, FdfsEnv, FdfsOptions};
use dfs_e2e::pattern;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const LIMIT: Duration = Duration::from_secs(60);

/// Targets that must be refused as malformed, built around a real ID.
fn malformed(id: &str) -> Vec<String> {
    let (group, remote) = id.split_once('/').unwrap();
    let name = &remote[10..];
    let mut bad_block = name.to_owned();
    bad_block.replace_range(3..4, "+");
    vec![
        "/group1/M00/../../etc/passwd".into(),
        "/group1/M00/00/00/../../../../etc/passwd".into(),
        "/group1/M00/%2e%2e/%2e%2e/etc/passwd".into(),
        "/group1/M00/%2E%2E/%2E%2E/etc/passwd".into(),
        format!("/{group}/M00/../../{name}"),
        format!("/{group}/M00/%2e%2e/%2e%2e/{name}"),
        format!("/{group}/M00/00/00/..%2F..%2F{}", &name[6..]),
        format!("/{group}/M00/00/00/..%5C..%5C{}", &name[6..]),
        format!("/{group}/M00/00/00/{}", &name[..20]),
        format!("/{group}/M00/00/00/{name}{}", "x".repeat(100)),
        format!("/{group}/M00/00/00/{name}/"),
        format!("/{group}/M00/00/00//{name}"),
        format!("/{group}/M0G/00/00/{name}"),
        format!("/{group}/m00/00/00/{name}"),
        format!("/{group}/X00/00/00/{name}"),
        format!("/{group}/M00/0/000/{name}"),
        format!("/{group}/{remote}%00"),
        format!("/{group}/M00/00/00/{bad_block}"),
        format!("/{group}/M00/00/00/{}%FF{}", &name[..10], &name[11..]),
        format!("/group-1/{remote}"),
        format!("/gr%20up/{remote}"),
        format!("/{}/{remote}", "g".repeat(17)),
        format!("//{remote}"),
        format!("/{remote}"),
        "/".into(),
    ]
}

#[tokio::test]
async fn malformed_and_traversal_shaped_ids_get_400() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let id = env.upload(pattern(51, 100), "jpg").await;
        let addr = env.gateway.addr;
        for target in malformed(id.as_str()) {
            let (status, text) = raw_get(addr, &target).await;
            assert_eq!(status, 400, "GET {target}: {text}");
            let head = format!("HEAD {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let (status, _) = raw_http(addr, head.as_bytes()).await;
            assert_eq!(status, 400, "HEAD {target}");
            let delete =
                format!("DELETE /fdfs{target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let (status, text) = raw_http(addr, delete.as_bytes()).await;
            assert_eq!(status, 400, "DELETE /fdfs{target}: {text}");
        }
        // The storage keeps a file's metadata in `<name>-m`: never served.
        let bare = env.upload(pattern(53, 100), "").await;
        assert_eq!(env.get_id(&bare).await.0, 200);
        let sidecar = format!("/{bare}-m");
        assert_eq!(raw_get(addr, &sidecar).await.0, 400, "{sidecar}");
        // Lower-case hex directories: the same ID in upper case is
        // well-formed (404: never stored), the lower-case one is not.
        let minted = mint_id("group1", Ipv4Addr::new(127, 0, 0, 2), 10, (0xAB, 0xCD));
        let upper = format!("/{minted}");
        assert!(upper.contains("/M00/AB/CD/"));
        assert_eq!(raw_get(addr, &upper).await.0, 404);
        let lower = upper.replace("/AB/CD/", "/ab/cd/");
        assert_eq!(raw_get(addr, &lower).await.0, 400, "{lower}");
        // Nothing was deleted along the way.
        assert_eq!(env.get_id(&id).await.0, 200);
        env.stop().await;
    })
    .await;
}

/// Counts connections accepted on `addr` until dropped. Linux routes all of
/// 127.0.0.0/8 to `lo`, so failing to bind a loopback address is a failure.
async fn watch(addr: SocketAddr) -> (Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("listening on loopback alias {addr}: {e}"));
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let task = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    });
    (count, task)
}

/// GETs and HEADs `path`; checks the status and that it came quickly.
async fn expect_quickly(env: &FdfsEnv, path: &str, status: u16) {
    let started = Instant::now();
    assert_eq!(env.get(path).await.0, status, "GET {path}");
    let head = env.http.head(env.url(path)).send().await.unwrap();
    assert_eq!(head.status().as_u16(), status, "HEAD {path}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{path} took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs loopback aliases 127.0.0.2 and up (Linux routes all of 127.0.0.0/8 to lo)"
)]
async fn an_unknown_source_address_is_never_connected_to() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start_with(&FdfsOptions {
            groups: vec![("group1".into(), 2), ("group2".into(), 1)],
            ..Default::default()
        })
        .await;
        let g1 = env.cluster.storage("group1", 0);
        let g2 = env.cluster.storage("group2", 0);
        // devcluster falls back to 127.0.0.1 for every storage only when it
        // cannot bind 127.0.0.2 and up, which on Linux is a broken loopback.
        assert_ne!(
            g1.ip(),
            env.cluster.storage("group1", 1).ip(),
            "storages share one address: devcluster could not bind loopback aliases"
        );
        // The gateway learns every storage: uploads and reads in both groups.
        let mut in_group2 = None;
        for _ in 0..4 {
            let id = env.upload(pattern(52, 10), "jpg").await;
            assert_eq!(env.get_id(&id).await.0, 200);
            if id.group() == "group2" {
                in_group2 = Some(id);
            }
        }
        let in_group2 = in_group2.expect("uploads reach both groups");

        let stranger = Ipv4Addr::new(127, 0, 0, 99);
        let watched = watch(SocketAddr::from((stranger, g1.addr().port()))).await;
        let unknown = mint_id("group1", stranger, 10, (0, 0));
        let other_group = mint_id("group1", g2.ip(), 10, (0, 0));
        let g2_requests = g2.stats().requests;

        // The tracker answers: its storages do not have them.
        expect_quickly(&env, &format!("/{unknown}"), 404).await;
        expect_quickly(&env, &format!("/{other_group}"), 404).await;
        // No tracker: the encoded source is the last resort, but only an
        // address a tracker named as a storage of the file's group.
        env.cluster.tracker(0).stop().await;
        expect_quickly(&env, &format!("/{unknown}"), 503).await;
        expect_quickly(&env, &format!("/{other_group}"), 503).await;

        assert_eq!(
            g2.stats().requests,
            g2_requests,
            "group2's storage was asked for a group1 file"
        );
        // group2's storage was known all along: its own files still come
        // from it, through the source address in their IDs.
        assert_eq!(env.get_id(&in_group2).await.0, 200);
        let (count, task) = watched;
        assert_eq!(
            count.load(Ordering::Relaxed),
            0,
            "{stranger} was connected to"
        );
        task.abort();
        env.stop().await;
    })
    .await;
}
