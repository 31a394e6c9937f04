//! UPLOAD_SLAVE_FILE: store a file named after a master, such as the
//! thumbnail `<stem>_150x150.jpg` of `<stem>.jpg`, as FastDFS clients do.
//!
//! Like the C client, the storage is the one QUERY_UPDATE names for the
//! master (its source storage while that is writable): the master must be
//! there. The data is in memory (thumbnails are small); the request is never
//! re-sent, and any refusal closes the connection, since a storage that
//! answers before reading all the data reads the rest as a next request.

use super::client::FdfsClient;
use super::connection::CallError;
use super::error::FdfsError;
use bytes::Bytes;
use dfs_protocol::fastdfs::storage::UploadSlaveFile;
use dfs_protocol::fastdfs::{status, Command, FileId, FileIdError};
use std::net::SocketAddr;
use std::time::Duration;

/// Why a slave upload failed.
#[derive(Debug, thiserror::Error)]
pub enum SlaveError {
    /// `prefix`/`ext` do not make a slave name of `master`.
    #[error("no slave of {master} with prefix {prefix:?} and extension {ext:?}: {source}")]
    BadName {
        /// The master file.
        master: String,
        /// The prefix asked for.
        prefix: String,
        /// The extension asked for.
        ext: String,
        /// What is wrong with the name.
        #[source]
        source: FileIdError,
    },
    /// The slave exists already (EEXIST): another gateway stored it first.
    #[error("slave {0} exists already")]
    Exists(String),
    /// The tracker or storage failed or refused.
    #[error(transparent)]
    Fdfs(#[from] FdfsError),
}

impl FdfsClient {
    /// Uploads `data` as the slave of `master` named with `prefix` (e.g.
    /// `_150x150`, at most 16 bytes) and `ext` (no dot; empty = no
    /// extension). Returns the slave's ID, which is checked to be the one
    /// the naming rule gives. A missing master is `NotFound`.
    pub async fn upload_slave(
        &self,
        master: &FileId,
        prefix: &str,
        ext: &str,
        data: Bytes,
    ) -> Result<FileId, SlaveError> {
        let expected = master
            .slave(prefix, Some(ext))
            .map_err(|source| SlaveError::BadName {
                master: master.to_string(),
                prefix: prefix.into(),
                ext: ext.into(),
                source,
            })?;
        let (storage, _) = self.query_update(master).await?;
        let storage = SocketAddr::V4(storage);
        let request = UploadSlaveFile {
            master: master.remote_name().into(),
            size: data.len() as u64,
            prefix: prefix.into(),
            ext: ext.into(),
        };
        let stored = self.send_slave(storage, &request, &data).await;
        match stored {
            Ok(id) if id == expected => Ok(id),
            Ok(id) => Err(FdfsError::call(
                storage,
                UploadSlaveFile::NAME,
                CallError::BadReply(format!("slave stored as {id}, expected {expected}")),
            )
            .into()),
            Err(Refused(status::EEXIST)) => Err(SlaveError::Exists(expected.to_string())),
            Err(Refused(status::ENOENT)) => Err(FdfsError::NotFound {
                file: master.to_string(),
            }
            .into()),
            Err(Refused(status)) => Err(FdfsError::Storage {
                storage,
                command: UploadSlaveFile::NAME,
                status,
            }
            .into()),
            Err(Failed(e)) => Err(e.into()),
        }
    }

    async fn send_slave(
        &self,
        storage: SocketAddr,
        request: &UploadSlaveFile,
        data: &[u8],
    ) -> Result<FileId, SlaveFailure> {
        let name = UploadSlaveFile::NAME;
        let fail = |e| Failed(FdfsError::call(storage, name, e));
        let t = self.timeouts;
        let mut conn = self.checkout_verified(storage).await.map_err(fail)?;
        conn.send(&request.encode_request(), t.io)
            .await
            .map_err(fail)?;
        let sent = conn.send_unless_answered(data, t.io).await;
        if !matches!(sent, Ok(true)) {
            // Answered early, or the send failed: a refusal tells why.
            let header = conn.read_header(Duration::from_millis(500)).await;
            conn.abort();
            return match (header, sent) {
                (Ok(h), _) if !h.is_ok() => Err(Refused(h.status)),
                (_, Err(e)) => Err(fail(e)),
                _ => Err(fail(CallError::BadReply(
                    "slave upload answered before its data was sent".into(),
                ))),
            };
        }
        let unconfirmed = |source| {
            Failed(FdfsError::Unconfirmed {
                addr: storage,
                command: name,
                source,
            })
        };
        match conn
            .read_reply::<UploadSlaveFile>(t.reply)
            .await
            .map_err(unconfirmed)?
        {
            Ok(file) => {
                self.pool.put(conn);
                FileId::from_parts(&file.group, &file.remote_name).map_err(|e| {
                    unconfirmed(CallError::BadReply(format!("slave file id {file}: {e}")))
                })
            }
            Err(status) => {
                conn.abort();
                Err(Refused(status))
            }
        }
    }
}

/// How sending a slave upload ended, before mapping to [`SlaveError`].
enum SlaveFailure {
    /// The storage answered this status.
    Refused(u8),
    /// Anything else.
    Failed(FdfsError),
}
use SlaveFailure::{Failed, Refused};
