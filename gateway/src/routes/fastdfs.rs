//! FastDFS URLs: `/<group>/M00/XX/YY/<name>` (or `/M00/...` in a location
//! with a configured group) names a file ID, checked strictly, with the
//! anti-steal token when the location wants one; `?filename=` asks for an
//! attachment. `POST` to the location itself uploads, with `?ext=` or
//! `?filename=` giving the extension; the storage names the file.

use super::naming::{rest, unsupported, Naming, ReadName, ReadTarget, WriteName};
use super::Location;
use crate::error::AppError;
use axum::extract::Query;
use axum::http::{header, Uri};
use axum::response::IntoResponse;
use dfs_protocol::fastdfs::token::{parse_ts, verify, TokenPolicy};
use dfs_protocol::fastdfs::FileId;
use futures_util::future::{BoxFuture, FutureExt};
use std::collections::HashMap;

type Params = HashMap<String, String>;

/// The FastDFS URL scheme.
#[derive(Debug, Clone, Copy, Default)]
pub struct FdfsNaming;

fn params(uri: &Uri) -> Params {
    Query::try_from_uri(uri).map(|q| q.0).unwrap_or_default()
}

impl Naming for FdfsNaming {
    fn read<'a>(
        &'a self,
        location: &'a Location,
        uri: &'a Uri,
    ) -> BoxFuture<'a, Result<ReadName, AppError>> {
        async move {
            let id = file_id(location, rest(location, uri))?;
            let params = params(uri);
            if let Err(e) = check_token(location, &id, &params) {
                return token_failure(location, e).await.map(ReadName::Answered);
            }
            let attachment = params.get("filename").filter(|n| !n.is_empty()).cloned();
            Ok(ReadName::Object(ReadTarget {
                key: id.as_str().to_owned(),
                attachment,
            }))
        }
        .boxed()
    }

    fn write(&self, location: &Location, put: bool, uri: &Uri) -> Result<WriteName, AppError> {
        if put {
            return Err(unsupported());
        }
        if !rest(location, uri).is_empty() {
            return Err(AppError::BadFileId(
                "POST uploads to the location itself; the storage names the file".into(),
            ));
        }
        Ok(WriteName {
            key: None,
            extension: extension(&params(uri))?,
        })
    }

    fn delete(&self, location: &Location, uri: &Uri) -> Result<String, AppError> {
        Ok(file_id(location, rest(location, uri))?.as_str().to_owned())
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
async fn token_failure(
    location: &Location,
    reason: String,
) -> Result<axum::response::Response, AppError> {
    let Some(path) = &location.config.token_check_fail else {
        return Err(AppError::Forbidden(reason));
    };
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|_| AppError::Forbidden(reason.clone()))?;
    let mut response = (
        [(header::CONTENT_TYPE, location.mime.content_type(path))],
        bytes,
    )
        .into_response();
    response
        .extensions_mut()
        .insert(crate::error::ErrorDetail(format!(
            "token check failed: {reason}"
        )));
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
