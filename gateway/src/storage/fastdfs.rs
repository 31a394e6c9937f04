//! FastDFS file IDs: what a file is (size, time, tag — from the ID itself when
//! it tells), reading it from this machine's disk or a storage server with
//! failover, uploading and deleting.

use super::body::{BodyFault, ByteStream, UploadBody};
use super::spool::{spool, SpoolError};
use super::{Object, Served, Source};
use crate::clients::fastdfs::{FdfsClient, FdfsError, Uploaded};
use crate::web::range::RangeSpec;
use dfs_protocol::fastdfs::{FileId, FileKind};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a file would be on this machine's disk (local-disk mode).
#[derive(Debug, Clone)]
pub struct LocalDisk {
    /// Its path.
    pub path: PathBuf,
    /// Read it on the calling thread rather than the blocking pool.
    pub inline: bool,
}

/// What is known of a file before reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Size in bytes.
    pub size: u64,
    /// Create time.
    pub last_modified: SystemTime,
    /// Strong tag: the name (unique per file) and the size (appenders grow).
    pub etag: String,
}

/// Why an upload did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// FastDFS refused or failed.
    #[error(transparent)]
    Fdfs(#[from] FdfsError),
    /// The body exceeded the limit.
    #[error("upload body exceeds {0} bytes")]
    TooLarge(u64),
    /// The client's body failed mid-way.
    #[error("the upload body was cut off by the client")]
    ClientBody,
    /// Spooling a chunked body to a temporary file failed.
    #[error("spooling the upload: {0}")]
    Spool(#[source] io::Error),
}

/// One FastDFS upstream.
#[derive(Debug, Clone)]
pub struct FdfsStore {
    client: Arc<FdfsClient>,
}

impl FdfsStore {
    /// A store over `client`.
    pub fn new(client: Arc<FdfsClient>) -> Self {
        FdfsStore { client }
    }

    /// The client (for health reporting).
    pub fn client(&self) -> &FdfsClient {
        &self.client
    }

    /// Size, time and tag of `id`: from the ID for normal and trunk files,
    /// from a storage server (QUERY_FILE_INFO) for appender and slave files,
    /// whose IDs do not tell.
    pub async fn meta(&self, id: &FileId) -> Result<(Meta, Source), FdfsError> {
        let stem = id.file_name().split('.').next().unwrap_or_default();
        if let Some(size) = id.size() {
            let meta = Meta {
                size,
                last_modified: UNIX_EPOCH + Duration::from_secs(id.create_time().into()),
                etag: format!("\"{stem}-{size:x}\""),
            };
            return Ok((meta, Source::default()));
        }
        let (info, storage) = self.client.file_info(id).await?;
        let meta = Meta {
            size: info.size,
            last_modified: UNIX_EPOCH + Duration::from_secs(info.create_time),
            etag: format!("\"{stem}-{:x}-{:x}\"", info.size, info.create_time),
        };
        Ok((meta, node(storage)))
    }

    /// Opens `id` for reading `range` of it (or all), from `local` (the file's
    /// path under a store path of this machine) when it is there with the
    /// right size, else from a storage server of its group.
    pub async fn open(
        &self,
        id: &FileId,
        meta: &Meta,
        range: Option<RangeSpec>,
        head: bool,
        local: Option<LocalDisk>,
    ) -> Result<Object, FdfsError> {
        let served = match range.map(|r| r.resolve(meta.size)) {
            None => Served::Full,
            Some(Some(r)) => Served::Range(r),
            Some(None) => Served::Unsatisfiable,
        };
        let object = |body, source| Object {
            size: meta.size,
            last_modified: Some(meta.last_modified),
            etag: Some(meta.etag.clone()),
            served,
            body,
            source,
        };
        if served == Served::Unsatisfiable {
            // 416 only for a file that exists: check, as a HEAD would.
            let source = match local.as_ref().map(|l| &l.path).filter(|p| p.is_file()) {
                Some(path) => local_source(path),
                None => node(self.client.file_info(id).await?.1),
            };
            return Ok(object(None, source));
        }
        let (offset, length) = match served {
            Served::Range(r) => (r.first, r.len()),
            _ => (0, meta.size),
        };
        if let Some(local) = local.filter(|_| !matches!(id.kind(), FileKind::Trunk(_))) {
            let span = (meta.size, offset, length);
            match super::local::open(local.path.clone(), span, head, local.inline).await {
                Ok(body) => return Ok(object(body, local_source(&local.path))),
                // Not synced here yet (or gone): a storage server may have it.
                Err(e) => tracing::debug!(file = %id, error = %e, "not on local disk; fetching it"),
            }
        }
        if head {
            let (_, storage) = self.client.file_info(id).await?;
            return Ok(object(None, node(storage)));
        }
        // `length` 0 asks for "to the end": only ever sent for an empty file.
        let download = self.client.open_download(id, offset, length).await?;
        if download.len() != length {
            return Err(FdfsError::Unavailable {
                file: id.to_string(),
                tried: format!(
                    "{} sent {} bytes, {length} expected",
                    download.storage(),
                    download.len()
                ),
                timed_out: false,
            });
        }
        let storage = download.storage();
        Ok(object(Some(download.into_stream()), node(storage)))
    }

    /// Uploads a body of `length` bytes (or, unknown, spooled to a temporary
    /// file first: FastDFS needs the size before the bytes) to `group` (or
    /// the tracker's choice), refusing more than `limit` bytes.
    pub async fn upload(
        &self,
        group: Option<&str>,
        ext: &str,
        length: Option<u64>,
        body: ByteStream,
        limit: u64,
    ) -> Result<(Uploaded, u64), UploadError> {
        let (size, body) = match length {
            Some(size) => (size, body),
            None => {
                let spooled = spool(body, limit).await.map_err(|e| match e {
                    SpoolError::TooLarge(limit) => UploadError::TooLarge(limit),
                    SpoolError::ClientBody(_) => UploadError::ClientBody,
                    SpoolError::Io(e) => UploadError::Spool(e),
                })?;
                (spooled.size, spooled.body)
            }
        };
        let body = UploadBody::new(body, limit);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.client.upload(group, ext, size, body.attempt()).await;
            match (result, body.fault()) {
                (_, Some(BodyFault::TooLarge)) => return Err(UploadError::TooLarge(limit)),
                (_, Some(BodyFault::Client)) => return Err(UploadError::ClientBody),
                (Ok(uploaded), None) => return self.confirm(uploaded, size, body.sent()).await,
                // Another storage may take it, if the body can be sent again.
                (Err(e), None) if attempt < 3 && body.can_restart() && e.is_retryable() => {
                    tracing::warn!(error = %e, "upload failed; trying again");
                }
                (Err(e), None) => return Err(e.into()),
            }
        }
    }

    /// The invariant of every upload answered 2xx: the bytes taken from the
    /// client are the size sent to (and stored by) the storage. Otherwise
    /// the new file is deleted (best effort) and the upload fails.
    async fn confirm(
        &self,
        uploaded: Uploaded,
        size: u64,
        received: u64,
    ) -> Result<(Uploaded, u64), UploadError> {
        if received == size {
            return Ok((uploaded, size));
        }
        tracing::error!(file = %uploaded.id, received, size, "upload size differs from the bytes received; deleting it");
        if let Err(e) = self.client.delete(&uploaded.id).await {
            tracing::warn!(file = %uploaded.id, error = %e, "could not delete the mis-sized upload");
        }
        Err(UploadError::Fdfs(FdfsError::SizeMismatch {
            storage: uploaded.storage,
            file: uploaded.id.to_string(),
            sent: received,
            stored: size,
        }))
    }

    /// Deletes `id`; returns the storage that did it.
    pub async fn delete(&self, id: &FileId) -> Result<Source, FdfsError> {
        self.client.delete(id).await.map(node)
    }
}

fn node(addr: std::net::SocketAddr) -> Source {
    Source {
        tracker: None,
        node: Some(addr.to_string()),
    }
}

fn local_source(path: &Path) -> Source {
    Source {
        tracker: None,
        node: Some(format!("disk:{}", path.display())),
    }
}
