//! Uploads and the storage's answers to them:
//! - a storage that refuses an upload after its first buffer (as the real
//!   one does) gets no more of the data: a FastDFS request hidden in the
//!   rest of the body never reaches it, and the connection is not reused;
//! - a storage whose new file ID encodes another size than was sent: the
//!   upload fails and the new file is deleted.

use super::*;
use crate::clients::{PoolLimits, TrackerSet};
use bytes::Bytes;
use devcluster::fastdfs::FdfsCluster;
use dfs_protocol::fastdfs::storage::{DeleteFile, UploadFile};
use dfs_protocol::fastdfs::tracker::StoreTarget;
use dfs_protocol::fastdfs::{cmd, status, Command, FileId, FileRef, Header, NewName, HEADER_LEN};
use futures_util::{stream, Stream, StreamExt};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The real storage's network buffer (`buff_size`, 256 KiB): what it has
/// read of a request when it answers an error early.
const BUFF_SIZE: usize = 256 * 1024;

const TIMEOUTS: FdfsTimeouts = FdfsTimeouts {
    connect: Duration::from_secs(2),
    reply: Duration::from_secs(2),
    io: Duration::from_secs(2),
};

fn client(trackers: Vec<SocketAddr>) -> FdfsClient {
    let trackers = TrackerSet::new(trackers, Duration::from_secs(30));
    FdfsClient::new(Arc::new(trackers), PoolLimits::new(4), TIMEOUTS)
}

/// `parts`, each sent after its pause.
fn paced(parts: Vec<(Duration, Bytes)>) -> impl Stream<Item = io::Result<Bytes>> + Send {
    stream::iter(parts).then(|(pause, bytes)| async move {
        tokio::time::sleep(pause).await;
        Ok(bytes)
    })
}

#[tokio::test]
async fn a_refused_upload_sends_no_more_data_and_its_connection_is_closed() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let c = FdfsCluster::builder()
            .group("group1", 1)
            .tracker_notices_stop_after(None)
            .build()
            .await
            .unwrap();
        let storage = c.storage("group1", 0);
        let victim = client(c.tracker_addrs())
            .upload(
                None,
                "txt",
                6,
                stream::iter([Ok(Bytes::from_static(b"victim"))]),
            )
            .await
            .unwrap()
            .id;
        // A fresh client: the refused upload is the storage's next request.
        let uploader = client(c.tracker_addrs());
        storage.fail_next(status::ENOSPC);
        let first_buffer = BUFF_SIZE - HEADER_LEN - UploadFile::FIXED_LEN;
        let hidden = DeleteFile {
            file: victim.file_ref(),
        }
        .encode_request();
        let mut rest = hidden.to_vec();
        rest.resize(hidden.len() + 1000, b'x');
        let size = (first_buffer + rest.len()) as u64;
        let body = paced(vec![
            (Duration::ZERO, Bytes::from(vec![b'x'; first_buffer])),
            (Duration::from_millis(300), Bytes::from(rest)),
        ]);
        let e = uploader.upload(None, "bin", size, body).await.unwrap_err();
        assert!(
            matches!(
                e,
                FdfsError::Storage {
                    status: status::ENOSPC,
                    ..
                }
            ),
            "{e}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            storage.has_file(&victim),
            "a request hidden in the refused upload's data reached the storage"
        );
        assert_eq!(uploader.pool().idle_count(&storage.addr()), 0);
        let again = uploader
            .upload(
                None,
                "txt",
                2,
                stream::iter([Ok(Bytes::from_static(b"ok"))]),
            )
            .await
            .unwrap();
        assert!(storage.has_file(&again.id));
        c.shutdown().await;
    })
    .await
    .expect("test timed out");
}

/// A storage that stores every upload under an ID claiming one byte more
/// than it got, answers ACTIVE_TEST, and records the commands it gets.
async fn lying_storage() -> (SocketAddrV4, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
        unreachable!("bound an IPv4 address")
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut raw = [0u8; HEADER_LEN];
                while socket.read_exact(&mut raw).await.is_ok() {
                    let header = Header::decode(&raw).unwrap();
                    let mut body = vec![0u8; header.pkg_len as usize];
                    socket.read_exact(&mut body).await.unwrap();
                    log.lock().unwrap().push(header.cmd);
                    let reply = match header.cmd {
                        cmd::UPLOAD_FILE => {
                            let size = (body.len() - UploadFile::FIXED_LEN) as u64 + 1;
                            let id = minted(size);
                            UploadFile::encode_reply(&FileRef::new(id.group(), id.remote_name()))
                                .to_vec()
                        }
                        _ => Header::reply(status::OK, 0).encode().to_vec(),
                    };
                    socket.write_all(&reply).await.unwrap();
                }
            });
        }
    });
    (addr, seen)
}

fn minted(size: u64) -> FileId {
    let name = NewName {
        source: Ipv4Addr::LOCALHOST,
        create_time: 1_700_000_000,
        size,
        crc32: 0,
        appender: false,
        random: 7,
        ext: "bin".into(),
    };
    FileId::mint("group1", 0, (0, 0), &name).unwrap()
}

#[tokio::test]
async fn a_stored_size_other_than_the_bytes_sent_fails_and_is_deleted() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let (addr, seen) = lying_storage().await;
        let target = StoreTarget {
            group: "group1".into(),
            addr,
            store_path_index: 0,
        };
        let client = client(Vec::new());
        let body = stream::iter([Ok(Bytes::from_static(b"hello"))]);
        let e = client.upload_to(&target, "bin", 5, body).await.unwrap_err();
        assert!(
            matches!(
                e,
                FdfsError::SizeMismatch {
                    sent: 5,
                    stored: 6,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains('5') && e.to_string().contains('6'));
        let commands = seen.lock().unwrap().clone();
        assert_eq!(commands.first(), Some(&cmd::UPLOAD_FILE));
        assert_eq!(commands.last(), Some(&DeleteFile::CMD), "{commands:?}");
    })
    .await
    .expect("test timed out");
}
