//! Whole operations that need a tracker and a storage together and no
//! failover: an upload goes to the storage the tracker names. (Reads and
//! deletes, with their failover across a group, are the storage layer's:
//! `storage::fastdfs::failover`.)

use super::client::FdfsClient;
use super::error::FdfsError;
use bytes::Bytes;
use dfs_protocol::fastdfs::FileId;
use futures_util::Stream;
use std::io;
use std::net::SocketAddr;

/// A stored upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The new file's ID.
    pub id: FileId,
    /// The storage that took it.
    pub storage: SocketAddr,
    /// The tracker that chose the storage.
    pub tracker: SocketAddr,
}

impl FdfsClient {
    /// Uploads `size` bytes of `body` with extension `ext` (no dot, at most
    /// 6 letters or digits) to `group`, or to a group of the tracker's choice.
    pub async fn upload<S>(
        &self,
        group: Option<&str>,
        ext: &str,
        size: u64,
        body: S,
    ) -> Result<Uploaded, FdfsError>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        let (target, tracker) = self.query_store(group).await?;
        let id = self.upload_to(&target, ext, size, body).await?;
        Ok(Uploaded {
            id,
            storage: target.addr.into(),
            tracker,
        })
    }
}
