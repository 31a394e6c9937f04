//! FastDFS files whose IDs do not tell everything, placed on the storages'
//! disks as FastDFS would have written them:
//! - a slave file (`<master>_150x150.jpg`) is served, its size from the
//!   storage, its type from its extension;
//! - an appender file is served whole and by range, its size from the
//!   storage; once it grew, the new length and a new ETag.

use dfs_e2e::fastdfs::{bounded, now_ts, FdfsEnv};
use dfs_e2e::pattern;
use dfs_protocol::fastdfs::{FileId, FileKind, NewName};
use reqwest::header;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// Writes `data` as `id` on every storage of group1, as sync would.
fn place(env: &FdfsEnv, id: &FileId, data: &[u8]) {
    for storage in env.cluster.storages("group1") {
        let path = storage.file_path(id);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
}

#[tokio::test]
async fn slave_and_appender_files_are_served() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let master = env.upload(pattern(10, 4000), "jpg").await;
        let slave = master.slave("_150x150", None).unwrap();
        assert_eq!(slave.kind(), FileKind::Slave);
        let thumb = pattern(11, 700);
        place(&env, &slave, &thumb);
        let r = env.http.get(env.file_url(&slave)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "image/jpeg");
        assert_eq!(r.headers()[header::CONTENT_LENGTH], "700");
        assert!(r.bytes().await.unwrap() == thumb);

        // An appender's name does not tell its size: the storage does.
        let name = NewName {
            source: env.cluster.storage("group1", 0).ip(),
            create_time: u32::try_from(now_ts()).unwrap(),
            size: 0,
            crc32: 7,
            appender: true,
            random: 42,
            ext: "log".into(),
        };
        let appender = FileId::mint("group1", 0, (0, 1), &name).unwrap();
        assert_eq!(
            (appender.kind(), appender.size()),
            (FileKind::Appender, None)
        );
        let mut data = pattern(12, 5000);
        place(&env, &appender, &data);
        let url = env.file_url(&appender);
        let head = env.http.head(&url).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()[header::CONTENT_LENGTH], "5000");
        let etag = head.headers()[header::ETAG].clone();
        let r = env
            .http
            .get(&url)
            .header(header::RANGE, "bytes=4990-")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes 4990-4999/5000");
        assert_eq!(&r.bytes().await.unwrap()[..], &data[4990..]);

        // It grew: new length, new tag.
        data.extend_from_slice(&pattern(13, 1000));
        place(&env, &appender, &data);
        let r = env.http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_ne!(r.headers()[header::ETAG], etag);
        assert!(r.bytes().await.unwrap() == data);
        env.stop().await;
    })
    .await;
}
