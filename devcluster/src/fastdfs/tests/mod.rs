//! Storage behaviours, through the wire protocol:
//! - upload → real-format ID (source address, time, size, crc32) → file
//!   under `data/XX/YY/` on the source and, synced, on the group's peers;
//! - download whole, by offset and length, clamped; EINVAL at the end of
//!   file and for a 0-byte file; ENOENT for a missing file;
//! - QUERY_FILE_INFO, DELETE_FILE (pushed to peers), ACTIVE_TEST, several
//!   requests on one connection, QUIT;
//! - sync off / delayed; stop and start on the same port; injected faults.
//!
//! `tracker.rs` covers the tracker and the captured exchanges.

mod monitor;
mod tracker;

use super::*;
use dfs_protocol::fastdfs::storage::{DeleteFile, DownloadFile, QueryFileInfo, UploadFile};
use dfs_protocol::fastdfs::tracker::{ActiveTest, QueryStoreWithoutGroupOne};
use dfs_protocol::fastdfs::{status, Command, FileId, FileKind, Header, Source, HEADER_LEN};
use std::future::Future;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Fails a test that hangs instead of letting it block the suite.
pub(super) async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), test)
        .await
        .expect("test timed out")
}

/// A bare protocol client: one connection, one request at a time.
pub(super) struct Client {
    stream: BufReader<TcpStream>,
}

impl Client {
    pub(super) async fn connect(addr: SocketAddr) -> Client {
        Client {
            stream: BufReader::new(TcpStream::connect(addr).await.expect("connect")),
        }
    }

    /// Sends raw bytes and reads one whole reply packet; `None` on EOF.
    pub(super) async fn raw(&mut self, request: &[u8]) -> Option<Vec<u8>> {
        self.stream.get_mut().write_all(request).await.ok()?;
        let mut packet = vec![0u8; HEADER_LEN];
        self.stream.read_exact(&mut packet).await.ok()?;
        let header = Header::decode(packet[..].try_into().unwrap()).unwrap();
        let mut body = vec![0u8; header.pkg_len as usize];
        self.stream.read_exact(&mut body).await.ok()?;
        packet.extend(body);
        Some(packet)
    }

    pub(super) async fn call<C: Command>(&mut self, cmd: &C, data: &[u8]) -> Result<C::Reply, u8> {
        let mut request = cmd.encode_request().to_vec();
        request.extend_from_slice(data);
        let packet = self.raw(&request).await.expect("a reply");
        let (header, body) = Header::split(&packet).unwrap();
        if !header.is_ok() {
            return Err(header.status);
        }
        Ok(C::parse_reply(body).expect("a well-formed reply"))
    }

    /// True once the server has closed the connection.
    pub(super) async fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte).await, Ok(0) | Err(_))
    }
}

pub(super) async fn cluster(groups: &[(&str, usize)]) -> FdfsCluster {
    let builder = groups
        .iter()
        .fold(FdfsCluster::builder(), |b, (g, n)| b.group(g, *n));
    builder.build().await.expect("cluster")
}

/// Uploads `data` through the first tracker; returns the new file's ID.
pub(super) async fn upload(c: &FdfsCluster, data: &[u8], ext: &str) -> FileId {
    let mut tracker = Client::connect(c.tracker_addrs()[0]).await;
    let target = tracker.call(&QueryStoreWithoutGroupOne, &[]).await.unwrap();
    let mut storage = Client::connect(target.addr.into()).await;
    let up = UploadFile {
        store_path_index: target.store_path_index,
        size: data.len() as u64,
        ext: ext.into(),
    };
    let stored = storage.call(&up, data).await.unwrap();
    FileId::from_parts(&stored.group, &stored.remote_name).unwrap()
}

fn download(id: &FileId, offset: u64, length: u64) -> DownloadFile {
    DownloadFile {
        offset,
        length,
        file: id.file_ref(),
    }
}

#[tokio::test]
async fn uploads_get_real_format_ids_and_reach_every_storage() {
    bounded(async {
        let c = cluster(&[("group1", 2)]).await;
        let data = b"hello fastdfs vectors\n";
        let id = upload(&c, data, "txt").await;
        assert_eq!(
            (id.group(), id.kind(), id.size()),
            ("group1", FileKind::Normal, Some(22))
        );
        assert_eq!(id.crc32(), Some(0x6549_c5b9));
        let source = c
            .storages("group1")
            .iter()
            .find(|s| Source::Ip(s.ip()) == id.source());
        assert!(
            source.is_some(),
            "the source address is one of the group's storages"
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        assert!(now.as_secs().abs_diff(u64::from(id.create_time())) < 60);
        for s in c.storages("group1") {
            assert_eq!(std::fs::read(s.file_path(&id)).unwrap(), data);
        }
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn downloads_follow_the_real_offset_rules() {
    bounded(async {
        let c = cluster(&[("group1", 1)]).await;
        let id = upload(&c, b"0123456789", "bin").await;
        let empty = upload(&c, b"", "").await;
        let mut s = Client::connect(c.storage("group1", 0).addr()).await;
        assert_eq!(
            &s.call(&download(&id, 0, 0), &[]).await.unwrap()[..],
            b"0123456789"
        );
        assert_eq!(
            &s.call(&download(&id, 3, 4), &[]).await.unwrap()[..],
            b"3456"
        );
        assert_eq!(
            &s.call(&download(&id, 8, 100), &[]).await.unwrap()[..],
            b"89"
        );
        assert_eq!(
            s.call(&download(&id, 10, 0), &[]).await,
            Err(status::EINVAL)
        );
        assert_eq!(empty.size(), Some(0));
        assert_eq!(
            s.call(&download(&empty, 0, 0), &[]).await,
            Err(status::EINVAL)
        );
        let other_group = FileId::from_parts("group2", id.remote_name()).unwrap();
        assert_eq!(
            s.call(&download(&other_group, 0, 0), &[]).await,
            Err(status::EINVAL)
        );
        assert_eq!(c.storage("group1", 0).stats().downloads, 3);
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn info_delete_and_persistent_connections() {
    bounded(async {
        let c = cluster(&[("group1", 2)]).await;
        let id = upload(&c, b"abc", "txt").await;
        let before = c.storage("group1", 0).stats().connections;
        let mut s = Client::connect(c.storage("group1", 0).addr()).await;
        let query = QueryFileInfo {
            file: id.file_ref(),
            flags: 0,
        };
        let info = s.call(&query, &[]).await.unwrap();
        assert_eq!(
            (info.size, info.crc32, info.create_time),
            (3, id.crc32().unwrap(), u64::from(id.create_time()))
        );
        assert_eq!(Source::Ip(info.source_ip.parse().unwrap()), id.source());
        assert_eq!(s.call(&ActiveTest, &[]).await, Ok(()));
        let delete = DeleteFile {
            file: id.file_ref(),
        };
        assert_eq!(s.call(&delete, &[]).await, Ok(()));
        assert_eq!(s.call(&delete, &[]).await, Err(status::ENOENT));
        assert_eq!(s.call(&query, &[]).await, Err(status::ENOENT));
        assert!(
            !c.storage("group1", 1).has_file(&id),
            "the delete was pushed"
        );
        assert_eq!(
            c.storage("group1", 0).stats().connections,
            before + 1,
            "one connection"
        );
        s.raw(&Header::request(cmd_quit(), 0, 0).encode()).await;
        assert!(s.closed().await);
        c.shutdown().await;
    })
    .await;
}

fn cmd_quit() -> u8 {
    dfs_protocol::fastdfs::cmd::QUIT
}

#[tokio::test]
async fn sync_can_be_held_back_or_delayed() {
    bounded(async {
        let c = cluster(&[("group1", 2)]).await;
        c.set_sync(false).await;
        let id = upload(&c, b"only here", "txt").await;
        let on: Vec<bool> = c
            .storages("group1")
            .iter()
            .map(|s| s.has_file(&id))
            .collect();
        assert_eq!(on.iter().filter(|&&b| b).count(), 1, "{on:?}");
        c.set_sync(true).await;
        assert!(c.storages("group1").iter().all(|s| s.has_file(&id)));

        for s in c.storages("group1") {
            s.set_sync_delay(Duration::from_millis(200));
        }
        let later = upload(&c, b"later", "txt").await;
        assert!(!c.storages("group1").iter().all(|s| s.has_file(&later)));
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(c.storages("group1").iter().all(|s| s.has_file(&later)));
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn stop_and_start_keep_the_port() {
    bounded(async {
        let c = cluster(&[("group1", 1)]).await;
        let s = c.storage("group1", 0);
        let addr = s.addr();
        let mut open = Client::connect(addr).await;
        s.stop().await;
        assert!(!s.is_running());
        assert!(open.closed().await, "open connections are cut");
        assert!(TcpStream::connect(addr).await.is_err());
        let mut t = Client::connect(c.tracker_addrs()[0]).await;
        assert_eq!(
            t.call(&QueryStoreWithoutGroupOne, &[]).await,
            Err(status::ENOENT)
        );
        s.start().unwrap();
        assert_eq!(
            Client::connect(addr).await.call(&ActiveTest, &[]).await,
            Ok(())
        );
        assert!(t.call(&QueryStoreWithoutGroupOne, &[]).await.is_ok());
        c.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn injected_faults() {
    bounded(async {
        let c = cluster(&[("group1", 1)]).await;
        let data = vec![7u8; 100_000];
        let id = upload(&c, &data, "bin").await;
        let s = c.storage("group1", 0);
        let mut conn = Client::connect(s.addr()).await;
        s.fail_next(status::EIO);
        assert_eq!(conn.call(&download(&id, 0, 0), &[]).await, Err(status::EIO));
        assert_eq!(
            conn.call(&download(&id, 0, 0), &[]).await.unwrap().len(),
            data.len()
        );

        s.close_mid_body();
        let mut cut = Client::connect(s.addr()).await;
        assert_eq!(cut.raw(&download(&id, 0, 0).encode_request()).await, None);

        s.fail_next(status::ENOSPC);
        let up = UploadFile {
            store_path_index: 0,
            size: 3,
            ext: String::new(),
        };
        let mut refused = Client::connect(s.addr()).await;
        assert_eq!(refused.call(&up, b"abc").await, Err(status::ENOSPC));
        // A refused upload that fits in the storage's first buffer is wholly
        // read: as on the real storage, the connection stays usable.
        assert_eq!(
            refused.call(&download(&id, 0, 0), &[]).await.unwrap().len(),
            data.len()
        );
        c.shutdown().await;
    })
    .await;
}
