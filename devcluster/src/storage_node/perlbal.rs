//! Perlbal mode: the storage node speaks HTTP the way mogstored 2.73
//! (Perlbal 1.80) does on the wire, quirks included, so that a gateway is
//! tested against what it will meet. A small hand-written HTTP/1.0 server
//! (hyper cannot answer HTTP/1.0 with keep-alive) in front of the node's
//! usual router:
//!
//! - every reply is `HTTP/1.0`; the connection is kept when the request
//!   allows it (HTTP/1.1 without `Connection: close`, or HTTP/1.0 with
//!   `Connection: keep-alive`) and the reply has a length (or is a 204, 304
//!   or HEAD reply): then `Connection: keep-alive` and
//!   `Keep-Alive: timeout=30, max=100`, else `Connection: close` and a close;
//!   kept connections idle for 30 s are closed;
//! - a PUT body is framed by `Content-Length`, else by
//!   `Transfer-Encoding: chunked` (that exact word: `Chunked` counts as no
//!   framing), else it is empty: **an empty file is stored, 200**;
//! - chunked PUTs ([`body`]): answered once the `0` line is parsed; the
//!   final CRLF is swallowed only if it already arrived, else it is read as
//!   the next request, which gets no reply (the connection is closed);
//!   whatever was read ahead behind the zero chunk (a pipelined request) is
//!   lost; trailers are not parsed;
//! - a PUT writes straight into the target file (`O_TRUNC`), so a PUT cut
//!   off keeps what it got;
//! - `bytes=-N` is served as bytes `0-N` (see [`super::range`]).
//!
//! Bytes that are not a request (a late CRLF, chunk data after an
//! unrecognised `Chunked`) close the connection without a reply.

mod body;

use super::routes;
use super::NodeState;
use crate::mogilefs::service::Handler;
use axum::body::Body;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, SERVER, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use axum::Router;
use body::Framing;
use futures_util::StreamExt;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tower::ServiceExt;

/// Perlbal's idle time for kept connections (and the `Keep-Alive` it announces).
const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Longest request head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// A response marked so aborts its connection (reset, no reply): a node
/// failing in the middle of a request.
#[derive(Debug, Clone, Copy)]
pub(super) struct AbortConnection;

/// Serves connections the Perlbal way with the node's router.
pub(super) fn handler(state: Arc<NodeState>) -> Handler {
    let app = routes::app(state);
    Arc::new(move |stream| Box::pin(serve(stream, app.clone())))
}

/// One parsed request head.
struct Head {
    method: Method,
    target: String,
    version: Version,
    headers: HeaderMap,
}

impl Head {
    /// Perlbal's `req_keep_alive`.
    fn keep_alive(&self) -> bool {
        let tokens = self
            .headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .collect::<Vec<_>>();
        match self.version {
            Version::HTTP_11 => !tokens.iter().any(|t| t == "close"),
            _ => tokens.iter().any(|t| t == "keep-alive"),
        }
    }
}

async fn serve(stream: TcpStream, app: Router) {
    let mut conn = BufReader::with_capacity(64 * 1024, stream);
    loop {
        let head = match tokio::time::timeout(KEEP_ALIVE, read_head(&mut conn)).await {
            Ok(Ok(Some(head))) => head,
            // Idle, closed, or bytes that are not a request: close.
            _ => return,
        };
        match exchange(&mut conn, &app, head).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(_) => {
                let _ = conn.get_ref().set_zero_linger();
                return;
            }
        }
    }
}

/// Reads a request head; `None` when the peer closed, or sent something
/// that is not a request.
async fn read_head(conn: &mut BufReader<TcpStream>) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    loop {
        let before = raw.len();
        let n = (&mut *conn)
            .take((MAX_HEAD - raw.len()) as u64)
            .read_until(b'\n', &mut raw)
            .await?;
        if n == 0 || raw.len() >= MAX_HEAD {
            return Ok(None);
        }
        let line = &raw[before..];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    Ok(parse_head(&raw))
}

fn parse_head(raw: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let mut map = HeaderMap::new();
    for h in request.headers.iter() {
        let name = axum::http::HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        map.append(name, HeaderValue::from_bytes(h.value).ok()?);
    }
    Some(Head {
        method: Method::from_bytes(request.method?.as_bytes()).ok()?,
        target: request.path?.to_owned(),
        version: match request.version? {
            1 => Version::HTTP_11,
            _ => Version::HTTP_10,
        },
        headers: map,
    })
}

/// One request and its reply; `Ok(true)` when the connection is kept.
async fn exchange(conn: &mut BufReader<TcpStream>, app: &Router, head: Head) -> io::Result<bool> {
    let framing = Framing::of(&head.method, &head.headers);
    let keep_alive = head.keep_alive();
    let is_head = head.method == Method::HEAD;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let request_body = match framing {
        Framing::Empty => Body::empty(),
        _ => Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })),
    };
    let mut request = Request::new(request_body);
    *request.method_mut() = head.method;
    *request.uri_mut() = head.target.parse().map_err(io::Error::other)?;
    *request.version_mut() = head.version;
    *request.headers_mut() = head.headers;
    let routed = app.clone().oneshot(request);
    let (response, fed) = tokio::join!(routed, body::feed(conn, framing, tx));
    let response = match response {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if response.extensions().get::<AbortConnection>().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "injected reset",
        ));
    }
    let body_read = fed?;
    let kept = write_response(conn.get_mut(), response, keep_alive, is_head).await?;
    Ok(kept && body_read)
}

/// Writes `response` as Perlbal does; returns whether the connection stays open.
async fn write_response(
    socket: &mut TcpStream,
    response: Response<Body>,
    keep_alive: bool,
    is_head: bool,
) -> io::Result<bool> {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let mut headers = parts.headers;
    for name in [CONNECTION, TRANSFER_ENCODING] {
        headers.remove(name);
    }
    headers.insert(SERVER, HeaderValue::from_static("Perlbal"));
    let exact = axum::body::HttpBody::size_hint(&body).exact();
    if !headers.contains_key(CONTENT_LENGTH) && !is_head && !bodiless(status) {
        if let Some(len) = exact {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
    }
    let framed = headers.contains_key(CONTENT_LENGTH) || is_head || bodiless(status);
    let keep = keep_alive && framed;
    let mut out = format!(
        "HTTP/1.0 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in &headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(match keep {
        true => b"Connection: keep-alive\r\nKeep-Alive: timeout=30, max=100\r\n\r\n".as_slice(),
        false => b"Connection: close\r\n\r\n".as_slice(),
    });
    socket.write_all(&out).await?;
    if !is_head {
        let mut frames = body.into_data_stream();
        while let Some(chunk) = frames.next().await {
            socket.write_all(&chunk.map_err(io::Error::other)?).await?;
        }
    }
    socket.flush().await?;
    Ok(keep)
}

fn bodiless(status: StatusCode) -> bool {
    status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_follows_perlbal() {
        let head = |version, connection: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(c) = connection {
                headers.insert(CONNECTION, HeaderValue::from_str(c).unwrap());
            }
            Head {
                method: Method::GET,
                target: "/".into(),
                version,
                headers,
            }
        };
        assert!(head(Version::HTTP_11, None).keep_alive());
        assert!(!head(Version::HTTP_11, Some("close")).keep_alive());
        assert!(!head(Version::HTTP_10, None).keep_alive());
        assert!(head(Version::HTTP_10, Some("keep-alive")).keep_alive());
        assert!(head(Version::HTTP_11, Some("Keep-Alive, keep-alive")).keep_alive());
    }

    #[test]
    fn only_requests_parse() {
        let ok = parse_head(b"PUT /dev1/x.fid HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
        assert_eq!(ok.method, Method::PUT);
        assert_eq!(ok.version, Version::HTTP_10);
        assert!(parse_head(b"\r\n").is_none());
        assert!(parse_head(b"4\r\nCAPS\r\n0\r\n\r\n").is_none());
    }
}
