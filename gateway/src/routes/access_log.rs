//! The edge of every request: its id, the in-flight limit, and one log line
//! plus metrics when it ends.
//!
//! The log line is written when the response body has been sent or
//! abandoned, so bytes and request time cover the whole transfer. The
//! in-flight permit is held as long: a slow download counts against the
//! limit until its last byte. It carries what nginx users grep for: client
//! address, request line with its query string, status, bytes, referer, user
//! agent, request time in seconds (`0.012`), and the gateway's own: tracker,
//! storage node, cache hit or miss, request id, body outcome, error. With
//! `[server].access_log_format = "combined"` it is nginx's `combined` line
//! instead ([`output`]).
//!
//! The client address is the one access rules judged (a trusted proxy's
//! `X-Forwarded-For` applied), else the TCP peer. Credentials stay out of
//! the log: no header but `Referer` and `User-Agent` is logged, and secret
//! query parameters (signed-URL signatures, FastDFS tokens) are redacted
//! ([`line`]).
//!
//! - [`line`]: the line's fields, redaction, nginx's spelling.
//! - [`output`]: the subscriber writing both formats.
//! - [`batched`]: the process's writer, lines written in batches.

pub mod batched;
pub mod line;
pub mod output;

pub use output::{AccessFormat, COMBINED_TARGET, TARGET};

use super::{Live, LocationLabel};
use crate::error::{error_response, ErrorDetail};
use crate::metrics::{metrics, Finished, RequestLabels};
use crate::storage::Source;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

/// Bytes an upload stored, reported by its handler for the log.
#[derive(Debug, Clone, Copy)]
pub struct Stored(pub u64);

/// The request id header, accepted from the client or generated.
pub const REQUEST_ID: &str = "x-request-id";

/// A client-supplied id is kept when it is short and printable; otherwise one
/// is generated: a per-process prefix and a counter, unique and cheap.
fn request_id(request: &Request) -> String {
    let given = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok());
    if let Some(id) = given
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
    {
        return id.to_owned();
    }
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        nanos ^ std::process::id().rotate_left(16)
    });
    let mut id = String::with_capacity(24);
    line::push_hex(&mut id, u64::from(*prefix), 8);
    id.push('-');
    line::push_hex(&mut id, NEXT.fetch_add(1, Ordering::Relaxed), 1);
    id
}

pub use crate::storage::CacheStatus;

/// What the log needs from the request, taken before it is handed on.
struct Head {
    method: axum::http::Method,
    path: String,
    /// `GET /a.jpg?w=1 HTTP/1.1`, secrets redacted.
    request: String,
    referer: String,
    user_agent: String,
    peer: Option<std::net::IpAddr>,
}

impl Head {
    fn of(request: &Request) -> Self {
        let uri = request.uri();
        let target = uri.path_and_query().map_or("/", |p| p.as_str());
        let value_of = |name: header::HeaderName| {
            let value = request.headers().get(name)?;
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        };
        let (method, target) = (request.method().as_str(), line::redact_target(target));
        let request_line = [method, &target, &version_name(request.version())].join(" ");
        Head {
            method: request.method().clone(),
            path: uri.path().to_owned(),
            request: request_line,
            referer: value_of(header::REFERER).map_or_else(|| "-".into(), |r| line::redact_url(&r)),
            user_agent: value_of(header::USER_AGENT).unwrap_or_else(|| "-".into()),
            peer: crate::access::peer_of(request).map(|p| p.ip()),
        }
    }
}

/// `HTTP/1.1`, as `Version`'s `Debug` spells it.
fn version_name(version: axum::http::Version) -> std::borrow::Cow<'static, str> {
    use axum::http::Version;
    match version {
        Version::HTTP_09 => "HTTP/0.9".into(),
        Version::HTTP_10 => "HTTP/1.0".into(),
        Version::HTTP_11 => "HTTP/1.1".into(),
        Version::HTTP_2 => "HTTP/2.0".into(),
        Version::HTTP_3 => "HTTP/3.0".into(),
        other => format!("{other:?}").into(),
    }
}

/// Middleware: id, limit, log and metrics around every request, and the
/// answers that need no location (a missing `Host`, the landing page).
pub async fn edge(State(live): State<Arc<Live>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let id = request_id(&request);
    let head = Head::of(&request);
    let state = live.current();
    let format = state.access_format();
    // Any error body, this edge's own included, as JSON if asked.
    let json = crate::error::wants_json(request.headers());
    let permit = if state.unlimited(&head.path) {
        None
    } else if let Some(permit) = state.admit() {
        Some(permit)
    } else {
        return crate::error::negotiated(json, shed(&id, &head));
    };
    metrics().in_flight.inc();
    // What comes before the locations, in order: `Host` required, the
    // landing page, then the routes.
    let early = super::missing_host(&request).or_else(|| crate::landing::answer(&state, &request));
    drop(state);
    let response = match early {
        Some(answer) => answer,
        None => {
            let span = tracing::info_span!("request", %id);
            next.run(request).instrument(span).await
        }
    };
    let response = crate::error::negotiated(json, response);
    let (mut parts, body) = response.into_parts();
    let ext = &mut parts.extensions;
    let source = ext.remove::<Source>().unwrap_or_default();
    let entry = Entry {
        start,
        location: ext
            .remove::<LocationLabel>()
            .map_or_else(|| Arc::from("-"), |l| l.0),
        cache: ext.remove::<CacheStatus>().or(source.cache),
        source,
        error: ext.remove::<ErrorDetail>(),
        client: ext
            .remove::<crate::access::ClientAddr>()
            .map_or(head.peer, |c| c.0),
        stored: ext.remove::<Stored>().map(|s| s.0),
        id: id.clone(),
        head,
        format,
        status: parts.status.as_u16(),
        expected: parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        bytes: 0,
        outcome: "aborted",
        _permit: permit,
    };
    let mut response = Response::from_parts(parts, Body::new(LoggedBody { inner: body, entry }));
    set_id(&mut response, &id);
    response
}

/// The answer when too many requests are in flight.
fn shed(id: &str, head: &Head) -> Response {
    metrics().shed.inc();
    let client = display_client(head.peer);
    let (method, path) = (&head.method, &head.path);
    tracing::warn!(target: "access", %id, %client, %method, %path, "too many requests in flight; refused");
    let reason = "too many requests in flight";
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        reason.into(),
        reason.into(),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    set_id(&mut response, id);
    response
}

fn set_id(response: &mut Response, id: &str) {
    if let Ok(v) = HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
}

fn display_client(client: Option<std::net::IpAddr>) -> String {
    let mut out = String::with_capacity(15);
    match client {
        Some(ip) => line::push_ip(&mut out, ip),
        None => out.push('-'),
    }
    out
}

struct Entry {
    start: Instant,
    id: String,
    head: Head,
    format: AccessFormat,
    client: Option<std::net::IpAddr>,
    location: Arc<str>,
    status: u16,
    /// Bytes stored by an upload.
    stored: Option<u64>,
    /// The declared response length: hyper stops polling a body once that
    /// many bytes are out, so reaching it means complete.
    expected: Option<u64>,
    source: Source,
    cache: Option<CacheStatus>,
    error: Option<ErrorDetail>,
    bytes: u64,
    outcome: &'static str,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Entry {
    fn log(&self, elapsed: std::time::Duration) {
        let client = display_client(self.client);
        let head = &self.head;
        if self.format == AccessFormat::Combined {
            let line = line::Line {
                client,
                request: head.request.clone(),
                status: self.status,
                bytes: self.bytes,
                referer: head.referer.clone(),
                user_agent: head.user_agent.clone(),
                at: std::time::SystemTime::now(),
            };
            tracing::info!(target: COMBINED_TARGET, "{}", line.combined());
            return;
        }
        let tracker = self.source.tracker.map(line::addr_string);
        // `&str` fields are quoted and escaped by the text format: a header
        // can neither end its field nor start a line.
        tracing::info!(
            target: TARGET,
            id = %self.id,
            client = %client,
            request = head.request.as_str(),
            status = self.status,
            bytes = self.bytes,
            referer = head.referer.as_str(),
            user_agent = head.user_agent.as_str(),
            rt = %line::seconds(elapsed),
            tracker = tracker.as_deref().unwrap_or("-"),
            node = self.source.node.as_deref().unwrap_or("-"),
            cache = self.cache.map_or("-", CacheStatus::as_str),
            stored = self.stored,
            body = self.outcome,
            error = self.error.as_ref().map(|e| e.0.as_str()).unwrap_or(""),
        );
    }

    fn count(&self, elapsed: std::time::Duration) {
        let m = metrics();
        m.in_flight.dec();
        let labels = RequestLabels {
            location: self.location.clone(),
            method: super::method_of(&self.head.method).map_or("other", |m| m.as_str()),
            status: Some(self.status),
        };
        let done = Finished {
            elapsed,
            bytes_out: self.bytes,
            stored: self.stored,
        };
        m.request_finished(&labels, &done);
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if self.outcome == "aborted" && self.expected == Some(self.bytes) {
            self.outcome = "complete";
        }
        let elapsed = self.start.elapsed();
        self.log(elapsed);
        self.count(elapsed);
    }
}

struct LoggedBody {
    inner: Body,
    entry: Entry,
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        // Empty bodies (HEAD, 204, 304) are never polled: they are complete.
        if self.entry.outcome == "aborted" && self.inner.is_end_stream() {
            self.entry.outcome = "complete";
        }
    }
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.entry.bytes += data.len() as u64;
                }
            }
            Poll::Ready(Some(Err(e))) => {
                this.entry.outcome = "failed";
                this.entry.error = Some(ErrorDetail(format!("response body: {e}")));
            }
            Poll::Ready(None) => this.entry.outcome = "complete",
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests;
