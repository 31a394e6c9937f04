//! Writes and deletes of MogileFS keys: `create_open` → PUT to a
//! destination (the next one if it fails before the body is past the replay
//! window) → `create_close`, and `delete`; both drop the key's cached paths.

use super::error::{describe, from_mog, not_found_if_unknown, upload_failed};
use super::node::{node_of, NodeError};
use super::MogStore;
use crate::clients::mogilefs::{MogError, Opened};
use crate::storage::body::{BodyFault, ByteStream, UploadBody};
use crate::storage::spool::{spool, SpoolError};
use crate::storage::{Source, StorageError, Stored, WriteLimits, WriteTarget};
use dfs_protocol::mogilefs::cmd::{CreateClose, CreateOpen, Delete, Destination, FileInfo};
use std::net::SocketAddr;

impl MogStore {
    /// Stores `body` under a key. Returns once the tracker has committed it;
    /// on any failure no new version of the key is visible.
    ///
    /// A body of unknown length is spooled first (storage nodes get an exact
    /// `Content-Length`, see [`super::node`]). The upload is committed only
    /// when the bytes read from the client, the bytes the storage node took
    /// and the size given to `create_close` are one number.
    pub(super) async fn write_key(
        &self,
        target: WriteTarget<'_>,
        body: ByteStream,
        limits: WriteLimits,
    ) -> Result<Stored, StorageError> {
        let key = target.key.unwrap_or_default();
        let limit = limits.max_size;
        let (length, body) = sized(key, target.length, body, limit).await?;
        let domain = self.ns.domain.clone();
        let open = CreateOpen {
            domain: domain.clone(),
            key: key.to_owned(),
            class: self.ns.class.clone(),
            multi_dest: true,
            size: Some(length),
        };
        let (reply, tracker) = self
            .up
            .client
            .create_open(&open)
            .await
            .map_err(|e| from_mog(key, e))?;
        let Some(first) = reply.destinations.first() else {
            return Err(upload_failed(
                key,
                "the tracker returned no destination".into(),
                false,
            ));
        };
        let mut guard = Discard::new(self.clone(), &domain, &reply, first.clone());
        let body = UploadBody::new(body, limit);
        let (dest, stored) = self
            .put_any(&reply.destinations, &body, length, (key, limit), &mut guard)
            .await?;
        // On a mismatch the guard, still armed, discards the new version.
        same_sizes(key, body.sent(), stored, length)?;
        let close = CreateClose {
            domain,
            key: key.to_owned(),
            fid: reply.fid,
            devid: dest.devid,
            path: reply.registered_path(&dest),
            size: length,
            checksum: None,
        };
        // From here on the tracker owns the fid: it deletes it itself if the
        // close fails, and a discard could race a close still in progress.
        guard.disarm();
        let closed = self.close(&close).await;
        // Whatever the outcome, cached paths of the key may now be stale.
        self.forget(key).await;
        closed.map_err(|e| from_mog(key, e))?;
        Ok(Stored {
            key: key.to_owned(),
            size: close.size,
            etag: Some(format!("\"{}-{}\"", reply.fid, close.size)),
            fid: Some(reply.fid),
            source: Source {
                tracker: Some(tracker),
                node: Some(dest.path),
                cache: None,
            },
        })
    }

    /// PUTs the body to the first destination that takes it; returns it and
    /// the bytes it took. A destination that fails within the replay window
    /// hands the body on to the next, and what it may have kept of the body
    /// is deleted (best effort); the last one tried is the guard's to clean.
    async fn put_any(
        &self,
        dests: &[Destination],
        body: &UploadBody,
        length: u64,
        (key, limit): (&str, u64),
        guard: &mut Discard,
    ) -> Result<(Destination, u64), StorageError> {
        let mut failures = Vec::new();
        for dest in self.up.nodes.healthy_first(dests, |d| d.path.as_str()) {
            if !body.can_restart() {
                break;
            }
            if !failures.is_empty() {
                // The previous destination is left behind: remove its partial file.
                self.remove_partial(guard.dest.path.clone());
            }
            guard.dest = dest.clone();
            match self.up.nodes.put(&dest.path, body.attempt(), length).await {
                Ok(stored) => return Ok((dest.clone(), stored)),
                Err(e) => {
                    match body.fault() {
                        Some(BodyFault::TooLarge) => return Err(StorageError::TooLarge { limit }),
                        Some(BodyFault::Client) => return Err(StorageError::client_body_cut()),
                        None => {}
                    }
                    tracing::warn!(key, error = %e, "upload destination failed");
                    crate::metrics::metrics().storage_error(&self.up.name, node_of(&dest.path));
                    failures.push(e);
                }
            }
        }
        let timed_out = failures.iter().all(NodeError::is_timeout);
        Err(upload_failed(
            key,
            describe(&failures, dests.is_empty()),
            timed_out,
        ))
    }

    /// Deletes what a failed PUT may have left at `path`, in the background.
    fn remove_partial(&self, path: String) {
        let nodes = self.up.nodes.clone();
        tokio::spawn(async move {
            if let Err(e) = nodes.delete(&path).await {
                tracing::debug!(path, error = %e, "could not remove partial upload");
            }
        });
    }

    /// `create_close`, resolving the one ambiguous outcome: when the reply was
    /// lost or the tempfile is gone, the close may already have succeeded, so
    /// the tracker is asked which fid the key now has.
    async fn close(&self, close: &CreateClose) -> Result<SocketAddr, MogError> {
        match self.up.client.call(close).await {
            Ok(((), tracker)) => Ok(tracker),
            Err(e @ MogError::Unconfirmed { .. }) => self.confirm(close, e).await,
            Err(e) if e.code() == Some("no_temp_file") => self.confirm(close, e).await,
            Err(e) => Err(e),
        }
    }

    async fn confirm(
        &self,
        close: &CreateClose,
        original: MogError,
    ) -> Result<SocketAddr, MogError> {
        let info = FileInfo {
            domain: close.domain.clone(),
            key: close.key.clone(),
            devices: false,
        };
        match self.up.client.call(&info).await {
            Ok((details, tracker)) if details.fid == close.fid => Ok(tracker),
            _ => Err(original),
        }
    }

    /// Deletes a key.
    pub(super) async fn delete_key(&self, key: &str) -> Result<Source, StorageError> {
        let cmd = Delete {
            domain: self.ns.domain.clone(),
            key: key.to_owned(),
        };
        let deleted = self.up.client.call(&cmd).await;
        self.forget(key).await;
        let ((), tracker) = deleted.map_err(|e| not_found_if_unknown(key, e))?;
        Ok(Source {
            tracker: Some(tracker),
            node: None,
            cache: None,
        })
    }
}

/// The body's exact length: the client's `Content-Length`, or that of the
/// body read to its end (spooled) when the client did not declare one.
async fn sized(
    key: &str,
    length: Option<u64>,
    body: ByteStream,
    limit: u64,
) -> Result<(u64, ByteStream), StorageError> {
    if let Some(length) = length {
        return Ok((length, body));
    }
    match spool(body, limit).await {
        Ok(spooled) => Ok((spooled.size, spooled.body)),
        Err(SpoolError::TooLarge(limit)) => Err(StorageError::TooLarge { limit }),
        Err(SpoolError::ClientBody(_)) => Err(StorageError::client_body_cut()),
        Err(e @ SpoolError::Io(_)) => Err(upload_failed(key, e.to_string(), false)),
    }
}

/// The invariant of an upload answered 2xx: bytes from the client, bytes
/// the node took, and the size committed are one number.
fn same_sizes(key: &str, received: u64, stored: u64, length: u64) -> Result<(), StorageError> {
    if received == length && stored == length {
        return Ok(());
    }
    tracing::error!(
        key,
        received,
        stored,
        length,
        "upload sizes differ; discarding the new version"
    );
    let tried = format!(
        "{received} bytes received from the client, {stored} taken by the storage node, {length} expected"
    );
    Err(upload_failed(key, tried, false))
}

/// Aborts an upload that did not reach `create_close`: tells the tracker to
/// drop the fid (a close with an empty key) and removes partial data from the
/// destination, so a vanished client leaves nothing behind.
struct Discard {
    store: Option<MogStore>,
    domain: String,
    opened: Opened,
    dest: Destination,
}

impl Discard {
    fn new(store: MogStore, domain: &str, opened: &Opened, dest: Destination) -> Self {
        Discard {
            store: Some(store),
            domain: domain.to_owned(),
            opened: opened.clone(),
            dest,
        }
    }

    fn disarm(&mut self) {
        self.store = None;
    }
}

impl Drop for Discard {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let close = CreateClose {
            domain: std::mem::take(&mut self.domain),
            key: String::new(),
            fid: self.opened.fid,
            devid: self.dest.devid,
            path: self.opened.registered_path(&self.dest),
            size: 0,
            checksum: None,
        };
        let partial = std::mem::take(&mut self.dest.path);
        runtime.spawn(async move {
            if let Err(e) = store.up.nodes.delete(&partial).await {
                tracing::debug!(error = %e, "could not remove partial upload");
            }
            if let Err(e) = store.up.client.call(&close).await {
                tracing::debug!(fid = close.fid, error = %e, "could not discard fid");
            }
        });
    }
}
