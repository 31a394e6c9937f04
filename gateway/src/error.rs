//! The one error type at the HTTP edge, and the single table mapping failures
//! to statuses. Clients get a short reason; the full detail goes to the request
//! log (carried in a response extension to the logging middleware).

use crate::storage::mogilefs::StoreError;
use crate::trackers::fastdfs::FdfsError;
use crate::trackers::mogilefs::MogError;
use crate::web::key::KeyError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Detail of a failure for the request log.
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The path names no valid key.
    #[error("bad key: {0}")]
    BadKey(#[from] KeyError),
    /// No location matches the path.
    #[error("no location serves this path")]
    NoLocation,
    /// The method is not allowed on the location.
    #[error("method not allowed here")]
    MethodNotAllowed {
        /// Value of the `Allow` header.
        allow: String,
    },
    /// The declared body is larger than allowed.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Range outside the object.
    #[error("range not satisfiable")]
    RangeNotSatisfiable {
        /// Object size, for `Content-Range: bytes */size`.
        size: u64,
    },
    /// `If-Match` / `If-Unmodified-Since` failed.
    #[error("precondition failed")]
    PreconditionFailed,
    /// The storage layer failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The path names no valid FastDFS file ID (or upload parameters are bad).
    #[error("bad file ID: {0}")]
    BadFileId(String),
    /// The anti-steal token check failed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A FastDFS operation failed.
    #[error(transparent)]
    Fdfs(#[from] FdfsError),
    /// Something on this machine failed (e.g. a temporary file).
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The status for this error: the gateway's one status table.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadKey(_) => StatusCode::BAD_REQUEST,
            AppError::NoLocation => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            AppError::Store(e) => store_status(e),
            AppError::BadFileId(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Fdfs(e) => fdfs_status(e),
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told: specific for its own mistakes, generic for ours.
    fn public_message(&self) -> String {
        match self {
            AppError::Store(StoreError::Tracker(MogError::Tracker { code, .. }))
                if code == "no_devices" =>
            {
                "no storage device has room for the file".into()
            }
            AppError::Store(StoreError::Tracker(MogError::Tracker { code, .. })) => {
                format!("the tracker refused the request ({code})")
            }
            AppError::Store(StoreError::Tracker(MogError::NoTracker { .. })) => {
                "no tracker is answering".into()
            }
            AppError::Store(StoreError::Tracker(_)) => "the tracker failed".into(),
            AppError::Store(StoreError::NoReplica { .. }) => {
                "no replica of the file could be read".into()
            }
            AppError::Store(StoreError::UploadFailed { .. }) => {
                "no storage node accepted the file".into()
            }
            other => other.to_string(),
        }
    }
}

fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::NotFound => StatusCode::NOT_FOUND,
        StoreError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        StoreError::ClientBody => StatusCode::BAD_REQUEST,
        StoreError::NoReplica {
            timed_out: true, ..
        }
        | StoreError::UploadFailed {
            timed_out: true, ..
        } => StatusCode::GATEWAY_TIMEOUT,
        StoreError::NoReplica { .. } | StoreError::UploadFailed { .. } => StatusCode::BAD_GATEWAY,
        StoreError::Tracker(MogError::NoTracker { .. }) => StatusCode::SERVICE_UNAVAILABLE,
        StoreError::Tracker(MogError::Tracker { code, .. }) if code == "no_devices" => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        StoreError::Tracker(_) => StatusCode::BAD_GATEWAY,
    }
}

fn fdfs_status(e: &FdfsError) -> StatusCode {
    match e {
        FdfsError::NotFound { .. } => StatusCode::NOT_FOUND,
        FdfsError::NoTracker { .. } | FdfsError::NoStorage { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        FdfsError::Body(_) | FdfsError::BodyLength { .. } => StatusCode::BAD_REQUEST,
        e if e.is_timeout() => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let reason = status.canonical_reason().unwrap_or("Error");
        let body = format!("{} {reason}: {}\n", status.as_u16(), self.public_message());
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response();
        let headers = response.headers_mut();
        match &self {
            AppError::MethodNotAllowed { allow } => {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    headers.insert(header::ALLOW, v);
                }
            }
            AppError::RangeNotSatisfiable { size } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, v);
                }
            }
            AppError::Store(_) | AppError::Fdfs(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
            .extensions_mut()
            .insert(ErrorDetail(self.to_string()));
        response
    }
}
