//! Failover across a FastDFS group's storages, and the look-up cache of
//! QUERY_FETCH_ONE answers: the part of reading a file ID that decides
//! *which* storage serves it, above the protocol client.
//!
//! Reads (download, file info) try, in order and each once:
//! 1. the storage QUERY_FETCH_ONE names (remembered in the look-up cache);
//! 2. the others QUERY_FETCH_ALL lists (a replica that has the file when the
//!    tracker's choice does not yet, or is down);
//! 3. when no tracker answers, the storage encoded in the ID as its source,
//!    only if a tracker named it as a storage of that group before.
//!
//! A storage's ENOENT moves on to the next one; the result is `NotFound`
//! only if every storage tried said so. An answer that another storage
//! would repeat (EINVAL, ...) ends the search at once. All of this happens
//! before the first body byte: what a download does after is the caller's.
//! Deletes go to the storage QUERY_UPDATE names, or another of the group
//! when that one cannot be reached at all.

use crate::clients::fastdfs::{Download, FdfsClient, FdfsError};
use dfs_protocol::fastdfs::status;
use dfs_protocol::fastdfs::storage::{FileInfo, FLAG_KEEP_SILENCE, FLAG_NOT_CALC_CRC32};
use dfs_protocol::fastdfs::FileId;
use std::future::Future;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

/// One FastDFS upstream: its client, and which storage serves a file ID
/// (remembered when caching is on). Shared by the locations using it.
#[derive(Debug)]
pub struct FdfsUpstream {
    name: Arc<str>,
    client: Arc<FdfsClient>,
    /// QUERY_FETCH_ONE answers (storage, tracker that named it) by file ID.
    cache: Option<moka::future::Cache<String, (SocketAddrV4, SocketAddr)>>,
    lookups: crate::metrics::LookupCounters,
}

/// Where a read was served from, for the access log: the storage, and the
/// tracker whose answer named it (`None` when it was the file ID's encoded
/// source, tried because no tracker answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The storage server that answered.
    pub storage: SocketAddr,
    /// The tracker that named it.
    pub tracker: Option<SocketAddr>,
}

/// What the candidates of one read said.
struct Attempts {
    /// The upstream's name, for the failure counter.
    upstream: Arc<str>,
    file: String,
    tried: Vec<SocketAddr>,
    failures: Vec<String>,
    all_timeouts: bool,
    not_found: usize,
    trackers_down: Option<String>,
}

impl Attempts {
    fn new(upstream: &Arc<str>, id: &FileId) -> Self {
        Attempts {
            upstream: upstream.clone(),
            file: id.to_string(),
            tried: Vec::new(),
            failures: Vec::new(),
            all_timeouts: true,
            not_found: 0,
            trackers_down: None,
        }
    }

    /// Runs `op` on `addr` unless tried already; `Ok(None)` means "go on".
    async fn try_one<T, F, Fut>(&mut self, addr: SocketAddr, op: &F) -> Result<Option<T>, FdfsError>
    where
        F: Fn(SocketAddr) -> Fut,
        Fut: Future<Output = Result<T, FdfsError>>,
    {
        if self.tried.contains(&addr) {
            return Ok(None);
        }
        self.tried.push(addr);
        match op(addr).await {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_not_found() => {
                tracing::debug!(storage = %addr, file = %self.file, "not on this storage");
                self.not_found += 1;
                Ok(None)
            }
            // A storage's own trouble (EIO, ENOSPC, ...) may not be another's;
            // EINVAL (a bad offset, a bad name) every storage would repeat.
            Err(e)
                if e.is_retryable()
                    || matches!(e, FdfsError::Storage { status: s, .. } if s != status::EINVAL) =>
            {
                tracing::warn!(storage = %addr, file = %self.file, error = %e, "storage failed; trying the next one");
                crate::metrics::metrics().storage_error(&self.upstream, addr);
                self.all_timeouts &= e.is_timeout();
                self.failures.push(e.to_string());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn finish(self) -> FdfsError {
        match (self.tried.is_empty(), self.trackers_down) {
            (true, Some(tried)) => FdfsError::NoTracker { tried },
            _ if self.failures.is_empty() && self.not_found > 0 => {
                FdfsError::NotFound { file: self.file }
            }
            (_, down) => {
                let mut tried = self.failures;
                if self.not_found > 0 {
                    tried.push(format!("{} storage(s) without the file", self.not_found));
                }
                tried.extend(down.map(|t| format!("trackers: {t}")));
                FdfsError::Unavailable {
                    file: self.file,
                    tried: tried.join("; "),
                    timed_out: self.all_timeouts && self.not_found == 0,
                }
            }
        }
    }
}

impl FdfsUpstream {
    /// An upstream named `name` (for metrics and identities) over `client`,
    /// remembering which storage serves a file ID for `ttl` (zero: not at
    /// all), in up to `size` entries.
    pub fn new(name: &str, client: Arc<FdfsClient>, ttl: Duration, size: u64) -> Self {
        let cache = (!ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(size)
                .time_to_live(ttl)
                .build()
        });
        FdfsUpstream {
            name: name.into(),
            client,
            cache,
            lookups: crate::metrics::metrics().lookup_counters(name),
        }
    }

    /// Its name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The protocol client.
    pub fn client(&self) -> &FdfsClient {
        &self.client
    }

    /// Runs `op` on the candidate storages of `id` until one succeeds;
    /// returns its value and the tracker that named that storage.
    async fn on_candidates<T, F, Fut>(
        &self,
        id: &FileId,
        op: F,
    ) -> Result<(T, Option<SocketAddr>), FdfsError>
    where
        F: Fn(SocketAddr) -> Fut,
        Fut: Future<Output = Result<T, FdfsError>>,
    {
        let mut attempts = Attempts::new(&self.name, id);
        match self.fetch_one_cached(id).await {
            Ok((addr, tracker)) => {
                if let Some(value) = attempts.try_one(addr.into(), &op).await? {
                    return Ok((value, Some(tracker)));
                }
                // Whatever was remembered for the file failed: forget it.
                self.forget(id).await;
                match self.client.query_fetch_all(id).await {
                    Ok((all, tracker)) => {
                        for addr in all {
                            if let Some(value) = attempts.try_one(addr.into(), &op).await? {
                                return Ok((value, Some(tracker)));
                            }
                        }
                    }
                    Err(FdfsError::NoTracker { tried }) => attempts.trackers_down = Some(tried),
                    Err(e) => attempts.failures.push(e.to_string()),
                }
            }
            Err(FdfsError::NoTracker { tried }) => attempts.trackers_down = Some(tried),
            // A tracker answering garbage: the file's source storage is still
            // worth a try before giving up with 502.
            Err(e @ FdfsError::Call { .. }) => attempts.failures.push(e.to_string()),
            Err(e) => return Err(e),
        }
        if let Some(source) = self.client.known_source(id) {
            if let Some(value) = attempts.try_one(source.into(), &op).await? {
                return Ok((value, None));
            }
        }
        Err(attempts.finish())
    }

    /// QUERY_FETCH_ONE through the cache: concurrent misses for one file
    /// share a single tracker call.
    async fn fetch_one_cached(&self, id: &FileId) -> Result<(SocketAddrV4, SocketAddr), FdfsError> {
        let ask = self.client.query_fetch_one(id);
        let Some(cache) = &self.cache else {
            return ask.await;
        };
        if let Some(hit) = cache.get(id.as_str()).await {
            crate::metrics::metrics().cache_lookup(&self.lookups, true);
            return Ok(hit);
        }
        crate::metrics::metrics().cache_lookup(&self.lookups, false);
        cache
            .try_get_with(id.as_str().to_owned(), ask)
            .await
            .map_err(|shared| Arc::try_unwrap(shared).unwrap_or_else(|e| e.duplicate()))
    }

    /// Drops what the cache knows of `id`.
    pub async fn forget(&self, id: &FileId) {
        if let Some(cache) = &self.cache {
            cache.invalidate(id.as_str()).await;
        }
    }

    /// Opens a download of `length` bytes (0 = to the end) from `offset`;
    /// also says where it comes from.
    ///
    /// A 0-byte file is checked with QUERY_FILE_INFO and served as an empty
    /// body: DOWNLOAD_FILE refuses it (EINVAL, offset 0 is not below size 0).
    /// The caller keeps `offset` below the size when the ID tells it.
    pub async fn open_download(
        &self,
        id: &FileId,
        offset: u64,
        length: u64,
    ) -> Result<(Download, Origin), FdfsError> {
        if id.size() == Some(0) {
            let (_, origin) = self.file_info(id).await?;
            return Ok((Download::empty(origin.storage), origin));
        }
        let op = |addr| self.client.download_from(addr, id, offset, length);
        let (download, tracker) = self.on_candidates(id, op).await?;
        let storage = download.storage();
        Ok((download, Origin { storage, tracker }))
    }

    /// Size, create time and source of `id` as a storage sees them: for
    /// appender and slave files, whose IDs do not tell, and existence checks.
    pub async fn file_info(&self, id: &FileId) -> Result<(FileInfo, Origin), FdfsError> {
        // No crc32 (it would read the whole file), no "not found" log line.
        let flags = FLAG_NOT_CALC_CRC32 | FLAG_KEEP_SILENCE;
        let op = |addr| async move {
            self.client
                .file_info_from(addr, id, flags)
                .await
                .map(|info| (info, addr))
        };
        let ((info, storage), tracker) = self.on_candidates(id, op).await?;
        Ok((info, Origin { storage, tracker }))
    }

    /// Deletes `id` on the storage QUERY_UPDATE names (the others follow by
    /// sync). When that storage cannot be reached at all, another storage of
    /// the group does it. Returns the storage that deleted it.
    pub async fn delete(&self, id: &FileId) -> Result<SocketAddr, FdfsError> {
        self.forget(id).await;
        let (first, _) = self.client.query_update(id).await?;
        let first = SocketAddr::from(first);
        match self.client.delete_from(first, id).await {
            Err(FdfsError::Call { source, .. }) if source.request_unseen() => {
                tracing::warn!(storage = %first, file = %id, error = %source, "update storage unreachable");
            }
            done => return done.map(|()| first),
        }
        let (all, _) = self.client.query_fetch_all(id).await?;
        let mut last = None;
        for addr in all
            .into_iter()
            .map(SocketAddr::from)
            .filter(|a| *a != first)
        {
            match self.client.delete_from(addr, id).await {
                Err(FdfsError::Call { source, .. }) if source.request_unseen() => {
                    last = Some(source)
                }
                done => return done.map(|()| addr),
            }
        }
        Err(FdfsError::Unavailable {
            file: id.to_string(),
            tried: last.map_or_else(|| "no other storage".into(), |e| e.to_string()),
            timed_out: false,
        })
    }
}
