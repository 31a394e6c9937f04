//! Reads of a MogileFS key while another writer overwrites it:
//! - a key overwritten behind the gateway's back (its look-up cache still
//!   naming the old fid, whose files are gone) is served from the new fid
//!   with the new bytes, not answered 502;
//! - GETs racing PUTs of one key through the gateway: never a 502, never
//!   bytes of two versions mixed.

use dfs_e2e::fastdfs::bounded;
use dfs_e2e::{pattern, MogEnv};
use std::time::Duration;

const SETTLED: Duration = Duration::from_secs(10);

/// Overwrites `key` through the tracker directly (not through the gateway,
/// whose caches so know nothing of it) and waits until the old fid's
/// files are deleted.
async fn overwrite_behind(env: &MogEnv, key: &str, data: &[u8]) -> u64 {
    let fid = env
        .cluster
        .store("imgs", key, data.to_vec())
        .await
        .expect("the tracker takes the upload");
    assert!(
        env.cluster.wait_no_orphans(SETTLED).await,
        "the old fid's files were deleted"
    );
    fid
}

#[tokio::test]
async fn a_key_overwritten_elsewhere_is_read_from_its_new_fid() {
    let env = MogEnv::start().await;
    let old = pattern(31, 20_000);
    let new = pattern(32, 30_000);
    assert_eq!(env.put("over.bin", old.clone()).await, 201);
    let (status, body) = env.get("over.bin").await;
    assert_eq!(status, 200);
    assert!(body == old, "the first version is served");
    overwrite_behind(&env, "over.bin", &new).await;
    for _ in 0..3 {
        let (status, body) = env.get("over.bin").await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert!(body == new, "the new version is served");
    }
}

#[tokio::test]
async fn gets_racing_overwrites_never_fail_nor_mix_versions() {
    bounded(Duration::from_secs(120), async {
        let env = MogEnv::start().await;
        // Lengths differ too, so that a body of one length with bytes of
        // another version shows.
        let versions: Vec<Vec<u8>> = (0..12)
            .map(|i| pattern(300 + i, 8_000 + 999 * i as usize))
            .collect();
        assert_eq!(env.put("race.bin", versions[0].clone()).await, 201);
        let done = std::sync::atomic::AtomicBool::new(false);
        let writer = async {
            for v in &versions[1..] {
                assert_eq!(env.put("race.bin", v.clone()).await, 201);
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        };
        let reader = || async {
            let mut seen = 0usize;
            // Bounded by the writer's end and by a count of its own.
            while !done.load(std::sync::atomic::Ordering::SeqCst) && seen < 2_000 {
                let (status, body) = env.get("race.bin").await;
                assert_eq!(
                    status,
                    200,
                    "{}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                );
                assert!(
                    versions.iter().any(|v| *v == body),
                    "a body of no single version ({} bytes)",
                    body.len()
                );
                seen += 1;
            }
            seen
        };
        let (_, a, b, c, d) = tokio::join!(writer, reader(), reader(), reader(), reader());
        assert!(a + b + c + d > 0, "reads overlapped the writes");
        env.gateway.stop().await;
    })
    .await;
}
