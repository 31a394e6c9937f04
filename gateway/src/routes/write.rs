//! The one write pipeline, for every protocol: PUT and POST name what they
//! create (the location's Naming), are refused before a byte is read when
//! the declared length is over the limit, stream the body into the store,
//! and answer 201; DELETE answers 204.

use super::access_log::Stored as StoredBytes;
use super::{insert, Location};
use crate::error::AppError;
use crate::storage::{Stored, WriteLimits, WriteTarget};
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

/// Serves a PUT (`put`) or POST on `location`.
pub async fn store(location: &Location, put: bool, request: Request) -> Result<Response, AppError> {
    let name = location.naming.write(location, put, request.uri())?;
    let limit = location.max_body_size;
    let length = content_length(request.headers());
    if length.is_some_and(|n| n > limit) {
        // Refused before a byte is read, so `Expect: 100-continue` clients never send it.
        return Err(AppError::TooLarge { limit });
    }
    let body = request
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let target = WriteTarget {
        key: name.key.as_deref(),
        extension: &name.extension,
        length,
    };
    let limits = WriteLimits { max_size: limit };
    // A body not read to its end is answered with `Connection: close` (the
    // error table's), so no next request follows the unread bytes.
    let stored = location.store.write(target, Box::pin(body), limits).await?;
    Ok(created(stored, name.key.is_none()))
}

/// Serves a DELETE on `location`.
pub async fn delete(location: &Location, request: &Parts) -> Result<Response, AppError> {
    let key = location.naming.delete(location, &request.uri)?;
    let source = location.store.delete(&key).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(source);
    Ok(response)
}

/// 201 for a stored object; one the store named is announced in a JSON
/// body and `Location`.
fn created(stored: Stored, named_by_store: bool) -> Response {
    let mut response = if named_by_store {
        let body = serde_json::json!({ "file_id": stored.key, "size": stored.size }).to_string();
        let mut response = (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        insert(
            response.headers_mut(),
            header::LOCATION,
            &format!("/{}", stored.key),
        );
        response
    } else {
        StatusCode::CREATED.into_response()
    };
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
