//! The cached store over a fake store that counts its opens:
//! - a second GET is a hit that reads nothing from storage; the first is a
//!   miss, and both say so in their source (the access log's `cache=`);
//! - 16 concurrent misses of one object make one storage read;
//! - a range and a HEAD answered from the cache carry the bytes and headers
//!   (size, ETag, Last-Modified, served part) of the uncached answer;
//! - a PUT or DELETE through the cached store drops the cached bytes at once;
//! - the cache's capacity holds; objects over the per-object limit, objects
//!   of unknown identity and loads of the wrong length are streamed, every
//!   time, from storage;
//! - bytes the store below read from another fid than the look-up named
//!   (the key overwritten meanwhile) are never kept under the named fid.

use super::*;
use crate::cache::CacheMetrics;
use crate::config::cache::ObjectCacheConfig;
use crate::storage::Need;
use crate::web::conditional::Validators;
use crate::web::range::RangeSpec;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A store in memory: key → (fid, bytes). Opens wait a little, so that
/// concurrent requests overlap, and are counted.
#[derive(Debug, Default)]
struct Fake {
    objects: Mutex<HashMap<String, (u64, Bytes)>>,
    opens: AtomicUsize,
    /// Report no identity (a look-up without validators).
    anonymous: bool,
    /// With `anonymous`: report MogileFS replica paths, which name the fid.
    located: bool,
    /// Return one byte less than the metadata says.
    short: bool,
    /// With `located`: the fid the look-up names, whatever the key holds
    /// now (a look-up made before the key was overwritten).
    stale_fid: Option<u64>,
}

impl Fake {
    fn with(objects: &[(&str, u64, &[u8])]) -> Fake {
        let fake = Fake::default();
        for (key, fid, bytes) in objects {
            let value = (*fid, Bytes::copy_from_slice(bytes));
            fake.objects.lock().unwrap().insert(key.to_string(), value);
        }
        fake
    }

    fn get(&self, key: &str) -> Result<(u64, Bytes), StorageError> {
        let found = self.objects.lock().unwrap().get(key).cloned();
        found.ok_or_else(|| StorageError::NotFound {
            what: key.into(),
            public: "not found".into(),
        })
    }
}

/// A MogileFS replica path of `fid`.
fn replica(fid: u64) -> String {
    format!("http://127.0.0.1:7500/dev1/0/000/000/{fid:010}.fid")
}

fn modified(fid: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + fid)
}

impl Store for Fake {
    fn meta<'a>(&'a self, key: &'a str, _need: Need) -> StoreFuture<'a, Meta> {
        Box::pin(async move {
            let (fid, bytes) = self.get(key)?;
            let size = bytes.len() as u64;
            Ok(Meta {
                type_name: key.into(),
                size: Some(size),
                validators: Validators {
                    etag: Some(format!("\"{fid}-{size}\"")),
                    last_modified: Some(modified(fid)),
                },
                identity: (!self.anonymous).then(|| Identity {
                    upstream: "up".into(),
                    id: fid.to_string(),
                    size,
                }),
                replicas: match self.located {
                    true => vec![replica(self.stale_fid.unwrap_or(fid))],
                    false => Vec::new(),
                },
                ..Meta::default()
            })
        })
    }

    fn open<'a>(&'a self, key: &'a str, _meta: &'a Meta, read: Read) -> StoreFuture<'a, Object> {
        Box::pin(async move {
            self.opens.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            let (fid, mut bytes) = self.get(key)?;
            let size = bytes.len() as u64;
            if self.short {
                bytes.truncate(bytes.len() - 1);
            }
            let served = Served::of(read.range, size);
            let body = match served {
                _ if read.head => None,
                Served::Full => Some(from_bytes(bytes)),
                Served::Range(r) => {
                    Some(from_bytes(bytes.slice(r.first as usize..=r.last as usize)))
                }
                Served::Unsatisfiable => None,
            };
            Ok(Object {
                size,
                last_modified: Some(modified(fid)),
                etag: Some(format!("\"{fid}-{size}\"")),
                served,
                body,
                source: Source {
                    node: Some(match self.located {
                        true => replica(fid),
                        false => format!("node/{fid}"),
                    }),
                    ..Source::default()
                },
            })
        })
    }

    fn write<'a>(
        &'a self,
        target: WriteTarget<'a>,
        body: ByteStream,
        _limits: WriteLimits,
    ) -> StoreFuture<'a, Stored> {
        Box::pin(async move {
            let key = target.key.unwrap_or("new").to_string();
            let bytes = read_at_most(body, u64::MAX, 0).await.unwrap();
            let mut objects = self.objects.lock().unwrap();
            // The fid is kept: only the invalidation can make the new bytes
            // visible through the cache.
            let fid = objects.get(&key).map_or(99, |o| o.0);
            let size = bytes.len() as u64;
            objects.insert(key.clone(), (fid, bytes));
            Ok(Stored {
                key,
                size,
                fid: Some(fid),
                etag: None,
                source: Source::default(),
            })
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Source> {
        Box::pin(async move {
            self.get(key)?;
            self.objects.lock().unwrap().remove(key);
            Ok(Source::default())
        })
    }
}

fn cache(size: &str, max_object: &str) -> ObjectCache {
    let text = format!("size = \"{size}\"\nmax_object = \"{max_object}\"");
    let config: ObjectCacheConfig = toml::from_str(&text).unwrap();
    ObjectCache::new(&config, "up", &CacheMetrics::default())
}

fn cached(fake: &Arc<Fake>, cache: &ObjectCache) -> CachedStore {
    let inner: SharedStore = fake.clone();
    let naming = Naming::Mogilefs {
        domain: "photos".into(),
    };
    CachedStore::new(inner, cache.clone(), naming)
}

/// What a client would see of one read: headers and body.
#[derive(Debug, PartialEq)]
struct Seen {
    size: u64,
    etag: Option<String>,
    last_modified: Option<SystemTime>,
    served: Served,
    body: Option<Vec<u8>>,
}

async fn read(store: &dyn Store, key: &str, read: Read) -> Result<(Seen, Source), StorageError> {
    let meta = store.meta(key, Need::Location).await?;
    let object = store.open(key, &meta, read).await?;
    let body = match object.body {
        Some(b) => Some(read_at_most(b, u64::MAX, 0).await.unwrap().to_vec()),
        None => None,
    };
    let seen = Seen {
        size: object.size,
        etag: object.etag,
        last_modified: object.last_modified,
        served: object.served,
        body,
    };
    Ok((seen, object.source))
}

async fn get(store: &dyn Store, key: &str) -> (Seen, Source) {
    read(store, key, Read::default()).await.unwrap()
}

fn range(first: u64, last: u64) -> Read {
    Read {
        range: Some(RangeSpec::From {
            first,
            last: Some(last),
        }),
        head: false,
    }
}

fn opens(fake: &Fake) -> usize {
    fake.opens.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_second_get_is_a_hit_without_a_storage_read() {
    let fake = Arc::new(Fake::with(&[("a.jpg", 7, b"hello cache")]));
    let store = cached(&fake, &cache("1MiB", "64KiB"));
    let (first, source) = get(&store, "a.jpg").await;
    assert_eq!(source.cache, Some(CacheStatus::Miss));
    assert_eq!(source.node.as_deref(), Some("node/7"));
    let (second, source) = get(&store, "a.jpg").await;
    assert_eq!(source.cache, Some(CacheStatus::Hit));
    assert_eq!(first, second);
    assert_eq!(second.body.as_deref(), Some(&b"hello cache"[..]));
    assert_eq!(opens(&fake), 1);
}

#[tokio::test]
async fn sixteen_concurrent_misses_make_one_storage_read() {
    let fake = Arc::new(Fake::with(&[("a.jpg", 7, &[5u8; 4096])]));
    let store = cached(&fake, &cache("1MiB", "64KiB"));
    let reads = (0..16).map(|_| get(&store, "a.jpg"));
    let seen = futures_util::future::join_all(reads).await;
    assert_eq!(opens(&fake), 1);
    for (s, _) in &seen {
        assert_eq!(s.body.as_deref(), Some(&[5u8; 4096][..]));
    }
}

#[tokio::test]
async fn a_range_from_the_cache_matches_the_uncached_answer() {
    let bytes: Vec<u8> = (0..=255u8).collect();
    let fake = Arc::new(Fake::with(&[("a.bin", 3, &bytes)]));
    let store = cached(&fake, &cache("1MiB", "64KiB"));
    let (uncached, _) = read(&*fake, "a.bin", range(10, 19)).await.unwrap();
    let (miss, source) = read(&store, "a.bin", range(10, 19)).await.unwrap();
    assert_eq!(source.cache, Some(CacheStatus::Miss));
    let (hit, source) = read(&store, "a.bin", range(10, 19)).await.unwrap();
    assert_eq!(source.cache, Some(CacheStatus::Hit));
    assert_eq!(uncached.body.as_deref(), Some(&bytes[10..20]));
    assert_eq!(miss, uncached);
    assert_eq!(hit, uncached);
    let (past, _) = read(&store, "a.bin", range(300, 400)).await.unwrap();
    assert_eq!((past.served, past.body), (Served::Unsatisfiable, None));
    // One read by the fake itself, one whole-object load for the cache.
    assert_eq!(opens(&fake), 2);
}

#[tokio::test]
async fn a_head_from_the_cache_has_the_headers_and_no_body() {
    let fake = Arc::new(Fake::with(&[("a.jpg", 7, b"hello cache")]));
    let store = cached(&fake, &cache("1MiB", "64KiB"));
    let head = Read {
        range: None,
        head: true,
    };
    let (uncached, _) = read(&*fake, "a.jpg", head).await.unwrap();
    get(&store, "a.jpg").await;
    let (hit, source) = read(&store, "a.jpg", head).await.unwrap();
    assert_eq!(source.cache, Some(CacheStatus::Hit));
    assert_eq!(hit, uncached);
    assert_eq!(hit.body, None);
    assert_eq!(opens(&fake), 2);
}

#[tokio::test]
async fn a_put_through_the_store_is_visible_at_once() {
    let fake = Arc::new(Fake::with(&[("a.txt", 7, b"old bytes")]));
    let store = cached(&fake, &cache("1MiB", "64KiB"));
    get(&store, "a.txt").await;
    let target = WriteTarget {
        key: Some("a.txt"),
        extension: "",
        length: Some(9),
    };
    let limits = WriteLimits { max_size: 1 << 20 };
    let body = from_bytes(Bytes::from_static(b"new bytes"));
    store.write(target, body, limits).await.unwrap();
    let (seen, source) = get(&store, "a.txt").await;
    assert_eq!(seen.body.as_deref(), Some(&b"new bytes"[..]));
    assert_eq!(source.cache, Some(CacheStatus::Miss));
}

#[tokio::test]
async fn a_delete_through_the_store_drops_the_object() {
    let fake = Arc::new(Fake::with(&[("a.txt", 7, b"bytes")]));
    let cache = cache("1MiB", "64KiB");
    let store = cached(&fake, &cache);
    let meta = store.meta("a.txt", Need::Location).await.unwrap();
    get(&store, "a.txt").await;
    assert_eq!(cache.entries(), 1);
    store.delete("a.txt").await.unwrap();
    assert_eq!(cache.entries(), 0);
    let err = read(&store, "a.txt", Read::default()).await.unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err}");
    // Even with the metadata a request looked up before the delete.
    let err = store
        .open("a.txt", &meta, Read::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn the_capacity_holds() {
    let objects: Vec<(String, u64)> = (0..12).map(|i| (format!("o{i}"), i)).collect();
    let fake = Arc::new(Fake::default());
    for (key, fid) in &objects {
        let bytes = Bytes::from(vec![*fid as u8; 16 << 10]);
        fake.objects
            .lock()
            .unwrap()
            .insert(key.clone(), (*fid, bytes));
    }
    let cache = cache("64KiB", "16KiB");
    let store = cached(&fake, &cache);
    for (key, fid) in &objects {
        let (seen, _) = get(&store, key).await;
        assert_eq!(seen.body, Some(vec![*fid as u8; 16 << 10]));
        assert!(cache.held_bytes() <= 64 << 10, "{}", cache.held_bytes());
    }
    assert!(cache.entries() < 4, "{}", cache.entries());
}

#[tokio::test]
async fn objects_the_cache_does_not_take_are_streamed_every_time() {
    // Over the per-object limit.
    let big = vec![1u8; 20 << 10];
    let fake = Arc::new(Fake::with(&[("big", 1, &big)]));
    let store = cached(&fake, &cache("1MiB", "16KiB"));
    for _ in 0..2 {
        let (seen, source) = get(&store, "big").await;
        assert_eq!((seen.body.as_deref(), source.cache), (Some(&big[..]), None));
    }
    assert_eq!(opens(&fake), 2);

    // Identity unknown.
    let mut fake = Fake::with(&[("a", 2, b"abc")]);
    fake.anonymous = true;
    let fake = Arc::new(fake);
    let store = cached(&fake, &cache("1MiB", "16KiB"));
    for _ in 0..2 {
        let (seen, source) = get(&store, "a").await;
        assert_eq!(
            (seen.body.as_deref(), source.cache),
            (Some(&b"abc"[..]), None)
        );
    }
    assert_eq!(opens(&fake), 2);
}

#[tokio::test]
async fn a_load_of_the_wrong_length_is_not_kept() {
    let mut fake = Fake::with(&[("a", 2, b"abcdef")]);
    fake.short = true;
    let fake = Arc::new(fake);
    let cache = cache("1MiB", "16KiB");
    let store = cached(&fake, &cache);
    let (seen, _) = get(&store, "a").await;
    // Streamed past the cache: what storage sent, nothing kept.
    assert_eq!(seen.body.as_deref(), Some(&b"abcde"[..]));
    assert_eq!(cache.entries(), 0);
    get(&store, "a").await;
    assert_eq!(opens(&fake), 4);
}

#[tokio::test]
async fn a_mogilefs_get_that_knows_only_the_fid_is_cached_after_its_first_read() {
    // A plain GET asks the tracker for paths only: the fid is in them, the
    // size comes with the first storage answer.
    let mut fake = Fake::with(&[("a", 7, b"abcdef")]);
    (fake.anonymous, fake.located) = (true, true);
    let fake = Arc::new(fake);
    let cache = cache("1MiB", "16KiB");
    let store = cached(&fake, &cache);
    let (seen, source) = get(&store, "a").await;
    assert_eq!(
        (seen.body.as_deref(), source.cache),
        (Some(&b"abcdef"[..]), Some(CacheStatus::Miss))
    );
    let (seen, source) = get(&store, "a").await;
    assert_eq!(
        (seen.body.as_deref(), source.cache),
        (Some(&b"abcdef"[..]), Some(CacheStatus::Hit))
    );
    assert_eq!(seen.etag.as_deref(), Some("\"7-6\""));
    assert_eq!(opens(&fake), 1);

    // A PUT of the key through the gateway is seen at once.
    let body = from_bytes(Bytes::from_static(b"xyz"));
    let target = WriteTarget {
        key: Some("a"),
        extension: "",
        length: None,
    };
    store
        .write(target, body, WriteLimits { max_size: 100 })
        .await
        .unwrap();
    let (seen, _) = get(&store, "a").await;
    assert_eq!(seen.body.as_deref(), Some(&b"xyz"[..]));
}

#[tokio::test]
async fn bytes_of_a_newer_fid_are_never_kept_under_the_fid_looked_up() {
    // The look-up names fid 7; the key was overwritten (fid 8) and the
    // store below read fid 8 after looking the key up again.
    let id = |fid, size| ObjectId::Mogilefs { fid, size };
    for size_known in [false, true] {
        let mut fake = Fake::with(&[("a", 7, b"abcdef")]);
        (fake.anonymous, fake.located) = (true, true);
        let fake = Arc::new(fake);
        let cache = cache("1MiB", "16KiB");
        let store = cached(&fake, &cache);
        if size_known {
            // A HEAD learns fid 7's size without keeping its bytes.
            let head = Read {
                range: None,
                head: true,
            };
            read(&store, "a", head).await.unwrap();
            assert!(cache.get(&id(7, 6)).await.is_none());
        }
        let mut moved = Fake::with(&[("a", 8, b"uvwxyz")]);
        (moved.anonymous, moved.located, moved.stale_fid) = (true, true, Some(7));
        let moved = Arc::new(moved);
        let store = CachedStore {
            inner: moved.clone(),
            ..store
        };
        let (seen, _) = get(&store, "a").await;
        assert_eq!(seen.body.as_deref(), Some(&b"uvwxyz"[..]), "{size_known}");
        assert!(
            cache.get(&id(7, 6)).await.is_none(),
            "fid 8's bytes kept as fid 7 ({size_known})"
        );
    }
}
