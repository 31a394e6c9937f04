//! GET and HEAD to storage nodes on bare pooled sockets, for the read path.
//!
//! A read is the gateway's commonest request and the one a slow client
//! holds longest, so what a connection costs matters: here it is the socket,
//! an 8 KiB first read that holds the head (and a small body with it), and
//! the body chunk in flight. (Through hyper's client each connection also
//! keeps an 8 KiB header buffer, an 8 KiB read buffer and a request channel
//! for as long as it lives.) Writes stay on hyper ([`super::NodeHttp`]).
//!
//! ```text
//! GET path HTTP/1.1 ──► head (1xx skipped) ──► body framed by Content-Length
//!                                              (or by the close, not reused)
//!                     body read to its end and peer keeps it? ──► pool
//! ```
//!
//! - Only what static file servers send is accepted: a body framed by
//!   `Content-Length` or by closing. A `Transfer-Encoding` reply is refused
//!   (an error, so the caller tries another replica).
//! - Keep-alive as in [`super::keeps_alive`]: Perlbal's HTTP/1.0 replies
//!   with `Connection: keep-alive` keep the connection.
//! - A reused connection that fails before any reply byte (the peer closed
//!   it while idle) is replaced by a new one once; GET and HEAD are safe to
//!   send again.
//! - The head, written and read, is bounded by one time-out; the body by
//!   none here (the caller's idle time-out watches it).

use super::pool::{Pool, Reusable};
use super::{connect_stream, http_host, keeps_alive, NodeHttpConfig, NodeHttpError};
use bytes::{Buf, Bytes, BytesMut};
use futures_util::stream::{self, Stream};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};
use hyper::{Response, StatusCode, Uri, Version};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// First read of a reply. Heads from storage nodes are a few hundred bytes,
/// so a small file's body comes in the same read: a 4 KiB GET costs one read,
/// and a read shorter than asked tells the runtime the socket is drained, so
/// the next reuse's liveness check ([`Reusable::is_closed`]) costs no system
/// call either.
const FIRST_READ: usize = 8 * 1024;
/// Largest response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Most header fields in a response head.
const MAX_HEADERS: usize = 64;
/// Largest body chunk of a large body: what a slow reader pins per download.
const CHUNK: usize = 8 * 1024;
/// A body of up to this length is read in chunks of up to its whole length:
/// a small file goes on in one read and one write instead of eight (64 KiB
/// GETs: 16k -> 21k req/s in `bench/`), and pins at most this much.
const SMALL_BODY: usize = 64 * 1024;

impl Reusable for TcpStream {
    fn is_closed(&self) -> bool {
        // An idle connection has nothing to read: a byte or an EOF means the
        // peer has moved on.
        !matches!(self.try_read(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// A pooled GET/HEAD client; clones share the pool.
#[derive(Clone)]
pub struct GetClient {
    pool: Arc<Pool<TcpStream>>,
    connect_timeout: Duration,
}

impl std::fmt::Debug for GetClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetClient")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// A response whose body holds the connection until read to its end.
pub type GetResponse = Response<GetBody>;

impl GetClient {
    /// A client with `config` (its read buffer size does not apply: bodies
    /// come in chunks of at most 8 KiB).
    pub fn new(config: NodeHttpConfig) -> Self {
        GetClient {
            pool: Arc::new(Pool::new(config.max_idle_per_host, config.idle_for)),
            connect_timeout: config.connect_timeout,
        }
    }

    /// Idle connections kept to `host` (`host:port`).
    pub fn idle_connections(&self, host: &str) -> usize {
        self.pool.idle(host)
    }

    /// `GET url` (`HEAD` if `head`) with `headers`; the response head
    /// must be in within `wait` of the connection being open.
    pub async fn get(
        &self,
        url: &str,
        head: bool,
        headers: &[(HeaderName, HeaderValue)],
        wait: Duration,
    ) -> Result<GetResponse, NodeHttpError> {
        let (host, request) = request_head(url, head, headers)?;
        loop {
            let (mut stream, reused) = match self.pool.take(&host) {
                Some(stream) => (stream, true),
                None => (connect_stream(&host, self.connect_timeout).await?, false),
            };
            let exchange = async {
                stream.write_all(&request).await.map_err(Failure::Unsent)?;
                read_head(&mut stream).await
            };
            let (parts, rest) = match tokio::time::timeout(wait, exchange).await {
                Err(_) => {
                    return Err(NodeHttpError::HeadTimeout {
                        host: host.to_string(),
                        timeout: wait,
                    })
                }
                Ok(Err(Failure::Unsent(_))) if reused => continue,
                Ok(Err(Failure::Io(e))) | Ok(Err(Failure::Unsent(e))) => {
                    return Err(NodeHttpError::Io {
                        host: host.to_string(),
                        source: e,
                    })
                }
                Ok(Err(Failure::Reply(detail))) => {
                    return Err(NodeHttpError::BadReply {
                        host: host.to_string(),
                        detail,
                    })
                }
                Ok(Ok(answer)) => answer,
            };
            let body = self.body(&host, head, &parts, stream, rest)?;
            let mut response = Response::new(body);
            *response.status_mut() = parts.status;
            *response.version_mut() = parts.version;
            *response.headers_mut() = parts.headers;
            return Ok(response);
        }
    }

    /// The body that follows `parts`, `rest` being what was read past the head.
    fn body(
        &self,
        host: &Arc<str>,
        head: bool,
        parts: &Parts,
        stream: TcpStream,
        rest: BytesMut,
    ) -> Result<GetBody, NodeHttpError> {
        let status = parts.status;
        let bodiless = head
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
            || status.is_informational();
        let bad = |detail: String| NodeHttpError::BadReply {
            host: host.to_string(),
            detail,
        };
        let length = if bodiless {
            Some(0)
        } else if parts.headers.contains_key(TRANSFER_ENCODING) {
            return Err(bad(
                "a Transfer-Encoding body (only Content-Length or close framing is read)".into(),
            ));
        } else {
            content_length(&parts.headers).map_err(bad)?
        };
        let keep = length.is_some() && keeps_alive(parts.version, &parts.headers);
        let mut state = BodyState {
            stream: Some(stream),
            rest: (!rest.is_empty()).then(|| rest.freeze()),
            remaining: length,
            chunk: chunk_for(length),
            keep,
            pool: Arc::clone(&self.pool),
            host: Arc::clone(host),
        };
        if length == Some(0) {
            // Anything already read past an empty body is a broken peer.
            state.keep &= state.rest.is_none();
            state.rest = None;
            state.release();
        }
        Ok(GetBody {
            inner: Box::pin(stream::unfold(state, next_chunk)),
        })
    }
}

/// `host:port` of `url` and the request head to send for it.
fn request_head(
    url: &str,
    head: bool,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<(Arc<str>, Vec<u8>), NodeHttpError> {
    let bad = || NodeHttpError::BadUrl {
        url: url.to_owned(),
    };
    let uri: Uri = url.parse().map_err(|_| bad())?;
    let (host, authority) = http_host(&uri).ok_or_else(bad)?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let method = if head { "HEAD" } else { "GET" };
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\n").as_bytes());
    // Perlbal keeps an HTTP/1.0-answered connection only when asked to.
    out.extend_from_slice(b"Connection: keep-alive\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok((host, out))
}

/// A parsed response head.
#[derive(Debug)]
struct Parts {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
}

/// How an exchange failed before its head was in.
enum Failure {
    /// Nothing of a reply came: the request can go again on another
    /// connection.
    Unsent(io::Error),
    /// The connection failed mid-reply.
    Io(io::Error),
    /// The reply is not HTTP as expected.
    Reply(String),
}

/// Reads a response head (skipping 1xx ones); returns it and the bytes read
/// past it.
async fn read_head(stream: &mut TcpStream) -> Result<(Parts, BytesMut), Failure> {
    let mut buf = BytesMut::with_capacity(FIRST_READ);
    let mut replied = false;
    loop {
        if let Some((len, parts)) = parse_head(&buf)? {
            buf.advance(len);
            if parts.status.is_informational() && parts.status != StatusCode::SWITCHING_PROTOCOLS {
                continue;
            }
            return Ok((parts, buf));
        }
        if buf.len() >= MAX_HEAD {
            return Err(Failure::Reply(format!(
                "response head over {MAX_HEAD} bytes"
            )));
        }
        if buf.capacity() == buf.len() {
            buf.reserve(buf.len().max(FIRST_READ).min(MAX_HEAD - buf.len()));
        }
        let read = match stream.read_buf(&mut buf).await {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the response head ended",
            )),
            Ok(n) => Ok(n),
            Err(e) => Err(e),
        };
        match read {
            Ok(_) => replied = true,
            Err(e) if replied => return Err(Failure::Io(e)),
            Err(e) => return Err(Failure::Unsent(e)),
        }
    }
}

/// The head at the start of `buf` and its length, or `None` while incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Parts)>, Failure> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Failure::Reply(format!("bad response head: {e}"))),
    };
    let status = response
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| Failure::Reply("bad status code".into()))?;
    let version = match response.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for field in response.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| Failure::Reply(format!("bad header name {:?}", field.name)))?;
        let value = HeaderValue::from_bytes(field.value)
            .map_err(|_| Failure::Reply(format!("bad value of header {name}")))?;
        headers.append(name, value);
    }
    Ok(Some((
        len,
        Parts {
            status,
            version,
            headers,
        },
    )))
}

/// The body length `headers` give: `None` for a body framed by the close.
/// Several `Content-Length` fields must agree.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, String> {
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        let n = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| format!("bad Content-Length {value:?}"))?;
        if length.is_some_and(|l| l != n) {
            return Err("conflicting Content-Length fields".into());
        }
        length = Some(n);
    }
    Ok(length)
}

/// A response body: chunks of at most 8 KiB straight from the socket.
pub struct GetBody {
    inner: Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>,
}

impl std::fmt::Debug for GetBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetBody").finish_non_exhaustive()
    }
}

impl Stream for GetBody {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// What a body owns between chunks.
struct BodyState {
    stream: Option<TcpStream>,
    /// Body bytes read with the head, not yet handed out.
    rest: Option<Bytes>,
    /// Bytes still to come; `None`: until the peer closes.
    remaining: Option<u64>,
    /// Most bytes read at once.
    chunk: usize,
    keep: bool,
    pool: Arc<Pool<TcpStream>>,
    host: Arc<str>,
}

impl BodyState {
    /// The body was read to its end: the connection can serve again.
    fn release(&mut self) {
        if let Some(stream) = self.stream.take() {
            if self.keep {
                self.pool.put(&self.host, stream);
            }
        }
    }

    /// Counts `n` bytes handed out; releases the connection at the end.
    fn consumed(&mut self, n: usize) {
        if let Some(left) = self.remaining.as_mut() {
            *left -= n as u64;
            if *left == 0 {
                // Released before the last chunk is handed out: a consumer
                // that stops at the expected length never polls again.
                self.release();
            }
        }
    }
}

/// The largest read for a body of `length` bytes.
fn chunk_for(length: Option<u64>) -> usize {
    match length {
        Some(n) if n <= SMALL_BODY as u64 => (n as usize).max(CHUNK),
        _ => CHUNK,
    }
}

async fn next_chunk(mut state: BodyState) -> Option<(io::Result<Bytes>, BodyState)> {
    if let Some(mut rest) = state.rest.take() {
        if let Some(left) = state.remaining {
            if rest.len() as u64 > left {
                // More than the length said: the peer is broken, and the
                // connection is not reused.
                rest.truncate(left as usize);
                state.keep = false;
            }
        }
        state.consumed(rest.len());
        return Some((Ok(rest), state));
    }
    let stream = state.stream.as_mut()?;
    let want = state
        .remaining
        .map_or(state.chunk, |left| left.min(state.chunk as u64) as usize);
    let mut chunk = BytesMut::with_capacity(want);
    match (&mut *stream).take(want as u64).read_buf(&mut chunk).await {
        Ok(0) if state.remaining.is_none() => {
            // Framed by the close: this is the end.
            state.stream = None;
            None
        }
        Ok(0) => {
            let left = state.remaining.unwrap_or(0);
            state.stream = None;
            let e = io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} closed the body {left} bytes early", state.host),
            );
            Some((Err(e), state))
        }
        Ok(n) => {
            state.consumed(n);
            Some((Ok(chunk.freeze()), state))
        }
        Err(e) => {
            state.stream = None;
            Some((Err(e), state))
        }
    }
}

#[cfg(test)]
mod tests;
