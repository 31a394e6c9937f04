//! The one write pipeline, for every protocol: PUT and POST name what they
//! create (the location's Naming), are refused before a byte is read when
//! the declared length is over the limit, stream the body into the store,
//! and answer 201 with a JSON body; DELETE answers 204. A POST of
//! `multipart/form-data` stores the form's file part (see `form`).

mod form;

use super::access_log::Stored as StoredBytes;
use super::{insert, Location};
use crate::error::AppError;
use crate::storage::{ByteStream, Stored, WriteLimits, WriteTarget};
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

/// Serves a PUT (`put`) or POST on `location`.
pub async fn store(location: &Location, put: bool, request: Request) -> Result<Response, AppError> {
    let mut name = location.naming.write(location, put, request.uri())?;
    let path = request.uri().path().to_owned();
    let limit = location.max_body_size;
    let boundary = match form::boundary(request.headers()) {
        Some(b) if !put => Some(b?),
        _ => None,
    };
    let length = content_length(request.headers());
    let allowed = match boundary {
        Some(_) => limit.saturating_add(form::ENVELOPE_ALLOWANCE),
        None => limit,
    };
    if length.is_some_and(|n| n > allowed) {
        // Refused before a byte is read, so `Expect: 100-continue` clients never send it.
        return Err(AppError::TooLarge { limit });
    }
    let body = request
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let (body, length, fault): (ByteStream, _, _) = match boundary {
        Some(boundary) => {
            let part = form::file_part(body, boundary, limit).await?;
            if name.extension.is_empty() {
                name.extension = checked_extension(part.extension)?;
            }
            // The envelope's length is not the file's: the store learns it.
            (part.body, None, Some(part.fault))
        }
        None => (Box::pin(body) as ByteStream, length, None),
    };
    let target = WriteTarget {
        key: name.key.as_deref(),
        extension: &name.extension,
        length,
    };
    let limits = WriteLimits { max_size: limit };
    // A body not read to its end is answered with `Connection: close` (the
    // error table's), so no next request follows the unread bytes.
    let stored = match location.store.write(target, body, limits).await {
        Ok(stored) => stored,
        Err(e) => return Err(fault.and_then(|f| f.take()).unwrap_or_else(|| e.into())),
    };
    Ok(created(stored, name.key.is_none(), &path))
}

/// A form file's extension, held to the rule `?ext=` follows.
fn checked_extension(ext: String) -> Result<String, AppError> {
    if ext.len() > 6 || !ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AppError::BadUpload(format!(
            "the file's extension {ext:?} must be at most 6 letters or digits"
        )));
    }
    Ok(ext)
}

/// Serves a DELETE on `location`.
pub async fn delete(location: &Location, request: &Parts) -> Result<Response, AppError> {
    let key = location.naming.delete(location, &request.uri)?;
    let source = location.store.delete(&key).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(source);
    Ok(response)
}

/// 201 for a stored object, announced in a JSON body and `Location`: a
/// store-named object (FastDFS) as `{"file_id","size"}` at `/<file ID>`, a
/// keyed one (MogileFS) as `{"key","size","fid"}` at the request's path.
fn created(stored: Stored, named_by_store: bool, path: &str) -> Response {
    let (body, location) = if named_by_store {
        let body = serde_json::json!({ "file_id": stored.key, "size": stored.size });
        (body, format!("/{}", stored.key))
    } else {
        let body = serde_json::json!({ "key": stored.key, "size": stored.size, "fid": stored.fid });
        (body, path.to_owned())
    };
    let mut response = (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response();
    insert(response.headers_mut(), header::LOCATION, &location);
    if let Some(etag) = &stored.etag {
        insert(response.headers_mut(), header::ETAG, etag);
    }
    response.extensions_mut().insert(stored.source);
    response.extensions_mut().insert(StoredBytes(stored.size));
    response
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}
