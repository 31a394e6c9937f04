//! FastDFS client: trackers and storage servers over pooled persistent
//! connections. No HTTP types: callers pass file IDs, offsets and byte
//! streams, and get typed answers or a [`FdfsError`] that says whether a
//! retry elsewhere can help.
//!
//! - [`connection`]: one socket, one request in flight; header, small
//!   bodies, time-outs.
//! - [`download`]: a DOWNLOAD_FILE body as a stream of exactly `pkg_len`
//!   bytes, returning its connection to the pool only when fully read.
//! - [`client`]: tracker queries with failover, pooled exchanges.
//! - [`storage_ops`]: download, file info, delete and upload on one storage.
//! - [`slave`]: UPLOAD_SLAVE_FILE (thumbnails stored as slave files).
//! - [`flows`]: an upload to the storage the tracker names.
//! - [`error`]: the error type.

pub mod client;
pub mod connection;
pub mod download;
pub mod error;
pub mod flows;
pub mod slave;
pub mod storage_ops;

// The tests run the client against devcluster, which the gateway links only
// with the `demo` feature (on by default). Read failover is tested with the
// storage layer that does it.
#[cfg(all(test, feature = "demo"))]
mod slave_tests;
#[cfg(all(test, feature = "demo"))]
mod upload_tests;

pub use client::{FdfsClient, FdfsTimeouts};
pub use connection::CallError;
pub use download::{ChunkStream, Download};
pub use error::FdfsError;
pub use flows::Uploaded;
