//! The object cache:
//! - bytes held never exceed the capacity, however many objects go in;
//! - objects over the per-object limit are refused without running the
//!   loader; a disabled cache admits nothing;
//! - N concurrent misses for one identity make one load, and all N get it;
//! - a failed load, a short load, or metadata of another size insert nothing;
//! - invalidation by identity drops derived objects too; by MogileFS key
//!   drops everything read under the key; the index empties with the cache;
//! - a load that overlapped an invalidation does not stay cached;
//! - hits, misses, inserts, evictions and bytes reach the metrics.

use super::*;
use crate::config::Bytes as Size;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

fn cache(size: u64, max_object: u64) -> (ObjectCache, Arc<CacheMetrics>) {
    let metrics = Arc::new(CacheMetrics::default());
    let config = ObjectCacheConfig {
        size: Size(size),
        max_object: Size(max_object),
    };
    (ObjectCache::new(&config, "mog", &metrics), metrics)
}

fn meta(size: usize) -> ObjectMeta {
    ObjectMeta {
        size: size as u64,
        etag: Some(format!("\"1-{size}\"")),
        ..ObjectMeta::default()
    }
}

fn fid(n: u64, size: usize) -> ObjectId {
    ObjectId::Mogilefs {
        fid: n,
        size: size as u64,
    }
}

async fn ok(size: usize, byte: u8) -> Result<(ObjectMeta, Bytes), std::io::Error> {
    Ok((meta(size), Bytes::from(vec![byte; size])))
}

async fn load(c: &ObjectCache, id: ObjectId, size: usize) -> Arc<CachedObject> {
    c.load_with(id, None, size as u64, ok(size, 7))
        .await
        .unwrap()
}

#[tokio::test]
async fn bytes_held_never_exceed_the_capacity() {
    let (c, _) = cache(1 << 20, 64 << 10);
    for n in 0..200 {
        let size = 10_000 + (n as usize * 337) % 50_000;
        load(&c, fid(n, size), size).await;
        assert!(c.held_bytes() <= 1 << 20, "{} after {n}", c.held_bytes());
    }
    // 200 objects of 10-60 KB do not fit in 1 MiB: some were evicted, and
    // what remains is what the counters say.
    assert!(c.entries() < 200 && c.entries() > 0);
    let mut found = 0;
    for n in 0..200 {
        let size = 10_000 + (n as usize * 337) % 50_000;
        found += u64::from(c.get(&fid(n, size)).await.is_some());
    }
    assert_eq!(found, c.entries());
}

#[tokio::test]
async fn objects_over_the_limit_are_refused_unloaded() {
    let (c, _) = cache(1 << 20, 4096);
    assert!(c.admits(4096) && !c.admits(4097));
    let loaded = AtomicUsize::new(0);
    let loader = async {
        loaded.fetch_add(1, Ordering::SeqCst);
        ok(4097, 1).await
    };
    let e = c
        .load_with(fid(1, 4097), None, 4097, loader)
        .await
        .unwrap_err();
    assert!(matches!(
        *e,
        LoadError::NotAdmitted {
            size: 4097,
            limit: 4096,
            ..
        }
    ));
    assert_eq!(loaded.load(Ordering::SeqCst), 0);
    assert_eq!(load(&c, fid(2, 4096), 4096).await.bytes.len(), 4096);

    let (off, _) = cache(0, 4096);
    assert!(!off.admits(1));
    assert!(off.load_with(fid(3, 1), None, 1, ok(1, 1)).await.is_err());
    assert!(off.get(&fid(3, 1)).await.is_none());
    assert!(!ObjectCache::disabled().admits(0));
}

#[tokio::test]
async fn concurrent_misses_make_one_load() {
    let (c, _) = cache(1 << 20, 64 << 10);
    let loads = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (c, loads) = (c.clone(), Arc::clone(&loads));
            tokio::spawn(async move {
                let loader = async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    ok(5000, 9).await
                };
                c.load_with(fid(42, 5000), None, 5000, loader)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        let object = task.await.unwrap();
        assert_eq!(object.bytes, Bytes::from(vec![9; 5000]));
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(c.entries(), 1);
}

#[tokio::test]
async fn failed_and_short_loads_insert_nothing() {
    let (c, metrics) = cache(1 << 20, 64 << 10);
    let failed = async { Err::<(ObjectMeta, Bytes), _>(std::io::Error::other("reset")) };
    let e = c
        .load_with(fid(1, 100), None, 100, failed)
        .await
        .unwrap_err();
    assert!(matches!(*e, LoadError::Load(_)), "{e}");
    let e = c
        .load_with(fid(1, 100), None, 100, ok(99, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            *e,
            LoadError::Length {
                expected: 100,
                got: 99,
                ..
            }
        ),
        "{e}"
    );
    // The bytes are all there but the metadata disagrees.
    let mislabelled = async { Ok::<_, std::io::Error>((meta(99), Bytes::from(vec![0; 100]))) };
    let e = c
        .load_with(fid(1, 100), None, 100, mislabelled)
        .await
        .unwrap_err();
    assert!(matches!(*e, LoadError::Length { meta: 99, .. }), "{e}");
    assert!(c.get(&fid(1, 100)).await.is_none());
    assert_eq!((c.entries(), c.held_bytes(), c.index_groups()), (0, 0, 0));
    assert!(!render(&metrics).contains("inserts_total{upstream=\"mog\"} 1"));
    // The next try loads again, and this time it is kept.
    assert_eq!(load(&c, fid(1, 100), 100).await.bytes.len(), 100);
    assert!(c.get(&fid(1, 100)).await.is_some());
}

#[tokio::test]
async fn invalidation_drops_an_identity_and_what_derives_from_it() {
    let (c, _) = cache(1 << 20, 64 << 10);
    let file = ObjectId::fastdfs("group1/M00/00/00/abc.jpg");
    let thumb = file.derived("thumb=100x100");
    let other = ObjectId::fastdfs("group1/M00/00/00/def.jpg");
    for id in [&file, &thumb, &other] {
        load(&c, id.clone(), 10).await;
    }
    c.invalidate(&file).await;
    assert!(c.get(&file).await.is_none());
    assert!(c.get(&thumb).await.is_none());
    assert!(c.get(&other).await.is_some());
    assert_eq!(c.entries(), 1);
}

#[tokio::test]
async fn invalidation_by_key_drops_everything_read_under_it() {
    let (c, _) = cache(1 << 20, 64 << 10);
    let key = MogKey::new("photos", "cat.jpg");
    let (old, new) = (fid(1, 10), fid(2, 12));
    let thumb = old.derived("thumb=64x64");
    for (id, size) in [(&old, 10), (&new, 12), (&thumb, 10)] {
        let k = Some(key.clone());
        c.load_with(id.clone(), k, size, ok(size as usize, 1))
            .await
            .unwrap();
    }
    let elsewhere = fid(3, 10);
    let other_key = Some(MogKey::new("photos", "dog.jpg"));
    c.load_with(elsewhere.clone(), other_key, 10, ok(10, 1))
        .await
        .unwrap();

    c.invalidate_key(&key).await;
    for id in [&old, &new, &thumb] {
        assert!(c.get(id).await.is_none(), "{id:?} survived");
    }
    assert!(c.get(&elsewhere).await.is_some());
    c.invalidate(&elsewhere).await;
    assert_eq!((c.entries(), c.held_bytes(), c.index_groups()), (0, 0, 0));
}

#[tokio::test]
async fn a_load_overlapping_an_invalidation_is_not_kept() {
    let (c, _) = cache(1 << 20, 64 << 10);
    let id = ObjectId::fastdfs("group1/M00/00/00/deleted.jpg");
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let loading = {
        let (c, id) = (c.clone(), id.clone());
        tokio::spawn(async move {
            let loader = async {
                started_tx.send(()).unwrap();
                release_rx.await.unwrap();
                ok(10, 3).await
            };
            c.load_with(id, None, 10, loader)
                .await
                .map(|o| o.bytes.len())
        })
    };
    started_rx.await.unwrap();
    // A DELETE arrives while the old bytes are on their way.
    c.invalidate(&id).await;
    release_tx.send(()).unwrap();
    // The reader that was already waiting gets its bytes...
    assert_eq!(loading.await.unwrap().unwrap(), 10);
    // ...but later readers do not get them from the cache.
    assert!(c.get(&id).await.is_none());
    assert_eq!(c.entries(), 0);
}

#[tokio::test]
async fn metrics_count_hits_misses_inserts_evictions_and_bytes() {
    let (c, metrics) = cache(64 << 10, 32 << 10);
    assert!(c.get(&fid(1, 20_000)).await.is_none());
    load(&c, fid(1, 20_000), 20_000).await;
    assert!(c.get(&fid(1, 20_000)).await.is_some());
    let text = render(&metrics);
    for wanted in [
        "object_cache_lookups_total{upstream=\"mog\",result=\"hit\"} 1",
        "object_cache_lookups_total{upstream=\"mog\",result=\"miss\"} 1",
        "object_cache_inserts_total{upstream=\"mog\"} 1",
        "object_cache_entries{upstream=\"mog\"} 1",
    ] {
        assert!(text.contains(wanted), "{wanted} missing from\n{text}");
    }
    let held = format!("object_cache_bytes{{upstream=\"mog\"}} {}", c.held_bytes());
    assert!(text.contains(&held), "{held} missing from\n{text}");
    // Four more such objects cannot all fit in 64 KiB.
    for n in 2..6 {
        load(&c, fid(n, 20_000), 20_000).await;
    }
    let text = render(&metrics);
    assert!(
        !text.contains("object_cache_evictions_total{upstream=\"mog\"} 0"),
        "{text}"
    );
    assert!(c.held_bytes() <= 64 << 10);
}

fn render(metrics: &CacheMetrics) -> String {
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    out
}
