//! The one error type at the HTTP edge, and the single table mapping failures
//! to statuses. Clients get a short reason; the full detail goes to the request
//! log (carried in a response extension to the logging middleware). The
//! short reason is plain text, or `{"error","status"}` JSON for a client
//! whose `Accept` prefers `application/json` ([`negotiated`]).

use crate::storage::StorageError;
use crate::web::key::KeyError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Detail of a failure for the request log.
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

/// What the client is told about a failure, kept on the response so
/// [`negotiated`] can answer it as JSON.
#[derive(Debug, Clone)]
pub struct PublicError {
    /// The status.
    pub status: StatusCode,
    /// The short reason.
    pub message: String,
}

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
    /// A store failed (either protocol).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The path names no valid FastDFS file ID (or upload parameters are bad).
    #[error("bad file ID: {0}")]
    BadFileId(String),
    /// A form upload's envelope is malformed (no boundary, no file part,
    /// two file parts).
    #[error("bad upload: {0}")]
    BadUpload(String),
    /// The anti-steal token check failed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Something on this machine failed (e.g. a temporary file).
    #[error("internal error: {0}")]
    Internal(String),
    /// An HTTP/1.1 request without a `Host` header.
    #[error("HTTP/1.1 request without a Host header")]
    MissingHost,
    /// The client stopped sending its request body.
    #[error("request body stalled for {limit:?} (server.client_body_timeout): {failure}")]
    BodyTimeout {
        /// `[server].client_body_timeout`.
        limit: std::time::Duration,
        /// The failure the stall caused in the handler.
        failure: String,
    },
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
            AppError::Storage(e) => storage_status(e),
            AppError::BadFileId(_) => StatusCode::BAD_REQUEST,
            AppError::BadUpload(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::MissingHost => StatusCode::BAD_REQUEST,
            AppError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// What the client is told: specific for its own mistakes, generic for
    /// ours. Never an address of a tracker or storage node, nor a local
    /// path: those go to the log only.
    fn public_message(&self) -> String {
        match self {
            AppError::Storage(e) => e.public_message(),
            AppError::Internal(_) => "the gateway failed; the log has the details".into(),
            AppError::BodyTimeout { limit, .. } => {
                format!("no request body bytes arrived for {limit:?}")
            }
            other => other.to_string(),
        }
    }
}

/// The status of each storage failure kind, whatever the protocol.
fn storage_status(e: &StorageError) -> StatusCode {
    match e {
        StorageError::NotFound { .. } => StatusCode::NOT_FOUND,
        StorageError::Unavailable { .. } => StatusCode::BAD_GATEWAY,
        StorageError::TimedOut { .. } => StatusCode::GATEWAY_TIMEOUT,
        StorageError::NoTracker { .. } => StatusCode::SERVICE_UNAVAILABLE,
        StorageError::NoRoom { .. } => StatusCode::SERVICE_UNAVAILABLE,
        StorageError::Refused { .. } => StatusCode::BAD_GATEWAY,
        StorageError::BadReply { .. } => StatusCode::BAD_GATEWAY,
        StorageError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        StorageError::ClientBody { .. } => StatusCode::BAD_REQUEST,
        StorageError::Local(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = error_response(status, self.public_message(), self.to_string());
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
            AppError::Storage(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            // The rest of the body is never read: the connection cannot go
            // on, and a client must not send its next request on it.
            AppError::BodyTimeout { .. }
            | AppError::TooLarge { .. }
            | AppError::Storage(StorageError::TooLarge { .. } | StorageError::ClientBody { .. }) => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

/// An error answer, built the one way every error the gateway writes is:
/// `status`, the text body `<code> <reason>: <message>` (turned into JSON
/// by [`negotiated`] when the client asks for it), and `detail` for the
/// request log. Callers add their own headers (`Allow`, `Retry-After`,
/// `WWW-Authenticate`, ...) to what this returns.
pub fn error_response(status: StatusCode, message: String, detail: String) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!("{} {reason}: {message}\n", status.as_u16());
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response();
    let extensions = response.extensions_mut();
    extensions.insert(ErrorDetail(detail));
    extensions.insert(PublicError { status, message });
    response
}

/// Whether a request's `Accept` asks for JSON error bodies.
pub fn wants_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(prefers_json)
}

/// `response`, its error body turned into `{"error":"..","status":N}\n`
/// when `json` (the client's `Accept` prefers `application/json`); others
/// keep the text body. The one place error bodies are negotiated, applied
/// to every response by the edge ([`crate::routes::access_log::edge`]) and
/// by the admin listener. An error answer not built by [`error_response`]
/// (one the HTTP framework writes itself, such as a 405 on an admin path)
/// is told by its status's reason.
pub fn negotiated(json: bool, response: Response) -> Response {
    if !json {
        return response;
    }
    let status = response.status();
    let public = response.extensions().get::<PublicError>().cloned();
    match public {
        Some(public) => as_json(status, public, response),
        None if status.is_client_error() || status.is_server_error() => {
            let message = status.canonical_reason().unwrap_or("error").to_owned();
            as_json(status, PublicError { status, message }, response)
        }
        None => response,
    }
}

fn as_json(status: StatusCode, public: PublicError, response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    let body = serde_json::json!({ "error": public.message, "status": status.as_u16() });
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, axum::body::Body::from(format!("{body}\n")))
}

/// Whether an `Accept` value lists `application/json` explicitly with a
/// higher weight than any text type (`*/*` alone does not count); on a tie
/// the one listed first wins.
pub fn prefers_json(accept: &str) -> bool {
    let (mut json, mut text) = (None::<(f32, usize)>, None::<(f32, usize)>);
    for (i, range) in accept.split(',').enumerate() {
        let mut params = range.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = params
            .filter_map(|p| p.trim().strip_prefix("q=").map(str::to_owned))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let slot = match media.as_str() {
            "application/json" => &mut json,
            "text/plain" | "text/*" => &mut text,
            _ => continue,
        };
        if !matches!(slot, Some((best, _)) if *best >= q) {
            *slot = Some((q, i));
        }
    }
    match (json, text) {
        (Some((q, _)), _) if q <= 0.0 => false,
        (Some(_), None) => true,
        (Some((jq, ji)), Some((tq, ti))) => jq > tq || (jq == tq && ji < ti),
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::fastdfs::{CallError, FdfsError};
    use crate::storage::fastdfs::error::from_fdfs;
    use std::net::SocketAddr;

    const ADDR: &str = "10.9.8.7:23000";

    async fn body_of(e: AppError) -> (StatusCode, String) {
        let response = e.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    fn every_fdfs_error() -> Vec<FdfsError> {
        let addr: SocketAddr = ADDR.parse().unwrap();
        let call = || CallError::Timeout(std::time::Duration::from_secs(3));
        vec![
            FdfsError::NoTracker {
                tried: format!("{addr}: connection refused"),
            },
            FdfsError::NoStorage {
                tracker: addr,
                status: 28,
            },
            FdfsError::Tracker {
                tracker: addr,
                command: "QUERY_FETCH_ONE",
                status: 5,
            },
            FdfsError::Storage {
                storage: addr,
                command: "UPLOAD_FILE",
                status: 5,
            },
            FdfsError::Call {
                addr,
                command: "DOWNLOAD_FILE",
                source: call(),
            },
            FdfsError::Call {
                addr,
                command: "DOWNLOAD_FILE",
                source: CallError::BadReply(format!("garbage from {addr}")),
            },
            FdfsError::Unavailable {
                file: "group1/M00/00/00/x.jpg".into(),
                tried: format!("{addr}: reset"),
                timed_out: false,
            },
            FdfsError::Unconfirmed {
                addr,
                command: "DELETE_FILE",
                source: call(),
            },
        ]
    }

    #[tokio::test]
    async fn fastdfs_error_bodies_name_no_server() {
        for e in every_fdfs_error() {
            let detail = e.to_string();
            assert!(detail.contains("10.9.8.7"), "the log keeps the address");
            let (status, body) = body_of(AppError::Storage(from_fdfs(e))).await;
            assert!(!body.contains("10.9.8.7"), "{status}: {body}");
        }
        let (status, body) = body_of(AppError::Internal("/var/tmp/spool-1: full".into())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.contains("/var/tmp"), "{body}");
    }

    #[tokio::test]
    async fn a_store_path_the_storage_lacks_is_not_found() {
        let storage: SocketAddr = ADDR.parse().unwrap();
        for command in ["QUERY_FILE_INFO", "DOWNLOAD_FILE", "DELETE_FILE"] {
            let e = FdfsError::Storage {
                storage,
                command,
                status: dfs_protocol::fastdfs::status::EINVAL,
            };
            let (status, body) = body_of(AppError::Storage(from_fdfs(e))).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{command}");
            assert!(!body.contains("10.9.8.7"), "{body}");
        }
        let upload = FdfsError::Storage {
            storage,
            command: "UPLOAD_FILE",
            status: dfs_protocol::fastdfs::status::EINVAL,
        };
        assert_eq!(
            AppError::Storage(from_fdfs(upload)).status(),
            StatusCode::BAD_GATEWAY
        );
    }

    #[test]
    fn a_stalled_body_is_408_and_closes_the_connection() {
        let e = AppError::BodyTimeout {
            limit: std::time::Duration::from_secs(60),
            failure: "upload body: stalled".into(),
        };
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(response.headers()[header::CONNECTION], "close");
    }

    #[test]
    fn json_is_chosen_only_when_listed_and_preferred() {
        for yes in [
            "application/json",
            "application/json, text/plain",
            "text/plain;q=0.5, application/json",
            "*/*, application/json",
        ] {
            assert!(prefers_json(yes), "{yes}");
        }
        for no in [
            "*/*",
            "",
            "text/plain, application/json",
            "application/json;q=0",
            "application/json;q=0.4, text/*;q=0.5",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ] {
            assert!(!prefers_json(no), "{no}");
        }
    }

    /// `response` negotiated for a client asking JSON: status, headers and
    /// the parsed body.
    async fn as_json_body(
        response: Response,
    ) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = negotiated(true, response);
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert!(bytes.ends_with(b"\n"));
        assert_eq!(parts.headers[header::CONTENT_TYPE], "application/json");
        let json = serde_json::from_slice(&bytes).unwrap();
        (parts.status, parts.headers, json)
    }

    #[tokio::test]
    async fn access_refusals_answer_json_with_their_headers() {
        use crate::access::Refusal;
        let challenge = HeaderValue::from_static("Basic realm=\"r\"");
        let cases = [
            (
                Refusal::Unauthorized(vec![challenge.clone()]),
                401,
                "credentials are required",
            ),
            (Refusal::BadCredentials, 403, "credentials refused"),
            (
                Refusal::Address,
                403,
                "this client address may not use this location",
            ),
            (Refusal::NeedsSignature, 403, "a signed URL is required"),
            (Refusal::Rate(7), 429, "too many requests from this address"),
        ];
        for (refusal, status, message) in cases {
            let (got, headers, json) = as_json_body(refusal.into_response()).await;
            assert_eq!(got.as_u16(), status, "{message}");
            assert_eq!(
                json,
                serde_json::json!({ "error": message, "status": status })
            );
            match status {
                401 => assert_eq!(headers[header::WWW_AUTHENTICATE], challenge),
                429 => assert_eq!(headers[header::RETRY_AFTER], "7"),
                _ => {}
            }
        }
    }

    #[tokio::test]
    async fn every_error_response_is_text_or_json_alike() {
        let built = || {
            error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "a.txt: not an image".into(),
                "thumbnail of a.txt".into(),
            )
        };
        let text = negotiated(false, built());
        assert_eq!(
            text.extensions().get::<ErrorDetail>().unwrap().0,
            "thumbnail of a.txt"
        );
        let bytes = axum::body::to_bytes(text.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            &bytes[..],
            b"415 Unsupported Media Type: a.txt: not an image\n"
        );
        let (status, _, json) = as_json_body(built()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(json["error"], "a.txt: not an image");
        // One the HTTP layer wrote itself: its reason, and no body lost
        // in a text form it never had.
        let (status, _, json) = as_json_body(StatusCode::METHOD_NOT_ALLOWED.into_response()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            json,
            serde_json::json!({ "error": "Method Not Allowed", "status": 405 })
        );
        // Not an error: untouched.
        let ok = negotiated(true, (StatusCode::OK, "fine").into_response());
        assert!(ok.headers().get(header::CONTENT_TYPE).unwrap() != "application/json");
    }

    #[tokio::test]
    async fn bad_uploads_are_400_with_a_newline() {
        let (status, body) = body_of(AppError::BadUpload("the form has no file part".into())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            "400 Bad Request: bad upload: the form has no file part\n"
        );
    }
}
