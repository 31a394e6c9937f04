//! A hot-object cache in front of any store: small objects whose identity
//! is known ([`Meta::identity`]) are read whole once and then answered from
//! memory — whole, as a range or as a HEAD, with the headers an uncached
//! read sends. Larger objects, and objects whose identity is not known yet,
//! pass through untouched. Writes and deletes go to the store below, then
//! drop what they made stale, so a PUT or DELETE through the gateway is
//! visible at once.

use super::body::from_bytes;
use super::{
    ByteStream, CacheStatus, Identity, Meta, Object, Read, Served, SharedStore, Source,
    StorageError, Store, StoreFuture, Stored, WriteLimits, WriteTarget,
};
use crate::cache::{CachedObject, LoadError, MogKey, ObjectCache, ObjectId, ObjectMeta};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
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
}

impl CachedStore {
    /// `inner`, with its objects cached in `cache` (shared by the upstream's
    /// locations).
    pub fn new(inner: SharedStore, cache: ObjectCache, naming: Naming) -> Self {
        CachedStore {
            inner,
            cache,
            naming,
        }
    }

    /// The cache identity of `identity`, if it has one.
    fn object_id(&self, identity: &Identity) -> Option<ObjectId> {
        match self.naming {
            Naming::Mogilefs { .. } => identity.id.parse().ok().map(|fid| ObjectId::Mogilefs {
                fid,
                size: identity.size,
            }),
            Naming::Fastdfs => Some(ObjectId::fastdfs(&identity.id)),
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

    async fn open_cached(
        &self,
        key: &str,
        meta: &Meta,
        read: Read,
    ) -> Result<Object, StorageError> {
        let Some((id, size)) = meta
            .identity
            .as_ref()
            .filter(|i| self.cache.admits(i.size))
            .and_then(|i| Some((self.object_id(i)?, i.size)))
        else {
            return self.inner.open(key, meta, read).await;
        };
        if let Some(hit) = self.cache.get(&id).await {
            if hit.meta.size == size {
                return Ok(answer(&hit, read, source(meta, None, CacheStatus::Hit)));
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
        let loader = async {
            let loaded = load(&self.inner, key, meta, size).await;
            match loaded {
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
            Ok(object) => Ok(answer(&object, read, source(meta, node, CacheStatus::Miss))),
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
}

/// The whole of `key` through `inner`, as the cache keeps it, and the node
/// that served it.
async fn load(
    inner: &SharedStore,
    key: &str,
    meta: &Meta,
    size: u64,
) -> Result<(ObjectMeta, Bytes, Option<String>), StorageError> {
    let object = inner.open(key, meta, Read::default()).await?;
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
    let bytes = collect(body, size + 1)
        .await
        .map_err(|e| StorageError::BadReply {
            detail: format!("{key}: body failed while caching: {e}"),
            public: "the storage failed mid-body".into(),
        })?;
    Ok((object_meta, bytes, object.source.node))
}

/// All of `body`, stopping once it holds more than `limit` bytes (the
/// length check then refuses it).
async fn collect(mut body: ByteStream, limit: u64) -> std::io::Result<Bytes> {
    let mut out = BytesMut::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk?);
        if out.len() as u64 >= limit {
            break;
        }
    }
    Ok(out.freeze())
}

fn source(meta: &Meta, node: Option<String>, cache: CacheStatus) -> Source {
    Source {
        tracker: meta.source.tracker,
        node,
        cache: Some(cache),
    }
}

/// `read` of a cached object, as the store below would answer it.
fn answer(object: &CachedObject, read: Read, source: Source) -> Object {
    let size = object.meta.size;
    let served = Served::of(read.range, size);
    let body = match served {
        _ if read.head => None,
        Served::Full => Some(from_bytes(object.bytes.clone())),
        Served::Range(r) => Some(from_bytes(
            object.bytes.slice(r.first as usize..=r.last as usize),
        )),
        Served::Unsatisfiable => None,
    };
    Object {
        size,
        last_modified: object.meta.last_modified,
        etag: object.meta.etag.clone(),
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
