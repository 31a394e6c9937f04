//! A mogstored-like HTTP storage node.
//!
//! Serves a root directory whose first level is one directory per device:
//!
//! ```text
//! <root>/dev1/0/000/000/0000000001.fid   <->   http://127.0.0.1:<port>/dev1/0/000/000/0000000001.fid
//! ```
//!
//! Like Perlbal's web server in mogstored: GET/HEAD with single byte ranges
//! (206/416; multi-range gets the whole file), `Last-Modified`,
//! `Accept-Ranges: bytes`; PUT (Content-Length, chunked, or neither = empty
//! file) streamed to a temporary file beside the target and renamed into place,
//! checking `Content-MD5` when sent; DELETE 204/404; MKCOL 400; `..` in a path
//! 400; a PUT outside this node's devices 404; `/devN/usage` generated like
//! mogstored's disk-usage file.
//!
//! Two ways of speaking HTTP ([`NodeMode`]): `Http11`, served by hyper, and
//! `Perlbal`, mogstored's HTTP/1.0 keep-alive server with its quirks (see
//! [`perlbal`]), the default of the MogileFS dev cluster.
//!
//! The handle is cheap to clone and carries the test controls: injected faults
//! (builder style, see [`StorageNode::fail_next`]), counters
//! ([`StorageNode::stats`]), and [`StorageNode::stop`] / [`StorageNode::start`]
//! on the same port. Dropping the last handle stops the node.

mod faults;
mod get;
mod perlbal;
mod put;
pub mod range;
mod routes;

pub use faults::{NodeStats, TRACKER_USER_AGENT};

use crate::mogilefs::service::{Handler, Service};
use faults::{Counters, Faults};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How a storage node speaks HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeMode {
    /// HTTP/1.1 by hyper; PUTs land whole or not at all; suffix ranges right.
    #[default]
    Http11,
    /// Like mogstored's Perlbal 1.80: HTTP/1.0 replies with keep-alive, a
    /// PUT without length or exact `chunked` stores an empty file, chunked
    /// quirks, PUTs written in place, `bytes=-N` served as `0-N`.
    Perlbal,
}

/// Everything a request handler needs; shared by the handle and its connections.
pub(crate) struct NodeState {
    mode: NodeMode,
    root: PathBuf,
    devids: Vec<u64>,
    faults: Faults,
    counters: Counters,
    suffix_bug: AtomicBool,
}

impl NodeState {
    fn has_device(&self, devid: u64) -> bool {
        self.devids.contains(&devid)
    }
}

/// A running storage node (see the module docs).
#[derive(Clone)]
pub struct StorageNode {
    state: Arc<NodeState>,
    service: Arc<Service>,
}

impl std::fmt::Debug for StorageNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageNode")
            .field("addr", &self.addr())
            .field("root", &self.state.root)
            .field("devids", &self.state.devids)
            .finish()
    }
}

/// A file found on a node's disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// URL path, e.g. `/dev1/0/000/000/0000000001.fid`.
    pub path: String,
    /// Size in bytes.
    pub len: u64,
}

impl StoredFile {
    /// True for the temporary file of a PUT still in progress (or of one that
    /// was cut off and not cleaned up, which would be a bug).
    pub fn is_partial(&self) -> bool {
        self.path.ends_with(put::PARTIAL_SUFFIX)
    }
}

impl StorageNode {
    /// Creates `<root>/devN` for each device and serves `root` on a free
    /// 127.0.0.1 port.
    pub async fn bind(root: impl Into<PathBuf>, devids: &[u64]) -> io::Result<StorageNode> {
        Self::bind_with(root, devids, NodeMode::Http11).await
    }

    /// As [`StorageNode::bind`], speaking HTTP the `mode` way.
    pub async fn bind_with(
        root: impl Into<PathBuf>,
        devids: &[u64],
        mode: NodeMode,
    ) -> io::Result<StorageNode> {
        let root = root.into();
        for devid in devids {
            tokio::fs::create_dir_all(root.join(format!("dev{devid}"))).await?;
        }
        let state = Arc::new(NodeState {
            mode,
            root,
            devids: devids.to_vec(),
            faults: Faults::default(),
            counters: Counters::default(),
            suffix_bug: AtomicBool::new(mode == NodeMode::Perlbal),
        });
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let handler = match mode {
            NodeMode::Http11 => handler(state.clone()),
            NodeMode::Perlbal => perlbal::handler(state.clone()),
        };
        let service = Service::bind(addr, handler)?;
        Ok(StorageNode {
            state,
            service: Arc::new(service),
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.service.addr()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The directory served.
    pub fn root(&self) -> &Path {
        &self.state.root
    }

    /// How the node speaks HTTP.
    pub fn mode(&self) -> NodeMode {
        self.state.mode
    }

    /// The devices this node holds.
    pub fn devids(&self) -> &[u64] {
        &self.state.devids
    }

    /// The next `n` client requests are answered with `status` (and no body).
    pub fn fail_next(&self, n: u32, status: u16) -> &Self {
        self.state.faults.fail_next(n, status);
        self
    }

    /// Every client request waits `delay` before its response head.
    pub fn latency(&self, delay: Duration) -> &Self {
        self.state.faults.latency(delay);
        self
    }

    /// Client GET bodies go out `bytes_per_chunk` at a time, `interval` apart.
    pub fn trickle(&self, bytes_per_chunk: usize, interval: Duration) -> &Self {
        self.state.faults.trickle(bytes_per_chunk, interval);
        self
    }

    /// Client GET bodies longer than `after_bytes` are cut off there by
    /// aborting the connection (the client sees a truncated body). In Perlbal
    /// mode client PUTs too: the node keeps the first `after_bytes` in the
    /// file and resets the connection instead of replying.
    pub fn reset_mid_body(&self, after_bytes: u64) -> &Self {
        self.state.faults.reset_mid_body(after_bytes);
        self
    }

    /// Whether faults also hit the tracker's own requests (size checks,
    /// replication copies, deletes); off by default.
    pub fn fault_tracker_traffic(&self, yes: bool) -> &Self {
        self.state.faults.include_tracker(yes);
        self
    }

    /// Serve `Range: bytes=-N` as `bytes=0-N` like Perlbal does; off by
    /// default, on in Perlbal mode.
    pub fn suffix_range_bug(&self, yes: bool) -> &Self {
        self.state.suffix_bug.store(yes, Ordering::Relaxed);
        self
    }

    /// Removes every injected fault.
    pub fn clear(&self) -> &Self {
        self.state.faults.clear();
        self
    }

    /// Request counters so far.
    pub fn stats(&self) -> NodeStats {
        self.state.counters.snapshot()
    }

    /// Sets every counter back to zero.
    pub fn reset_stats(&self) {
        self.state.counters.reset();
    }

    /// Closes the port (connections are refused) and aborts in-flight
    /// connections. Files stay.
    pub async fn stop(&self) {
        self.service.stop().await;
    }

    /// Listens again on the same port.
    pub async fn start(&self) -> io::Result<()> {
        self.service.start()
    }

    /// True while the node accepts connections.
    pub fn is_running(&self) -> bool {
        self.service.is_running()
    }

    /// Every regular file under the root, temporary PUT files included.
    pub fn files(&self) -> io::Result<Vec<StoredFile>> {
        stored_files(&self.state.root)
    }
}

/// Every regular file under a storage root, by URL path.
pub(crate) fn stored_files(root: &Path) -> io::Result<Vec<StoredFile>> {
    let mut found = Vec::new();
    walk(root, "", &mut found)?;
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

fn walk(dir: &Path, prefix: &str, found: &mut Vec<StoredFile>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        let meta = entry.metadata()?;
        if meta.is_dir() {
            walk(&entry.path(), &path, found)?;
        } else if meta.is_file() {
            found.push(StoredFile {
                path,
                len: meta.len(),
            });
        }
    }
    Ok(())
}

/// Serves HTTP/1 connections with the node's router.
fn handler(state: Arc<NodeState>) -> Handler {
    let app = routes::app(state);
    Arc::new(move |stream| {
        let service = TowerToHyperService::new(app.clone());
        Box::pin(async move {
            // Errors here are clients going away or injected resets.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        })
    })
}
