//! The thumbnail step of the read pipeline, for locations with
//! `[location.thumbnails]`:
//!
//! ```text
//! ?w=&h=&fit=&format= / ?preset=   → resolve_query            (any protocol)
//! <name>_<W>x<H>.<ext>             → plain read when that file exists,
//!                                    else resolve_slave, source <name>.<ext>
//!   → negotiate the format (Accept) → source validators → thumbnail ETag
//!   → If-None-Match etc.: 304 / 412 before any byte is read or transformed
//!   → read the source whole (capped) → the shared pool → 200
//! ```
//!
//! Refusals answer here with the engine's status (400/403 for parameters,
//! 413/415/422 for the source, 503 past the time budget) and a message that
//! names the key. With `store = true`, a thumbnail is written back in the
//! background so that the next request, here or at any gateway, reads it
//! instead of making it: a FastDFS slave name as that slave file (then a
//! plain read), a MogileFS query as a derived key in the location's
//! thumbnail store ([`derived_key`]: source key, its fid, the parameters),
//! read before anything is made.

use super::Location;
use crate::cache::{MogKey, ObjectId, ObjectMeta};
use crate::error::AppError;
use crate::storage::body::{from_bytes, read_at_most};
use crate::storage::cached::cache_id;
use crate::storage::{CacheStatus, Meta, Need, Read, Source, StorageError, Variant};
use crate::storage::{SharedStore, WriteLimits, WriteTarget};
use crate::thumbs::request::{derived_key, params_key};
use crate::thumbs::{
    negotiate, parse_query, parse_slave_name, resolve_query, resolve_slave, thumb_etag, Kind,
    SourceValidators, Thumb, ThumbPool,
};
use crate::web::conditional::{evaluate, Precondition, Validators};
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::{Mutex, PoisonError};

/// The one pool every location's thumbnails run on: as many workers as the
/// largest `workers` any location asks for (0 = one per CPU).
pub fn shared_pool(config: &crate::config::Config) -> ThumbPool {
    let workers = config
        .locations
        .iter()
        .filter_map(|l| l.get_ref().thumbnails.as_ref().map(|t| t.workers))
        .max()
        .unwrap_or(0);
    ThumbPool::new(workers)
}

/// Answers the request when it asks for a thumbnail of `key`; `None` when it
/// is a plain read (no thumbnail table, no thumbnail parameters, or a slave
/// name whose file exists).
pub async fn serve(
    location: &Location,
    head: bool,
    request: &Parts,
    key: &str,
) -> Option<Result<Response, AppError>> {
    let cfg = location.config.thumbnails.as_ref().filter(|t| t.enabled)?;
    let query = request.uri.query().unwrap_or("");
    let (source, resolved, store_as) = match parse_query(query) {
        Err(e) => return Some(Ok(refuse(e.status(), key, &e.to_string()))),
        Ok(Some(q)) => {
            let resolved = resolve_query(cfg, request.uri.path(), &q);
            let store_as = location.variants.is_some().then_some(StoreAs::Derived);
            (key.to_string(), resolved, store_as)
        }
        Ok(None) => {
            let slave = parse_slave_name(key).filter(|_| cfg.slave_names)?;
            if !missing(location, key).await {
                return None;
            }
            let extension = key.rsplit_once('.').map_or("", |(_, ext)| ext);
            let store_as = cfg.store.then(|| StoreAs::Slave {
                suffix: slave.prefix.clone(),
                extension: extension.to_owned(),
            });
            (slave.master.clone(), resolve_slave(cfg, &slave), store_as)
        }
    };
    let resolved = match resolved {
        Ok(r) => r,
        Err(e) => return Some(Ok(refuse(e.status(), key, &e.to_string()))),
    };
    let accept = request
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let negotiated = negotiate(resolved.format, accept);
    let job = Job {
        source,
        params: resolved.params(negotiated.output),
        // A slave name is one answer for every client or nothing to keep;
        // a derived key names the negotiated format.
        store_as: store_as.filter(|s| !negotiated.vary_accept || matches!(s, StoreAs::Derived)),
        vary_accept: negotiated.vary_accept,
        head,
    };
    Some(make(location, &location.thumbs, cfg, request, job).await)
}

/// Whether the store says `key` does not exist. A FastDFS ID carries its
/// own metadata, so only opening it (no body) asks the storage server. Other
/// failures count as present: the plain read reports them the usual way.
async fn missing(location: &Location, key: &str) -> bool {
    let head = Read {
        range: None,
        head: true,
    };
    let found = match location.store.meta(key, Need::Location).await {
        Ok(meta) => location.store.open(key, &meta, head).await.map(|_| ()),
        Err(e) => Err(e),
    };
    matches!(found, Err(StorageError::NotFound { .. }))
}

/// How a thumbnail made is kept for every gateway.
#[derive(Debug, Clone)]
enum StoreAs {
    /// As the FastDFS slave file the URL named: the source's name with
    /// `suffix` before the extension `extension`.
    Slave { suffix: String, extension: String },
    /// Under [`derived_key`] in the location's thumbnail store; becomes
    /// [`StoreAs::Key`] once the source's fid is known.
    Derived,
    /// Under this key in the location's thumbnail store.
    Key(String),
}

/// One thumbnail to answer.
struct Job {
    source: String,
    params: crate::thumbs::Params,
    /// How the thumbnail is stored back, if it is.
    store_as: Option<StoreAs>,
    vary_accept: bool,
    head: bool,
}

async fn make(
    location: &Location,
    pool: &ThumbPool,
    cfg: &crate::config::thumbnails::ThumbnailConfig,
    request: &Parts,
    mut job: Job,
) -> Result<Response, AppError> {
    let store = &location.store;
    let meta = store.meta(&job.source, Need::Validators).await?;
    if let Some(StoreAs::Derived) = job.store_as {
        // Without the version's fid there is no name that changes with it.
        job.store_as = meta
            .identity
            .as_ref()
            .map(|id| StoreAs::Key(derived_key(&job.source, &id.id, &job.params)));
    }
    let validators = SourceValidators {
        etag: meta.validators.etag.clone(),
        last_modified: meta.validators.last_modified,
        length: meta.size,
    };
    let etag = thumb_etag(&validators, &job.params);
    let mine = Validators {
        etag: Some(etag.clone()),
        last_modified: meta.validators.last_modified,
    };
    match evaluate(&request.headers, &mine) {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            headers(&mut r, &etag, &mine, job.vary_accept);
            return Ok(r);
        }
        Precondition::Failed => return Err(AppError::PreconditionFailed),
    }
    let limits = cfg.limits();
    let max = limits.max_source_bytes;
    if let Some(size) = meta.size.filter(|&s| s > max) {
        let e = crate::thumbs::ThumbError::SourceTooLarge { bytes: size, max };
        return Ok(refuse(e.status(), &job.source, &e.to_string()));
    }
    let source_id = meta.identity.as_ref().and_then(cache_id);
    let made = match source_id.filter(|_| location.cache.enabled()) {
        Some(source_id) => {
            let id = source_id.derived(&params_key(&job.params));
            let key = mog_key(location, &job.source);
            let lifted = ObjectMeta {
                etag: Some(etag.clone()),
                last_modified: meta.validators.last_modified,
                ..ObjectMeta::default()
            };
            cached(location, id, key, lifted, || {
                stored_or_made(location, pool, cfg, &job, &meta)
            })
            .await
        }
        None => stored_or_made(location, pool, cfg, &job, &meta).await,
    };
    let made = match made {
        Ok(made) => made,
        Err(refused) => return Ok(refused),
    };
    let length = made.bytes.len() as u64;
    let mut r = if job.head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(made.bytes))
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::CONTENT_TYPE, made.content_type);
    headers(&mut r, &etag, &mine, job.vary_accept);
    r.extensions_mut().insert(made.source);
    Ok(r)
}

/// A thumbnail made (or found made).
struct Made {
    bytes: Bytes,
    content_type: HeaderValue,
    /// Where the source came from, and whether the cache answered.
    source: Source,
}

/// The MogileFS key a thumbnail of `source` is invalidated with.
fn mog_key(location: &Location, source: &str) -> Option<MogKey> {
    let domain = location.config.domain.as_deref()?;
    Some(MogKey::new(domain, source))
}

/// The thumbnail `id` from the cache, or made once by `make` for every
/// request that asks for it meanwhile. What this request's own `make`
/// returned (a refusal, or a thumbnail too large to keep) is its answer; a
/// failure another request's `make` met is tried again here.
async fn cached<'a, F, Fut>(
    location: &'a Location,
    id: ObjectId,
    key: Option<MogKey>,
    lifted: ObjectMeta,
    make: F,
) -> Result<Made, Response>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Made, Response>> + 'a,
{
    let refused = Mutex::new(None);
    let made_here = Mutex::new(None);
    let loader = async {
        match make().await {
            Ok(made) => {
                let content_type = made.content_type.to_str().ok().map(str::to_owned);
                let meta = ObjectMeta {
                    size: made.bytes.len() as u64,
                    content_type,
                    ..lifted
                };
                let bytes = made.bytes.clone();
                *made_here.lock().unwrap_or_else(PoisonError::into_inner) = Some(made);
                Ok((meta, bytes))
            }
            Err(response) => {
                *refused.lock().unwrap_or_else(PoisonError::into_inner) = Some(response);
                Err(())
            }
        }
    };
    let loaded = location.cache.load_derived(id, key, loader).await;
    let made_here = made_here
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let refused = refused.into_inner().unwrap_or_else(PoisonError::into_inner);
    match (loaded, refused, made_here) {
        (_, Some(response), _) => Err(response),
        // Made by this request: kept or not (too large to cache), it is
        // the answer.
        (_, None, Some(mut made)) => {
            made.source.cache = Some(CacheStatus::Miss);
            Ok(made)
        }
        (Ok(object), None, None) => {
            let content_type = object.meta.content_type.as_deref().unwrap_or_default();
            let content_type = HeaderValue::from_str(content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            let source = Source {
                cache: Some(CacheStatus::Hit),
                ..Source::default()
            };
            Ok(Made {
                bytes: object.bytes.clone(),
                content_type,
                source,
            })
        }
        // Another request's attempt failed: try once more here.
        (Err(_), None, None) => make().await,
    }
}

/// The thumbnail of `job` as stored under its derived key, if it is, else
/// made by [`make_one`].
async fn stored_or_made(
    location: &Location,
    pool: &ThumbPool,
    cfg: &crate::config::thumbnails::ThumbnailConfig,
    job: &Job,
    meta: &Meta,
) -> Result<Made, Response> {
    if let (Some(StoreAs::Key(key)), Some(variants)) = (&job.store_as, &location.variants) {
        if let Some(made) = read_stored(variants, key, cfg.limits().max_source_bytes).await {
            return Ok(made);
        }
    }
    make_one(location, pool, cfg, job, meta).await
}

/// The thumbnail stored as `key` in `variants`, when it is there, at most
/// `max` bytes, and reads whole as an image; anything else (not stored yet,
/// a node down, a body cut or longer than stored) means making it again.
async fn read_stored(variants: &SharedStore, key: &str, max: u64) -> Option<Made> {
    let found = async {
        let meta = variants.meta(key, Need::Location).await?;
        variants.open(key, &meta, Read::default()).await
    };
    let object = match found.await {
        Ok(object) => object,
        Err(StorageError::NotFound { .. }) => return None,
        Err(e) => {
            tracing::warn!(key, error = %e, "stored thumbnail not read; making it");
            return None;
        }
    };
    let (size, source) = (object.size, object.source.clone());
    if size > max {
        tracing::warn!(key, size, max, "stored thumbnail too large; making it");
        return None;
    }
    let body = object.body?;
    let bytes = match read_at_most(body, size + 1, size).await {
        Ok(bytes) if bytes.len() as u64 == size => bytes,
        Ok(bytes) => {
            let read = bytes.len();
            tracing::warn!(
                key,
                size,
                read,
                "stored thumbnail of another length; making it"
            );
            return None;
        }
        Err(e) => {
            tracing::warn!(key, error = %e, "stored thumbnail cut short; making it");
            return None;
        }
    };
    let kind = Kind::sniff(&bytes)?;
    Some(Made {
        content_type: HeaderValue::from_static(kind.content_type()),
        bytes,
        source,
    })
}

/// Reads the source of `job` whole and makes its thumbnail on the pool; a
/// refusal is the response to send. A source whose transform failed lately
/// (see [`crate::thumbs::Failures`]) is refused the same way without being
/// read again.
async fn make_one(
    location: &Location,
    pool: &ThumbPool,
    cfg: &crate::config::thumbnails::ThumbnailConfig,
    job: &Job,
    meta: &Meta,
) -> Result<Made, Response> {
    let limits = cfg.limits();
    let source_id = meta.identity.as_ref().and_then(cache_id);
    if let Some(e) = source_id
        .as_ref()
        .and_then(|id| pool.failures().get(id, &limits))
    {
        tracing::debug!(source = %job.source, error = %e, "thumbnail source failed lately");
        return Err(refuse(e.status(), &job.source, &e.to_string()));
    }
    let opened = location
        .store
        .open(&job.source, meta, Read::default())
        .await;
    let object = opened.map_err(|e| AppError::from(e).into_response())?;
    let source = Source {
        cache: None,
        ..object.source.clone()
    };
    // One byte over the limit is enough for the engine to refuse it.
    let cap = limits.max_source_bytes + 1;
    let body = object.body.unwrap_or_else(|| from_bytes(Bytes::new()));
    let bytes = read_at_most(body, cap, object.size).await.map_err(|e| {
        let key = &job.source;
        let error = AppError::Storage(StorageError::Unavailable {
            what: key.to_string(),
            tried: format!("reading the thumbnail source: {e}"),
            public: format!("{key}: the source image could not be read"),
        });
        error.into_response()
    })?;
    crate::metrics::metrics()
        .thumbnail_transforms
        .get_or_create(&vec![("location", location.label.to_string())])
        .inc();
    let thumb: Thumb = match pool.run(bytes, job.params.clone(), limits).await {
        Ok(t) => t,
        Err(e) => {
            if let Some(id) = source_id {
                pool.failures().record(id, limits, &e);
            }
            return Err(refuse(e.status(), &job.source, &e.to_string()));
        }
    };
    match &job.store_as {
        Some(StoreAs::Slave { suffix, extension }) => {
            store_slave(location, &job.source, suffix, extension, &thumb)
        }
        Some(StoreAs::Key(key)) => store_key(location, key, &thumb),
        Some(StoreAs::Derived) | None => {}
    }
    crate::metrics::metrics()
        .thumbnails_made
        .get_or_create(&vec![("location", location.label.to_string())])
        .inc();
    tracing::debug!(
        "thumbnail {} of {}: {}x{}",
        params_key(&job.params),
        job.source,
        thumb.width,
        thumb.height
    );
    Ok(Made {
        content_type: HeaderValue::from_static(thumb.content_type()),
        bytes: thumb.bytes,
        source,
    })
}

/// Writes `thumb` as the slave file `<source stem><suffix>.<extension>` in
/// the background, so that every gateway then reads it as a plain file; not
/// when its format is not the one the extension names. A slave another
/// gateway stored first is as good.
fn store_slave(location: &Location, source: &str, suffix: &str, extension: &str, thumb: &Thumb) {
    let named = match extension.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => Some(Kind::Jpeg),
        "png" => Some(Kind::Png),
        "webp" => Some(Kind::Webp),
        "gif" => Some(Kind::Gif),
        _ => None,
    };
    if named != Some(thumb.kind) {
        return;
    }
    let store = std::sync::Arc::clone(&location.store);
    let (source, suffix, extension) = (source.to_owned(), suffix.to_owned(), extension.to_owned());
    let bytes = thumb.bytes.clone();
    tokio::spawn(async move {
        let variant = Variant {
            source: &source,
            suffix: &suffix,
            extension: &extension,
        };
        match store.write_variant(variant, bytes).await {
            Ok(stored) => tracing::debug!(slave = %stored.key, "thumbnail stored back"),
            Err(e) => tracing::warn!(source, suffix, error = %e, "thumbnail not stored back"),
        }
    });
}

/// Writes `thumb` as `key` in the location's thumbnail store, in the
/// background. Two gateways making it at once store the same bytes twice
/// under one key; the last one is kept.
fn store_key(location: &Location, key: &str, thumb: &Thumb) {
    let Some(variants) = location.variants.clone() else {
        return;
    };
    let key = key.to_owned();
    let bytes = thumb.bytes.clone();
    tokio::spawn(async move {
        let size = bytes.len() as u64;
        let target = WriteTarget {
            key: Some(&key),
            extension: "",
            length: Some(size),
        };
        let limits = WriteLimits { max_size: size };
        match variants.write(target, from_bytes(bytes), limits).await {
            Ok(stored) => tracing::debug!(key = %stored.key, "thumbnail stored back"),
            Err(e) => tracing::warn!(key, error = %e, "thumbnail not stored back"),
        }
    });
}

fn headers(r: &mut Response, etag: &str, v: &Validators, vary_accept: bool) {
    let h = r.headers_mut();
    super::insert(h, header::ETAG, etag);
    if let Some(modified) = v.last_modified {
        super::insert(h, header::LAST_MODIFIED, &httpdate::fmt_http_date(modified));
    }
    if vary_accept {
        h.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
}

/// A refused thumbnail: `status`, and a message naming the key.
fn refuse(status: StatusCode, key: &str, message: &str) -> Response {
    crate::error::error_response(
        status,
        format!("{key}: {message}"),
        format!("thumbnail of {key}: {message}"),
    )
}

#[cfg(test)]
mod tests {
    //! Every thumbnail refusal is an error body like any other: text, or
    //! JSON for a client asking for it, naming the key.
    use super::*;
    use crate::thumbs::ThumbError;
    use std::time::Duration;

    #[tokio::test]
    async fn refusals_answer_json_when_asked() {
        let errors = [
            ThumbError::UnknownFormat,
            ThumbError::SourceTooLarge { bytes: 9, max: 8 },
            ThumbError::Corrupt {
                format: "JPEG",
                reason: "cut".into(),
            },
            ThumbError::TimedOut(Duration::from_secs(2)),
        ];
        for (e, status) in errors.into_iter().zip([415, 413, 422, 503]) {
            let response = refuse(e.status(), "k.jpg", &e.to_string());
            let response = crate::error::negotiated(true, response);
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["status"], status);
            let message = format!("k.jpg: {e}");
            assert_eq!(json["error"], message.as_str());
        }
    }
}
