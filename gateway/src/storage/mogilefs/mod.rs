//! Keys in a MogileFS domain as a [`Store`]: `get_paths` (through the
//! look-up cache) says where a key lives, the storage nodes are tried in
//! order, healthy first, until one answers, before any byte reaches the
//! client; writes go `create_open` → PUT → `create_close` ([`write`]).
//!
//! The entity tag is `"<fid>-<size>"`: a fid never changes content and is
//! the same on every replica, so the tag does not depend on the replica
//! chosen. Size and modification time are known only from a storage node,
//! so [`Need::Validators`] costs a HEAD; a plain read learns them from the
//! GET itself.
//!
//! - [`node`]: HTTP to storage nodes (mogstored, nginx WebDAV, devcluster).
//! - [`write`]: uploads and deletes.
//! - [`error`]: tracker and node failures as [`StorageError`]s.

pub mod error;
pub mod node;
mod write;

#[cfg(all(test, feature = "demo"))]
mod tests;

use super::{ByteStream, StorageError, Stored, WriteLimits, WriteTarget};
use super::{Identity, Meta, Need, Object, Read, Served, Source, Store, StoreFuture};
use crate::clients::mogilefs::{MogClient, MogError};
use dfs_protocol::mogilefs::cmd::GetPaths;
use error::{no_replica, not_found_if_unknown};
use futures_util::FutureExt;
use node::{node_of, NodeClient, NodeError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Paths of a key, as a tracker gave them.
#[derive(Debug, Clone)]
struct Lookup {
    paths: Arc<Vec<String>>,
    tracker: SocketAddr,
}

/// Remembered `get_paths` answers, keyed by (domain, key).
type PathCache = moka::future::Cache<(String, String), Lookup>;

/// One MogileFS upstream: its tracker client, storage node client and
/// look-up cache, shared by every location (domain) that uses it.
#[derive(Debug)]
pub struct MogUpstream {
    name: Arc<str>,
    client: Arc<MogClient>,
    nodes: NodeClient,
    cache: Option<PathCache>,
    lookups: crate::metrics::LookupCounters,
}

impl MogUpstream {
    /// An upstream named `name` (for metrics and identities) over
    /// `client`'s trackers, reaching storage nodes through `nodes`,
    /// remembering paths for `cache_ttl` (zero: not at all) in up to
    /// `cache_size` entries.
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
        MogUpstream {
            name: name.into(),
            client,
            nodes,
            cache,
            lookups: crate::metrics::metrics().lookup_counters(name),
        }
    }
}

/// Where a location's keys are: the domain and how to ask for them.
#[derive(Debug, Clone, Default)]
pub struct Namespace {
    /// MogileFS domain.
    pub domain: String,
    /// Replication class for new keys, or the domain default.
    pub class: Option<String>,
    /// Skip the tracker's check of the first path.
    pub noverify: bool,
    /// Paths to ask for.
    pub pathcount: Option<u32>,
}

/// The keys of one domain of one MogileFS upstream.
#[derive(Debug, Clone)]
pub struct MogStore {
    up: Arc<MogUpstream>,
    ns: Arc<Namespace>,
}

impl MogStore {
    /// The keys of `ns` on `upstream`.
    pub fn new(upstream: Arc<MogUpstream>, ns: Namespace) -> Self {
        MogStore {
            up: upstream,
            ns: Arc::new(ns),
        }
    }

    /// The key's paths, and whether they came from the cache. Concurrent
    /// misses for one key share a single tracker call.
    async fn lookup(&self, key: &str) -> Result<(Lookup, bool), StorageError> {
        let ask = self.ask(key);
        let Some(cache) = &self.up.cache else {
            let lookup = ask.await.map_err(|e| not_found_if_unknown(key, e))?;
            return Ok((lookup, false));
        };
        let cache_key = (self.ns.domain.clone(), key.to_owned());
        if let Some(hit) = cache.get(&cache_key).await {
            crate::metrics::metrics().cache_lookup(&self.up.lookups, true);
            return Ok((hit, true));
        }
        crate::metrics::metrics().cache_lookup(&self.up.lookups, false);
        let lookup = cache.try_get_with(cache_key, ask).await.map_err(|shared| {
            let e = Arc::try_unwrap(shared).unwrap_or_else(|e| e.duplicate());
            not_found_if_unknown(key, e)
        })?;
        Ok((lookup, false))
    }

    /// `get_paths` at a tracker, past the cache.
    async fn ask(&self, key: &str) -> Result<Lookup, MogError> {
        let cmd = GetPaths {
            domain: self.ns.domain.clone(),
            key: key.to_owned(),
            noverify: self.ns.noverify,
            pathcount: self.ns.pathcount,
        };
        let (paths, tracker) = self.up.client.get_paths(&cmd).await?;
        Ok(Lookup {
            paths: Arc::new(paths),
            tracker,
        })
    }

    /// The key's paths asked at the tracker again, past the cache (whose
    /// entry, or a look-up in flight, may name a fid already replaced),
    /// and remembered in place of what the cache held.
    async fn relocate(&self, key: &str) -> Result<Meta, StorageError> {
        self.forget(key).await;
        let lookup = self
            .ask(key)
            .await
            .map_err(|e| not_found_if_unknown(key, e))?;
        if let Some(cache) = &self.up.cache {
            let cache_key = (self.ns.domain.clone(), key.to_owned());
            cache.insert(cache_key, lookup.clone()).await;
        }
        Ok(self.meta_of(key, lookup, false))
    }

    /// Drops a key's cached paths (after it changed through this gateway).
    async fn forget(&self, key: &str) {
        if let Some(cache) = &self.up.cache {
            cache
                .invalidate(&(self.ns.domain.clone(), key.to_owned()))
                .await;
        }
    }

    /// A fresh look-up as metadata (no size or validators yet).
    async fn locate(&self, key: &str) -> Result<Meta, StorageError> {
        let (lookup, cached) = self.lookup(key).await?;
        Ok(self.meta_of(key, lookup, cached))
    }

    /// A look-up as metadata, its replicas healthy first.
    fn meta_of(&self, key: &str, lookup: Lookup, cached: bool) -> Meta {
        let replicas = self
            .up
            .nodes
            .healthy_first(&lookup.paths, String::as_str)
            .into_iter()
            .cloned()
            .collect();
        Meta {
            type_name: key.to_owned(),
            replicas,
            source: Source {
                tracker: Some(lookup.tracker),
                node: None,
                cache: None,
            },
            from_cache: cached,
            ..Meta::default()
        }
    }

    /// Opens `read` of the key on the first of `meta`'s replicas that
    /// answers. When every cached path fails, or every path answers 404
    /// (the key was overwritten after the tracker named its old fid, whose
    /// files are gone), the tracker is asked once more past the cache and
    /// the fid it names now is read. Returns the meta that worked.
    async fn open_any(
        &self,
        key: &str,
        meta: &Meta,
        read: Read,
    ) -> Result<(Object, Option<Meta>), StorageError> {
        let failures = match self.try_replicas(key, meta, read).await {
            Ok(object) => return Ok((object, None)),
            Err(failures) if meta.from_cache || all_gone(&failures) => failures,
            Err(failures) => return Err(no_replica(key, &failures, meta.replicas.is_empty())),
        };
        tracing::debug!(key, "paths failed; asking the tracker again");
        let fresh = self.relocate(key).await?;
        match self.try_replicas(key, &fresh, read).await {
            Ok(object) => Ok((object, Some(fresh))),
            Err(more) => {
                let all: Vec<NodeError> = failures.into_iter().chain(more).collect();
                Err(no_replica(key, &all, fresh.replicas.is_empty()))
            }
        }
    }

    /// Tries `meta`'s replicas, healthy ones first, until one opens.
    async fn try_replicas(
        &self,
        key: &str,
        meta: &Meta,
        read: Read,
    ) -> Result<Object, Vec<NodeError>> {
        let mut failures = Vec::new();
        for path in self.up.nodes.healthy_first(&meta.replicas, String::as_str) {
            match self.up.nodes.open(path, read.range, read.head).await {
                Ok(mut object) => {
                    object.source.tracker = meta.source.tracker;
                    if let Some(etag) = fid_etag(path, object.size) {
                        object.etag = Some(etag);
                    }
                    return Ok(object);
                }
                Err(e) => {
                    tracing::warn!(key, error = %e, "replica failed; trying the next");
                    crate::metrics::metrics().storage_error(&self.up.name, node_of(path));
                    failures.push(e);
                }
            }
        }
        Err(failures)
    }

    /// `meta` completed with the size and validators a node reports (HEAD),
    /// the replica that answered first.
    async fn stat(&self, key: &str, meta: Meta) -> Result<Meta, StorageError> {
        let head = Read {
            range: None,
            head: true,
        };
        let (object, fresh) = self.open_any(key, &meta, head).await?;
        let mut meta = fresh.unwrap_or(meta);
        let node = object.source.node.clone();
        if let Some(at) = node
            .as_ref()
            .and_then(|n| meta.replicas.iter().position(|r| r == n))
        {
            meta.replicas[..=at].rotate_right(1);
        }
        meta.identity = node
            .as_deref()
            .and_then(dfs_protocol::mogilefs::fid::fid_of_path)
            .map(|fid| Identity {
                upstream: self.up.name.clone(),
                id: fid.to_string(),
                size: object.size,
            });
        meta.size = Some(object.size);
        meta.validators = object.validators();
        meta.source.node = node;
        meta.confirmed = true;
        Ok(meta)
    }

    /// The object a HEAD returns, from metadata a node already confirmed.
    fn from_meta(meta: &Meta, size: u64, read: Read) -> Object {
        Object {
            size,
            last_modified: meta.validators.last_modified,
            etag: meta.validators.etag.clone(),
            served: Served::of(read.range, size),
            body: None,
            source: meta.source.clone(),
        }
    }
}

/// Whether every replica tried answered 404: the fid is gone everywhere.
fn all_gone(failures: &[NodeError]) -> bool {
    !failures.is_empty() && failures.iter().all(NodeError::is_not_found)
}

/// The replica-independent tag of the fid stored at `path`.
fn fid_etag(path: &str, size: u64) -> Option<String> {
    dfs_protocol::mogilefs::fid::fid_of_path(path).map(|fid| format!("\"{fid}-{size}\""))
}

impl Store for MogStore {
    fn meta<'a>(&'a self, key: &'a str, need: Need) -> StoreFuture<'a, Meta> {
        async move {
            let meta = self.locate(key).await?;
            match need {
                Need::Location => Ok(meta),
                Need::Validators => self.stat(key, meta).await,
            }
        }
        .boxed()
    }

    fn open<'a>(&'a self, key: &'a str, meta: &'a Meta, read: Read) -> StoreFuture<'a, Object> {
        async move {
            match meta.size {
                Some(size) if read.head && meta.confirmed => Ok(Self::from_meta(meta, size, read)),
                _ => self
                    .open_any(key, meta, read)
                    .await
                    .map(|(object, _)| object),
            }
        }
        .boxed()
    }

    fn write<'a>(
        &'a self,
        target: WriteTarget<'a>,
        body: ByteStream,
        limits: WriteLimits,
    ) -> StoreFuture<'a, Stored> {
        self.write_key(target, body, limits).boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Source> {
        self.delete_key(key).boxed()
    }
}
