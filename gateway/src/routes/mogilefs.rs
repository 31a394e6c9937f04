//! MogileFS locations: parse → resolve → stream, for each method.

use super::{content_type, insert, not_modified, respond, Location};
use crate::config::{Method, Mode};
use crate::error::AppError;
use crate::storage::mogilefs::{MogStore, ReadSpec, WriteSpec};
use crate::storage::Source;
use crate::web::conditional::{evaluate, if_range_allows, Precondition, Validators};
use crate::web::key::decode_key;
use crate::web::range::RangeSpec;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

/// Serves one request on a MogileFS location.
pub async fn handle(
    location: &Location,
    store: &MogStore,
    method: Method,
    request: Request,
) -> Result<Response, AppError> {
    let raw = &request.uri().path()[location.config.prefix.len()..];
    let key = decode_key(raw)?;
    match method {
        Method::Get | Method::Head => {
            read(
                location,
                store,
                &key,
                method == Method::Head,
                request.headers(),
            )
            .await
        }
        Method::Put => write(location, store, &key, request).await,
        Method::Delete => delete(location, store, &key).await,
        Method::Post => Err(AppError::MethodNotAllowed {
            allow: String::new(),
        }),
    }
}

async fn read(
    location: &Location,
    store: &MogStore,
    key: &str,
    head: bool,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    if location.config.mode == Mode::Accel {
        return accel(location, store, key).await;
    }
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(RangeSpec::parse);
    let mut spec = ReadSpec {
        domain: location.config.domain.as_deref().unwrap_or_default(),
        key,
        noverify: location.config.noverify,
        pathcount: location.config.pathcount,
        range,
        head,
    };
    let mut object = store.read(&spec).await?;
    let validators = Validators {
        etag: object.etag.clone(),
        last_modified: object.last_modified,
    };
    match evaluate(headers, &validators) {
        Precondition::Proceed => {}
        Precondition::NotModified => return Ok(not_modified(&object)),
        Precondition::Failed => return Err(AppError::PreconditionFailed),
    }
    if range.is_some() && !if_range_allows(headers, &validators) {
        // The client's copy is stale: it gets the whole new object instead.
        spec.range = None;
        object = store.read(&spec).await?;
    }
    respond(key, object)
}

/// Accel mode: tells nginx where the replicas are, in an `X-Accel-Redirect`
/// to its internal location with the paths as `p1`, `p2`, ... arguments.
/// nginx then fetches `p1` itself and falls back to `p2` on error.
async fn accel(location: &Location, store: &MogStore, key: &str) -> Result<Response, AppError> {
    let spec = ReadSpec {
        domain: location.config.domain.as_deref().unwrap_or_default(),
        key,
        noverify: location.config.noverify,
        pathcount: location.config.pathcount,
        range: None,
        head: false,
    };
    let (paths, source) = store.locate(&spec).await?;
    // Only plain http URLs of safe characters go into the redirect: nginx
    // uses the arguments verbatim as proxy_pass targets.
    let safe = |p: &&String| {
        p.starts_with("http://")
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~:/[]".contains(&b))
    };
    let args: Vec<String> = paths
        .iter()
        .filter(safe)
        .enumerate()
        .map(|(i, p)| format!("p{}={p}", i + 1))
        .collect();
    if args.is_empty() {
        return Err(AppError::Store(
            crate::storage::mogilefs::StoreError::NoReplica {
                tried: "no path the tracker returned can be handed to nginx".into(),
                timed_out: false,
            },
        ));
    }
    let target = format!("{}?{}", location.config.accel_location, args.join("&"));
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    insert(h, HeaderName::from_static("x-accel-redirect"), &target);
    h.insert(header::CONTENT_TYPE, content_type(key));
    response.extensions_mut().insert(source);
    Ok(response)
}

async fn write(
    location: &Location,
    store: &MogStore,
    key: &str,
    request: Request,
) -> Result<Response, AppError> {
    let limit = location.max_body_size;
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > limit) {
        // Refused before a byte is read, so `Expect: 100-continue` clients never send it.
        return Err(AppError::TooLarge { limit });
    }
    let spec = WriteSpec {
        domain: location.config.domain.as_deref().unwrap_or_default(),
        key,
        class: location.config.class.as_deref(),
        length,
        limit,
    };
    let body = request
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    // A body not read to its end is answered with `Connection: close` (the
    // error table's), so no next request follows the unread bytes.
    let written = store.write(&spec, Box::pin(body)).await?;
    let mut response = StatusCode::CREATED.into_response();
    insert(
        response.headers_mut(),
        header::ETAG,
        &format!("\"{}-{}\"", written.fid, written.size),
    );
    response.extensions_mut().insert(written.source);
    response
        .extensions_mut()
        .insert(super::access_log::Stored(written.size));
    Ok(response)
}

async fn delete(location: &Location, store: &MogStore, key: &str) -> Result<Response, AppError> {
    let domain = location.config.domain.as_deref().unwrap_or_default();
    let source: Source = store.delete(domain, key).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(source);
    Ok(response)
}
