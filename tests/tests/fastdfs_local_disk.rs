//! FastDFS local-disk mode (`store_paths` on a location), the gateway
//! sharing a machine with storage 0 of group1:
//! - a file on this disk is served from it: GET, HEAD, Range, 304 and a
//!   0-byte file reach no storage server, with the same validators as over
//!   the network;
//! - a file not on this disk (sync off, so only storage 1 has it; or removed
//!   from this disk) is fetched from the storage that has it, and served
//!   from disk once sync catches up;
//! - a local copy of the wrong size (a sync in progress) is not served;
//! - with `disk_reads = "inline"` the same holds, large files and ranges
//!   included;
//! - traversal-shaped IDs are refused (400) and never read a file outside
//!   the store path.

use devcluster::fastdfs::FetchPolicy;
use dfs_e2e::fastdfs::{bounded, raw_get, toml_path, FdfsEnv, FdfsOptions};
use dfs_e2e::pattern;
use dfs_protocol::fastdfs::FileId;
use reqwest::header;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// group1 with two storages; `/` reads from storage 0's store path, `/net/`
/// is the same upstream without local-disk mode.
async fn local_env() -> FdfsEnv {
    local_env_with("").await
}

/// [`local_env`] with extra keys on the local-disk location.
async fn local_env_with(extra: &str) -> FdfsEnv {
    let mut options = FdfsOptions::default();
    let cluster = FdfsEnv::cluster(&options).await;
    let store = cluster.storage("group1", 0).store_path().to_owned();
    options.read_extra = format!("store_paths = [{}]\n{extra}", toml_path(&store));
    options.extra_tables = "[[location]]\nprefix = \"/net/\"\nupstream = \"fdfs\"\n".into();
    FdfsEnv::with_cluster(cluster, &options).await
}

/// Total requests seen by group1's storages.
fn storage_requests(env: &FdfsEnv) -> u64 {
    env.storage_requests("group1").iter().sum()
}

/// Uploads with sync off until a file lands on storage 1 only.
async fn upload_to_storage_1_only(env: &FdfsEnv, data: &[u8]) -> FileId {
    env.cluster.set_sync(false).await;
    let (s0, s1) = (
        env.cluster.storage("group1", 0),
        env.cluster.storage("group1", 1),
    );
    // The tracker picks storages round-robin: two uploads reach both.
    for _ in 0..4 {
        let id = env.upload(data.to_vec(), "jpg").await;
        if s1.has_file(&id) && !s0.has_file(&id) {
            return id;
        }
    }
    panic!("no upload landed on storage 1 alone");
}

#[tokio::test]
async fn files_on_this_disk_are_served_without_a_storage_request() {
    bounded(LIMIT, async {
        let env = local_env().await;
        let data = pattern(31, 10_000);
        let id = env.upload(data.clone(), "jpg").await;
        let empty = env.upload(Vec::new(), "txt").await;
        assert!(env.cluster.storage("group1", 0).has_file(&id));
        let network = env
            .http
            .head(env.url(&format!("/net/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(network.status(), 200);
        let before = storage_requests(&env);

        let r = env.http.get(env.file_url(&id)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        for name in [header::ETAG, header::LAST_MODIFIED, header::CONTENT_TYPE] {
            assert_eq!(r.headers()[&name], network.headers()[&name], "{name}");
        }
        assert!(r.bytes().await.unwrap() == data);

        let head = env.http.head(env.file_url(&id)).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()[header::CONTENT_LENGTH], "10000");

        let r = env
            .http
            .get(env.file_url(&id))
            .header(header::RANGE, "bytes=9990-")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes 9990-9999/10000");
        assert_eq!(&r.bytes().await.unwrap()[..], &data[9990..]);

        let etag = network.headers()[header::ETAG].clone();
        let r = env
            .http
            .get(env.file_url(&id))
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);

        let (status, body) = env.get_id(&empty).await;
        assert_eq!((status, body.len()), (200, 0));

        assert_eq!(
            storage_requests(&env),
            before,
            "a file on this disk was fetched from a storage server"
        );
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_file_only_on_the_other_storage_is_fetched_over_the_network() {
    bounded(LIMIT, async {
        let env = local_env().await;
        let data = pattern(32, 50_000);
        let id = upload_to_storage_1_only(&env, &data).await;
        let s1 = env.cluster.storage("group1", 1);
        let before = s1.stats().downloads;
        let (status, body) = env.get_id(&id).await;
        assert_eq!(status, 200);
        assert!(body == data);
        assert_eq!(s1.stats().downloads, before + 1, "storage 1 sent it");
        let head = env.http.head(env.file_url(&id)).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()[header::CONTENT_LENGTH], "50000");

        // Sync catches up: from then on this disk serves it.
        env.cluster.set_sync(true).await;
        assert!(env.cluster.storage("group1", 0).has_file(&id));
        let before = storage_requests(&env);
        let (status, body) = env.get_id(&id).await;
        assert_eq!(status, 200);
        assert!(body == data);
        assert_eq!(storage_requests(&env), before);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_file_removed_from_this_disk_or_cut_short_is_fetched_elsewhere() {
    bounded(LIMIT, async {
        let env = local_env().await;
        // Storage 1 answers downloads: storage 0's copy is the local one.
        env.cluster.set_fetch_policy(FetchPolicy::Storage(1));
        let s0 = env.cluster.storage("group1", 0);
        let s1 = env.cluster.storage("group1", 1);

        let data = pattern(33, 30_000);
        let gone = env.upload(data.clone(), "jpg").await;
        std::fs::remove_file(s0.file_path(&gone)).unwrap();
        let before = s1.stats().downloads;
        let (status, body) = env.get_id(&gone).await;
        assert_eq!(status, 200);
        assert!(body == data);
        assert_eq!(s1.stats().downloads, before + 1);

        // Half a file, as while a sync is still writing it.
        let short = env.upload(data.clone(), "jpg").await;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(s0.file_path(&short))
            .unwrap();
        file.set_len(15_000).unwrap();
        drop(file);
        let (status, body) = env.get_id(&short).await;
        assert_eq!(status, 200);
        assert!(body == data, "the short local copy was served");
        assert_eq!(s1.stats().downloads, before + 2);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn inline_disk_reads_serve_the_same_bytes() {
    bounded(LIMIT, async {
        let env = local_env_with("disk_reads = \"inline\"").await;
        env.cluster.set_fetch_policy(FetchPolicy::Storage(1));
        let s1 = env.cluster.storage("group1", 1);
        // Several read chunks, and a range across a chunk boundary.
        let data = pattern(34, 700_000);
        let id = env.upload(data.clone(), "bin").await;
        let before = storage_requests(&env);
        let (status, body) = env.get_id(&id).await;
        assert_eq!(status, 200);
        assert!(body == data);
        let r = env
            .http
            .get(env.file_url(&id))
            .header(header::RANGE, "bytes=262000-263999")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(&r.bytes().await.unwrap()[..], &data[262_000..264_000]);
        assert_eq!(storage_requests(&env), before, "read from disk");

        // A copy cut short is still fetched from the storage that has it.
        let s0 = env.cluster.storage("group1", 0);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(s0.file_path(&id))
            .unwrap();
        file.set_len(100_000).unwrap();
        drop(file);
        let downloads = s1.stats().downloads;
        let (status, body) = env.get_id(&id).await;
        assert_eq!(status, 200);
        assert!(body == data, "the short local copy was served");
        assert!(s1.stats().downloads > downloads);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn traversal_ids_never_leave_the_store_path() {
    bounded(LIMIT, async {
        let env = local_env().await;
        let store = env.cluster.storage("group1", 0).store_path().to_owned();
        let secret = "TOP-SECRET-CONTENT";
        std::fs::write(store.join("secret.txt"), secret).unwrap();
        std::fs::write(store.join("data").join("secret.txt"), secret).unwrap();
        let id = env.upload(pattern(34, 100), "jpg").await;
        let name = id.file_name().to_owned();
        for target in [
            "/group1/M00/../secret.txt".to_owned(),
            "/group1/M00/00/../../secret.txt".to_owned(),
            "/group1/M00/%2e%2e/secret.txt".to_owned(),
            "/group1/M00/%2E%2E/%2E%2E/secret.txt".to_owned(),
            "/group1/M00/..%2F..%2Fsecret.txt".to_owned(),
            "/group1/M00/00/00/..%2F..%2Fsecret.txt".to_owned(),
            // As long as a real remote name, so only the shape refuses them.
            format!("/group1/M00/../../{name}"),
            format!("/group1/M00/00/../{name}"),
            format!("/group1/M00/%2e%2e/%2e%2e/{name}"),
        ] {
            let (status, text) = raw_get(env.gateway.addr, &target).await;
            assert_eq!(status, 400, "{target}: {text}");
            assert!(!text.contains(secret), "{target} leaked the file");
        }
        env.stop().await;
    })
    .await;
}
