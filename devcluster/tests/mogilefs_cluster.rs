//! The in-process MogileFS cluster over real sockets:
//! - create_open → PUT → create_close → get_paths → GET round trip;
//! - replication to the class's mindevcount, on another host;
//! - delete and overwrite remove the old copies from the nodes;
//! - size_mismatch / size_verify_error / empty-key close leave no data, and a
//!   close size above i64::MAX is compared, not taken as "no size";
//! - a stopped node: skipped by get_paths and create_open, replication
//!   resumes when it is back; all nodes down still gives one path;
//! - no_devices, paused replication, trackers sharing metadata;
//! - tracker connections: pipelining, callid, case, empty lines, `!` lines,
//!   stop/start on the same port, and a dropped cluster closing its ports.

use devcluster::mogilefs::{DeviceState, MogCluster, TrackerClient};
use dfs_protocol::mogilefs::cmd::{CreateClose, CreateOpen, FileInfo, GetPaths};
use dfs_protocol::mogilefs::Reply;
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

/// Runs a test body under the global time limit.
async fn bounded<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(LIMIT, test)
        .await
        .expect("test timed out");
}

async fn cluster() -> MogCluster {
    MogCluster::builder()
        .nodes(2)
        .domain("imgs")
        .class("imgs", "photos", 2)
        .class("imgs", "single", 1)
        .build()
        .await
        .unwrap()
}

async fn tracker(cluster: &MogCluster) -> TrackerClient {
    TrackerClient::connect(cluster.tracker_addrs()[0])
        .await
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn open(key: &str, multi_dest: bool) -> CreateOpen {
    CreateOpen {
        domain: "imgs".into(),
        key: key.into(),
        class: None,
        multi_dest,
        size: None,
    }
}

fn paths(key: &str, noverify: bool) -> GetPaths {
    GetPaths {
        domain: "imgs".into(),
        key: key.into(),
        noverify,
        pathcount: None,
    }
}

async fn get(url: &str) -> Vec<u8> {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().await.unwrap().to_vec()
}

async fn put(url: &str, data: &'static [u8]) {
    let status = http().put(url).body(data).send().await.unwrap().status();
    assert!(status.is_success(), "{url}: {status}");
}

fn close(open: &dfs_protocol::mogilefs::cmd::OpenFile, key: &str, size: u64) -> CreateClose {
    let dest = &open.destinations[0];
    CreateClose {
        domain: "imgs".into(),
        key: key.into(),
        fid: open.fid,
        devid: dest.devid,
        path: dest.path.clone(),
        size,
        checksum: None,
    }
}

#[tokio::test]
async fn upload_then_read_back_through_get_paths() {
    bounded(async {
        let cluster = cluster().await;
        let mut t = tracker(&cluster).await;
        let opened = t.call(&open("a/b.txt", false)).await.unwrap().unwrap();
        assert_eq!(opened.fid, 1);
        put(&opened.destinations[0].path, b"hello world").await;
        t.call(&close(&opened, "a/b.txt", 11))
            .await
            .unwrap()
            .unwrap();
        let urls = t.call(&paths("a/b.txt", false)).await.unwrap().unwrap();
        assert!(!urls.is_empty());
        assert_eq!(get(&urls[0]).await, b"hello world");
        let info = FileInfo {
            domain: "imgs".into(),
            key: "a/b.txt".into(),
            devices: true,
        };
        let details = t.call(&info).await.unwrap().unwrap();
        assert_eq!(
            (details.fid, details.length, details.class.as_str()),
            (1, 11, "default")
        );
    })
    .await;
}

#[tokio::test]
async fn replication_reaches_mindevcount_on_the_other_node() {
    bounded(async {
        let cluster = cluster().await;
        cluster
            .store("imgs", "k", b"replicate me".to_vec())
            .await
            .unwrap();
        assert!(cluster.wait_devcount("imgs", "k", 2, WAIT).await);
        let file = cluster.file("imgs", "k").unwrap();
        let mut devids = file.devids.clone();
        devids.sort();
        assert_eq!(devids, [1, 2]);
        for url in &file.urls {
            assert_eq!(get(url).await, b"replicate me");
        }
        let mut t = tracker(&cluster).await;
        let urls = t.call(&paths("k", true)).await.unwrap().unwrap();
        assert_eq!(urls.len(), 2);
        cluster.store("imgs", "one", b"x".to_vec()).await.unwrap();
        let single = t
            .raw("updateclass domain=imgs&key=one&class=single")
            .await
            .unwrap();
        assert_eq!(single, "OK ");
    })
    .await;
}

#[tokio::test]
async fn delete_and_overwrite_leave_no_copies_behind() {
    bounded(async {
        let cluster = cluster().await;
        cluster.store("imgs", "k", b"first".to_vec()).await.unwrap();
        assert!(cluster.wait_devcount("imgs", "k", 2, WAIT).await);
        let old = cluster.file("imgs", "k").unwrap();
        cluster
            .store("imgs", "k", b"second!".to_vec())
            .await
            .unwrap();
        let new = cluster.file("imgs", "k").unwrap();
        assert_ne!(old.fid, new.fid);
        assert_eq!(get(&new.urls[0]).await, b"second!");
        assert!(cluster.wait_devcount("imgs", "k", 2, WAIT).await);
        assert!(
            cluster.wait_no_orphans(WAIT).await,
            "{:?}",
            cluster.orphans()
        );
        let mut t = tracker(&cluster).await;
        assert_eq!(t.raw("delete domain=imgs&key=k").await.unwrap(), "OK ");
        let gone = t.raw("get_paths domain=imgs&key=k").await.unwrap();
        assert_eq!(gone, "ERR unknown_key unknown_key");
        assert!(
            cluster.wait_no_orphans(WAIT).await,
            "{:?}",
            cluster.orphans()
        );
        let files: usize = cluster
            .nodes()
            .iter()
            .map(|n| n.files().unwrap().len())
            .sum();
        assert_eq!(files, 0);
    })
    .await;
}

#[tokio::test]
async fn failed_closes_discard_the_upload() {
    bounded(async {
        let cluster = cluster().await;
        let mut t = tracker(&cluster).await;
        let opened = t.call(&open("bad", false)).await.unwrap().unwrap();
        put(
            &opened.destinations[0].path,
            b"hello mogilefs test vector\n",
        )
        .await;
        let Err(Reply::Err { code, text }) = t.call(&close(&opened, "bad", 28)).await.unwrap()
        else {
            panic!("size_mismatch expected")
        };
        assert_eq!(code, "size_mismatch");
        let path = &opened.destinations[0].path;
        assert_eq!(text, format!("Expected: 28; actual: 27; path: {path}"));
        let Err(again) = t.call(&close(&opened, "bad", 28)).await.unwrap() else {
            panic!("second close must fail")
        };
        assert_eq!(again, Reply::error("no_temp_file"));
        let missing = t.call(&open("bad", false)).await.unwrap().unwrap();
        let Err(Reply::Err { code, .. }) = t.call(&close(&missing, "bad", 5)).await.unwrap() else {
            panic!("size_verify_error expected")
        };
        assert_eq!(code, "size_verify_error");
        let discard = t.call(&open("x", false)).await.unwrap().unwrap();
        put(&discard.destinations[0].path, b"abandoned").await;
        t.call(&close(&discard, "", 9)).await.unwrap().unwrap();
        assert!(cluster.file("imgs", "bad").is_none());
        assert!(
            cluster.wait_no_orphans(WAIT).await,
            "{:?}",
            cluster.orphans()
        );
        assert_eq!(cluster.open_uploads(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_close_size_beyond_i64_is_compared_not_ignored() {
    bounded(async {
        let cluster = cluster().await;
        let mut t = tracker(&cluster).await;
        let opened = t.call(&open("huge", false)).await.unwrap().unwrap();
        put(
            &opened.destinations[0].path,
            b"27 bytes, not 2^64 - 1 ...\n",
        )
        .await;
        let Err(Reply::Err { code, .. }) = t.call(&close(&opened, "huge", u64::MAX)).await.unwrap()
        else {
            panic!("size_mismatch expected")
        };
        assert_eq!(code, "size_mismatch");
        assert!(cluster.file("imgs", "huge").is_none());
    })
    .await;
}

#[tokio::test]
async fn a_stopped_node_is_avoided_and_replication_resumes() {
    bounded(async {
        let cluster = cluster().await;
        cluster
            .store("imgs", "both", b"on two nodes".to_vec())
            .await
            .unwrap();
        assert!(cluster.wait_devcount("imgs", "both", 2, WAIT).await);
        cluster.node(0).stop().await;
        let mut t = tracker(&cluster).await;
        // Before the monitor notices, the size check skips the dead copy.
        let urls = t.call(&paths("both", false)).await.unwrap().unwrap();
        assert!(
            urls[0].contains(&cluster.node_addrs()[1].to_string()),
            "{urls:?}"
        );
        assert!(cluster.wait_device_observed(1, false, WAIT).await);
        let urls = t.call(&paths("both", true)).await.unwrap().unwrap();
        assert_eq!(urls.len(), 1);
        let multi = t.call(&open("new", true)).await.unwrap().unwrap();
        let devids: Vec<u64> = multi.destinations.iter().map(|d| d.devid).collect();
        assert_eq!(devids, [2]);
        cluster
            .store("imgs", "new", b"one copy for now".to_vec())
            .await
            .unwrap();
        assert_eq!(cluster.file("imgs", "new").unwrap().devids, [2]);
        cluster.node(0).start().await.unwrap();
        assert!(cluster.wait_device_observed(1, true, WAIT).await);
        assert!(cluster.wait_devcount("imgs", "new", 2, WAIT).await);
    })
    .await;
}

#[tokio::test]
async fn with_every_node_down_one_path_is_still_returned() {
    bounded(async {
        let cluster = cluster().await;
        cluster.store("imgs", "k", b"data".to_vec()).await.unwrap();
        assert!(cluster.wait_devcount("imgs", "k", 2, WAIT).await);
        for node in cluster.nodes() {
            node.stop().await;
        }
        cluster.probe_now().await;
        let mut t = tracker(&cluster).await;
        let reply = t
            .raw("get_paths domain=imgs&key=k&noverify=1")
            .await
            .unwrap();
        assert!(reply.contains("paths=1"), "{reply}");
        let none = t.raw("create_open domain=imgs&key=z").await.unwrap();
        assert_eq!(none, "ERR no_devices No+devices+found+to+store+file");
    })
    .await;
}

#[tokio::test]
async fn device_states_and_paused_replication() {
    bounded(async {
        let cluster = cluster().await;
        cluster.pause_replication(true);
        cluster
            .store("imgs", "k", b"lonely".to_vec())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(cluster.file("imgs", "k").unwrap().devids.len(), 1);
        cluster.pause_replication(false);
        assert!(cluster.wait_devcount("imgs", "k", 2, WAIT).await);
        for devid in [1, 2] {
            cluster.set_device_state(devid, DeviceState::ReadOnly);
        }
        let mut t = tracker(&cluster).await;
        let refused = t
            .raw("create_open domain=imgs&key=x&multi_dest=1")
            .await
            .unwrap();
        assert!(refused.starts_with("ERR no_devices"), "{refused}");
        let urls = t.call(&paths("k", true)).await.unwrap().unwrap();
        assert_eq!(urls.len(), 2, "read-only devices are still read");
    })
    .await;
}

#[tokio::test]
async fn trackers_share_metadata_and_restart_on_their_port() {
    bounded(async {
        let cluster = MogCluster::builder()
            .trackers(2)
            .domain("imgs")
            .build()
            .await
            .unwrap();
        let [a, b] = cluster.tracker_addrs()[..] else {
            panic!()
        };
        cluster
            .store("imgs", "k", b"shared".to_vec())
            .await
            .unwrap();
        let mut second = TrackerClient::connect(b).await.unwrap();
        assert!(second
            .raw("file_info domain=imgs&key=k")
            .await
            .unwrap()
            .starts_with("OK "));
        cluster.stop_tracker(0).await;
        assert!(TcpStream::connect(a).await.is_err());
        cluster.start_tracker(0).await.unwrap();
        let mut first = TrackerClient::connect(a).await.unwrap();
        assert_eq!(first.raw("noop").await.unwrap(), "OK ");
        let created = first.raw("create_domain domain=more").await.unwrap();
        assert_eq!(created, "OK domain=more");
        let class = second
            .raw("create_class domain=more&class=c&mindevcount=3")
            .await
            .unwrap();
        assert!(class.starts_with("OK "), "{class}");
        let domains = second.raw("get_domains").await.unwrap();
        assert!(domains.contains("domains=2"), "{domains}");
    })
    .await;
}

#[tokio::test]
async fn connections_follow_the_line_protocol() {
    bounded(async {
        let cluster = cluster().await;
        let stream = TcpStream::connect(cluster.tracker_addrs()[0]).await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let pipelined = "noop\r\n\r\nNOOP callid=7\nfrobnicate a=1\r\nget_paths domain=imgs&key=x&callid=abc\r\n!version\r\n";
        write.write_all(pipelined.as_bytes()).await.unwrap();
        let mut got = Vec::new();
        for _ in 0..6 {
            got.push(lines.next_line().await.unwrap().unwrap());
        }
        assert_eq!(
            got,
            [
                "OK ",
                "OK callid=7",
                "ERR unknown_command Unknown+server+command",
                "ERR unknown_key unknown_key abc",
                "devcluster tracker: no admin commands here",
                ".",
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn dropping_the_cluster_closes_every_port() {
    bounded(async {
        let cluster = cluster().await;
        let mut addrs = cluster.tracker_addrs();
        addrs.extend(cluster.node_addrs());
        let dir = cluster.data_dir().to_owned();
        drop(cluster);
        tokio::time::sleep(Duration::from_millis(100)).await;
        for addr in addrs {
            assert!(TcpStream::connect(addr).await.is_err(), "{addr} still open");
        }
        assert!(!dir.exists(), "the temporary data directory is removed");
    })
    .await;
}
