//! Operations on one storage server: download, file info, delete, upload.
//!
//! Each maps the storage's answer the same way: ENOENT is `NotFound`, any
//! other status is `Storage`, a connection-level failure is `Call` (or
//! `Unconfirmed` once an upload or delete may have been applied).

use super::client::FdfsClient;
use super::connection::{CallError, Connection};
use super::download::Download;
use super::error::FdfsError;
use bytes::Bytes;
use dfs_protocol::fastdfs::storage::{
    DeleteFile, DownloadFile, FileInfo, QueryFileInfo, UploadFile,
};
use dfs_protocol::fastdfs::tracker::StoreTarget;
use dfs_protocol::fastdfs::{status, Command, FileId};
use futures_util::{Stream, StreamExt};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

impl FdfsClient {
    /// DOWNLOAD_FILE of `length` bytes (0 = to the end) from `offset` on one
    /// storage. ENOENT is `NotFound`.
    pub async fn download_from(
        &self,
        storage: SocketAddr,
        id: &FileId,
        offset: u64,
        length: u64,
    ) -> Result<Download, FdfsError> {
        let request = DownloadFile {
            offset,
            length,
            file: id.file_ref(),
        }
        .encode_request();
        let t = self.timeouts;
        let started = self
            .with_conn(storage, |mut conn| {
                let request = &request;
                async move {
                    conn.send(request, t.reply).await?;
                    let header = conn.read_header(t.reply).await?;
                    if !header.is_ok() {
                        conn.read_body(header.pkg_len, t.reply).await?;
                        self.pool.put(conn);
                        return Ok(Err(header.status));
                    }
                    if length > 0 && header.pkg_len > length {
                        return Err(CallError::BadReply(format!(
                            "{} bytes for a {length}-byte range",
                            header.pkg_len
                        )));
                    }
                    Ok(Ok(Download::new(
                        conn,
                        header.pkg_len,
                        self.pool.clone(),
                        t.io,
                    )))
                }
            })
            .await;
        self.storage_answer(started, storage, id, DownloadFile::NAME)
    }

    /// QUERY_FILE_INFO on one storage.
    pub async fn file_info_from(
        &self,
        storage: SocketAddr,
        id: &FileId,
        flags: u8,
    ) -> Result<FileInfo, FdfsError> {
        let query = QueryFileInfo {
            file: id.file_ref(),
            flags,
        };
        let answer = self.exchange(storage, &query).await;
        self.storage_answer(answer, storage, id, QueryFileInfo::NAME)
    }

    /// DELETE_FILE on one storage; never re-sent.
    pub async fn delete_from(&self, storage: SocketAddr, id: &FileId) -> Result<(), FdfsError> {
        let command = DeleteFile {
            file: id.file_ref(),
        };
        let mut conn = self
            .checkout_verified(storage)
            .await
            .map_err(|e| FdfsError::call(storage, DeleteFile::NAME, e))?;
        let answer = conn
            .call(&command, self.timeouts.reply)
            .await
            .map_err(|source| FdfsError::Unconfirmed {
                addr: storage,
                command: DeleteFile::NAME,
                source,
            })?;
        self.pool.put(conn);
        self.storage_answer(Ok(answer), storage, id, DeleteFile::NAME)
    }

    fn storage_answer<T>(
        &self,
        answer: Result<Result<T, u8>, CallError>,
        storage: SocketAddr,
        id: &FileId,
        command: &'static str,
    ) -> Result<T, FdfsError> {
        match answer {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(status::ENOENT)) => Err(FdfsError::NotFound {
                file: id.to_string(),
            }),
            Ok(Err(status)) => Err(FdfsError::Storage {
                storage,
                command,
                status,
            }),
            Err(e) => Err(FdfsError::call(storage, command, e)),
        }
    }

    /// UPLOAD_FILE of `size` bytes from `body` to `target`; never re-sent.
    ///
    /// The storage may refuse it (ENOSPC, EINVAL...) before reading the data,
    /// and then reads the rest of the data as the next request: sending stops
    /// at its first answer byte and the connection is closed after any error
    /// answer, never pooled. A stored size other than `size` (the new ID
    /// encodes it) fails the upload and deletes the new file.
    pub async fn upload_to<S>(
        &self,
        target: &StoreTarget,
        ext: &str,
        size: u64,
        body: S,
    ) -> Result<FileId, FdfsError>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        let storage = SocketAddr::V4(target.addr);
        let fail = |e| FdfsError::call(storage, UploadFile::NAME, e);
        let request = UploadFile {
            store_path_index: target.store_path_index,
            size,
            ext: ext.into(),
        };
        let mut conn = self.checkout_verified(storage).await.map_err(fail)?;
        conn.send(&request.encode_request(), self.timeouts.io)
            .await
            .map_err(fail)?;
        match self.send_body(&mut conn, body, size).await {
            Ok(Sent::All) => {}
            Ok(Sent::Answered) => return Err(self.refusal(conn, storage).await),
            Err(e) => {
                let e = self.early_refusal(&mut conn, storage).await.unwrap_or(e);
                conn.abort();
                return Err(e);
            }
        }
        let unconfirmed = |source| FdfsError::Unconfirmed {
            addr: storage,
            command: UploadFile::NAME,
            source,
        };
        let answer = conn
            .read_reply::<UploadFile>(self.timeouts.reply)
            .await
            .map_err(unconfirmed)?;
        let stored = match answer {
            Ok(stored) => stored,
            Err(status) => {
                conn.abort();
                return Err(FdfsError::Storage {
                    storage,
                    command: UploadFile::NAME,
                    status,
                });
            }
        };
        self.pool.put(conn);
        let id = FileId::from_parts(&stored.group, &stored.remote_name)
            .map_err(|e| unconfirmed(CallError::BadReply(format!("new file id {stored}: {e}"))))?;
        self.check_stored_size(storage, id, size).await
    }

    /// Streams exactly `size` bytes of `body`, unless the storage answers
    /// first (while the data is being written or awaited from the client).
    async fn send_body<S>(
        &self,
        conn: &mut Connection,
        body: S,
        size: u64,
    ) -> Result<Sent, FdfsError>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        let storage = conn.addr();
        let mut body = std::pin::pin!(body);
        let mut sent = 0u64;
        loop {
            let next = tokio::select! {
                biased;
                () = conn.answered() => return Ok(Sent::Answered),
                next = body.next() => next,
            };
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(FdfsError::Body)?;
            let got = sent + chunk.len() as u64;
            if got > size {
                return Err(FdfsError::BodyLength {
                    expected: size,
                    got,
                });
            }
            let all = conn
                .send_unless_answered(&chunk, self.timeouts.io)
                .await
                .map_err(|e| FdfsError::call(storage, UploadFile::NAME, e))?;
            if !all {
                return Ok(Sent::Answered);
            }
            sent = got;
        }
        if sent != size {
            return Err(FdfsError::BodyLength {
                expected: size,
                got: sent,
            });
        }
        Ok(Sent::All)
    }

    /// The answer of a storage that replied before taking all the data; the
    /// connection is closed whatever it said.
    async fn refusal(&self, mut conn: Connection, storage: SocketAddr) -> FdfsError {
        let header = conn.read_header(self.timeouts.reply).await;
        conn.abort();
        match header {
            Ok(h) if !h.is_ok() => FdfsError::Storage {
                storage,
                command: UploadFile::NAME,
                status: h.status,
            },
            Ok(_) => FdfsError::call(
                storage,
                UploadFile::NAME,
                CallError::BadReply("upload answered before its data was sent".into()),
            ),
            Err(e) => FdfsError::call(storage, UploadFile::NAME, e),
        }
    }

    /// A storage may refuse an upload (ENOSPC...) and close before taking
    /// all the data: report its status rather than the broken pipe.
    async fn early_refusal(&self, conn: &mut Connection, storage: SocketAddr) -> Option<FdfsError> {
        let header = conn.read_header(Duration::from_millis(200)).await.ok()?;
        (!header.is_ok()).then_some(FdfsError::Storage {
            storage,
            command: UploadFile::NAME,
            status: header.status,
        })
    }

    /// Checks the size encoded in a new file's ID against the bytes sent; on
    /// a mismatch the file is deleted (best effort) and the upload fails.
    async fn check_stored_size(
        &self,
        storage: SocketAddr,
        id: FileId,
        sent: u64,
    ) -> Result<FileId, FdfsError> {
        let Some(stored) = id.size().filter(|&stored| stored != sent) else {
            return Ok(id);
        };
        tracing::error!(%storage, file = %id, sent, stored, "storage stored another size than was sent; deleting it");
        if let Err(e) = self.delete_from(storage, &id).await {
            tracing::warn!(%storage, file = %id, error = %e, "could not delete the mis-sized upload");
        }
        Err(FdfsError::SizeMismatch {
            storage,
            file: id.to_string(),
            sent,
            stored,
        })
    }
}

/// How sending an upload's data ended (without a local failure).
enum Sent {
    /// Every byte went out.
    All,
    /// The storage answered first; the rest was not sent.
    Answered,
}
