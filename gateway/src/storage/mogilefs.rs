//! Keys in a MogileFS domain: read with replica failover, write through
//! `create_open` → PUT → `create_close`, delete.

use super::body::{BodyFault, ByteStream, UploadBody};
use super::node::{node_of, NodeClient, NodeError};
use super::spool::{spool, SpoolError};
use super::{Object, Source};
use crate::clients::mogilefs::{MogClient, MogError};
use crate::web::range::RangeSpec;
use dfs_protocol::mogilefs::cmd::{
    CreateClose, CreateOpen, Delete, Destination, FileInfo, GetPaths,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Why a storage operation failed; the HTTP edge maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tracker does not know the key.
    #[error("unknown key")]
    NotFound,
    /// The tracker failed or refused.
    #[error(transparent)]
    Tracker(#[from] MogError),
    /// The tracker knows the key but no replica could be read.
    #[error("no replica could be read: {tried}")]
    NoReplica {
        /// Each path tried and how it failed.
        tried: String,
        /// Every failure was a time-out.
        timed_out: bool,
    },
    /// No destination accepted the upload.
    #[error("no storage node accepted the upload: {tried}")]
    UploadFailed {
        /// Each destination tried and how it failed.
        tried: String,
        /// Every failure was a time-out.
        timed_out: bool,
    },
    /// The body exceeded the size limit.
    #[error("upload body exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The client's body failed mid-way (disconnect, bad encoding).
    #[error("the upload body was cut off by the client")]
    ClientBody,
}

/// A key read or written, and who did the work.
#[derive(Debug)]
pub struct Written {
    /// The file id the tracker assigned.
    pub fid: u64,
    /// Bytes stored.
    pub size: u64,
    /// Tracker and node involved.
    pub source: Source,
}

/// Paths of a key, as a tracker gave them.
#[derive(Debug, Clone)]
struct Lookup {
    paths: Arc<Vec<String>>,
    tracker: SocketAddr,
}

/// Remembered `get_paths` answers, keyed by (domain, key).
type PathCache = moka::future::Cache<(String, String), Lookup>;

/// One MogileFS upstream seen as a key/value store.
#[derive(Debug, Clone)]
pub struct MogStore {
    name: Arc<str>,
    client: Arc<MogClient>,
    nodes: NodeClient,
    cache: Option<PathCache>,
}

/// What a read asks for.
#[derive(Debug, Clone)]
pub struct ReadSpec<'a> {
    /// MogileFS domain.
    pub domain: &'a str,
    /// The key.
    pub key: &'a str,
    /// Skip the tracker's check of the first path.
    pub noverify: bool,
    /// Paths to ask for.
    pub pathcount: Option<u32>,
    /// Byte range wanted, if any.
    pub range: Option<RangeSpec>,
    /// Metadata only.
    pub head: bool,
}

/// What a write stores.
pub struct WriteSpec<'a> {
    /// MogileFS domain.
    pub domain: &'a str,
    /// The key.
    pub key: &'a str,
    /// Replication class, or the domain default.
    pub class: Option<&'a str>,
    /// Content-Length of the upload, when the client sent one (else the
    /// body is spooled to learn its size).
    pub length: Option<u64>,
    /// Largest body accepted.
    pub limit: u64,
}

impl MogStore {
    /// A store named `name` (for metrics) over `client`'s trackers, reaching
    /// storage nodes through `nodes`, remembering paths for `cache_ttl` (zero:
    /// not at all) in up to `cache_size` entries.
    pub fn new(
        name: &str,
        client: Arc<MogClient>,
        nodes: NodeClient,
        cache_ttl: Duration,
        cache_size: u64,
    ) -> Self {
        let cache = (!cache_ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(cache_size)
                .time_to_live(cache_ttl)
                .build()
        });
        MogStore {
            name: name.into(),
            client,
            nodes,
            cache,
        }
    }

    /// The tracker client (for health reporting).
    pub fn client(&self) -> &MogClient {
        &self.client
    }

    /// Opens a key for reading: finds its paths (cache or tracker), then tries
    /// them in order until one answers. Nothing has been sent to the client
    /// yet, so a failing path costs only time. When every cached path fails,
    /// the cache entry is dropped and the tracker asked once more.
    pub async fn read(&self, spec: &ReadSpec<'_>) -> Result<Object, StoreError> {
        let (lookup, cached) = self.lookup(spec).await?;
        let failures = match self.open_any(&lookup, spec).await {
            Ok(object) => return Ok(object),
            Err(failures) if cached => failures,
            Err(failures) => return Err(no_replica(&failures, lookup.paths.is_empty())),
        };
        tracing::debug!(
            key = spec.key,
            "cached paths failed; asking the tracker again"
        );
        self.forget(spec.domain, spec.key).await;
        let (lookup, _) = self.lookup(spec).await?;
        self.open_any(&lookup, spec).await.map_err(|more| {
            let all: Vec<NodeError> = failures.into_iter().chain(more).collect();
            no_replica(&all, lookup.paths.is_empty())
        })
    }

    /// Where a key's replicas are, without reading any (for accel mode, where
    /// nginx fetches them).
    pub async fn locate(&self, spec: &ReadSpec<'_>) -> Result<(Vec<String>, Source), StoreError> {
        let (lookup, _) = self.lookup(spec).await?;
        let paths = self
            .nodes
            .healthy_first(&lookup.paths, String::as_str)
            .into_iter()
            .cloned()
            .collect();
        let source = Source {
            tracker: Some(lookup.tracker),
            node: None,
        };
        Ok((paths, source))
    }

    /// The key's paths, and whether they came from the cache. Concurrent
    /// misses for one key share a single tracker call.
    async fn lookup(&self, spec: &ReadSpec<'_>) -> Result<(Lookup, bool), StoreError> {
        let ask = async {
            let cmd = GetPaths {
                domain: spec.domain.to_owned(),
                key: spec.key.to_owned(),
                noverify: spec.noverify,
                pathcount: spec.pathcount,
            };
            let (paths, tracker) = self.client.call(&cmd).await?;
            Ok::<_, MogError>(Lookup {
                paths: Arc::new(paths),
                tracker,
            })
        };
        let Some(cache) = &self.cache else {
            return Ok((ask.await.map_err(not_found_if_unknown)?, false));
        };
        let key = (spec.domain.to_owned(), spec.key.to_owned());
        if let Some(hit) = cache.get(&key).await {
            crate::metrics::metrics().cache_lookup(&self.name, true);
            return Ok((hit, true));
        }
        crate::metrics::metrics().cache_lookup(&self.name, false);
        let lookup = cache.try_get_with(key, ask).await.map_err(|shared| {
            not_found_if_unknown(Arc::try_unwrap(shared).unwrap_or_else(|e| e.duplicate()))
        })?;
        Ok((lookup, false))
    }

    /// Drops a key's cached paths (after it changed through this gateway).
    async fn forget(&self, domain: &str, key: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate(&(domain.to_owned(), key.to_owned())).await;
        }
    }

    async fn open_any(
        &self,
        lookup: &Lookup,
        spec: &ReadSpec<'_>,
    ) -> Result<Object, Vec<NodeError>> {
        let mut failures = Vec::new();
        for path in self.nodes.healthy_first(&lookup.paths, String::as_str) {
            match self.nodes.open(path, spec.range, spec.head).await {
                Ok(mut object) => {
                    object.source.tracker = Some(lookup.tracker);
                    return Ok(object);
                }
                Err(e) => {
                    tracing::warn!(key = spec.key, error = %e, "replica failed; trying the next");
                    crate::metrics::metrics().storage_error(node_of(path));
                    failures.push(e);
                }
            }
        }
        Err(failures)
    }

    /// Stores `body` under a key. Returns once the tracker has committed it;
    /// on any failure no new version of the key is visible.
    ///
    /// A body of unknown length is spooled first (storage nodes get an exact
    /// `Content-Length`, see [`super::node`]). The upload is committed only
    /// when the bytes read from the client, the bytes the storage node took
    /// and the size given to `create_close` are one number.
    pub async fn write(
        &self,
        spec: &WriteSpec<'_>,
        body: ByteStream,
    ) -> Result<Written, StoreError> {
        let (length, body) = sized(spec, body).await?;
        let open = CreateOpen {
            domain: spec.domain.to_owned(),
            key: spec.key.to_owned(),
            class: spec.class.map(str::to_owned),
            multi_dest: true,
            size: Some(length),
        };
        let (reply, tracker) = self.client.call(&open).await?;
        let Some(first) = reply.destinations.first() else {
            return Err(StoreError::UploadFailed {
                tried: "the tracker returned no destination".into(),
                timed_out: false,
            });
        };
        let mut guard = Discard::new(self.clone(), spec.domain, reply.fid, first.clone());
        let body = UploadBody::new(body, spec.limit);
        let (dest, stored) = self
            .put_any(&reply.destinations, &body, length, spec, &mut guard)
            .await?;
        // On a mismatch the guard, still armed, discards the new version.
        same_sizes(spec.key, body.sent(), stored, length)?;
        let close = CreateClose {
            domain: spec.domain.to_owned(),
            key: spec.key.to_owned(),
            fid: reply.fid,
            devid: dest.devid,
            path: dest.path.clone(),
            size: length,
            checksum: None,
        };
        // From here on the tracker owns the fid: it deletes it itself if the
        // close fails, and a discard could race a close still in progress.
        guard.disarm();
        let closed = self.close(&close).await;
        // Whatever the outcome, cached paths of the key may now be stale.
        self.forget(spec.domain, spec.key).await;
        closed?;
        Ok(Written {
            fid: reply.fid,
            size: close.size,
            source: Source {
                tracker: Some(tracker),
                node: Some(dest.path),
            },
        })
    }

    /// PUTs the body to the first destination that takes it; returns it and
    /// the bytes it took. A destination that fails within the replay window
    /// hands the body on to the next, and what it may have kept of the body
    /// is deleted (best effort); the last one tried is the guard's to clean.
    async fn put_any(
        &self,
        dests: &[Destination],
        body: &UploadBody,
        length: u64,
        spec: &WriteSpec<'_>,
        guard: &mut Discard,
    ) -> Result<(Destination, u64), StoreError> {
        let mut failures = Vec::new();
        for dest in self.nodes.healthy_first(dests, |d| d.path.as_str()) {
            if !body.can_restart() {
                break;
            }
            if !failures.is_empty() {
                // The previous destination is left behind: remove its partial file.
                self.remove_partial(guard.dest.path.clone());
            }
            guard.dest = dest.clone();
            match self.nodes.put(&dest.path, body.attempt(), length).await {
                Ok(stored) => return Ok((dest.clone(), stored)),
                Err(e) => {
                    match body.fault() {
                        Some(BodyFault::TooLarge) => {
                            return Err(StoreError::TooLarge { limit: spec.limit })
                        }
                        Some(BodyFault::Client) => return Err(StoreError::ClientBody),
                        None => {}
                    }
                    tracing::warn!(key = spec.key, error = %e, "upload destination failed");
                    crate::metrics::metrics().storage_error(node_of(&dest.path));
                    failures.push(e);
                }
            }
        }
        Err(StoreError::UploadFailed {
            timed_out: failures.iter().all(NodeError::is_timeout),
            tried: describe(&failures, dests.is_empty()),
        })
    }

    /// Deletes what a failed PUT may have left at `path`, in the background.
    fn remove_partial(&self, path: String) {
        let nodes = self.nodes.clone();
        tokio::spawn(async move {
            if let Err(e) = nodes.delete(&path).await {
                tracing::debug!(path, error = %e, "could not remove partial upload");
            }
        });
    }

    /// `create_close`, resolving the one ambiguous outcome: when the reply was
    /// lost or the tempfile is gone, the close may already have succeeded, so
    /// the tracker is asked which fid the key now has.
    async fn close(&self, close: &CreateClose) -> Result<SocketAddr, StoreError> {
        match self.client.call(close).await {
            Ok(((), tracker)) => Ok(tracker),
            Err(e @ MogError::Unconfirmed { .. }) => self.confirm(close, e).await,
            Err(e) if e.code() == Some("no_temp_file") => self.confirm(close, e).await,
            Err(e) => Err(e.into()),
        }
    }

    async fn confirm(
        &self,
        close: &CreateClose,
        original: MogError,
    ) -> Result<SocketAddr, StoreError> {
        let info = FileInfo {
            domain: close.domain.clone(),
            key: close.key.clone(),
            devices: false,
        };
        match self.client.call(&info).await {
            Ok((details, tracker)) if details.fid == close.fid => Ok(tracker),
            _ => Err(original.into()),
        }
    }

    /// Deletes a key.
    pub async fn delete(&self, domain: &str, key: &str) -> Result<Source, StoreError> {
        let cmd = Delete {
            domain: domain.to_owned(),
            key: key.to_owned(),
        };
        let deleted = self.client.call(&cmd).await;
        self.forget(domain, key).await;
        let ((), tracker) = deleted.map_err(not_found_if_unknown)?;
        Ok(Source {
            tracker: Some(tracker),
            node: None,
        })
    }
}

/// The body's exact length: the client's `Content-Length`, or that of the
/// body read to its end (spooled) when the client did not declare one.
async fn sized(spec: &WriteSpec<'_>, body: ByteStream) -> Result<(u64, ByteStream), StoreError> {
    if let Some(length) = spec.length {
        return Ok((length, body));
    }
    match spool(body, spec.limit).await {
        Ok(spooled) => Ok((spooled.size, spooled.body)),
        Err(SpoolError::TooLarge(limit)) => Err(StoreError::TooLarge { limit }),
        Err(SpoolError::ClientBody(_)) => Err(StoreError::ClientBody),
        Err(e @ SpoolError::Io(_)) => Err(StoreError::UploadFailed {
            tried: e.to_string(),
            timed_out: false,
        }),
    }
}

/// The invariant of an upload answered 2xx: bytes from the client, bytes
/// the node took, and the size committed are one number.
fn same_sizes(key: &str, received: u64, stored: u64, length: u64) -> Result<(), StoreError> {
    if received == length && stored == length {
        return Ok(());
    }
    tracing::error!(
        key,
        received,
        stored,
        length,
        "upload sizes differ; discarding the new version"
    );
    Err(StoreError::UploadFailed {
        tried: format!(
            "{received} bytes received from the client, {stored} taken by the storage node, {length} expected"
        ),
        timed_out: false,
    })
}

fn not_found_if_unknown(e: MogError) -> StoreError {
    match e.code() {
        Some("unknown_key") => StoreError::NotFound,
        _ => StoreError::Tracker(e),
    }
}

fn no_replica(failures: &[NodeError], no_paths: bool) -> StoreError {
    StoreError::NoReplica {
        timed_out: !failures.is_empty() && failures.iter().all(NodeError::is_timeout),
        tried: describe(failures, no_paths),
    }
}

fn describe(failures: &[NodeError], none: bool) -> String {
    if none {
        return "the tracker returned no paths".into();
    }
    let parts: Vec<String> = failures.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

/// Aborts an upload that did not reach `create_close`: tells the tracker to
/// drop the fid (a close with an empty key) and removes partial data from the
/// destination, so a vanished client leaves nothing behind.
struct Discard {
    store: Option<MogStore>,
    domain: String,
    fid: u64,
    dest: Destination,
}

impl Discard {
    fn new(store: MogStore, domain: &str, fid: u64, dest: Destination) -> Self {
        Discard {
            store: Some(store),
            domain: domain.to_owned(),
            fid,
            dest,
        }
    }

    fn disarm(&mut self) {
        self.store = None;
    }
}

impl Drop for Discard {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let close = CreateClose {
            domain: std::mem::take(&mut self.domain),
            key: String::new(),
            fid: self.fid,
            devid: self.dest.devid,
            path: self.dest.path.clone(),
            size: 0,
            checksum: None,
        };
        runtime.spawn(async move {
            if let Err(e) = store.nodes.delete(&close.path).await {
                tracing::debug!(error = %e, "could not remove partial upload");
            }
            if let Err(e) = store.client.call(&close).await {
                tracing::debug!(fid = close.fid, error = %e, "could not discard fid");
            }
        });
    }
}
