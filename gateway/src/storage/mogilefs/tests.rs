//! The MogileFS store over a fake tracker (scripted `get_paths`, `delete`,
//! `create_open`, `create_close`, each call counted) and devcluster storage
//! nodes:
//! - replicas are tried in the tracker's order; a failing one is skipped and
//!   then tried last while it is marked bad;
//! - the look-up cache answers repeated reads, and is dropped by a DELETE
//!   and by a PUT of the key, and when every cached path fails;
//! - a look-up whose fid was replaced right after (every path 404), cached
//!   or not, is asked once more at the tracker and the new fid is read;
//!   paths gone for good are asked once more, not in a loop;
//! - `Need::Validators` costs a HEAD, never a GET, and gives the
//!   `"<fid>-<size>"` tag and identity; a HEAD open after it costs nothing;
//! - error mapping: unknown key, every replica failing, no tracker;
//! - each worker reads over connections of its own.

use super::node::NodeClient;
use super::{MogStore, MogUpstream, Namespace};
use crate::clients::mogilefs::{MogClient, TrackerTimeouts};
use crate::clients::{HealthPolicy, PoolLimits, TrackerSet};
use crate::storage::{Need, Read, StorageError, Store, WriteLimits, WriteTarget};
use devcluster::storage_node::StorageNode;
use dfs_protocol::mogilefs::cmd::{CreateOpen, Destination, GetPaths, OpenFile};
use dfs_protocol::mogilefs::{Args, Command, Reply, Request};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the fake tracker knows and how often it was asked.
#[derive(Default)]
struct Script {
    paths: HashMap<String, Vec<String>>,
    /// Paths a key takes right after its next `get_paths` is answered: an
    /// overwrite landing between a look-up and the read of its paths.
    then: HashMap<String, Vec<String>>,
    /// Where `create_open` sends new files: a node's base URL.
    dest_base: String,
    next_fid: u64,
    calls: HashMap<String, usize>,
}

#[derive(Clone)]
struct FakeTracker {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl FakeTracker {
    async fn start() -> FakeTracker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(Script {
            next_fid: 100,
            ..Script::default()
        }));
        let shared = script.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let script = shared.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let reply = answer(&script, &line).encode();
                        if write.write_all(reply.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        FakeTracker { addr, script }
    }

    fn set_paths(&self, key: &str, paths: Vec<String>) {
        self.script.lock().unwrap().paths.insert(key.into(), paths);
    }

    /// `key` answers `now`, then `next` from the following call on.
    fn overwrite_after_next(&self, key: &str, now: Vec<String>, next: Vec<String>) {
        let mut script = self.script.lock().unwrap();
        script.paths.insert(key.into(), now);
        script.then.insert(key.into(), next);
    }

    fn calls(&self, command: &str) -> usize {
        let script = self.script.lock().unwrap();
        script.calls.get(command).copied().unwrap_or(0)
    }
}

fn answer(script: &Mutex<Script>, line: &str) -> Reply {
    let request = Request::parse(line).unwrap();
    let mut s = script.lock().unwrap();
    *s.calls.entry(request.command.clone()).or_default() += 1;
    let key = request.args.get("key").unwrap_or_default().to_owned();
    match request.command.as_str() {
        "get_paths" => {
            let reply = match s.paths.get(&key) {
                Some(paths) => Reply::Ok(GetPaths::reply_args(paths)),
                None => Reply::error("unknown_key"),
            };
            if let Some(next) = s.then.remove(&key) {
                s.paths.insert(key, next);
            }
            reply
        }
        "delete" => match s.paths.remove(&key) {
            Some(_) => Reply::Ok(Args::new()),
            None => Reply::error("unknown_key"),
        },
        "create_open" => {
            s.next_fid += 1;
            let fid = s.next_fid;
            let path = format!("{}/dev1/0/000/000/{fid:010}.fid", s.dest_base);
            let open = OpenFile {
                fid,
                destinations: vec![Destination { devid: 1, path }],
                multi_dest: true,
            };
            Reply::Ok(CreateOpen::reply_args(&open))
        }
        "create_close" => {
            let path = request.args.get("path").unwrap_or_default().to_owned();
            s.paths.insert(key, vec![path]);
            Reply::Ok(Args::new())
        }
        _ => Reply::Ok(Args::new()),
    }
}

struct Env {
    tracker: FakeTracker,
    nodes: Vec<StorageNode>,
    store: MogStore,
    _dir: tempfile::TempDir,
}

/// A store over a fake tracker and `n` nodes, caching paths for `ttl`.
async fn env(n: usize, ttl: Duration) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = Vec::new();
    for i in 0..n {
        nodes.push(
            StorageNode::bind(dir.path().join(format!("n{i}")), &[1])
                .await
                .unwrap(),
        );
    }
    let tracker = FakeTracker::start().await;
    tracker.script.lock().unwrap().dest_base = nodes[0].base_url();
    let store = store_over(&[tracker.addr], ttl);
    Env {
        tracker,
        nodes,
        store,
        _dir: dir,
    }
}

fn store_over(trackers: &[SocketAddr], ttl: Duration) -> MogStore {
    let second = Duration::from_secs(1);
    let set = Arc::new(TrackerSet::new(trackers.to_vec(), Duration::from_secs(30)));
    let timeouts = TrackerTimeouts {
        connect: second,
        reply: second,
    };
    let client = Arc::new(MogClient::new(set, PoolLimits::new(2), timeouts));
    let nodes = NodeClient::new(
        second,
        second,
        HealthPolicy::new(Duration::from_secs(30)),
        (1, || 0),
    );
    let up = MogUpstream::new("mog", client, nodes, ttl, 100);
    let ns = Namespace {
        domain: "d".into(),
        ..Namespace::default()
    };
    MogStore::new(Arc::new(up), ns)
}

impl Env {
    /// Puts `data` as fid `fid` on the given nodes; returns its paths there.
    fn place(&self, fid: u64, data: &[u8], on: &[usize]) -> Vec<String> {
        let rel = format!("dev1/0/000/000/{fid:010}.fid");
        on.iter()
            .map(|&i| {
                let file = self.nodes[i].root().join(&rel);
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, data).unwrap();
                format!("{}/{rel}", self.nodes[i].base_url())
            })
            .collect()
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let meta = self.store.meta(key, Need::Location).await?;
        let object = self.store.open(key, &meta, Read::default()).await?;
        let mut body = object.body.expect("a GET has a body");
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        Ok(out)
    }

    fn gets(&self, i: usize) -> u64 {
        self.nodes[i].stats().get
    }
}

#[tokio::test]
async fn replicas_are_tried_in_order_and_a_failed_one_goes_last() {
    let env = env(2, Duration::ZERO).await;
    let paths = env.place(7, b"seven", &[0, 1]);
    env.tracker.set_paths("k", paths);
    assert_eq!(env.read("k").await.unwrap(), b"seven");
    assert_eq!((env.gets(0), env.gets(1)), (1, 0), "the first path first");

    env.nodes[0].fail_next(1, 500);
    assert_eq!(env.read("k").await.unwrap(), b"seven");
    assert_eq!((env.gets(0), env.gets(1)), (2, 1), "on to the second");
    // The failed node is now tried last.
    assert_eq!(env.read("k").await.unwrap(), b"seven");
    assert_eq!((env.gets(0), env.gets(1)), (2, 2));
}

#[tokio::test]
async fn the_lookup_cache_is_dropped_by_delete_put_and_failed_paths() {
    let env = env(2, Duration::from_secs(60)).await;
    let old = env.place(7, b"old", &[1]);
    env.tracker.set_paths("k", old);
    for _ in 0..3 {
        assert_eq!(env.read("k").await.unwrap(), b"old");
    }
    assert_eq!(
        env.tracker.calls("get_paths"),
        1,
        "two reads from the cache"
    );

    // Written through the store: the next read asks the tracker.
    let body = crate::storage::body::from_bytes(bytes::Bytes::from_static(b"new!"));
    let target = WriteTarget {
        key: Some("k"),
        extension: "",
        length: Some(4),
    };
    let stored = env
        .store
        .write(target, body, WriteLimits { max_size: 100 })
        .await
        .unwrap();
    assert_eq!(stored.size, 4);
    assert_eq!(stored.etag.as_deref(), Some("\"101-4\""));
    assert_eq!(env.read("k").await.unwrap(), b"new!");
    assert_eq!(env.tracker.calls("get_paths"), 2);

    // Deleted through the store: gone at once, not served from the cache.
    env.store.delete("k").await.unwrap();
    let e = env.read("k").await.unwrap_err();
    assert!(matches!(e, StorageError::NotFound { .. }), "{e}");
    assert_eq!(env.tracker.calls("get_paths"), 3);

    // Changed elsewhere: the cached paths fail, the tracker is asked again.
    let moved = env.place(9, b"moved", &[1]);
    env.tracker.set_paths("m", env.place(8, b"gone", &[0]));
    assert_eq!(env.read("m").await.unwrap(), b"gone");
    std::fs::remove_dir_all(env.nodes[0].root().join("dev1/0")).unwrap();
    env.tracker.set_paths("m", moved);
    assert_eq!(env.read("m").await.unwrap(), b"moved");
    assert_eq!(env.tracker.calls("get_paths"), 5);
}

#[tokio::test]
async fn a_fid_replaced_after_its_look_up_is_looked_up_again() {
    // The tracker names fid 20 and the key is overwritten right after:
    // fid 20's files are gone from both nodes, fid 21 holds the new bytes.
    for ttl in [Duration::ZERO, Duration::from_secs(60)] {
        let env = env(2, ttl).await;
        let old = env.place(20, b"old", &[0, 1]);
        for node in &env.nodes {
            std::fs::remove_file(node.root().join("dev1/0/000/000/0000000020.fid")).unwrap();
        }
        let new = env.place(21, b"new bytes", &[1]);
        env.tracker.overwrite_after_next("k", old, new);
        let read = env.read("k").await;
        assert_eq!(read.unwrap(), b"new bytes", "ttl {ttl:?}");
        assert_eq!(env.tracker.calls("get_paths"), 2, "ttl {ttl:?}");
        // The look-up cache, when on, now names the new fid.
        assert_eq!(env.read("k").await.unwrap(), b"new bytes");
        let expected = if ttl.is_zero() { 3 } else { 2 };
        assert_eq!(env.tracker.calls("get_paths"), expected, "ttl {ttl:?}");
    }
}

#[tokio::test]
async fn a_key_whose_every_path_is_gone_is_asked_once_more_then_fails() {
    let env = env(2, Duration::ZERO).await;
    let paths = env.place(30, b"x", &[0, 1]);
    std::fs::remove_dir_all(env.nodes[0].root().join("dev1")).unwrap();
    std::fs::remove_dir_all(env.nodes[1].root().join("dev1")).unwrap();
    env.tracker.set_paths("gone", paths);
    let e = env.read("gone").await.unwrap_err();
    assert!(matches!(e, StorageError::Unavailable { .. }), "{e}");
    assert_eq!(
        env.tracker.calls("get_paths"),
        2,
        "one more look-up, no loop"
    );
}

#[tokio::test]
async fn validators_cost_a_head_and_no_get() {
    let env = env(1, Duration::ZERO).await;
    let paths = env.place(42, &[7u8; 1000], &[0]);
    env.tracker.set_paths("v.png", paths);
    let meta = env.store.meta("v.png", Need::Validators).await.unwrap();
    assert_eq!(meta.size, Some(1000));
    assert_eq!(meta.validators.etag.as_deref(), Some("\"42-1000\""));
    assert!(meta.validators.last_modified.is_some());
    let identity = meta.identity.clone().unwrap();
    assert_eq!((identity.id.as_str(), identity.size), ("42", 1000));
    let head = Read {
        range: None,
        head: true,
    };
    let object = env.store.open("v.png", &meta, head).await.unwrap();
    assert!(object.body.is_none());
    assert_eq!(object.etag.as_deref(), Some("\"42-1000\""));
    let stats = env.nodes[0].stats();
    assert_eq!((stats.head, stats.get), (1, 0));

    // Without validators asked for, a read is one GET and the same tag.
    let meta = env.store.meta("v.png", Need::Location).await.unwrap();
    assert_eq!(meta.size, None);
    let object = env
        .store
        .open("v.png", &meta, Read::default())
        .await
        .unwrap();
    assert_eq!(object.etag.as_deref(), Some("\"42-1000\""));
    let stats = env.nodes[0].stats();
    assert_eq!((stats.head, stats.get), (1, 1));
}

#[tokio::test]
async fn failures_map_to_storage_errors() {
    let env = env(2, Duration::ZERO).await;
    let e = env.read("nope").await.unwrap_err();
    assert!(matches!(e, StorageError::NotFound { .. }), "{e}");

    env.tracker.set_paths("k", env.place(5, b"x", &[0, 1]));
    env.nodes[0].fail_next(1, 500);
    env.nodes[1].fail_next(1, 503);
    let e = env.read("k").await.unwrap_err();
    assert!(matches!(e, StorageError::Unavailable { .. }), "{e}");
    assert!(
        e.to_string().contains("status 500"),
        "names what was tried: {e}"
    );

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let e = store_over(&[addr], Duration::ZERO)
        .meta("k", Need::Location)
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::NoTracker { .. }), "{e}");
}

/// The worker [`worker_pick`] names, as the server's worker index would.
static WORKER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn worker_pick() -> usize {
    WORKER.load(std::sync::atomic::Ordering::Relaxed)
}

#[tokio::test]
async fn each_worker_reads_over_connections_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let node = StorageNode::bind(dir.path(), &[1]).await.unwrap();
    let rel = "dev1/0/000/000/0000000001.fid";
    let file = node.root().join(rel);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"one").unwrap();
    let url = format!("{}/{rel}", node.base_url());
    let host = super::node::node_of(&url).to_owned();
    let second = Duration::from_secs(1);
    let policy = HealthPolicy::new(Duration::from_secs(30));
    let nodes = NodeClient::new(second, second, policy, (2, worker_pick));
    let read = |worker: usize| {
        WORKER.store(worker, std::sync::atomic::Ordering::Relaxed);
        let (nodes, url) = (nodes.clone(), url.clone());
        async move {
            let object = nodes.open(&url, None, false).await.unwrap();
            let mut body = object.body.expect("a GET has a body");
            let mut out = Vec::new();
            while let Some(chunk) = body.next().await {
                out.extend_from_slice(&chunk.unwrap());
            }
            out
        }
    };
    assert_eq!(read(0).await, b"one");
    assert_eq!(
        (nodes.idle_reads(0, &host), nodes.idle_reads(1, &host)),
        (1, 0)
    );
    // Worker 1 opens its own connection rather than taking worker 0's.
    assert_eq!(read(1).await, b"one");
    assert_eq!(
        (nodes.idle_reads(0, &host), nodes.idle_reads(1, &host)),
        (1, 1)
    );
    assert_eq!(read(0).await, b"one");
    assert_eq!(
        (nodes.idle_reads(0, &host), nodes.idle_reads(1, &host)),
        (1, 1)
    );
}
