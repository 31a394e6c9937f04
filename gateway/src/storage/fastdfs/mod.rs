//! FastDFS file IDs as a [`Store`]: what a file is (size, time, tag — from
//! the ID itself when it tells), reading it from this machine's disk or a
//! storage server with failover ([`failover`]), uploading and deleting
//! ([`write`]).
//!
//! The entity tag is `"<name stem>-<size hex>"` (the name is unique per
//! file; appenders grow, so their tag also carries the create time).
//!
//! - [`failover`]: which storage serves a file ID, the look-up cache, and
//!   trying the group's storages in order.
//! - [`error`]: FastDFS failures as [`StorageError`]s.

pub mod error;
pub mod failover;
mod write;

#[cfg(all(test, feature = "demo"))]
mod failover_tests;
#[cfg(all(test, feature = "demo"))]
mod tests;

use super::{ByteStream, Identity, Meta, Need, Object, Read, Served, Source, Store};
use super::{StorageError, StoreFuture, Stored, Variant, WriteLimits, WriteTarget};
use crate::clients::fastdfs::slave::SlaveError;
use crate::web::conditional::Validators;
use bytes::Bytes;
use dfs_protocol::fastdfs::{FileId, FileKind};
use error::from_fdfs;
use failover::{FdfsUpstream, Origin};
use futures_util::FutureExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// This machine's copy of a group's store paths (local-disk mode).
#[derive(Debug, Clone)]
pub struct LocalDisk {
    /// Store path `M00`, `M01`, ... in order.
    pub roots: Vec<PathBuf>,
    /// Read on the calling thread rather than the blocking pool.
    pub inline: bool,
}

/// The files of one FastDFS upstream as one location sees them: its group
/// (if fixed) and where its files are on this machine's disk (if they are).
#[derive(Debug, Clone)]
pub struct FdfsStore {
    up: Arc<FdfsUpstream>,
    group: Option<String>,
    local: Option<Arc<LocalDisk>>,
}

impl FdfsStore {
    /// The files of `upstream`, uploads going to `group` (or the tracker's
    /// choice), read from `local` when they are there.
    pub fn new(
        upstream: Arc<FdfsUpstream>,
        group: Option<String>,
        local: Option<LocalDisk>,
    ) -> Self {
        FdfsStore {
            up: upstream,
            group,
            local: local.map(Arc::new),
        }
    }

    /// Where `id` would be on this machine's disk in local-disk mode.
    fn local_path(&self, id: &FileId) -> Option<PathBuf> {
        let local = self.local.as_ref()?;
        if self.group.as_deref().is_some_and(|g| g != id.group()) {
            return None;
        }
        let root = local.roots.get(usize::from(id.store_path_index()))?;
        Some(root.join(id.relative_path()))
    }

    /// Size, time and tag of `id`: from the ID for normal and trunk files,
    /// from a storage server (QUERY_FILE_INFO) for appender and slave files,
    /// whose IDs do not tell.
    async fn file_meta(&self, id: &FileId) -> Result<Meta, StorageError> {
        let stem = id.file_name().split('.').next().unwrap_or_default();
        let mut meta = Meta {
            type_name: id.file_name().to_owned(),
            ..Meta::default()
        };
        let (size, etag, created) = match id.size() {
            Some(size) => (
                size,
                format!("\"{stem}-{size:x}\""),
                id.create_time().into(),
            ),
            None => {
                let (info, origin) = self.up.file_info(id).await.map_err(from_fdfs)?;
                meta.source = served_by(origin);
                meta.replicas = vec![origin.storage.to_string()];
                meta.confirmed = true;
                let etag = format!("\"{stem}-{:x}-{:x}\"", info.size, info.create_time);
                (info.size, etag, info.create_time)
            }
        };
        meta.size = Some(size);
        meta.validators = Validators {
            etag: Some(etag),
            last_modified: Some(UNIX_EPOCH + Duration::from_secs(created)),
        };
        meta.identity = Some(Identity {
            upstream: self.up.name().clone(),
            id: id.to_string(),
            size,
        });
        Ok(meta)
    }

    /// Opens `read` of `id`: from local disk when it is there with the right
    /// size, else from a storage server of its group.
    async fn open_file(
        &self,
        id: &FileId,
        meta: &Meta,
        read: Read,
    ) -> Result<Object, StorageError> {
        let size = meta.size.unwrap_or_default();
        let served = Served::of(read.range, size);
        let object = |body, source| Object {
            size,
            last_modified: meta.validators.last_modified,
            etag: meta.validators.etag.clone(),
            served,
            body,
            source,
        };
        let local = self.local_path(id);
        if served == Served::Unsatisfiable || (read.head && meta.confirmed) {
            // 416 only for a file that exists: check, as a HEAD would.
            return Ok(object(None, self.exists(id, meta, local.as_deref()).await?));
        }
        let (offset, length) = match served {
            Served::Range(r) => (r.first, r.len()),
            _ => (0, size),
        };
        let inline = self.local.as_ref().is_some_and(|l| l.inline);
        if let Some(path) = local.filter(|_| !matches!(id.kind(), FileKind::Trunk(_))) {
            let span = (size, offset, length);
            match super::local::open(path.clone(), span, read.head, inline).await {
                Ok(body) => return Ok(object(body, local_source(&path))),
                // Not synced here yet (or gone): a storage server may have it.
                Err(e) => tracing::debug!(file = %id, error = %e, "not on local disk; fetching it"),
            }
        }
        if read.head {
            let (_, origin) = self.up.file_info(id).await.map_err(from_fdfs)?;
            return Ok(object(None, served_by(origin)));
        }
        // `length` 0 asks for "to the end": only ever sent for an empty file.
        let (download, origin) = self
            .up
            .open_download(id, offset, length)
            .await
            .map_err(from_fdfs)?;
        if download.len() != length {
            let tried = format!(
                "{} sent {} bytes, {length} expected",
                download.storage(),
                download.len()
            );
            let public = "no storage server could serve the file";
            return Err(StorageError::exhausted(id.as_str(), tried, false, public));
        }
        Ok(object(Some(download.into_stream()), served_by(origin)))
    }

    /// Who vouches that `id` exists: `meta`'s storage if one did, the local
    /// disk, or a storage server asked now.
    async fn exists(
        &self,
        id: &FileId,
        meta: &Meta,
        local: Option<&Path>,
    ) -> Result<Source, StorageError> {
        if meta.confirmed {
            return Ok(meta.source.clone());
        }
        match local.filter(|p| p.is_file()) {
            Some(path) => Ok(local_source(path)),
            None => Ok(served_by(self.up.file_info(id).await.map_err(from_fdfs)?.1)),
        }
    }
}

/// `key` as a file ID: the URL parser checked it, but a store checks its
/// input too.
fn parse(key: &str) -> Result<FileId, StorageError> {
    FileId::parse(key).map_err(|e| StorageError::NotFound {
        what: format!("{key} ({e})"),
        public: "no such file".into(),
    })
}

impl Store for FdfsStore {
    fn meta<'a>(&'a self, key: &'a str, _need: Need) -> StoreFuture<'a, Meta> {
        // The validators cost nothing more than the location: one answer.
        async move { self.file_meta(&parse(key)?).await }.boxed()
    }

    fn open<'a>(&'a self, key: &'a str, meta: &'a Meta, read: Read) -> StoreFuture<'a, Object> {
        async move { self.open_file(&parse(key)?, meta, read).await }.boxed()
    }

    fn write<'a>(
        &'a self,
        target: WriteTarget<'a>,
        body: ByteStream,
        limits: WriteLimits,
    ) -> StoreFuture<'a, Stored> {
        self.upload(target, body, limits).boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Source> {
        async move {
            let id = parse(key)?;
            self.up.delete(&id).await.map(node).map_err(from_fdfs)
        }
        .boxed()
    }

    /// The variant as the master's slave file (UPLOAD_SLAVE_FILE).
    fn write_variant<'a>(&'a self, variant: Variant<'a>, bytes: Bytes) -> StoreFuture<'a, Stored> {
        async move {
            let master = parse(variant.source)?;
            let size = bytes.len() as u64;
            let client = self.up.client();
            let stored = client
                .upload_slave(&master, variant.suffix, variant.extension, bytes)
                .await;
            let id = stored.map_err(|e| match e {
                SlaveError::Fdfs(e) => from_fdfs(e),
                other => StorageError::Refused {
                    detail: other.to_string(),
                    public: format!("{}: the variant was not stored", variant.source),
                },
            })?;
            Ok(Stored {
                key: id.to_string(),
                size,
                fid: None,
                etag: None,
                source: Source::default(),
            })
        }
        .boxed()
    }
}

/// The access log's tracker and node for a read from `origin`.
fn served_by(origin: Origin) -> Source {
    Source {
        tracker: origin.tracker,
        ..node(origin.storage)
    }
}

fn node(addr: std::net::SocketAddr) -> Source {
    Source {
        tracker: None,
        node: Some(addr.to_string()),
        cache: None,
    }
}

fn local_source(path: &Path) -> Source {
    Source {
        tracker: None,
        node: Some(format!("disk:{}", path.display())),
        cache: None,
    }
}
