//! The tracker's monitoring listings, through the wire protocol:
//! - SERVER_LIST_ALL_GROUPS / ONE_GROUP describe every group, with counts
//!   that follow stopped storages;
//! - SERVER_LIST_STORAGE lists a group's storages (ACTIVE, then OFFLINE once
//!   stopped), filtered by storage id, with upload counters;
//! - unknown groups and storage ids are ENOENT, as on the real tracker.

use super::*;
use dfs_protocol::fastdfs::monitor::{
    storage_status_name, ListAllGroups, ListOneGroup, ListStorage,
};

#[tokio::test]
async fn groups_and_storages_are_listed() {
    bounded(async {
        let c = cluster(&[("group1", 2), ("group2", 1)]).await;
        upload(&c, b"hello", "txt").await;
        let mut t = Client::connect(c.tracker_addrs()[0]).await;
        let groups = t.call(&ListAllGroups, &[]).await.unwrap().0;
        let names: Vec<_> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["group1", "group2"]);
        assert_eq!((groups[0].storage_count, groups[1].storage_count), (2, 1));
        assert_eq!(groups[0].writable_server_count, 2);
        let port = c.storage("group1", 0).addr().port();
        assert_eq!(groups[0].storage_port, i64::from(port));

        let list = ListStorage {
            group: "group1".into(),
            storage_id: None,
        };
        let storages = t.call(&list, &[]).await.unwrap().0;
        assert_eq!(storages.len(), 2);
        assert!(storages
            .iter()
            .all(|s| storage_status_name(s.status) == "ACTIVE"));
        assert_eq!(storages[1].ip_addr, c.storage("group1", 1).ip().to_string());
        assert!(storages.iter().all(|s| s.last_heart_beat_time > 0));
        let group2 = ListStorage {
            group: "group2".into(),
            storage_id: None,
        };
        let all = [storages.clone(), t.call(&group2, &[]).await.unwrap().0].concat();
        let uploads: i64 = all.iter().map(|s| s.counters.uploads().1).sum();
        assert_eq!(uploads, 1, "the one upload is counted once");

        c.storage("group1", 1).stop().await;
        let storages = t.call(&list, &[]).await.unwrap().0;
        assert_eq!(storage_status_name(storages[1].status), "OFFLINE");
        let one = ListOneGroup {
            group: "group1".into(),
        };
        assert_eq!(t.call(&one, &[]).await.unwrap().writable_server_count, 1);
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn filters_and_unknown_names() {
    bounded(async {
        let c = cluster(&[("group1", 2)]).await;
        let mut t = Client::connect(c.tracker_addrs()[0]).await;
        let ip = c.storage("group1", 1).ip().to_string();
        let only = ListStorage {
            group: "group1".into(),
            storage_id: Some(ip.clone()),
        };
        let found = t.call(&only, &[]).await.unwrap().0;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, ip);
        let none = ListStorage {
            group: "group1".into(),
            storage_id: Some("127.0.0.99".into()),
        };
        assert_eq!(t.call(&none, &[]).await, Err(status::ENOENT));
        let unknown = ListStorage {
            group: "nosuchgroup".into(),
            storage_id: None,
        };
        assert_eq!(t.call(&unknown, &[]).await, Err(status::ENOENT));
        let one = ListOneGroup {
            group: "nosuchgroup".into(),
        };
        assert_eq!(t.call(&one, &[]).await, Err(status::ENOENT));
        c.shutdown().await;
    })
    .await;
}
