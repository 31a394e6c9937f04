//! FastDFS failover, with the tracker's choices pinned
//! (`FetchPolicy::Storage(0)`) so each path is taken on purpose:
//! - a stopped storage the tracker still names: reads (GET, HEAD, Range)
//!   come from the other storage quickly, uploads the tracker sends to it
//!   land on the other one, deletes are done by the other one (a read of
//!   the deleted file is then 502, not 404, while a storage that might
//!   still hold it is down); back in service once restarted;
//! - a storage slower than the reply time-out: the other one serves;
//! - a file missing on the tracker's choice but present on another storage
//!   of the group (removed there, or not synced yet; 0 bytes too) is served;
//!   missing everywhere → 404;
//! - a storage cutting a download mid-body breaks the response instead of
//!   ending it short;
//! - a storage answering a download with an error status (EIO) is passed
//!   over for another storage of the group;
//! - tracker failover: with one of two trackers stopped (either one),
//!   uploads, reads and deletes go on;
//! - all trackers down: uploads, deletes and reads the gateway cannot
//!   resolve → 503 with Retry-After, `/readyz` → 503; a file whose source
//!   storage a tracker named before is still read from that source.

use devcluster::fastdfs::FetchPolicy;
use dfs_e2e::fastdfs::{bounded, fdfs_config, FdfsEnv, FdfsOptions};
use dfs_e2e::{client, pattern, Gateway};
use dfs_protocol::fastdfs::{FileId, Source};
use reqwest::header;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

/// Trackers keep naming stopped storages, as for a while after a crash.
fn sticky() -> FdfsOptions {
    FdfsOptions {
        notice_stop_after: None,
        ..Default::default()
    }
}

/// GETs `id` and checks it is served whole within `within`.
async fn served(env: &FdfsEnv, id: &FileId, data: &[u8], within: Duration) {
    let started = Instant::now();
    let (status, body) = env.get_id(id).await;
    assert_eq!(status, 200, "{id}");
    assert!(body == data, "{id}: content differs");
    assert!(
        started.elapsed() < within,
        "{id} took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_stopped_storage_the_tracker_still_names_is_skipped() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start_with(&sticky()).await;
        env.cluster.set_fetch_policy(FetchPolicy::Storage(0));
        let data = pattern(71, 100_000);
        let ids = [
            env.upload(data.clone(), "jpg").await,
            env.upload(data.clone(), "jpg").await,
        ];
        let s0 = env.cluster.storage("group1", 0);
        let s1 = env.cluster.storage("group1", 1);
        s0.stop().await;
        let before = s1.stats().downloads;
        for id in &ids {
            served(&env, id, &data, Duration::from_secs(3)).await;
            let head = env.http.head(env.file_url(id)).send().await.unwrap();
            assert_eq!(head.status(), 200);
            let r = env
                .http
                .get(env.file_url(id))
                .header(header::RANGE, "bytes=0-0")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 206);
            assert_eq!(&r.bytes().await.unwrap()[..], &data[..1]);
        }
        assert_eq!(s1.stats().downloads, before + 4);

        // The tracker sends every other upload to the dead storage: the
        // body was not sent yet, so the gateway asks again.
        let mut new_ids = Vec::new();
        let uploads = s1.stats().uploads;
        for i in 0..4 {
            let fresh = pattern(72 + i, 5000);
            let id = env.upload(fresh.clone(), "bin").await;
            served(&env, &id, &fresh, Duration::from_secs(3)).await;
            new_ids.push(id);
        }
        assert_eq!(s1.stats().uploads, uploads + 4, "storage 1 took them all");
        // The tracker names storage 0 for a delete of a file it stored.
        let from_s0 = ids
            .iter()
            .find(|id| id.source() == Source::Ip(s0.ip()))
            .expect("round-robin sent one of the first two uploads to storage 0");
        assert_eq!(env.delete(from_s0).await, 204);
        assert!(!s1.has_file(from_s0));
        // Storage 1 no longer has it, but the unreachable storage 0 might
        // (sync lag): absence cannot be claimed while a storage is down.
        assert_eq!(env.get_id(from_s0).await.0, 502);

        s0.start().unwrap();
        assert_eq!(env.get_id(from_s0).await.0, 404, "sync removed both copies");
        let before = s0.stats().downloads;
        served(
            &env,
            &new_ids[0],
            &pattern(72, 5000),
            Duration::from_secs(3),
        )
        .await;
        assert_eq!(s0.stats().downloads, before + 1, "storage 0 serves again");
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_storage_slower_than_the_time_out_is_passed_over() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start_with(&FdfsOptions {
            upstream_extra: "reply_timeout = \"500ms\"".into(),
            ..sticky()
        })
        .await;
        env.cluster.set_fetch_policy(FetchPolicy::Storage(0));
        let data = pattern(76, 20_000);
        let id = env.upload(data.clone(), "jpg").await;
        env.cluster
            .storage("group1", 0)
            .set_latency(Duration::from_secs(10));
        served(&env, &id, &data, Duration::from_secs(4)).await;
        env.cluster.storage("group1", 0).set_latency(Duration::ZERO);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_file_missing_on_the_trackers_choice_is_served_by_another_storage() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        env.cluster.set_fetch_policy(FetchPolicy::Storage(0));
        let s0 = env.cluster.storage("group1", 0);
        let s1 = env.cluster.storage("group1", 1);

        // Removed from the tracker's choice.
        let data = pattern(77, 40_000);
        let id = env.upload(data.clone(), "jpg").await;
        let empty = env.upload(Vec::new(), "txt").await;
        std::fs::remove_file(s0.file_path(&id)).unwrap();
        std::fs::remove_file(s0.file_path(&empty)).unwrap();
        served(&env, &id, &data, Duration::from_secs(3)).await;
        served(&env, &empty, &[], Duration::from_secs(3)).await;
        let head = env.http.head(env.file_url(&id)).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()[header::CONTENT_LENGTH], "40000");
        let r = env
            .http
            .get(env.file_url(&id))
            .header(header::RANGE, "bytes=100-199")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(&r.bytes().await.unwrap()[..], &data[100..200]);

        // Not synced yet: only storage 1 has it.
        env.cluster.set_sync(false).await;
        let mut only_on_1 = None;
        for i in 0..4 {
            let fresh = pattern(78 + i, 3000);
            let id = env.upload(fresh.clone(), "jpg").await;
            if s1.has_file(&id) && !s0.has_file(&id) {
                only_on_1 = Some((id, fresh));
                break;
            }
        }
        let (id, fresh) = only_on_1.expect("an upload lands on storage 1 alone");
        served(&env, &id, &fresh, Duration::from_secs(3)).await;

        // On neither: every storage said so.
        std::fs::remove_file(s1.file_path(&id)).unwrap();
        assert_eq!(env.get_id(&id).await.0, 404);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_storage_cutting_a_download_breaks_the_response() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        env.cluster.set_fetch_policy(FetchPolicy::Storage(0));
        let data = pattern(79, 1 << 20);
        let id = env.upload(data.clone(), "bin").await;
        env.cluster.storage("group1", 0).close_mid_body();
        let response = env.http.get(env.file_url(&id)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.content_length(), Some(1 << 20));
        assert!(
            response.bytes().await.is_err(),
            "a truncated body was delivered as complete"
        );
        // The fault was for one download only.
        served(&env, &id, &data, Duration::from_secs(3)).await;
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn either_of_two_trackers_can_be_down() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start_with(&FdfsOptions {
            trackers: 2,
            ..Default::default()
        })
        .await;
        for (down, up) in [(0, 1), (1, 0)] {
            env.cluster.tracker(down).stop().await;
            let before = env.cluster.tracker(up).stats().requests;
            let started = Instant::now();
            for i in 0..3 {
                let data = pattern(80 + i, 1000);
                let id = env.upload(data.clone(), "jpg").await;
                served(&env, &id, &data, Duration::from_secs(3)).await;
                let head = env.http.head(env.file_url(&id)).send().await.unwrap();
                assert_eq!(head.status(), 200);
                assert_eq!(env.delete(&id).await, 204);
                assert_eq!(env.get_id(&id).await.0, 404);
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "tracker {down} down: {:?}",
                started.elapsed()
            );
            assert!(env.cluster.tracker(up).stats().requests > before);
            env.cluster.tracker(down).start().unwrap();
        }
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn all_trackers_down_is_503() {
    bounded(LIMIT, async {
        let options = FdfsOptions {
            trackers: 2,
            ..Default::default()
        };
        let env = FdfsEnv::start_with(&options).await;
        let data = pattern(84, 7000);
        let id = env.upload(data.clone(), "jpg").await;
        served(&env, &id, &data, Duration::from_secs(3)).await;
        // A second gateway that never heard from a tracker.
        let fresh = Gateway::start(&fdfs_config(&env.cluster.tracker_addrs(), &options)).await;
        for i in 0..2 {
            env.cluster.tracker(i).stop().await;
        }

        let started = Instant::now();
        let r = env.post("ext=jpg", "new").await;
        assert_eq!(r.status(), 503, "upload");
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        assert_eq!(env.delete(&id).await, 503, "delete");
        let http = client();
        let r = http.get(fresh.url(&format!("/{id}"))).send().await.unwrap();
        assert_eq!(
            r.status(),
            503,
            "read through a gateway that knows no storage"
        );
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        let r = http
            .head(fresh.url(&format!("/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        assert!(started.elapsed() < Duration::from_secs(3));
        let r = http.get(env.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 503, "readiness");

        // The last resort: the source storage encoded in the ID, which a
        // tracker named as a storage of group1 before.
        served(&env, &id, &data, Duration::from_secs(3)).await;
        fresh.stop().await;
        env.stop().await;
    })
    .await;
}

/// A read is safe to repeat elsewhere: a storage whose disk fails (EIO)
/// should not end the search while another storage of the group has a copy.
#[tokio::test]
async fn a_storage_error_status_moves_on_to_the_next_storage() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        env.cluster.set_fetch_policy(FetchPolicy::Storage(0));
        let data = pattern(85, 10_000);
        let id = env.upload(data.clone(), "jpg").await;
        env.cluster
            .storage("group1", 0)
            .fail_next(dfs_protocol::fastdfs::status::EIO);
        served(&env, &id, &data, Duration::from_secs(3)).await;
        env.stop().await;
    })
    .await;
}
