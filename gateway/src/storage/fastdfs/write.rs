//! FastDFS uploads: the body's exact size first (FastDFS needs it before the
//! bytes: a body of unknown length is spooled), then UPLOAD_FILE to the
//! storage the tracker names, again elsewhere while the body can be replayed.

use super::error::from_fdfs;
use super::FdfsStore;
use crate::clients::fastdfs::{FdfsError, Uploaded};
use crate::storage::body::{BodyFault, ByteStream, UploadBody};
use crate::storage::spool::{spool, SpoolError};
use crate::storage::{Source, StorageError, Stored, WriteLimits, WriteTarget};

impl FdfsStore {
    /// Uploads a body of `target.length` bytes (or, unknown, spooled to a
    /// temporary file first) to the store's group (or the tracker's choice),
    /// refusing more than `limits.max_size` bytes.
    pub(super) async fn upload(
        &self,
        target: WriteTarget<'_>,
        body: ByteStream,
        limits: WriteLimits,
    ) -> Result<Stored, StorageError> {
        let limit = limits.max_size;
        let (size, body) = match target.length {
            Some(size) => (size, body),
            None => {
                let spooled = spool(body, limit).await.map_err(|e| match e {
                    SpoolError::TooLarge(limit) => StorageError::TooLarge { limit },
                    SpoolError::ClientBody(_) => StorageError::client_body_cut(),
                    SpoolError::Io(e) => StorageError::Local(format!("spooling the upload: {e}")),
                })?;
                (spooled.size, spooled.body)
            }
        };
        let body = UploadBody::new(body, limit);
        let group = self.group.as_deref();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let client = self.up.client();
            let result = client
                .upload(group, target.extension, size, body.attempt())
                .await;
            match (result, body.fault()) {
                (_, Some(BodyFault::TooLarge)) => return Err(StorageError::TooLarge { limit }),
                (_, Some(BodyFault::Client)) => return Err(StorageError::client_body_cut()),
                (Ok(uploaded), None) => return self.confirm(uploaded, size, body.sent()).await,
                // Another storage may take it, if the body can be sent again.
                (Err(e), None) if attempt < 3 && body.can_restart() && e.is_retryable() => {
                    tracing::warn!(error = %e, "upload failed; trying again");
                }
                (Err(e), None) => return Err(from_fdfs(e)),
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
    ) -> Result<Stored, StorageError> {
        if received == size {
            return Ok(Stored {
                key: uploaded.id.to_string(),
                size,
                etag: None,
                fid: None,
                source: Source {
                    tracker: Some(uploaded.tracker),
                    node: Some(uploaded.storage.to_string()),
                    cache: None,
                },
            });
        }
        tracing::error!(file = %uploaded.id, received, size, "upload size differs from the bytes received; deleting it");
        if let Err(e) = self.up.delete(&uploaded.id).await {
            tracing::warn!(file = %uploaded.id, error = %e, "could not delete the mis-sized upload");
        }
        Err(from_fdfs(FdfsError::SizeMismatch {
            storage: uploaded.storage,
            file: uploaded.id.to_string(),
            sent: received,
            stored: size,
        }))
    }
}
