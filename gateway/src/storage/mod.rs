//! The storage facade: what "read a key", "write a key" and "delete a key" mean,
//! with tracker look-ups and replica failover, independent of the HTTP front.
//!
//! - [`body`]: byte streams — a window over a storage response, and an upload
//!   body that can be handed to a second destination if the first never read it.
//! - [`node`]: HTTP to storage nodes (mogstored, nginx WebDAV, devcluster).
//! - [`mogilefs`]: keys in a MogileFS domain.
//! - [`fastdfs`]: FastDFS file IDs, from local disk or storage servers.
//! - [`spool`]: upload bodies of unknown length, read to their end (memory,
//!   then a temporary file) so that both back ends get their exact size.
//! - [`local`]: files on this machine's disk, read off the async threads.

pub mod body;
pub mod fastdfs;
pub mod local;
pub mod mogilefs;
pub mod node;
pub mod spool;

use crate::web::range::ByteRange;
use std::net::SocketAddr;
use std::time::SystemTime;

pub use body::ByteStream;

/// What part of an object a read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// The whole object.
    Full,
    /// One byte range of it.
    Range(ByteRange),
    /// The requested range lies outside the object (answer 416).
    Unsatisfiable,
}

/// An object being read: metadata, and the body unless this was a HEAD.
pub struct Object {
    /// Size of the whole object in bytes.
    pub size: u64,
    /// Modification time reported by the storage node.
    pub last_modified: Option<SystemTime>,
    /// Strong entity tag, stable across replicas.
    pub etag: Option<String>,
    /// What `body` holds.
    pub served: Served,
    /// The bytes (exactly the served length), or `None` for HEAD and 416.
    pub body: Option<ByteStream>,
    /// Where the bytes come from, for the request log.
    pub source: Source,
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("size", &self.size)
            .field("served", &self.served)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Which tracker and storage node served a request, for the request log.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// Tracker that answered the look-up.
    pub tracker: Option<SocketAddr>,
    /// Storage node URL or address that moved the bytes.
    pub node: Option<String>,
}
