//! HTTP to storage nodes: streamed GET/HEAD with ranges (on the lean read
//! client, [`GetClient`]), streamed PUT and DELETE (on hyper's client).
//!
//! Storage nodes differ: mogstored serves a suffix range `bytes=-N` as the first
//! N+1 bytes, ignores `If-Modified-Since`, and may ignore a range altogether.
//! So the node is asked for what the client wants, and its answer is checked
//! against what was asked: the bytes sent on are always exactly the resolved
//! range, cut from whatever the node returned, or asked for again precisely.
//!
//! # PUT: always with a Content-Length
//!
//! mogstored (Perlbal 1.80) answers every request in HTTP/1.0, with
//! `Connection: keep-alive`. hyper's pooled client then treats the kept
//! connection as HTTP/1.0: its next request goes out as `HTTP/1.0` (with
//! `Connection: keep-alive`, which Perlbal honours), and a body of unknown
//! length, which HTTP/1.0 cannot frame, is sent as **no body at all**.
//! Perlbal stores an empty file for such a PUT and answers 200, so a chunked
//! upload would be lost while looking stored. Perlbal's own chunked parser is
//! fragile besides (a final CRLF in a later packet, `Chunked` spelt with a
//! capital C, a request behind the zero chunk: each loses a reply or a
//! body). Hence [`NodeClient::put`] takes the exact length, always sent as
//! `Content-Length`: bodies of unknown length are spooled first
//! ([`super::spool`]). A `Content-Length` body is framed the same in HTTP/1.0
//! and 1.1, so reusing a kept connection, on the downgraded terms hyper
//! applies to an HTTP/1.0 peer, is safe. The bytes the connection took are
//! counted, and a 2xx for another count than the length is a failure.
//!
//! Idle pooled connections are dropped after 20 s, before Perlbal's 30 s
//! keep-alive expiry, so that a reused connection is not one it is closing.
//!
//! # Time-outs
//!
//! `storage_timeout` bounds waiting for the node, never a transfer that is
//! moving (see [`progress`]): a PUT may take as long as its body takes, and a
//! slow or failing *client* body never marks the node as failed.

mod error;
mod health;
mod progress;
mod response;

pub use error::NodeError;
pub use health::{node_of, NodeHealth};

use crate::clients::node_http::{GetClient, NodeHttpConfig, NodeHttpError};
use crate::storage::body::ByteStream;
use crate::storage::{Object, Served};
use crate::web::range::{parse_content_range, ByteRange, RangeSpec};
use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_RANGE};
use axum::http::{HeaderValue, Method, Request, StatusCode, Uri};
use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use progress::{Metered, Progress, Stalled, Watchdog};
use response::{content_range, full_response, object, range_header, streamed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest read buffer of a hyper storage connection (PUT and DELETE replies;
/// downloads go through [`GetClient`], whose chunks are 8 KiB at most).
const STORAGE_READ_BUF: usize = 8 * 1024;

/// A reply to a PUT or DELETE (hyper's client).
type Response = hyper::Response<Incoming>;
/// A reply to a GET or HEAD (the lean read client).
type ReadResponse = crate::clients::node_http::GetResponse;

/// Chooses which of a client's connection pools a request uses.
pub type PoolPicker = fn() -> usize;

/// How long an idle pooled connection is kept: less than Perlbal's 30 s.
const POOL_IDLE: Duration = Duration::from_secs(20);

/// An HTTP client for storage nodes.
#[derive(Debug, Clone)]
pub struct NodeClient {
    /// Several pools, one picked per request by `pick` (the owner's
    /// choice: one per server worker thread, so that a request and its
    /// storage connection share a thread).
    http: Arc<[Client<HttpConnector, Body>]>,
    /// GET and HEAD, whose connections cost far less per slow reader; one
    /// pool per worker, picked like `http`'s.
    reads: Arc<[GetClient]>,
    pick: PoolPicker,
    head_timeout: Duration,
    health: Arc<NodeHealth>,
}

impl NodeClient {
    /// A client with the given connect and response-head time-outs. Body reads
    /// that stall longer than `head_timeout` also fail. A node that fails is
    /// tried last as `health` says. It keeps `pools` connection pools and
    /// uses pool `pick() % pools` for each request.
    pub fn new(
        connect_timeout: Duration,
        head_timeout: Duration,
        health: crate::clients::HealthPolicy,
        (pools, pick): (usize, PoolPicker),
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let http = (0..pools.max(1))
            .map(|_| {
                Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(POOL_IDLE)
                    .pool_max_idle_per_host(32)
                    .pool_timer(TokioTimer::new())
                    // Bounds a connection's read buffer (hyper's default lets
                    // it grow to ~400 KiB).
                    .http1_max_buf_size(STORAGE_READ_BUF)
                    .build(connector.clone())
            })
            .collect();
        // A socket's readiness is delivered by the runtime it was opened
        // on: with one shared pool, a connection opened by one worker and
        // reused by another woke both threads for each reply, and the
        // pool's lock was contended (`bench/`, cache off: about one
        // cross-thread wake-up per two 4 KiB GETs).
        let reads = (0..pools.max(1))
            .map(|_| {
                GetClient::new(NodeHttpConfig {
                    connect_timeout,
                    max_idle_per_host: 32,
                    idle_for: POOL_IDLE,
                    max_buf_size: STORAGE_READ_BUF,
                })
            })
            .collect();
        NodeClient {
            http,
            reads,
            head_timeout,
            pick,
            health: Arc::new(NodeHealth::new(health)),
        }
    }

    /// The connection pool of the calling worker thread.
    fn pool(&self) -> &Client<HttpConnector, Body> {
        &self.http[(self.pick)() % self.http.len()]
    }

    /// The read client of the calling worker thread.
    fn reads(&self) -> &GetClient {
        &self.reads[(self.pick)() % self.reads.len()]
    }

    /// Idle read connections to `host` in worker `worker`'s pool.
    #[cfg(test)]
    pub(crate) fn idle_reads(&self, worker: usize, host: &str) -> usize {
        self.reads[worker].idle_connections(host)
    }

    /// `items` with those on recently failed nodes moved to the end, order
    /// otherwise kept.
    pub fn healthy_first<'a, T>(&self, items: &'a [T], url: impl Fn(&T) -> &str) -> Vec<&'a T> {
        if self.health.all_pristine() {
            return items.iter().collect();
        }
        let now = Instant::now();
        let (good, bad): (Vec<&T>, Vec<&T>) =
            items.iter().partition(|i| !self.health.is_bad(url(i), now));
        good.into_iter().chain(bad).collect()
    }

    /// Sends `method url` with `headers` and `body` (whose progress is
    /// `progress`), waiting for the node at most the head time-out at a time.
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(axum::http::HeaderName, HeaderValue)],
        body: Body,
        progress: Progress,
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
        let watchdog = Watchdog::new(progress.clone(), self.head_timeout);
        let outcome = watchdog.run(self.pool().request(request)).await;
        match &outcome {
            Ok(Ok(response)) => self
                .health
                .record(url, !response.status().is_server_error()),
            // The client's body failed: nothing is known of the node.
            Ok(Err(_)) if progress.client_failed() => {}
            _ => self.health.record(url, false),
        }
        match outcome {
            Err(Stalled) => Err(NodeError::Timeout {
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

    /// `GET url` (`HEAD` if `head`) with `headers`, the head awaited at most
    /// the head time-out.
    async fn fetch(
        &self,
        url: &str,
        head: bool,
        headers: &[(axum::http::HeaderName, HeaderValue)],
    ) -> Result<ReadResponse, NodeError> {
        let outcome = self
            .reads()
            .get(url, head, headers, self.head_timeout)
            .await;
        self.health.record(
            url,
            outcome
                .as_ref()
                .is_ok_and(|r| !r.status().is_server_error()),
        );
        outcome.map_err(|e| match e {
            NodeHttpError::HeadTimeout { timeout, .. }
            | NodeHttpError::ConnectTimeout { timeout, .. } => NodeError::Timeout {
                url: url.to_owned(),
                timeout,
            },
            NodeHttpError::BadReply { detail, .. } => NodeError::BadResponse {
                url: url.to_owned(),
                detail,
            },
            e => NodeError::Unreachable {
                url: url.to_owned(),
                source: Box::new(e),
            },
        })
    }

    /// A request without a body.
    async fn send_empty(
        &self,
        method: Method,
        url: &str,
        headers: &[(axum::http::HeaderName, HeaderValue)],
    ) -> Result<Response, NodeError> {
        self.send(method, url, headers, Body::empty(), Progress::new())
            .await
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
        let headers = match (range, head) {
            (Some(spec), false) => range_header(&spec.header_value()),
            _ => None,
        };
        let response = self.fetch(url, head, headers.as_slice()).await?;
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
        let response = self.fetch(url, false, headers.as_slice()).await?;
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

    /// Streams `body`, exactly `length` bytes, to `url` with PUT and
    /// `Content-Length: length` (never chunked: see the module docs).
    /// Returns the bytes the connection took, which a success guarantees to
    /// be `length`.
    pub async fn put(&self, url: &str, body: ByteStream, length: u64) -> Result<u64, NodeError> {
        let progress = Progress::new();
        let body = Body::from_stream(Metered::new(body, progress.clone()));
        let headers = [(CONTENT_LENGTH, HeaderValue::from(length))];
        let response = self
            .send(Method::PUT, url, &headers, body, progress.clone())
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(NodeError::Status {
                url: url.to_owned(),
                status,
            });
        }
        match progress.sent() {
            sent if sent == length => Ok(sent),
            sent => Err(NodeError::BadResponse {
                url: url.to_owned(),
                detail: format!("answered {status} after {sent} of {length} body bytes"),
            }),
        }
    }

    /// Deletes `url` (best effort: for cleaning up after a failed upload).
    pub async fn delete(&self, url: &str) -> Result<(), NodeError> {
        let response = self.send_empty(Method::DELETE, url, &[]).await?;
        match response.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            status => Err(NodeError::Status {
                url: url.to_owned(),
                status,
            }),
        }
    }
}
