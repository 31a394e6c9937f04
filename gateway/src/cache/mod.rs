//! The hot-object cache: whole objects in memory, keyed by identities whose
//! bytes never change ([`ObjectId`]), with a size-weighted capacity.
//!
//! - An object enters only after it arrived whole and its length matched
//!   the size expected ([`ObjectCache::load_with`]); concurrent misses for
//!   one identity share one load.
//! - Capacity is in bytes: each entry weighs its object plus its names and a
//!   fixed overhead. moka's TinyLFU admission decides what stays; after an
//!   insert that went over the capacity, its pending evictions run at once,
//!   so the cache holds at most `size` plus the objects being inserted.
//! - A PUT or DELETE drops what it made stale at once: by identity (and
//!   everything derived from it) or by MogileFS key ([`index`]). A load that
//!   overlapped an invalidation does not stay cached.
//!
//! - [`id`]: the identities and MogileFS keys.
//! - [`index`]: which identities a key or a source object names.
//! - [`metrics`]: the `object_cache_*` families.

mod id;
mod index;
pub mod metrics;

pub use id::{MogKey, ObjectId};
pub use metrics::CacheMetrics;

use crate::config::cache::ObjectCacheConfig;
use bytes::Bytes;
use index::Index;
use moka::notification::RemovalCause;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

/// What an uncached read learns besides the bytes, enough to answer a
/// cached read with the same headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Length of the object in bytes.
    pub size: u64,
    /// Strong entity tag, as the uncached read would send it.
    pub etag: Option<String>,
    /// Modification time, as the uncached read would send it.
    pub last_modified: Option<SystemTime>,
    /// Media type when it is not the one guessed from the name (derived
    /// objects such as thumbnails).
    pub content_type: Option<String>,
}

impl ObjectMeta {
    fn heap_len(&self) -> usize {
        self.etag.as_ref().map_or(0, String::len)
            + self.content_type.as_ref().map_or(0, String::len)
    }
}

/// An object held by the cache.
#[derive(Debug)]
pub struct CachedObject {
    /// Its metadata.
    pub meta: ObjectMeta,
    /// All of its bytes (`meta.size` of them).
    pub bytes: Bytes,
    /// The MogileFS key it was read under, if any.
    key: Option<MogKey>,
}

/// Why [`ObjectCache::load_with`] returned no object.
#[derive(Debug, thiserror::Error)]
pub enum LoadError<E> {
    /// The object is larger than the cache takes (or the cache is off):
    /// stream it instead. The loader was not run.
    #[error("{id:?}: {size} bytes are not cached (limit {limit})")]
    NotAdmitted {
        /// The object.
        id: ObjectId,
        /// Its expected size.
        size: u64,
        /// The largest object cached.
        limit: u64,
    },
    /// The loader returned another length than expected: nothing cached.
    #[error("{id:?}: expected {expected} bytes, loaded {got} (metadata says {meta})")]
    Length {
        /// The object.
        id: ObjectId,
        /// The size expected.
        expected: u64,
        /// Bytes loaded.
        got: u64,
        /// The size in the loaded metadata.
        meta: u64,
    },
    /// The loader failed: nothing cached.
    #[error(transparent)]
    Load(E),
}

/// Entry overhead beyond the object and its names: moka's node, the key and
/// value structs, the index slot. An estimate that errs on the high side.
const ENTRY_OVERHEAD: usize = 256;

type Store = moka::future::Cache<ObjectId, Arc<CachedObject>>;

/// The hot-object cache of one upstream; cheap to clone (shared state).
#[derive(Clone)]
pub struct ObjectCache {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    store: Store,
    shared: Arc<Shared>,
    capacity: u64,
    object_limit: u64,
}

/// State shared with the removal listener.
struct Shared {
    index: Index,
    /// Sum of the weights of the entries, kept exactly (moka's own figure
    /// lags behind its pending tasks).
    held: AtomicU64,
    entries: AtomicU64,
    /// Counts invalidations: a load that saw it change did not finish
    /// before everything it might hold was invalidated.
    epoch: AtomicU64,
    metrics: metrics::Handles,
}

impl std::fmt::Debug for ObjectCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ObjectCache");
        if let Some(inner) = &self.inner {
            d.field("capacity", &inner.capacity)
                .field("held", &inner.shared.held.load(Ordering::Relaxed));
        }
        d.finish_non_exhaustive()
    }
}

fn weight(id: &ObjectId, object: &CachedObject) -> u64 {
    let names = id.heap_len() + object.key.as_ref().map_or(0, MogKey::heap_len);
    (object.bytes.len() + object.meta.heap_len() + names + ENTRY_OVERHEAD) as u64
}

impl ObjectCache {
    /// The cache of `upstream` as `config` sizes it (off when it says so),
    /// reporting to `metrics`.
    pub fn new(config: &ObjectCacheConfig, upstream: &str, metrics: &CacheMetrics) -> Self {
        if !config.enabled() {
            return ObjectCache { inner: None };
        }
        let shared = Arc::new(Shared {
            index: Index::default(),
            held: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            metrics: metrics.handles(upstream),
        });
        shared.publish();
        let listener = Arc::clone(&shared);
        let store = moka::future::Cache::builder()
            .max_capacity(config.size.0)
            .weigher(|id: &ObjectId, object: &Arc<CachedObject>| {
                u32::try_from(weight(id, object)).unwrap_or(u32::MAX)
            })
            .eviction_listener(move |id: Arc<ObjectId>, object: Arc<CachedObject>, cause| {
                listener.removed(&id, &object, cause)
            })
            .build();
        let inner = Inner {
            store,
            shared,
            capacity: config.size.0,
            object_limit: config.object_limit(),
        };
        ObjectCache {
            inner: Some(Arc::new(inner)),
        }
    }

    /// A cache that holds nothing.
    pub fn disabled() -> Self {
        ObjectCache { inner: None }
    }

    /// Whether anything is ever cached.
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether an object of `size` bytes would be cached: the caller reads
    /// it whole through [`Self::load_with`] only then, and streams otherwise.
    pub fn admits(&self, size: u64) -> bool {
        self.inner.as_ref().is_some_and(|i| size <= i.object_limit)
    }

    /// The cached object `id`, counting a hit or a miss.
    pub async fn get(&self, id: &ObjectId) -> Option<Arc<CachedObject>> {
        let inner = self.inner.as_ref()?;
        let found = inner.store.get(id).await;
        let m = &inner.shared.metrics;
        if found.is_some() { &m.hits } else { &m.misses }.inc();
        found
    }

    /// The object `id`, from the cache or else from `loader`, which must
    /// yield all `expected_size` bytes and their metadata. Callers asking for
    /// the same `id` at once share one run of one loader (the others' are
    /// dropped unpolled). Only a load whose bytes and metadata both have the
    /// expected size is kept. `key`: the MogileFS key it is read under.
    pub async fn load_with<F, E>(
        &self,
        id: ObjectId,
        key: Option<MogKey>,
        expected_size: u64,
        loader: F,
    ) -> Result<Arc<CachedObject>, Arc<LoadError<E>>>
    where
        F: Future<Output = Result<(ObjectMeta, Bytes), E>>,
        E: Send + Sync + 'static,
    {
        match &self.inner {
            Some(inner) if expected_size <= inner.object_limit => {
                inner.load(id, key, Some(expected_size), loader).await
            }
            _ => {
                let limit = self.inner.as_ref().map_or(0, |i| i.object_limit);
                let error = LoadError::NotAdmitted {
                    id,
                    size: expected_size,
                    limit,
                };
                Err(Arc::new(error))
            }
        }
    }

    /// As [`Self::load_with`], for an object whose size is known only once
    /// made (a thumbnail): kept when its bytes match its metadata's size and
    /// the cache admits that size. `key`: the MogileFS key of its source.
    pub async fn load_derived<F, E>(
        &self,
        id: ObjectId,
        key: Option<MogKey>,
        loader: F,
    ) -> Result<Arc<CachedObject>, Arc<LoadError<E>>>
    where
        F: Future<Output = Result<(ObjectMeta, Bytes), E>>,
        E: Send + Sync + 'static,
    {
        match &self.inner {
            Some(inner) => inner.load(id, key, None, loader).await,
            None => {
                let error = LoadError::NotAdmitted {
                    id,
                    size: 0,
                    limit: 0,
                };
                Err(Arc::new(error))
            }
        }
    }

    /// Drops `id` and everything derived from it.
    pub async fn invalidate(&self, id: &ObjectId) {
        if let Some(inner) = &self.inner {
            inner.shared.epoch.fetch_add(1, Ordering::SeqCst);
            inner.drop_with_derived(id).await;
        }
    }

    /// Drops everything read under the MogileFS `key` (after a PUT or a
    /// DELETE of it).
    pub async fn invalidate_key(&self, key: &MogKey) {
        if let Some(inner) = &self.inner {
            inner.shared.epoch.fetch_add(1, Ordering::SeqCst);
            for id in inner.shared.index.of_key(key) {
                inner.drop_with_derived(&id).await;
            }
        }
    }

    /// Bytes held (objects and entry overhead), never above the capacity
    /// once inserts have returned.
    pub fn held_bytes(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |i| i.shared.held.load(Ordering::SeqCst))
    }

    /// Objects held.
    pub fn entries(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |i| i.shared.entries.load(Ordering::SeqCst))
    }

    #[cfg(test)]
    fn index_groups(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.shared.index.groups())
    }
}

/// Runs `loader` and checks what it returned against `expected` (when
/// known; else against its own metadata and `limit`).
async fn fill<F, E>(
    id: &ObjectId,
    key: Option<MogKey>,
    expected: Option<u64>,
    limit: u64,
    loader: F,
) -> Result<CachedObject, LoadError<E>>
where
    F: Future<Output = Result<(ObjectMeta, Bytes), E>>,
{
    let (meta, bytes) = loader.await.map_err(LoadError::Load)?;
    let got = bytes.len() as u64;
    if expected.is_none() && got > limit {
        return Err(LoadError::NotAdmitted {
            id: id.clone(),
            size: got,
            limit,
        });
    }
    let expected = expected.unwrap_or(meta.size);
    if got != expected || meta.size != expected {
        return Err(LoadError::Length {
            id: id.clone(),
            expected,
            got,
            meta: meta.size,
        });
    }
    Ok(CachedObject { meta, bytes, key })
}

impl Inner {
    /// One load of `id` shared by every caller asking for it at once.
    async fn load<F, E>(
        &self,
        id: ObjectId,
        key: Option<MogKey>,
        expected_size: Option<u64>,
        loader: F,
    ) -> Result<Arc<CachedObject>, Arc<LoadError<E>>>
    where
        F: Future<Output = Result<(ObjectMeta, Bytes), E>>,
        E: Send + Sync + 'static,
    {
        let inner = self;
        let epoch = inner.shared.epoch.load(Ordering::SeqCst);
        let ran = AtomicBool::new(false);
        let init = async {
            ran.store(true, Ordering::Relaxed);
            let limit = inner.object_limit;
            let object = fill(&id, key, expected_size, limit, loader).await?;
            // Indexed before moka stores it, so that an invalidation from
            // now on either finds it or changes the epoch seen below.
            inner.shared.index.add(&id, object.key.as_ref());
            inner.shared.added(weight(&id, &object));
            Ok(Arc::new(object))
        };
        let object = inner.store.try_get_with_by_ref(&id, init).await?;
        if ran.load(Ordering::Relaxed) {
            inner.after_insert(&id, epoch).await;
        }
        Ok(object)
    }

    async fn after_insert(&self, id: &ObjectId, epoch: u64) {
        self.shared.metrics.inserts.inc();
        if self.shared.epoch.load(Ordering::SeqCst) != epoch {
            // An invalidation ran while this was loading: what it loaded
            // may be what that invalidation meant to drop.
            self.store.invalidate(id).await;
        }
        if self.shared.held.load(Ordering::SeqCst) > self.capacity {
            self.store.run_pending_tasks().await;
        }
    }

    async fn drop_with_derived(&self, id: &ObjectId) {
        self.store.invalidate(id).await;
        for derived in self.shared.index.derived_from(id) {
            self.store.invalidate(&derived).await;
        }
    }
}

impl Shared {
    fn added(&self, weight: u64) {
        self.held.fetch_add(weight, Ordering::SeqCst);
        self.entries.fetch_add(1, Ordering::SeqCst);
        self.publish();
    }

    /// moka's removal listener: every entry leaves through here once.
    fn removed(&self, id: &ObjectId, object: &CachedObject, cause: RemovalCause) {
        self.index.remove(id, object.key.as_ref());
        self.held.fetch_sub(weight(id, object), Ordering::SeqCst);
        self.entries.fetch_sub(1, Ordering::SeqCst);
        if matches!(cause, RemovalCause::Size | RemovalCause::Expired) {
            self.metrics.evictions.inc();
        }
        self.publish();
    }

    fn publish(&self) {
        let gauge = |v: &AtomicU64| i64::try_from(v.load(Ordering::SeqCst)).unwrap_or(i64::MAX);
        self.metrics.bytes.set(gauge(&self.held));
        self.metrics.entries.set(gauge(&self.entries));
    }
}

#[cfg(test)]
mod tests;
