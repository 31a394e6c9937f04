//! FastDFS failures as [`StorageError`]s: ENOENT (and a storage's EINVAL
//! for a file the client named) is "not found", no storage to upload to is
//! "no room", an errno answer a refusal, connection failures "unavailable"
//! or "timed out", a bad upload body the client's fault.

use crate::clients::fastdfs::FdfsError;
use crate::storage::StorageError;
use dfs_protocol::fastdfs::status;

/// `e` as a storage error.
pub fn from_fdfs(e: FdfsError) -> StorageError {
    let detail = e.to_string();
    let status_name = status::name;
    match e {
        FdfsError::NotFound { file } => StorageError::NotFound {
            public: format!("{file} not found"),
            what: file,
        },
        ref e if is_bad_file(e) => StorageError::NotFound {
            what: detail,
            public: "no such file".into(),
        },
        FdfsError::NoTracker { tried } => StorageError::NoTracker { tried },
        FdfsError::NoStorage { .. } => StorageError::NoRoom {
            detail,
            public: "no storage server can take the file".into(),
        },
        FdfsError::Tracker { status, .. } => StorageError::Refused {
            detail,
            public: format!("the tracker refused the request ({})", status_name(status)),
        },
        FdfsError::Storage { status, .. } => StorageError::Refused {
            detail,
            public: format!(
                "the storage server refused the request ({})",
                status_name(status)
            ),
        },
        ref e if e.is_timeout() => StorageError::TimedOut {
            what: "a FastDFS call".into(),
            tried: detail,
            public: "a FastDFS server did not answer in time".into(),
        },
        FdfsError::Call { .. } => StorageError::Unavailable {
            what: "a FastDFS call".into(),
            tried: detail,
            public: "a FastDFS server failed".into(),
        },
        FdfsError::Unavailable { file, tried, .. } => StorageError::Unavailable {
            what: file,
            tried,
            public: "no storage server could serve the file".into(),
        },
        FdfsError::Unconfirmed { .. } => StorageError::BadReply {
            detail,
            public:
                "the storage server did not confirm the operation; it may or may not have happened"
                    .into(),
        },
        FdfsError::SizeMismatch { .. } => StorageError::BadReply {
            detail,
            public:
                "the storage server stored another size than was sent; the upload was discarded"
                    .into(),
        },
        FdfsError::Body(_) => StorageError::ClientBody {
            detail,
            public: "the upload body could not be read".into(),
        },
        FdfsError::BodyLength { expected, got } => StorageError::ClientBody {
            detail,
            public: format!("upload body has {got} bytes, {expected} announced"),
        },
    }
}

/// A storage's EINVAL for a file the client named (a store path such as
/// `M99` the storage lacks, a name it cannot address): the file is not
/// there, whatever the reason, so 404 rather than a gateway failure.
fn is_bad_file(e: &FdfsError) -> bool {
    use dfs_protocol::fastdfs::storage::{DeleteFile, DownloadFile, QueryFileInfo};
    use dfs_protocol::fastdfs::Command;
    matches!(e, FdfsError::Storage { status, command, .. }
        if *status == status::EINVAL
            && [QueryFileInfo::NAME, DownloadFile::NAME, DeleteFile::NAME].contains(command))
}
