//! `multipart/form-data` uploads (a browser `<form>`, `curl -F file=@p.jpg`):
//! the one part that carries a filename is the object, streamed to the store
//! as it arrives; other parts are read past and dropped. An envelope without
//! a boundary, without a file part, or with two file parts is a 400.

use crate::error::AppError;
use crate::storage::{ByteStream, StorageError};
use axum::http::{header, HeaderMap};
use bytes::Bytes;
use futures_util::Stream;
use multer::{Constraints, Field, Multipart, SizeLimit};
use std::sync::{Arc, Mutex};

/// Bytes an envelope may add to the file (boundaries, part headers, small
/// text fields) over the location's size limit.
pub const ENVELOPE_ALLOWANCE: u64 = 64 * 1024;

/// Why the envelope failed while the store was reading the file part; the
/// store itself only sees a broken body.
#[derive(Debug, Clone, Default)]
pub struct Fault(Arc<Mutex<Option<AppError>>>);

impl Fault {
    fn record(&self, why: AppError) -> std::io::Error {
        let error = std::io::Error::other(why.to_string());
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
        error
    }

    /// The envelope's failure, if it was one (else the store's error stands).
    pub fn take(&self) -> Option<AppError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// The file part of a form upload.
pub struct FilePart {
    /// Its bytes; after the last one the rest of the envelope is checked.
    pub body: ByteStream,
    /// The extension of its filename (no dot; empty when it has none).
    pub extension: String,
    /// Set when the body broke because the envelope was bad.
    pub fault: Fault,
}

/// The boundary when the request is `multipart/form-data`; `None` for any
/// other body.
pub fn boundary(headers: &HeaderMap) -> Option<Result<String, AppError>> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    Some(multer::parse_boundary(value).map_err(|_| {
        AppError::BadUpload("multipart/form-data without a boundary parameter".into())
    }))
}

/// Reads the envelope up to its file part and returns that part as a
/// stream. `limit` is the location's size limit for the file.
pub async fn file_part<S>(body: S, boundary: String, limit: u64) -> Result<FilePart, AppError>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let whole = limit.saturating_add(ENVELOPE_ALLOWANCE);
    let constraints = Constraints::new().size_limit(SizeLimit::new().whole_stream(whole));
    let mut multipart = Multipart::with_constraints(body, boundary, constraints);
    let field = loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.file_name().is_some() => break field,
            // A text field: the next call reads past it.
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(AppError::BadUpload(
                    "the form has no file part (a part with a filename)".into(),
                ))
            }
            Err(e) => return Err(early_failure(e, limit)),
        }
    };
    let extension = field
        .file_name()
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_owned())
        .unwrap_or_default();
    let fault = Fault::default();
    Ok(FilePart {
        body: Box::pin(stream(multipart, field, fault.clone(), limit)),
        extension,
        fault,
    })
}

/// The file part's chunks, then a check that no second file part follows.
fn stream(
    multipart: Multipart<'static>,
    field: Field<'static>,
    fault: Fault,
    limit: u64,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(
        Some((multipart, Some(field), fault)),
        move |state| async move {
            let (mut multipart, field, fault) = state?;
            if let Some(mut field) = field {
                match field.chunk().await {
                    Ok(Some(bytes)) => {
                        return Some((Ok(bytes), Some((multipart, Some(field), fault))))
                    }
                    Ok(None) => {}
                    Err(e) => return Some((Err(late_failure(e, &fault, limit)), None)),
                }
            }
            loop {
                match multipart.next_field().await {
                    Ok(None) => return None,
                    Ok(Some(f)) if f.file_name().is_some() => {
                        let why = "the form has two file parts; send one file per upload";
                        return Some((Err(fault.record(AppError::BadUpload(why.into()))), None));
                    }
                    Ok(Some(_)) => {}
                    Err(e) => return Some((Err(late_failure(e, &fault, limit)), None)),
                }
            }
        },
    )
}

/// A failure before the file part: the client's body, or a bad envelope.
fn early_failure(e: multer::Error, limit: u64) -> AppError {
    match e {
        multer::Error::StreamReadFailed(_) => StorageError::client_body_cut().into(),
        multer::Error::StreamSizeExceeded { .. } => AppError::TooLarge { limit },
        other => AppError::BadUpload(format!("malformed multipart/form-data: {other}")),
    }
}

/// A failure while the store reads: a broken client body stays the store's
/// error; a bad envelope is recorded for the answer.
fn late_failure(e: multer::Error, fault: &Fault, limit: u64) -> std::io::Error {
    match e {
        multer::Error::StreamReadFailed(inner) => std::io::Error::other(inner),
        multer::Error::StreamSizeExceeded { .. } => fault.record(AppError::TooLarge { limit }),
        other => fault.record(AppError::BadUpload(format!(
            "malformed multipart/form-data: {other}"
        ))),
    }
}
