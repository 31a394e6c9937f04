//! Storage node answers turned into [`Object`]s: the whole object or the
//! wanted window of it, with the node's validators.

use super::{NodeError, ReadResponse as Response};
use crate::storage::body::{ByteStream, IdleTimeout, Window};
use crate::storage::{Object, Served, Source};
use crate::web::range::{parse_content_range, RangeSpec};
use axum::http::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, LAST_MODIFIED, RANGE};
use axum::http::HeaderValue;
use std::time::Duration;

/// A 200 answer: the whole object, cut to the wanted range if there is one.
pub(super) fn full_response(
    url: &str,
    response: Response,
    range: Option<RangeSpec>,
    head: bool,
    idle: Duration,
) -> Result<Object, NodeError> {
    let total = header_length(&response).ok_or_else(|| NodeError::BadResponse {
        url: url.to_owned(),
        detail: "no Content-Length".into(),
    })?;
    let served = match range.map(|r| r.resolve(total)) {
        None => Served::Full,
        Some(Some(r)) => Served::Range(r),
        Some(None) => Served::Unsatisfiable,
    };
    let body = match (head, served) {
        (true, _) | (_, Served::Unsatisfiable) => None,
        (false, Served::Full) => Some(total),
        (false, Served::Range(r)) => Some(r.len()),
    };
    let skip = match served {
        Served::Range(r) => r.first,
        _ => 0,
    };
    Ok(match body {
        Some(take) => streamed(url, response, total, served, (skip, take), idle),
        None => object(url, &response, total, served, None),
    })
}

/// An object whose body is bytes `skip..skip + take` of `response`; the body
/// fails if the node sends nothing for `idle`.
pub(super) fn streamed(
    url: &str,
    response: Response,
    size: u64,
    served: Served,
    (skip, take): (u64, u64),
    idle: Duration,
) -> Object {
    let meta = object(url, &response, size, served, None);
    let stream = IdleTimeout::new(Box::pin(response.into_body()), idle);
    Object {
        body: Some(Box::pin(Window::new(Box::pin(stream), skip, take))),
        ..meta
    }
}

pub(super) fn range_header(value: &str) -> Option<(axum::http::HeaderName, HeaderValue)> {
    HeaderValue::from_str(value).ok().map(|v| (RANGE, v))
}

pub(super) fn header_length(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

pub(super) fn content_range(url: &str, response: &Response) -> Result<(u64, u64, u64), NodeError> {
    response
        .headers()
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_content_range(v).ok())
        .ok_or_else(|| NodeError::BadResponse {
            url: url.to_owned(),
            detail: "206 without a valid Content-Range".into(),
        })
}

/// The metadata of an object as `response` describes it.
pub(super) fn object(
    url: &str,
    response: &Response,
    size: u64,
    served: Served,
    body: Option<ByteStream>,
) -> Object {
    let headers = response.headers();
    let last_modified = headers
        .get(LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    // The node's own tag, if strong; the MogileFS store replaces it with
    // one that does not depend on the replica.
    let etag = headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .filter(|t| t.starts_with('"'))
        .map(str::to_owned);
    Object {
        size,
        last_modified,
        etag,
        served,
        body,
        source: Source {
            tracker: None,
            node: Some(url.to_owned()),
            cache: None,
        },
    }
}
