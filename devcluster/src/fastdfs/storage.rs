//! A FastDFS storage server with one store path.
//!
//! Serves UPLOAD_FILE (streamed to disk, see [`super::upload`]),
//! UPLOAD_SLAVE_FILE ([`super::slave`]),
//! DOWNLOAD_FILE with offset and length, DELETE_FILE, QUERY_FILE_INFO and
//! ACTIVE_TEST on persistent connections; QUIT closes. Files live under
//! `<store_path>/data/XX/YY/<name>` as on a real storage, and the real
//! storage's answers are kept where clients notice them:
//!
//! - ENOENT for a missing file; EINVAL for a malformed request, a file name
//!   of another group or store path, and a download offset at or past the end
//!   of the file (so a 0-byte file cannot be downloaded);
//! - a download length past the end is clamped, 0 means "to the end";
//! - any other command is answered EINVAL;
//! - an upload refused before its data is answered early, and its unread
//!   data is then parsed as the next request (see [`super::upload`]).

use super::faults::Faults;
use super::service::{Handler, Service};
use super::state::{lock, ClusterState, Counters, GroupState, ServerStats, StorageState};
use super::sync::{self, SyncOp};
use super::upload;
use super::wire::{ServerConn, MAX_SMALL_BODY};
use dfs_protocol::fastdfs::storage::{
    DeleteFile, DownloadFile, FileInfo, QueryFileInfo, FLAG_NOT_CALC_CRC32,
};
use dfs_protocol::fastdfs::tracker::ActiveTest;
use dfs_protocol::fastdfs::{cmd, status, Command, FileId, FileKind, FileRef, Header, Source};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::net::{TcpListener, TcpStream};

/// Which storage a connection belongs to, and its cluster.
#[derive(Debug, Clone)]
pub(crate) struct StorageCtx {
    pub(crate) cluster: Arc<ClusterState>,
    pub(crate) group: usize,
    pub(crate) index: usize,
}

impl StorageCtx {
    pub(crate) fn group(&self) -> &GroupState {
        &self.cluster.groups[self.group]
    }

    pub(crate) fn me(&self) -> &StorageState {
        &self.group().storages[self.index]
    }

    /// The file a request names, on this storage's disk; the status to
    /// answer when it cannot be one of ours.
    fn local(&self, file: &FileRef) -> Result<(FileId, PathBuf), u8> {
        let id = FileId::from_parts(&file.group, &file.remote_name).map_err(|_| status::EINVAL)?;
        if id.group() != self.group().name || id.store_path_index() != 0 {
            return Err(status::EINVAL);
        }
        if matches!(id.kind(), FileKind::Trunk(_)) {
            return Err(status::ENOENT);
        }
        let path = self.me().store_path.join(id.relative_path());
        Ok((id, path))
    }
}

/// A running storage server; cheap to clone.
#[derive(Debug, Clone)]
pub struct StorageHandle {
    ctx: StorageCtx,
    service: Arc<Service>,
}

impl StorageHandle {
    /// Starts the storage `ctx` names on `listener`.
    pub(crate) fn launch(listener: TcpListener, ctx: StorageCtx) -> io::Result<Self> {
        let conn_ctx = ctx.clone();
        let handler: Handler = Arc::new(move |stream| Box::pin(serve(stream, conn_ctx.clone())));
        let service = Arc::new(Service::start_on(listener, handler)?);
        Ok(StorageHandle { ctx, service })
    }

    fn state(&self) -> &StorageState {
        self.ctx.me()
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.service.addr()
    }

    /// The IPv4 address it registers with the trackers: the source address
    /// in the IDs it mints.
    pub fn ip(&self) -> Ipv4Addr {
        *self.state().addr.ip()
    }

    /// Its group's name.
    pub fn group(&self) -> &str {
        &self.state().group
    }

    /// Its index in the group.
    pub fn index(&self) -> usize {
        self.state().index
    }

    /// Its one store path (`M00`): files are under `data/XX/YY/`.
    pub fn store_path(&self) -> &Path {
        &self.state().store_path
    }

    /// Where `id` is (or would be) on this storage's disk.
    pub fn file_path(&self, id: &FileId) -> PathBuf {
        self.store_path().join(id.relative_path())
    }

    /// True when `id` is on this storage's disk.
    pub fn has_file(&self, id: &FileId) -> bool {
        self.file_path(id).is_file()
    }

    /// True while serving.
    pub fn is_running(&self) -> bool {
        self.state().is_running()
    }

    /// Closes the port and cuts every connection. The trackers notice after
    /// the cluster's `offline_after`.
    pub async fn stop(&self) {
        *lock(&self.state().stopped_at) = Some(Instant::now());
        self.service.stop().await;
    }

    /// Serves on the same port again.
    pub fn start(&self) -> io::Result<()> {
        self.service.start()?;
        *lock(&self.state().stopped_at) = None;
        Ok(())
    }

    /// Turns push sync of this storage's new files and deletes on or off;
    /// turning it on pushes what was held back meanwhile.
    pub async fn set_sync(&self, on: bool) -> &Self {
        self.state().sync.store(on, Ordering::Relaxed);
        if on {
            sync::flush(&self.ctx).await;
        }
        self
    }

    /// Delays each push by `delay` (0 = push before replying to the upload).
    pub fn set_sync_delay(&self, delay: Duration) -> &Self {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state().sync_delay_ms.store(ms, Ordering::Relaxed);
        self
    }

    fn faults(&self) -> &Faults {
        &self.state().faults
    }

    /// Answers the next request with error `status`. An upload gets it as
    /// the real storage answers errors: after its first 256 KiB, the rest of
    /// its data then being read as the next request (see [`super::upload`]).
    pub fn fail_next(&self, status: u8) -> &Self {
        self.faults().fail_next(status);
        self
    }

    /// Cuts the next download after half of its body.
    pub fn close_mid_body(&self) -> &Self {
        self.faults().close_mid_body();
        self
    }

    /// Waits `latency` before every reply.
    pub fn set_latency(&self, latency: Duration) -> &Self {
        self.faults().set_latency(latency);
        self
    }

    /// Counters so far.
    pub fn stats(&self) -> ServerStats {
        self.state().counters.snapshot()
    }
}

async fn serve(stream: TcpStream, ctx: StorageCtx) {
    Counters::bump(&ctx.me().counters.connections);
    let mut conn = ServerConn::new(stream);
    if let Err(error) = serve_requests(&mut conn, &ctx).await {
        tracing::debug!(%error, "storage connection ended");
    }
}

async fn serve_requests(conn: &mut ServerConn, ctx: &StorageCtx) -> io::Result<()> {
    while let Some(header) = conn.read_header().await? {
        let me = ctx.me();
        Counters::bump(&me.counters.requests);
        me.faults.delay().await;
        match header.cmd {
            cmd::QUIT => return Ok(()),
            cmd::UPLOAD_FILE => upload::upload(conn, ctx, &header).await?,
            cmd::UPLOAD_SLAVE_FILE => super::slave::upload_slave(conn, ctx, &header).await?,
            _ if header.pkg_len > MAX_SMALL_BODY => {
                conn.error(status::EINVAL).await?;
                return Ok(());
            }
            _ => {
                let body = conn.read_exact_vec(header.pkg_len).await?;
                match me.faults.take_failure() {
                    Some(status) => conn.error(status).await?,
                    None => dispatch(conn, ctx, &header, &body).await?,
                }
            }
        }
    }
    Ok(())
}

async fn dispatch(
    conn: &mut ServerConn,
    ctx: &StorageCtx,
    header: &Header,
    body: &[u8],
) -> io::Result<()> {
    match header.cmd {
        cmd::DOWNLOAD_FILE => match DownloadFile::parse_body(header, body) {
            Ok(req) => download(conn, ctx, &req).await,
            Err(_) => conn.error(status::EINVAL).await,
        },
        cmd::DELETE_FILE => match DeleteFile::parse_body(header, body) {
            Ok(req) => reply_or_error::<DeleteFile>(conn, delete(ctx, &req.file).await).await,
            Err(_) => conn.error(status::EINVAL).await,
        },
        cmd::QUERY_FILE_INFO => match QueryFileInfo::parse_body(header, body) {
            Ok(req) => reply_or_error::<QueryFileInfo>(conn, file_info(ctx, &req).await).await,
            Err(_) => conn.error(status::EINVAL).await,
        },
        cmd::ACTIVE_TEST => match ActiveTest::parse_body(header, body) {
            Ok(_) => conn.reply::<ActiveTest>(&()).await,
            Err(_) => conn.error(status::EINVAL).await,
        },
        _ => conn.error(status::EINVAL).await,
    }
}

async fn reply_or_error<C: Command>(
    conn: &mut ServerConn,
    result: Result<C::Reply, u8>,
) -> io::Result<()> {
    match result {
        Ok(reply) => conn.reply::<C>(&reply).await,
        Err(status) => conn.error(status).await,
    }
}

/// The errno of a failed file operation.
fn errno(e: &io::Error) -> u8 {
    if e.kind() == io::ErrorKind::NotFound {
        status::ENOENT
    } else {
        status::EIO
    }
}

async fn download(conn: &mut ServerConn, ctx: &StorageCtx, req: &DownloadFile) -> io::Result<()> {
    let path = match ctx.local(&req.file) {
        Ok((_, path)) => path,
        Err(status) => return conn.error(status).await,
    };
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) => return conn.error(errno(&e)).await,
    };
    let size = file.metadata().await?.len();
    // The real storage's rule: an offset at or past the end is EINVAL,
    // even for a 0-byte file.
    if req.offset >= size {
        return conn.error(status::EINVAL).await;
    }
    let rest = size - req.offset;
    let len = if req.length == 0 {
        rest
    } else {
        req.length.min(rest)
    };
    file.seek(io::SeekFrom::Start(req.offset)).await?;
    conn.write(&Header::reply(status::OK, len).encode()).await?;
    let me = ctx.me();
    let send = if me.faults.take_close_mid_body() {
        len / 2
    } else {
        len
    };
    let sent = tokio::io::copy(&mut file.take(send), conn.socket()).await?;
    if sent < len {
        // Cut (fault) or the file shrank: the framing is lost, close.
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "download cut short",
        ));
    }
    Counters::bump(&me.counters.downloads);
    Ok(())
}

async fn delete(ctx: &StorageCtx, file: &FileRef) -> Result<(), u8> {
    let (id, path) = ctx.local(file)?;
    tokio::fs::remove_file(&path).await.map_err(|e| errno(&e))?;
    Counters::bump(&ctx.me().counters.deletes);
    sync::push(ctx, SyncOp::Delete(id.relative_path())).await;
    Ok(())
}

async fn file_info(ctx: &StorageCtx, req: &QueryFileInfo) -> Result<FileInfo, u8> {
    let (id, path) = ctx.local(&req.file)?;
    let meta = tokio::fs::metadata(&path).await.map_err(|e| errno(&e))?;
    let source_ip = match id.source() {
        Source::Ip(ip) => ip.to_string(),
        Source::ServerId(_) => String::new(),
    };
    if let Some(crc32) = id.crc32() {
        return Ok(FileInfo {
            size: meta.len(),
            create_time: u64::from(id.create_time()),
            crc32,
            source_ip,
        });
    }
    // Appender and slave files: the name does not tell, the disk does.
    let crc32 = if req.flags & FLAG_NOT_CALC_CRC32 != 0 {
        0
    } else {
        crc_of(&path).await.map_err(|e| errno(&e))?
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    Ok(FileInfo {
        size: meta.len(),
        create_time: mtime.map_or(0, |d| d.as_secs()),
        crc32,
        source_ip,
    })
}

async fn crc_of(path: &Path) -> io::Result<u32> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(hasher.finalize());
        }
        hasher.update(&buf[..n]);
    }
}
