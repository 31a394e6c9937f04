//! UPLOAD_FILE: stream the data to a temporary file, computing its crc32,
//! then name it as a FastDFS storage does and move it into `data/XX/YY/`.
//!
//! The name encodes this storage's address, the time, the size, the crc32
//! and random bits, so `fdfs_file_info` decodes it like a real one.
//!
//! An error found before the data (bad fields, an injected failure) is
//! answered the way the real storage does: as soon as the first network
//! buffer ([`BUFF_SIZE`] bytes of packet, header included) is in, and the
//! rest of the request's data, if any, is then **read as the next request**
//! (the real storage logs `unknown cmd` for it). A request that fits in the
//! buffer is thus wholly consumed and its connection stays usable; a larger
//! one leaves its data to be misread. A client must stop sending at the
//! error and close the connection.

use super::state::Counters;
use super::storage::StorageCtx;
use super::sync::{self, SyncOp};
use super::wire::ServerConn;
use dfs_protocol::fastdfs::storage::{UploadFile, ANY_STORE_PATH};
use dfs_protocol::fastdfs::{status, Command, FileId, FileRef, Header, NewName, HEADER_LEN};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Files per `XX/YY` directory before moving on, as the real default
/// (`file_distribute_rotate_count = 100`).
const FILES_PER_DIR: u64 = 100;

/// Serves one UPLOAD_FILE whose header was read.
pub(crate) async fn upload(
    conn: &mut ServerConn,
    ctx: &StorageCtx,
    header: &Header,
) -> io::Result<()> {
    let fixed_len = UploadFile::FIXED_LEN as u64;
    let fixed = conn.read_exact_vec(header.pkg_len.min(fixed_len)).await?;
    let request = UploadFile::parse_body(header, &fixed)
        .ok()
        .filter(acceptable);
    let failure = ctx.me().faults.take_failure();
    let Some(request) = request.filter(|_| failure.is_none()) else {
        return refuse(
            conn,
            header,
            fixed.len() as u64,
            failure.unwrap_or(status::EINVAL),
        )
        .await;
    };
    let tmp = temp_path(&ctx.me().store_path);
    let crc32 = match receive(conn, &tmp, request.size).await {
        Ok(crc32) => crc32,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
    };
    match store(ctx, &tmp, &request, crc32).await {
        Ok(id) => {
            Counters::bump(&ctx.me().counters.uploads);
            conn.reply::<UploadFile>(&FileRef::new(id.group(), id.remote_name()))
                .await
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            tracing::warn!(error = %e, "devcluster storage could not store an upload");
            conn.error(status::EIO).await
        }
    }
}

/// The real storage's network buffer (`buff_size`, 256 KiB by default): the
/// part of a request it has read when it answers an error.
pub(crate) const BUFF_SIZE: u64 = 256 * 1024;

/// Answers an error once the first buffer of the request is in (`read` body
/// bytes are already), leaving any data past it unread: the connection's
/// next "request" starts there, as on the real storage.
pub(crate) async fn refuse(
    conn: &mut ServerConn,
    header: &Header,
    read: u64,
    status: u8,
) -> io::Result<()> {
    let buffered = header.pkg_len.min(BUFF_SIZE - HEADER_LEN as u64);
    let mut rest = conn.data().take(buffered.saturating_sub(read));
    tokio::io::copy(&mut rest, &mut tokio::io::sink()).await?;
    conn.error(status).await
}

/// One store path, and an extension a file name can carry.
fn acceptable(request: &UploadFile) -> bool {
    (request.store_path_index == 0 || request.store_path_index == ANY_STORE_PATH)
        && request.ext.bytes().all(|c| c.is_ascii_alphanumeric())
}

/// Copies `size` bytes of data to `path`; returns their crc32.
pub(crate) async fn receive(conn: &mut ServerConn, path: &Path, size: u64) -> io::Result<u32> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut file = tokio::fs::File::create(path).await?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = conn.data().read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "upload data cut short",
            ));
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).await?;
        left -= n as u64;
    }
    file.flush().await?;
    Ok(hasher.finalize())
}

/// Names the received file, moves it into place and pushes it to the group.
async fn store(
    ctx: &StorageCtx,
    tmp: &Path,
    request: &UploadFile,
    crc32: u32,
) -> io::Result<FileId> {
    let me = ctx.me();
    let seq = me.files_named.fetch_add(1, Ordering::Relaxed) / FILES_PER_DIR;
    let sub_dirs = (((seq / 256) % 256) as u8, (seq % 256) as u8);
    let create_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // The real storage tries 10 random names before giving up.
    for _ in 0..10 {
        let name = NewName {
            source: *me.addr.ip(),
            create_time: u32::try_from(create_time).unwrap_or(u32::MAX),
            size: request.size,
            crc32,
            appender: false,
            random: random_u64(),
            ext: request.ext.clone(),
        };
        let id = FileId::mint(&me.group, 0, sub_dirs, &name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let target = me.store_path.join(id.relative_path());
        if tokio::fs::try_exists(&target).await? {
            continue;
        }
        tokio::fs::create_dir_all(target.parent().expect("data/XX/YY")).await?;
        tokio::fs::rename(tmp, &target).await?;
        ctx.group().record_origin(id.file_name(), ctx.index);
        sync::push(ctx, SyncOp::Create(id.relative_path())).await;
        return Ok(id);
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no unique file name",
    ))
}

/// A fresh temporary file under the store path (same file system as `data/`).
pub(crate) fn temp_path(store_path: &Path) -> PathBuf {
    store_path
        .join("tmp")
        .join(format!("upload-{:016x}", random_u64()))
}

/// Random bits for names: splitmix64 over a per-process random seed. Not
/// cryptographic; FastDFS uses `rand()`.
pub(crate) fn random_u64() -> u64 {
    static STATE: OnceLock<AtomicU64> = OnceLock::new();
    let state = STATE.get_or_init(|| {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        AtomicU64::new(h.finish())
    });
    let mut z = state.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
