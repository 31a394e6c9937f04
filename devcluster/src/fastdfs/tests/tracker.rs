//! Tracker behaviours, through the wire protocol:
//! - upload targets round-robin over groups; storages of a group share a
//!   port and have distinct addresses; unknown group → ENOENT;
//! - QUERY_FETCH_ONE/ALL and QUERY_UPDATE follow the fetch policy and the
//!   source encoded in the ID; malformed names → EINVAL;
//! - a stopped storage is dropped at once, or kept for a lagging tracker;
//! - several trackers share one view; injected failures;
//! - captured exchanges whose replies do not depend on cluster contents
//!   replay byte for byte against the devcluster servers.

use super::*;
use dfs_protocol::fastdfs::tracker::{
    QueryFetchAll, QueryFetchOne, QueryStoreWithGroupOne, QueryUpdate,
};
use dfs_protocol::fastdfs::FileRef;
use dfs_protocol::vectors::fastdfs_exchanges;

fn fetch_one(id: &FileId) -> QueryFetchOne {
    QueryFetchOne {
        file: id.file_ref(),
    }
}

#[tokio::test]
async fn upload_targets_spread_over_groups() {
    bounded(async {
        let c = cluster(&[("group1", 2), ("group2", 1)]).await;
        let mut t = Client::connect(c.tracker_addrs()[0]).await;
        let mut groups = Vec::new();
        for _ in 0..4 {
            groups.push(t.call(&QueryStoreWithoutGroupOne, &[]).await.unwrap().group);
        }
        assert!(groups.contains(&"group1".to_owned()) && groups.contains(&"group2".to_owned()));
        let g1 = c.storages("group1");
        assert_eq!(
            g1[0].addr().port(),
            g1[1].addr().port(),
            "a group shares one port"
        );
        assert_ne!(g1[0].ip(), g1[1].ip());
        let named = QueryStoreWithGroupOne {
            group: "group2".into(),
        };
        assert_eq!(
            t.call(&named, &[]).await.unwrap().addr,
            std::net::SocketAddrV4::new(
                c.storage("group2", 0).ip(),
                c.storage("group2", 0).addr().port()
            )
        );
        let unknown = QueryStoreWithGroupOne {
            group: "nosuchgroup".into(),
        };
        assert_eq!(t.call(&unknown, &[]).await, Err(status::ENOENT));
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn fetch_and_update_follow_policy_and_source() {
    bounded(async {
        let c = cluster(&[("group1", 2)]).await;
        let id = upload(&c, b"x", "txt").await;
        let source = c
            .storages("group1")
            .iter()
            .position(|s| Source::Ip(s.ip()) == id.source())
            .unwrap();
        let other = 1 - source;
        let addr_of = |i: usize| match c.storage("group1", i).addr() {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => unreachable!(),
        };
        let mut t = Client::connect(c.tracker_addrs()[0]).await;
        c.set_fetch_policy(FetchPolicy::Storage(other));
        assert_eq!(
            t.call(&fetch_one(&id), &[]).await.unwrap().addr,
            addr_of(other)
        );
        let all = t
            .call(
                &QueryFetchAll {
                    file: id.file_ref(),
                },
                &[],
            )
            .await
            .unwrap();
        assert_eq!(all.addrs, vec![addr_of(other), addr_of(source)]);
        c.set_fetch_policy(FetchPolicy::SourceFirst);
        assert_eq!(
            t.call(&fetch_one(&id), &[]).await.unwrap().addr,
            addr_of(source)
        );
        let update = QueryUpdate {
            file: id.file_ref(),
        };
        assert_eq!(t.call(&update, &[]).await.unwrap().addr, addr_of(source));
        let bad = QueryFetchOne {
            file: FileRef::new("group1", "M00/00/00/not-a-fastdfs-name.txt"),
        };
        assert_eq!(t.call(&bad, &[]).await, Err(status::EINVAL));
        let unknown = FileId::from_parts("group9", id.remote_name()).unwrap();
        assert_eq!(t.call(&fetch_one(&unknown), &[]).await, Err(status::ENOENT));
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_lagging_tracker_keeps_naming_a_stopped_storage() {
    bounded(async {
        let c = FdfsCluster::builder()
            .group("group1", 2)
            .trackers(2)
            .tracker_notices_stop_after(None)
            .build()
            .await
            .unwrap();
        let id = upload(&c, b"x", "txt").await;
        c.set_fetch_policy(FetchPolicy::Storage(0));
        c.storage("group1", 0).stop().await;
        let stopped = c.storage("group1", 0).addr();
        for tracker in c.tracker_addrs() {
            let mut t = Client::connect(tracker).await;
            assert_eq!(
                SocketAddr::from(t.call(&fetch_one(&id), &[]).await.unwrap().addr),
                stopped
            );
        }
        c.tracker(1).fail_next(status::EBUSY);
        let mut t = Client::connect(c.tracker_addrs()[1]).await;
        assert_eq!(t.call(&fetch_one(&id), &[]).await, Err(status::EBUSY));
        c.tracker(0).stop().await;
        assert!(TcpStream::connect(c.tracker_addrs()[0]).await.is_err());
        assert!(c.tracker(1).stats().requests >= 2);
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_cluster_without_aliases_shares_127_0_0_1() {
    bounded(async {
        let c = FdfsCluster::builder()
            .group("group1", 2)
            .shared_ip()
            .build()
            .await
            .unwrap();
        let id = upload(&c, b"shared", "txt").await;
        assert_eq!(id.source(), Source::Ip(std::net::Ipv4Addr::LOCALHOST));
        c.set_fetch_policy(FetchPolicy::SourceFirst);
        let mut t = Client::connect(c.tracker_addrs()[0]).await;
        let at = t
            .call(
                &QueryUpdate {
                    file: id.file_ref(),
                },
                &[],
            )
            .await
            .unwrap();
        let first = c.storage("group1", 0).addr();
        let uploaded_to = if c.storage("group1", 0).stats().uploads == 1 {
            first
        } else {
            c.storage("group1", 1).addr()
        };
        assert_eq!(
            SocketAddr::from(at.addr),
            uploaded_to,
            "the recorded origin, not the shared address"
        );
        c.shutdown().await;
    })
    .await;
}

/// Captured exchanges whose reply does not depend on what the cluster holds.
const REPLAYABLE: &[(&str, bool)] = &[
    ("03a-tracker", true),
    ("18a-tracker", true),
    ("19b-tracker", true),
    ("20d-tracker", true),
    ("13b-storage", false),
    ("14b-storage", false),
    ("15a-storage", false),
    ("19d-storage", false),
];

#[tokio::test]
async fn captured_exchanges_replay_against_the_servers() {
    bounded(async {
        let all = fastdfs_exchanges();
        let c = cluster(&[("group1", 2), ("group2", 1)]).await;
        for (name, to_tracker) in REPLAYABLE {
            let ex = all.iter().find(|ex| ex.name.starts_with(name)).unwrap();
            let addr = if *to_tracker {
                c.tracker_addrs()[0]
            } else {
                c.storage("group1", 0).addr()
            };
            let reply = Client::connect(addr).await.raw(&ex.request).await;
            assert_eq!(reply.as_deref(), ex.response.as_deref(), "{}", ex.name);
        }
        let quit = all.iter().find(|ex| ex.name.starts_with("02b")).unwrap();
        let mut t = Client::connect(c.tracker_addrs()[0]).await;
        assert_eq!(t.raw(&quit.request).await, None, "QUIT gets no reply");
        c.shutdown().await;
    })
    .await;
}
