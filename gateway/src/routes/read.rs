//! The one read pipeline, for every protocol:
//!
//! ```text
//! name the object (the location's Naming)
//!   → a thumbnail of it, when the location has them and the URL asks
//!   → meta (validators only when the request is conditional)
//!   → preconditions, RFC 9110 §13.2.2 order        304 / 412: no body opened
//!   → Range, unless If-Range says the copy is stale
//!   → open (failover before the first byte)
//!   → respond: status, lengths and every header, here and only here
//! ```

use super::naming::ReadName;
use super::{insert, Location};
use crate::config::Mode;
use crate::error::AppError;
use crate::storage::{Need, Object, Read, Served};
use crate::web::conditional::{evaluate, if_range_allows, Precondition};
use crate::web::disposition::attachment;
use crate::web::range::RangeSpec;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Serves a GET (or, with `head`, a HEAD) on `location`.
pub async fn serve(location: &Location, head: bool, request: &Parts) -> Result<Response, AppError> {
    let target = match location.naming.read(location, &request.uri).await? {
        ReadName::Object(target) => target,
        ReadName::Answered(response) => return Ok(response),
    };
    let key = target.key.as_str();
    if let Some(answer) = super::thumbnail::serve(location, head, request, key).await {
        return answer;
    }
    let store = &location.store;
    let headers = &request.headers;
    if location.config.mode == Mode::Accel {
        let meta = store.meta(key, Need::Location).await?;
        return super::accel::redirect(location, key, &meta);
    }
    let conditional = is_conditional(headers);
    let need = if conditional {
        Need::Validators
    } else {
        Need::Location
    };
    let meta = store.meta(key, need).await?;
    let mut range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(RangeSpec::parse);
    if conditional {
        match evaluate(headers, &meta.validators) {
            Precondition::Proceed => {}
            Precondition::NotModified => {
                // Existence only (a store may already know it): no body.
                let read = Read {
                    range: None,
                    head: true,
                };
                return Ok(not_modified(&store.open(key, &meta, read).await?));
            }
            Precondition::Failed => return Err(AppError::PreconditionFailed),
        }
        // The client's copy is stale: it gets the whole new object instead.
        range = range.filter(|_| if_range_allows(headers, &meta.validators));
    }
    let object = store.open(key, &meta, Read { range, head }).await?;
    let content_type = location.mime.content_type(&meta.type_name);
    let download = target.attachment.as_deref().map(|name| (name, key));
    respond(content_type, object, download)
}

/// Whether any header makes the answer depend on the validators.
fn is_conditional(headers: &HeaderMap) -> bool {
    [
        header::IF_MATCH,
        header::IF_NONE_MATCH,
        header::IF_MODIFIED_SINCE,
        header::IF_UNMODIFIED_SINCE,
        header::IF_RANGE,
    ]
    .iter()
    .any(|h| headers.contains_key(h))
}

/// Builds a 200, 206 or 416 response around an opened object.
fn respond(
    content_type: HeaderValue,
    mut object: Object,
    download: Option<(&str, &str)>,
) -> Result<Response, AppError> {
    let (status, length) = match object.served {
        Served::Full => (StatusCode::OK, object.size),
        Served::Range(r) => (StatusCode::PARTIAL_CONTENT, r.len()),
        Served::Unsatisfiable => return Err(AppError::RangeNotSatisfiable { size: object.size }),
    };
    let mut response = match object.body.take() {
        Some(stream) => Response::new(Body::from_stream(stream)),
        None => Response::new(Body::empty()),
    };
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Served::Range(r) = object.served {
        insert(h, header::CONTENT_RANGE, &r.content_range(object.size));
    }
    h.insert(header::CONTENT_TYPE, content_type);
    validator_headers(h, &object);
    // The name asked for, cleaned; when nothing of it is left, the key's.
    if let Some((name, key)) = download {
        insert(h, header::CONTENT_DISPOSITION, &attachment(name, key));
    }
    response.extensions_mut().insert(object.source);
    Ok(response)
}

fn not_modified(object: &Object) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    validator_headers(response.headers_mut(), object);
    response.extensions_mut().insert(object.source.clone());
    response
}

fn validator_headers(h: &mut HeaderMap, object: &Object) {
    if let Some(etag) = &object.etag {
        insert(h, header::ETAG, etag);
    }
    if let Some(modified) = object.last_modified {
        insert(h, header::LAST_MODIFIED, &httpdate::fmt_http_date(modified));
    }
}
