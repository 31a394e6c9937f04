//! MogileFS URLs: the path after the prefix, percent-decoded once, is the
//! key (in the location's domain, which its store holds). Keys are checked
//! for every method before any tracker is asked.

use super::naming::{rest, unsupported, Naming, ReadName, ReadTarget, WriteName};
use super::Location;
use crate::error::AppError;
use crate::web::key::decode_key;
use axum::http::Uri;
use futures_util::future::{BoxFuture, FutureExt};

/// The MogileFS URL scheme.
#[derive(Debug, Clone, Copy, Default)]
pub struct MogNaming;

impl Naming for MogNaming {
    fn read<'a>(
        &'a self,
        location: &'a Location,
        uri: &'a Uri,
    ) -> BoxFuture<'a, Result<ReadName, AppError>> {
        let named = decode_key(rest(location, uri)).map(|key| {
            ReadName::Object(ReadTarget {
                key,
                attachment: None,
            })
        });
        futures_util::future::ready(named.map_err(AppError::from)).boxed()
    }

    fn write(&self, location: &Location, put: bool, uri: &Uri) -> Result<WriteName, AppError> {
        let key = decode_key(rest(location, uri))?;
        if !put {
            return Err(unsupported());
        }
        Ok(WriteName {
            key: Some(key),
            extension: String::new(),
        })
    }

    fn delete(&self, location: &Location, uri: &Uri) -> Result<String, AppError> {
        Ok(decode_key(rest(location, uri))?)
    }
}
