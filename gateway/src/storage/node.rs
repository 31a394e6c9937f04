//! HTTP to storage nodes: streamed GET/HEAD with ranges, streamed PUT, DELETE.
//!
//! Storage nodes differ: mogstored serves a suffix range `bytes=-N` as the first
//! N+1 bytes, ignores `If-Modified-Since`, and may ignore a range altogether.
//! So the node is asked for what the client wants, and its answer is checked
//! against what was asked: the bytes sent on are always exactly the resolved
//! range, cut from whatever the node returned, or asked for again precisely.

use super::body::{ByteStream, IdleTimeout, Window};
use super::{Object, Served, Source};
use crate::web::range::{parse_content_range, ByteRange, RangeSpec};
use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, LAST_MODIFIED, RANGE};
use axum::http::{HeaderValue, Method, Request, StatusCode, Uri};
use futures_util::{StreamExt, TryStreamExt};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Largest read buffer of a storage connection, and so the largest body
/// chunk: a slow client pins at most about this much per download.
const STORAGE_READ_BUF: usize = 8 * 1024;

type Response = hyper::Response<Incoming>;

/// How one storage node failed a request.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Could not connect, or the connection broke before a response head.
    #[error("{url}: {source}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No response head within the time-out.
    #[error("{url}: no response within {timeout:?}")]
    Timeout {
        /// The URL tried.
        url: String,
        /// The limit.
        timeout: Duration,
    },
    /// The node answered with an unusable status.
    #[error("{url}: status {status}")]
    Status {
        /// The URL tried.
        url: String,
        /// The status.
        status: StatusCode,
    },
    /// The node answered inconsistently (bad Content-Range, missing length).
    #[error("{url}: {detail}")]
    BadResponse {
        /// The URL tried.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

impl NodeError {
    /// True for a time-out (504 rather than 502 when nothing else worked).
    pub fn is_timeout(&self) -> bool {
        matches!(self, NodeError::Timeout { .. })
    }
}

/// An HTTP client for storage nodes.
#[derive(Debug, Clone)]
pub struct NodeClient {
    /// One pool per worker thread (see [`crate::server::worker_index`]), so a
    /// request and its storage connection share a thread.
    http: Arc<[Client<HttpConnector, Body>]>,
    head_timeout: Duration,
    health: Arc<NodeHealth>,
}

/// Storage nodes that failed recently, by `host:port`: they are tried last
/// for a while, so one dead node costs one failed attempt, not one per request.
#[derive(Debug)]
struct NodeHealth {
    bad_until: Mutex<HashMap<String, Instant>>,
    /// Whether `bad_until` has entries: while every node is fine, requests
    /// neither lock nor hash.
    any_bad: AtomicBool,
    avoid_for: Duration,
}

/// `host:port` of a storage URL.
pub fn node_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

impl NodeHealth {
    fn is_bad(&self, url: &str, now: Instant) -> bool {
        if !self.any_bad.load(Ordering::Relaxed) {
            return false;
        }
        let bad = self.bad_until.lock().expect("poisoned");
        bad.get(node_of(url)).is_some_and(|until| *until > now)
    }

    fn record(&self, url: &str, ok: bool) {
        if ok && !self.any_bad.load(Ordering::Relaxed) {
            return;
        }
        let node = node_of(url);
        let mut bad = self.bad_until.lock().expect("poisoned");
        if ok {
            if bad.remove(node).is_some() {
                tracing::info!(node, "storage node is answering again");
            }
            self.any_bad.store(!bad.is_empty(), Ordering::Relaxed);
        } else if self.avoid_for > Duration::ZERO
            && bad
                .insert(node.to_owned(), Instant::now() + self.avoid_for)
                .is_none()
        {
            tracing::warn!(node, avoid_for = ?self.avoid_for, "storage node failed; trying others first");
            self.any_bad.store(true, Ordering::Relaxed);
        }
    }
}

impl NodeClient {
    /// A client with the given connect and response-head time-outs. Body reads
    /// that stall longer than `head_timeout` also fail. A node that fails is
    /// tried last for `avoid_for`. `workers` is the number of worker threads.
    pub fn new(
        connect_timeout: Duration,
        head_timeout: Duration,
        avoid_for: Duration,
        workers: usize,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let http = (0..workers.max(1))
            .map(|_| {
                Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(30))
                    .pool_max_idle_per_host(32)
                    .pool_timer(TokioTimer::new())
                    // Bounds what one response holds while its client reads
                    // slowly (hyper's default lets it grow to ~400 KiB).
                    .http1_max_buf_size(STORAGE_READ_BUF)
                    .build(connector.clone())
            })
            .collect();
        NodeClient {
            http,
            head_timeout,
            health: Arc::new(NodeHealth {
                bad_until: Mutex::new(HashMap::new()),
                any_bad: AtomicBool::new(false),
                avoid_for,
            }),
        }
    }

    /// The connection pool of the calling worker thread.
    fn pool(&self) -> &Client<HttpConnector, Body> {
        &self.http[crate::server::worker_index() % self.http.len()]
    }

    /// `items` with those on recently failed nodes moved to the end, order
    /// otherwise kept.
    pub fn healthy_first<'a, T>(&self, items: &'a [T], url: impl Fn(&T) -> &str) -> Vec<&'a T> {
        let now = Instant::now();
        let (good, bad): (Vec<&T>, Vec<&T>) =
            items.iter().partition(|i| !self.health.is_bad(url(i), now));
        good.into_iter().chain(bad).collect()
    }

    /// Sends `method url` with `headers` and `body`, waiting for the
    /// response head at most the head time-out.
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(axum::http::HeaderName, HeaderValue)],
        body: Body,
    ) -> Result<Response, NodeError> {
        let uri: Uri = url.parse().map_err(|e| NodeError::Unreachable {
            url: url.to_owned(),
            source: Box::new(e),
        })?;
        let mut request = Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        for (name, value) in headers {
            request.headers_mut().insert(name, value.clone());
        }
        let is_put = request.method() == Method::PUT;
        let outcome = tokio::time::timeout(self.head_timeout, self.pool().request(request)).await;
        match &outcome {
            Ok(Ok(response)) => self
                .health
                .record(url, !response.status().is_server_error()),
            // A PUT that breaks after connecting may be the client's body failing.
            Ok(Err(e)) if is_put && !e.is_connect() => {}
            _ => self.health.record(url, false),
        }
        match outcome {
            Err(_) => Err(NodeError::Timeout {
                url: url.to_owned(),
                timeout: self.head_timeout,
            }),
            Ok(Err(source)) => Err(NodeError::Unreachable {
                url: url.to_owned(),
                source: Box::new(source),
            }),
            Ok(Ok(response)) => Ok(response),
        }
    }

    /// Opens `url` for reading `range` (or all of it); `head` asks for metadata only.
    ///
    /// The first body chunk is awaited before returning: a node that fails
    /// before it (dies, resets, stalls) counts as a failed replica and the
    /// next one can be tried, since nothing has been sent to the client yet.
    /// Small files — most of them — are then wholly in hand before the
    /// client's response starts.
    pub async fn open(
        &self,
        url: &str,
        range: Option<RangeSpec>,
        head: bool,
    ) -> Result<Object, NodeError> {
        let mut object = self.open_head(url, range, head).await?;
        let Some(mut body) = object.body.take() else {
            return Ok(object);
        };
        let first = tokio::time::timeout(self.head_timeout, body.next()).await;
        let first = match first {
            Err(_) => {
                return Err(NodeError::Timeout {
                    url: url.to_owned(),
                    timeout: self.head_timeout,
                })
            }
            Ok(Some(Err(e))) => {
                self.health.record(url, false);
                return Err(NodeError::BadResponse {
                    url: url.to_owned(),
                    detail: format!("body failed before its first byte: {e}"),
                });
            }
            Ok(first) => first,
        };
        object.body = Some(Box::pin(futures_util::stream::iter(first).chain(body)));
        Ok(object)
    }

    async fn open_head(
        &self,
        url: &str,
        range: Option<RangeSpec>,
        head: bool,
    ) -> Result<Object, NodeError> {
        let method = if head { Method::HEAD } else { Method::GET };
        let headers = match (range, head) {
            (Some(spec), false) => range_header(&spec.header_value()),
            _ => None,
        };
        let response = self
            .send(method, url, headers.as_slice(), Body::empty())
            .await?;
        match response.status() {
            StatusCode::OK => full_response(url, response, range, head, self.head_timeout),
            StatusCode::PARTIAL_CONTENT if range.is_some() => {
                let (first, last, total) = content_range(url, &response)?;
                let wanted = range.and_then(|r| r.resolve(total));
                match wanted {
                    Some(w) if first <= w.first && w.last <= last => {
                        let skip = w.first - first;
                        Ok(streamed(
                            url,
                            response,
                            total,
                            Served::Range(w),
                            (skip, w.len()),
                            self.head_timeout,
                        ))
                    }
                    // The node answered another range than asked (mogstored's
                    // suffix bug): ask again for exactly the bytes wanted.
                    Some(w) => self.open_exact(url, w, total).await,
                    None => Ok(object(url, &response, total, Served::Unsatisfiable, None)),
                }
            }
            StatusCode::RANGE_NOT_SATISFIABLE if range.is_some() => {
                let total = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_content_range(v).err().flatten());
                match total {
                    Some(total) => Ok(object(url, &response, total, Served::Unsatisfiable, None)),
                    // Without the size the 416 cannot be relayed faithfully: read it all.
                    None => Box::pin(self.open_head(url, None, head))
                        .await
                        .map(|mut o| {
                            let served = range.and_then(|r| r.resolve(o.size));
                            o.served = served.map_or(Served::Unsatisfiable, Served::Range);
                            o.body = None;
                            o
                        }),
                }
            }
            status => Err(NodeError::Status {
                url: url.to_owned(),
                status,
            }),
        }
    }

    async fn open_exact(
        &self,
        url: &str,
        wanted: ByteRange,
        total: u64,
    ) -> Result<Object, NodeError> {
        let headers = range_header(&wanted.header_value());
        let response = self
            .send(Method::GET, url, headers.as_slice(), Body::empty())
            .await?;
        let (first, last, node_total) = match response.status() {
            StatusCode::PARTIAL_CONTENT => content_range(url, &response)?,
            StatusCode::OK => (0, total.saturating_sub(1), total),
            status => {
                return Err(NodeError::Status {
                    url: url.to_owned(),
                    status,
                })
            }
        };
        if node_total != total || first > wanted.first || last < wanted.last {
            return Err(NodeError::BadResponse {
                url: url.to_owned(),
                detail: format!(
                    "asked for {}, got bytes {first}-{last}/{node_total}",
                    wanted.header_value()
                ),
            });
        }
        let skip = wanted.first - first;
        Ok(streamed(
            url,
            response,
            total,
            Served::Range(wanted),
            (skip, wanted.len()),
            self.head_timeout,
        ))
    }

    /// Streams `body` to `url` with PUT; `length` is sent as Content-Length when
    /// known (mogstored stores an empty file for a PUT with neither length nor
    /// chunked encoding, so a known length is always declared).
    pub async fn put(
        &self,
        url: &str,
        body: ByteStream,
        length: Option<u64>,
    ) -> Result<(), NodeError> {
        let headers = length.map(|n| (CONTENT_LENGTH, HeaderValue::from(n)));
        let response = self
            .send(
                Method::PUT,
                url,
                headers.as_slice(),
                Body::from_stream(body),
            )
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(NodeError::Status {
                url: url.to_owned(),
                status: response.status(),
            })
        }
    }

    /// Deletes `url` (best effort: for cleaning up after a failed upload).
    pub async fn delete(&self, url: &str) -> Result<(), NodeError> {
        let response = self.send(Method::DELETE, url, &[], Body::empty()).await?;
        match response.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            status => Err(NodeError::Status {
                url: url.to_owned(),
                status,
            }),
        }
    }
}

/// A 200 answer: the whole object, cut to the wanted range if there is one.
fn full_response(
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
fn streamed(
    url: &str,
    response: Response,
    size: u64,
    served: Served,
    (skip, take): (u64, u64),
    idle: Duration,
) -> Object {
    let meta = object(url, &response, size, served, None);
    let stream = Body::new(response.into_body())
        .into_data_stream()
        .map_err(io::Error::other);
    let stream = IdleTimeout::new(Box::pin(stream), idle);
    Object {
        body: Some(Box::pin(Window::new(Box::pin(stream), skip, take))),
        ..meta
    }
}

fn range_header(value: &str) -> Option<(axum::http::HeaderName, HeaderValue)> {
    HeaderValue::from_str(value).ok().map(|v| (RANGE, v))
}

fn header_length(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn content_range(url: &str, response: &Response) -> Result<(u64, u64, u64), NodeError> {
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
fn object(
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
    // A MogileFS fid never changes content and is the same on every replica,
    // so it makes a strong tag that does not depend on the replica chosen.
    let etag = match dfs_protocol::mogilefs::fid::fid_of_path(url) {
        Some(fid) => Some(format!("\"{fid}-{size}\"")),
        None => headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .filter(|t| t.starts_with('"'))
            .map(str::to_owned),
    };
    Object {
        size,
        last_modified,
        etag,
        served,
        body,
        source: Source {
            tracker: None,
            node: Some(url.to_owned()),
        },
    }
}
