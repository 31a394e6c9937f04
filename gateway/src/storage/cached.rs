//! A hot-object cache in front of any store: small objects whose identity
//! is known ([`Meta::identity`]) are read whole once and then answered from
//! memory — whole, as a range or as a HEAD, with the headers an uncached
//! read sends. Larger objects, and objects whose identity is not known yet,
//! pass through untouched. Writes and deletes go to the store below, then
//! drop what they made stale, so a PUT or DELETE through the gateway is
//! visible at once.

use super::body::{from_bytes, read_at_most};
use super::{
    ByteStream, CacheStatus, Identity, Meta, Object, Read, Served, SharedStore, Source,
    StorageError, Store, StoreFuture, Stored, Variant, WriteLimits, WriteTarget,
};
use crate::cache::{LoadError, MogKey, ObjectCache, ObjectId, ObjectMeta};
use bytes::Bytes;
use dfs_protocol::fastdfs::{FileId, FileKind};
use std::sync::{Arc, Mutex, PoisonError};

/// How the store below names objects, which decides their cache identity.
#[derive(Debug, Clone)]
pub enum Naming {
    /// MogileFS keys in `domain`; identities are `(fid, size)`.
    Mogilefs {
        /// The location's domain (for invalidation by key).
        domain: Arc<str>,
    },
    /// FastDFS file IDs.
    Fastdfs,
}

/// A store whose small objects are answered from an [`ObjectCache`].
#[derive(Debug)]
pub struct CachedStore {
    inner: SharedStore,
    cache: ObjectCache,
    naming: Naming,
    /// Sizes of MogileFS fids read before (a fid's bytes never change), so
    /// that a plain GET, which learns only the fid from the tracker, can
    /// be answered from the cache.
    fid_sizes: moka::sync::Cache<u64, u64>,
}

/// Fid sizes remembered (16 bytes each, plus moka's entry).
const FID_SIZES: u64 = 65_536;

impl CachedStore {
    /// `inner`, with its objects cached in `cache` (shared by the upstream's
    /// locations).
    pub fn new(inner: SharedStore, cache: ObjectCache, naming: Naming) -> Self {
        CachedStore {
            inner,
            cache,
            naming,
            fid_sizes: moka::sync::Cache::new(FID_SIZES),
        }
    }

    fn mog_key(&self, key: &str) -> Option<MogKey> {
        match &self.naming {
            Naming::Mogilefs { domain } => Some(MogKey::new(domain, key)),
            Naming::Fastdfs => None,
        }
    }

    /// Drops whatever `key` names from the cache.
    async fn invalidate(&self, key: &str) {
        match self.mog_key(key) {
            Some(mog) => self.cache.invalidate_key(&mog).await,
            None => self.cache.invalidate(&ObjectId::fastdfs(key)).await,
        }
    }

    /// The cache identity of what `meta` names: known with its size, or
    /// (a MogileFS look-up without a HEAD) only its fid, from a replica's
    /// path, with the size learned from an earlier read if there was one.
    fn identify(&self, meta: &Meta) -> Option<Identified> {
        if let Some(identity) = &meta.identity {
            let id = cache_id(identity)?;
            return Some(Identified::Known(id, identity.size));
        }
        let Naming::Mogilefs { .. } = self.naming else {
            return None;
        };
        let fid = meta
            .replicas
            .first()
            .and_then(|path| dfs_protocol::mogilefs::fid::fid_of_path(path))?;
        Some(match self.fid_sizes.get(&fid) {
            Some(size) => Identified::Known(ObjectId::Mogilefs { fid, size }, size),
            None => Identified::Fid(fid),
        })
    }

    async fn open_cached(
        &self,
        key: &str,
        meta: &Meta,
        read: Read,
    ) -> Result<Object, StorageError> {
        match self.identify(meta) {
            Some(Identified::Known(id, size)) if self.cache.admits(size) => {
                self.open_known(key, meta, read, id, size).await
            }
            Some(Identified::Fid(fid)) => self.open_learning(key, meta, read, fid).await,
            _ => self.inner.open(key, meta, read).await,
        }
    }

    /// A read of an object whose identity and size are known: from the
    /// cache, or one load shared by every request missing it at once.
    async fn open_known(
        &self,
        key: &str,
        meta: &Meta,
        read: Read,
        id: ObjectId,
        size: u64,
    ) -> Result<Object, StorageError> {
        if let Some(hit) = self.cache.get(&id).await {
            if hit.meta.size == size {
                return Ok(answer(
                    &hit.meta,
                    &hit.bytes,
                    read,
                    source(meta, None, CacheStatus::Hit),
                ));
            }
            // An appender file that grew: what is held is not these bytes.
            self.cache.invalidate(&id).await;
        }
        if read.head {
            // Reading a whole body to answer a HEAD costs more than it saves.
            return self.inner.open(key, meta, read).await;
        }
        let failed = Mutex::new(None);
        let node = Mutex::new(None);
        let expected_fid = match &id {
            ObjectId::Mogilefs { fid, .. } => Some(*fid),
            _ => None,
        };
        let loader = async {
            let object = self.inner.open(key, meta, Read::default()).await;
            // Another fid than `id` (the key overwritten and looked up
            // again): its bytes are not kept under `id`; read past the cache.
            let served = object.as_ref().ok().and_then(served_fid);
            if expected_fid.is_some() && served.is_some() && served != expected_fid {
                return Err(());
            }
            match whole(key, object, size).await {
                Ok((object_meta, bytes, from)) => {
                    *node.lock().unwrap_or_else(PoisonError::into_inner) = from;
                    Ok((object_meta, bytes))
                }
                Err(e) => {
                    *failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                    Err(())
                }
            }
        };
        let loaded = self
            .cache
            .load_with(id, self.mog_key(key), size, loader)
            .await;
        let node = node.into_inner().unwrap_or_else(PoisonError::into_inner);
        match loaded {
            Ok(object) => Ok(answer(
                &object.meta,
                &object.bytes,
                read,
                source(meta, node, CacheStatus::Miss),
            )),
            Err(e) => match (
                &*e,
                failed.into_inner().unwrap_or_else(PoisonError::into_inner),
            ) {
                // This request's own load failed: its error is the answer.
                (LoadError::Load(()), Some(error)) => Err(error),
                // Another request's load failed, or the length did not
                // match: read past the cache, with the store's failover.
                _ => self.inner.open(key, meta, read).await,
            },
        }
    }

    /// A read of a MogileFS fid whose size nobody has seen yet: the
    /// storage's answer gives it. A whole read of a small object is then
    /// read to its end, kept, and answered from memory; anything else
    /// streams as it comes.
    /// Concurrent first reads of one fid each read storage; from then on the
    /// size is known and misses share one load.
    async fn open_learning(
        &self,
        key: &str,
        meta: &Meta,
        read: Read,
        fid: u64,
    ) -> Result<Object, StorageError> {
        let object = self.inner.open(key, meta, read).await?;
        // The store may have read another fid than `meta` named (the key
        // was overwritten and looked up again): the bytes are that fid's.
        let fid = served_fid(&object).unwrap_or(fid);
        let size = object.size;
        self.fid_sizes.insert(fid, size);
        if read.head || !self.cache.admits(size) || !matches!(object.served, Served::Full) {
            return Ok(object);
        }
        let (object_meta, bytes, node) = whole(key, Ok(object), size).await?;
        if bytes.len() as u64 != size {
            return Err(StorageError::BadReply {
                detail: format!("{key}: {} bytes read, {size} expected", bytes.len()),
                public: "the storage sent a body of the wrong length".into(),
            });
        }
        let id = ObjectId::Mogilefs { fid, size };
        let kept = (object_meta.clone(), bytes.clone());
        let loaded = self
            .cache
            .load_with(id, self.mog_key(key), size, async { Ok::<_, ()>(kept) })
            .await;
        let source = source(meta, node, CacheStatus::Miss);
        Ok(match loaded {
            Ok(object) => answer(&object.meta, &object.bytes, read, source),
            Err(_) => answer(&object_meta, &bytes, read, source),
        })
    }
}

/// The cache identity of a stored object as its store reports it: a
/// MogileFS fid (digits only) with its size, or a FastDFS file ID. An
/// appender file can be modified in place, even at the same size: it has
/// none, so neither it nor anything made from it is cached.
pub fn cache_id(identity: &Identity) -> Option<ObjectId> {
    if let Ok(fid) = identity.id.parse() {
        let size = identity.size;
        return Some(ObjectId::Mogilefs { fid, size });
    }
    FileId::parse(&identity.id)
        .ok()
        .filter(|id| id.kind() != FileKind::Appender)
        .map(|_| ObjectId::fastdfs(&identity.id))
}

/// The MogileFS fid of the replica path that served `object`, if it names one.
fn served_fid(object: &Object) -> Option<u64> {
    let node = object.source.node.as_deref()?;
    dfs_protocol::mogilefs::fid::fid_of_path(node)
}

/// What the cache can tell of an object before reading it.
enum Identified {
    /// Its cache identity and size.
    Known(ObjectId, u64),
    /// A MogileFS fid of unknown size.
    Fid(u64),
}

/// All of `opened` (a full read of `key`, `size` bytes) as the cache keeps
/// it, and the node that served it; a body that fails is an error, one of
/// another length is the caller's to check.
async fn whole(
    key: &str,
    opened: Result<Object, StorageError>,
    size: u64,
) -> Result<(ObjectMeta, Bytes, Option<String>), StorageError> {
    let object = opened?;
    let object_meta = ObjectMeta {
        size: object.size,
        etag: object.etag.clone(),
        last_modified: object.last_modified,
        content_type: None,
    };
    let body = object.body.ok_or_else(|| StorageError::BadReply {
        detail: format!("{key}: the store opened no body for a full read"),
        public: "the storage answered without a body".into(),
    })?;
    let bytes = read_at_most(body, size + 1, size)
        .await
        .map_err(|e| StorageError::BadReply {
            detail: format!("{key}: body failed while caching: {e}"),
            public: "the storage failed mid-body".into(),
        })?;
    Ok((object_meta, bytes, object.source.node))
}

fn source(meta: &Meta, node: Option<String>, cache: CacheStatus) -> Source {
    Source {
        tracker: meta.source.tracker,
        node,
        cache: Some(cache),
    }
}

/// `read` of an object held in memory, as the store below would answer it.
fn answer(meta: &ObjectMeta, bytes: &Bytes, read: Read, source: Source) -> Object {
    let size = meta.size;
    let served = Served::of(read.range, size);
    let body = match served {
        _ if read.head => None,
        Served::Full => Some(from_bytes(bytes.clone())),
        Served::Range(r) => Some(from_bytes(bytes.slice(r.first as usize..=r.last as usize))),
        Served::Unsatisfiable => None,
    };
    Object {
        size,
        last_modified: meta.last_modified,
        etag: meta.etag.clone(),
        served,
        body,
        source,
    }
}

impl Store for CachedStore {
    fn meta<'a>(&'a self, key: &'a str, need: super::Need) -> StoreFuture<'a, Meta> {
        self.inner.meta(key, need)
    }

    fn open<'a>(&'a self, key: &'a str, meta: &'a Meta, read: Read) -> StoreFuture<'a, Object> {
        Box::pin(self.open_cached(key, meta, read))
    }

    fn write<'a>(
        &'a self,
        target: WriteTarget<'a>,
        body: ByteStream,
        limits: WriteLimits,
    ) -> StoreFuture<'a, Stored> {
        Box::pin(async move {
            let stored = self.inner.write(target, body, limits).await;
            // Even a failed write may have replaced the key.
            if let Some(key) = target.key {
                self.invalidate(key).await;
            }
            if let Ok(stored) = &stored {
                self.invalidate(&stored.key).await;
            }
            stored
        })
    }

    fn write_variant<'a>(&'a self, variant: Variant<'a>, bytes: Bytes) -> StoreFuture<'a, Stored> {
        self.inner.write_variant(variant, bytes)
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Source> {
        Box::pin(async move {
            let done = self.inner.delete(key).await;
            self.invalidate(key).await;
            done
        })
    }
}

#[cfg(test)]
#[path = "cached_tests.rs"]
mod tests;
