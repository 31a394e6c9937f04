//! How a location's URLs name objects: the one thing a protocol adds to the
//! read and write pipelines. A [`Naming`] turns the path after the location
//! prefix (and the query) into the key its store understands, refusing bad
//! input with a 4xx before any tracker is asked.

use super::Location;
use crate::error::AppError;
use axum::http::Uri;
use axum::response::Response;
use futures_util::future::BoxFuture;

/// What a GET or HEAD reads.
#[derive(Debug, Clone)]
pub struct ReadTarget {
    /// The store's key.
    pub key: String,
    /// File name for `Content-Disposition: attachment`, if the URL asks.
    pub attachment: Option<String>,
}

/// The outcome of naming a read.
#[derive(Debug)]
pub enum ReadName {
    /// Read this object.
    Object(ReadTarget),
    /// Answer this instead (e.g. a token check's fallback file).
    Answered(Response),
}

/// What a PUT or POST creates.
#[derive(Debug, Clone, Default)]
pub struct WriteName {
    /// The key to store under, or `None` when the store names the object.
    pub key: Option<String>,
    /// Extension for a store-named object (no dot; may be empty).
    pub extension: String,
}

/// A protocol's URL scheme.
pub trait Naming: Send + Sync + std::fmt::Debug {
    /// The object a GET or HEAD of `uri` on `location` reads.
    fn read<'a>(
        &'a self,
        location: &'a Location,
        uri: &'a Uri,
    ) -> BoxFuture<'a, Result<ReadName, AppError>>;

    /// What a PUT (`put`) or POST of `uri` creates.
    fn write(&self, location: &Location, put: bool, uri: &Uri) -> Result<WriteName, AppError>;

    /// The object a DELETE of `uri` removes.
    fn delete(&self, location: &Location, uri: &Uri) -> Result<String, AppError>;
}

/// The path after the location's prefix.
pub fn rest<'a>(location: &Location, uri: &'a Uri) -> &'a str {
    uri.path()
        .get(location.config.prefix.len()..)
        .unwrap_or_default()
}

/// 405 for a method the protocol has no meaning for.
pub fn unsupported() -> AppError {
    AppError::MethodNotAllowed {
        allow: String::new(),
    }
}
