//! Accel mode: the gateway tells nginx where the replicas are, in an
//! `X-Accel-Redirect` to its internal location with the replica URLs as
//! `p1`, `p2`, ... arguments; nginx then fetches `p1` itself and falls back
//! to `p2` on error. Only stores whose replicas are HTTP URLs (MogileFS)
//! can be served this way; config validation keeps it to them.

use super::{insert, Location};
use crate::error::AppError;
use crate::storage::{Meta, StorageError};
use axum::http::{header, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};

/// The redirect handing `meta`'s replicas to nginx.
pub fn redirect(location: &Location, key: &str, meta: &Meta) -> Result<Response, AppError> {
    // Only plain http URLs of safe characters go into the redirect: nginx
    // uses the arguments verbatim as proxy_pass targets.
    let safe = |p: &&String| {
        p.starts_with("http://")
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~:/[]".contains(&b))
    };
    let args: Vec<String> = meta
        .replicas
        .iter()
        .filter(safe)
        .enumerate()
        .map(|(i, p)| format!("p{}={p}", i + 1))
        .collect();
    if args.is_empty() {
        return Err(AppError::Storage(StorageError::Unavailable {
            what: key.to_owned(),
            tried: "no path the tracker returned can be handed to nginx".into(),
            public: "no replica of the file could be read".into(),
        }));
    }
    let target = format!("{}?{}", location.config.accel_location, args.join("&"));
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    insert(h, HeaderName::from_static("x-accel-redirect"), &target);
    h.insert(
        header::CONTENT_TYPE,
        location.mime.content_type(&meta.type_name),
    );
    response.extensions_mut().insert(meta.source.clone());
    Ok(response)
}
