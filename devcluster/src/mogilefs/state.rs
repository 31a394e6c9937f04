//! What all trackers of one cluster share: the metadata (the database behind
//! real trackers), the HTTP client for storage nodes, and the queues of the
//! background workers.

use super::http::NodeClient;
use super::meta::Meta;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// Shared state of a cluster's trackers and workers.
pub(crate) struct Shared {
    meta: Mutex<Meta>,
    /// Client for size checks, copies, deletes and probes.
    pub http: NodeClient,
    replicate: UnboundedSender<u64>,
    delete: UnboundedSender<String>,
    replication_paused: AtomicBool,
}

/// The receiving ends of the work queues, for the workers.
pub(crate) struct Queues {
    /// Fids that may need more copies.
    pub replicate: UnboundedReceiver<u64>,
    /// File URLs to DELETE.
    pub delete: UnboundedReceiver<String>,
}

impl Shared {
    /// `meta` and fresh queues; `inside` routes the registered addresses
    /// of nodes that advertise one to where they listen.
    pub fn new(meta: Meta, inside: Vec<(SocketAddr, SocketAddr)>) -> (Arc<Shared>, Queues) {
        let (replicate, replicate_rx) = unbounded_channel();
        let (delete, delete_rx) = unbounded_channel();
        let shared = Shared {
            meta: Mutex::new(meta),
            http: NodeClient::new(inside),
            replicate,
            delete,
            replication_paused: AtomicBool::new(false),
        };
        let queues = Queues {
            replicate: replicate_rx,
            delete: delete_rx,
        };
        (Arc::new(shared), queues)
    }

    /// Locks the metadata. Never hold the guard across an `.await`.
    pub fn meta(&self) -> MutexGuard<'_, Meta> {
        self.meta.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `fid` for the replicator.
    pub fn replicate(&self, fid: u64) {
        // A closed queue means the cluster is shutting down: nothing to do.
        let _ = self.replicate.send(fid);
    }

    /// Holds replication back (`true`) or lets it go on.
    pub fn pause_replication(&self, paused: bool) {
        self.replication_paused.store(paused, Ordering::Relaxed);
    }

    /// True while replication is held back.
    pub fn replication_paused(&self) -> bool {
        self.replication_paused.load(Ordering::Relaxed)
    }

    /// Queues the deletion of file copies from their storage nodes.
    pub fn delete_later(&self, urls: impl IntoIterator<Item = String>) {
        for url in urls {
            let _ = self.delete.send(url);
        }
    }
}
