//! FastDFS locations: `GET/HEAD /<group>/M00/XX/YY/<name>` (or `/M00/...` with
//! a configured group) reads, `POST` uploads, `DELETE /<file id>` deletes.
//! Each request: parse and check the ID and token → metadata → preconditions
//! → range → stream, from local disk or a storage server.

use super::{content_type, insert, not_modified, respond, Location};
use crate::config::{DiskReads, Method};
use crate::error::AppError;
use crate::storage::fastdfs::{FdfsStore, LocalDisk, UploadError};
use crate::storage::mogilefs::StoreError;
use crate::web::conditional::{evaluate, if_range_allows, Precondition, Validators};
use crate::web::range::RangeSpec;
use axum::extract::{Query, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dfs_protocol::fastdfs::token::{parse_ts, verify, TokenPolicy};
use dfs_protocol::fastdfs::FileId;
use futures_util::TryStreamExt;
use std::collections::HashMap;

type Params = HashMap<String, String>;

/// Serves one request on a FastDFS location.
pub async fn handle(
    location: &Location,
    store: &FdfsStore,
    method: Method,
    request: Request,
) -> Result<Response, AppError> {
    let raw = request.uri().path()[location.config.prefix.len()..].to_owned();
    let raw = raw.as_str();
    let params: Params = Query::try_from_uri(request.uri())
        .map(|q| q.0)
        .unwrap_or_default();
    match method {
        Method::Get | Method::Head => {
            let id = file_id(location, raw)?;
            if let Err(e) = check_token(location, &id, &params) {
                return token_failure(location, e).await;
            }
            read(
                location,
                store,
                &id,
                method == Method::Head,
                request.headers(),
                &params,
            )
            .await
        }
        Method::Post => upload(location, store, raw, &params, request).await,
        Method::Delete => {
            let id = file_id(location, raw)?;
            let source = store.delete(&id).await?;
            let mut response = StatusCode::NO_CONTENT.into_response();
            response.extensions_mut().insert(source);
            Ok(response)
        }
        Method::Put => Err(AppError::MethodNotAllowed {
            allow: String::new(),
        }),
    }
}

/// The file ID named by the path: a full `group/M00/...` ID, or `M00/...` in
/// the location's group. Parsing is strict: no `..`, no extra `/`, hex
/// directories, a well-formed name. The path is percent-decoded exactly
/// once, and an encoded `/` (`%2F`) is refused: a file ID has one spelling,
/// so `/group1/M00/00/00%2Fname` is not a second URL for the same file.
fn file_id(location: &Location, raw: &str) -> Result<FileId, AppError> {
    if has_encoded_slash(raw) {
        return Err(AppError::BadFileId(
            "an encoded '/' (%2F) is not allowed in a file ID".into(),
        ));
    }
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| AppError::BadFileId("not valid UTF-8".into()))?;
    let parsed = FileId::parse(&decoded);
    match (&location.config.group, parsed) {
        (_, Ok(id)) => Ok(id),
        (Some(group), Err(_)) => {
            FileId::from_parts(group, &decoded).map_err(|e| AppError::BadFileId(e.to_string()))
        }
        (None, Err(e)) => Err(AppError::BadFileId(e.to_string())),
    }
}

fn has_encoded_slash(raw: &str) -> bool {
    raw.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'2' && w[2].eq_ignore_ascii_case(&b'f'))
}

fn check_token(location: &Location, id: &FileId, params: &Params) -> Result<(), String> {
    let Some(token) = &location.config.token else {
        return Ok(());
    };
    let (Some(given), Some(ts)) = (params.get("token"), params.get("ts")) else {
        return Err("the token and ts parameters are required".into());
    };
    let ts = parse_ts(ts).map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let policy = TokenPolicy {
        ttl: token.ttl.0.as_secs(),
        allow_ts_zero: location.config.allow_ts_zero,
    };
    verify(
        id.remote_name(),
        token.secret.as_bytes(),
        given,
        ts,
        now,
        policy,
    )
    .map_err(|e| e.to_string())
}

/// A failed token check: 403, or the configured fallback file (as
/// fastdfs-nginx-module's `token_check_fail` does, with status 200).
async fn token_failure(location: &Location, reason: String) -> Result<Response, AppError> {
    let Some(path) = &location.config.token_check_fail else {
        return Err(AppError::Forbidden(reason));
    };
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|_| AppError::Forbidden(reason.clone()))?;
    let mut response = ([(header::CONTENT_TYPE, content_type(path))], bytes).into_response();
    response
        .extensions_mut()
        .insert(crate::error::ErrorDetail(format!(
            "token check failed: {reason}"
        )));
    Ok(response)
}

async fn read(
    location: &Location,
    store: &FdfsStore,
    id: &FileId,
    head: bool,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, AppError> {
    let (meta, _) = store.meta(id).await?;
    let validators = Validators {
        etag: Some(meta.etag.clone()),
        last_modified: Some(meta.last_modified),
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(RangeSpec::parse)
        .filter(|_| if_range_allows(headers, &validators));
    let object = match evaluate(headers, &validators) {
        Precondition::Proceed => {
            store
                .open(id, &meta, range, head, local_path(location, id))
                .await?
        }
        Precondition::NotModified => {
            let object = store
                .open(id, &meta, None, true, local_path(location, id))
                .await?;
            return Ok(not_modified(&object));
        }
        Precondition::Failed => return Err(AppError::PreconditionFailed),
    };
    let mut response = respond(id.file_name(), object)?;
    if let Some(name) = params.get("filename").filter(|n| !n.is_empty()) {
        // As the module does; quotes and control characters cannot break out.
        let safe: String = name
            .chars()
            .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
            .collect();
        insert(
            response.headers_mut(),
            header::CONTENT_DISPOSITION,
            &format!("attachment; filename=\"{safe}\""),
        );
    }
    Ok(response)
}

/// Where `id` would be on this machine's disk in local-disk mode.
fn local_path(location: &Location, id: &FileId) -> Option<LocalDisk> {
    let paths = location.config.store_paths.as_ref()?;
    if location
        .config
        .group
        .as_deref()
        .is_some_and(|g| g != id.group())
    {
        return None;
    }
    let root = paths.get(usize::from(id.store_path_index()))?;
    Some(LocalDisk {
        path: root.join(id.relative_path()),
        inline: location.config.disk_reads == DiskReads::Inline,
    })
}

async fn upload(
    location: &Location,
    store: &FdfsStore,
    raw: &str,
    params: &Params,
    request: Request,
) -> Result<Response, AppError> {
    if !raw.is_empty() {
        return Err(AppError::BadFileId(
            "POST uploads to the location itself; the storage names the file".into(),
        ));
    }
    let ext = extension(params)?;
    let limit = location.max_body_size;
    let length = content_length(request.headers());
    if length.is_some_and(|n| n > limit) {
        return Err(AppError::TooLarge { limit });
    }
    let body = request
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let (uploaded, size) = store
        .upload(
            location.config.group.as_deref(),
            &ext,
            length,
            Box::pin(body),
            limit,
        )
        .await
        .map_err(|e| match e {
            UploadError::Fdfs(e) => AppError::Fdfs(e),
            UploadError::TooLarge(limit) => AppError::TooLarge { limit },
            UploadError::ClientBody => AppError::Store(StoreError::ClientBody),
            UploadError::Spool(e) => AppError::Internal(e.to_string()),
        })?;
    let id = uploaded.id.as_str();
    let body = serde_json::json!({ "file_id": id, "size": size }).to_string();
    let mut response = (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/{id}")) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response.extensions_mut().insert(crate::storage::Source {
        tracker: Some(uploaded.tracker),
        node: Some(uploaded.storage.to_string()),
    });
    response
        .extensions_mut()
        .insert(super::access_log::Stored(size));
    Ok(response)
}

/// The extension for a new file: `?ext=` or that of `?filename=`; at most 6
/// letters or digits, as FastDFS stores it; none is fine.
fn extension(params: &Params) -> Result<String, AppError> {
    let ext = match (params.get("ext"), params.get("filename")) {
        (Some(ext), _) => ext.trim_start_matches('.').to_owned(),
        (None, Some(name)) => name
            .rsplit_once('.')
            .map(|(_, e)| e.to_owned())
            .unwrap_or_default(),
        (None, None) => String::new(),
    };
    if ext.len() > 6 || !ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AppError::BadFileId(format!(
            "extension {ext:?} must be at most 6 letters or digits"
        )));
    }
    Ok(ext)
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::has_encoded_slash;

    #[test]
    fn encoded_slashes_are_found_in_either_case() {
        assert!(has_encoded_slash("group1/M00/00/00%2fname.jpg"));
        assert!(has_encoded_slash("M00%2F00/00/name.jpg"));
        assert!(!has_encoded_slash("group1/M00/00/00/name.jpg"));
        // `%252F` decodes (once) to the text "%2F", which no file name has.
        assert!(!has_encoded_slash("group1/M00/00/00/%252Fx"));
    }
}
