//! The storage layer: one protocol-neutral [`Store`] interface saying what
//! "what is this object", "read it", "write it" and "delete it" mean, with
//! look-ups, look-up caches, replica order and failover behind it.
//!
//! # Why a trait object
//!
//! [`Store`] is a trait used as `Arc<dyn Store>` rather than an enum of the
//! protocols: a decorator (a hot-object cache, a body transform) wraps any
//! store, chosen per location at start-up, and neither the read pipeline nor
//! the protocols change for it; a third protocol is one more `impl Store`.
//! The methods return boxed futures ([`StoreFuture`]) so that the trait is
//! object safe; one allocation per call is nothing next to a network round
//! trip.
//!
//! # Modules
//! - [`error`]: [`StorageError`], the one error every store fails with.
//! - [`cached`]: the hot-object cache in front of any store.
//! - [`body`]: byte streams — a window over a storage response, an upload
//!   body that can be handed to a second destination if the first never read
//!   it, and a body from bytes in memory.
//! - [`mogilefs`]: keys in a MogileFS domain, over HTTP storage nodes.
//! - [`fastdfs`]: FastDFS file IDs, from local disk or storage servers.
//! - [`spool`]: upload bodies of unknown length, read to their end (memory,
//!   then a temporary file) so that both back ends get their exact size.
//! - [`local`]: files on this machine's disk, read off the async threads.

pub mod body;
pub mod cached;
pub mod error;
pub mod fastdfs;
pub mod local;
pub mod mogilefs;
pub mod spool;

use crate::web::conditional::Validators;
use crate::web::range::{ByteRange, RangeSpec};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

pub use body::ByteStream;
pub use error::StorageError;

/// What every store operation returns.
pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, StorageError>>;

/// An object store: one protocol upstream seen from one location (its
/// MogileFS domain, its FastDFS group and disk paths are the store's own).
///
/// Keys are strings the location's URL parser produced (a MogileFS key, a
/// FastDFS file ID); a store checks them again, as any input.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// What `key` is and where it lives. With [`Need::Location`] a store may
    /// leave `size` and the validators unknown when learning them costs a
    /// round trip to a storage node (MogileFS); with [`Need::Validators`]
    /// it must know them, without opening a body.
    fn meta<'a>(&'a self, key: &'a str, need: Need) -> StoreFuture<'a, Meta>;

    /// Opens `key` as `meta` (from [`Store::meta`]) describes it, for
    /// `read`. Failover happens here, before the first body byte; after it a
    /// failure breaks the body stream (an error item), never ends it short.
    fn open<'a>(&'a self, key: &'a str, meta: &'a Meta, read: Read) -> StoreFuture<'a, Object>;

    /// Stores `body` as `target`; answers only once the bytes received,
    /// stored and committed are one number.
    fn write<'a>(
        &'a self,
        target: WriteTarget<'a>,
        body: ByteStream,
        limits: WriteLimits,
    ) -> StoreFuture<'a, Stored>;

    /// Deletes `key`; returns who did it.
    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Source>;

    /// Keeps `bytes` beside `variant.source` as the variant the store names
    /// after it (a thumbnail), so that every gateway finds it: a FastDFS
    /// slave file. Stores without such names refuse.
    fn write_variant<'a>(&'a self, variant: Variant<'a>, _bytes: Bytes) -> StoreFuture<'a, Stored> {
        Box::pin(async move {
            Err(StorageError::Refused {
                detail: format!("{}: this store keeps no variants", variant.source),
                public: "variants are not stored here".into(),
            })
        })
    }
}

/// A variant of a stored object, named after it.
#[derive(Debug, Clone, Copy)]
pub struct Variant<'a> {
    /// The object it is made from.
    pub source: &'a str,
    /// What its name adds to the source's, before the extension
    /// (`_150x150`).
    pub suffix: &'a str,
    /// Its extension, no dot.
    pub extension: &'a str,
}

/// A store shared by the locations that use it.
pub type SharedStore = Arc<dyn Store>;

/// How much [`Store::meta`] must find out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Where the object lives (and whatever else is free to know).
    Location,
    /// Also its size and validators: the request is conditional.
    Validators,
}

/// What is known of an object before its body is opened.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The name its Content-Type is derived from (key or file name).
    pub type_name: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Entity tag and modification time, when known.
    pub validators: Validators,
    /// A stable identity of these exact bytes, for caches; `None` when not
    /// known yet.
    pub identity: Option<Identity>,
    /// Where the bytes are: storage URLs or addresses, in the order they
    /// will be tried (empty when the store picks at open time).
    pub replicas: Vec<String>,
    /// Which tracker or node answered the look-up.
    pub source: Source,
    /// Whether the look-up came from the look-up cache (a stale entry is
    /// dropped and asked again when its replicas fail).
    pub from_cache: bool,
    /// A storage node or server has confirmed the object exists.
    pub confirmed: bool,
}

/// An identity for the exact bytes of an object: equal identities mean
/// equal bytes (MogileFS `(fid, size)`, FastDFS `(file ID, size)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The upstream it belongs to.
    pub upstream: Arc<str>,
    /// The protocol's own name for the bytes (a fid, a file ID).
    pub id: String,
    /// Their size.
    pub size: u64,
}

/// What an [`Store::open`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Read {
    /// Byte range wanted, if any (already checked against `If-Range`).
    pub range: Option<RangeSpec>,
    /// Metadata only (HEAD, or confirming existence for a 304).
    pub head: bool,
}

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

impl Served {
    /// What `range` selects of an object of `size` bytes.
    pub fn of(range: Option<RangeSpec>, size: u64) -> Served {
        match range.map(|r| r.resolve(size)) {
            None => Served::Full,
            Some(Some(r)) => Served::Range(r),
            Some(None) => Served::Unsatisfiable,
        }
    }
}

/// An object being read: metadata, and the body unless this was a HEAD.
pub struct Object {
    /// Size of the whole object in bytes.
    pub size: u64,
    /// Modification time reported by the storage.
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

impl Object {
    /// Its validators.
    pub fn validators(&self) -> Validators {
        Validators {
            etag: self.etag.clone(),
            last_modified: self.last_modified,
        }
    }
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
    /// Whether an object cache answered (`None`: no cache was asked).
    pub cache: Option<CacheStatus>,
}

/// Whether an object cache answered: set by whoever serves from (or
/// fills) a cache, by inserting it into the response's extensions; logged as
/// `cache=hit`, `cache=miss`..., `cache=-` when nobody set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Served from the cache.
    Hit,
    /// Not in the cache: fetched from storage (and perhaps kept).
    Miss,
    /// In the cache but too old: fetched again.
    Expired,
    /// The cache was not consulted (a range, a method it does not keep...).
    Bypass,
}

impl CacheStatus {
    /// Its name in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Expired => "expired",
            CacheStatus::Bypass => "bypass",
        }
    }
}

/// What a write creates.
#[derive(Debug, Clone, Copy)]
pub struct WriteTarget<'a> {
    /// The key to store under, or `None` when the store names the object
    /// (FastDFS).
    pub key: Option<&'a str>,
    /// Extension for a store-named object (no dot; may be empty).
    pub extension: &'a str,
    /// The body's length, when the client declared one (else it is spooled
    /// to learn it).
    pub length: Option<u64>,
}

/// Limits on a write.
#[derive(Debug, Clone, Copy)]
pub struct WriteLimits {
    /// Largest body accepted.
    pub max_size: u64,
}

/// A stored object.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its key (the one given, or the one the store named).
    pub key: String,
    /// Bytes stored.
    pub size: u64,
    /// Its strong entity tag, when the store knows it at once.
    pub etag: Option<String>,
    /// The protocol's numeric id of the stored bytes, when it has one
    /// (MogileFS: the fid).
    pub fid: Option<u64>,
    /// Tracker and node involved.
    pub source: Source,
}
