//! One HTTP/1 connection to a storage node, driven by whoever is using it:
//! the request's own task polls hyper's connection state machine while it
//! waits for the response head and while it reads the body, so a
//! connection costs no task of its own and idles as plain memory.
//!
//! [`NodeBody`] carries the connection while the body is read. When the body
//! has ended and the peer agreed to keep the connection (HTTP/1.1 without
//! `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`), the
//! connection goes back to the pool; a body dropped unfinished takes its
//! connection with it (the unread rest would be the next reply's start).

use super::pool::{Pool, Reusable};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::body::{Body, Frame, SizeHint};
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper::client::conn::TrySendError;
use hyper::header::{HeaderMap, CONNECTION};
use hyper::{Request, Response, Version};
use hyper_util::rt::TokioIo;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpStream;

/// The request body type: the gateway's own.
pub(super) type ReqBody = axum::body::Body;

/// An open connection and what is known of its peer.
pub(super) struct Conn {
    sender: SendRequest<ReqBody>,
    /// hyper's side of the connection; `None` once it has finished (peer
    /// closed, error, or a reply that ended keep-alive). Dropping it then
    /// matters: a request still queued for it comes back to its sender
    /// unsent, instead of waiting for a dispatcher that will never run.
    conn: Option<Connection<TokioIo<TcpStream>, ReqBody>>,
    /// The peer answered in HTTP/1.0 at least once.
    pub http10: bool,
    /// Whether this connection served a request before.
    pub reused: bool,
}

/// What a connection's state machine reports when polled.
enum Drive {
    /// Still open (or waiting on the peer).
    Open,
    /// Closed or failed: no more requests on it.
    Finished(Option<hyper::Error>),
}

impl Reusable for Conn {
    fn is_closed(&self) -> bool {
        self.conn.is_none() || self.sender.is_closed()
    }
}

impl Conn {
    pub fn new(
        sender: SendRequest<ReqBody>,
        conn: Connection<TokioIo<TcpStream>, ReqBody>,
    ) -> Self {
        Conn {
            sender,
            conn: Some(conn),
            http10: false,
            reused: false,
        }
    }

    fn drive(&mut self, cx: &mut Context<'_>) -> Drive {
        drive(&mut self.conn, cx)
    }

    /// Waits until the connection can take a request; an error once it
    /// has finished (a peer that closed an idle connection included).
    pub async fn ready(&mut self) -> hyper::Result<()> {
        poll_fn(|cx| {
            if let Drive::Finished(Some(e)) = self.drive(cx) {
                return Poll::Ready(Err(e));
            }
            // With the connection gone the sender reports it closed.
            self.sender.poll_ready(cx)
        })
        .await
    }

    /// Sends `request` and waits for the response head, driving the
    /// connection meanwhile. A request that never left comes back in the error.
    pub async fn send(
        &mut self,
        request: Request<ReqBody>,
    ) -> Result<Response<Incoming>, TrySendError<Request<ReqBody>>> {
        let mut response = std::pin::pin!(self.sender.try_send_request(request));
        let conn = &mut self.conn;
        poll_fn(|cx| {
            if let Poll::Ready(outcome) = response.as_mut().poll(cx) {
                return Poll::Ready(outcome);
            }
            if let Drive::Finished(_) = drive(conn, cx) {
                // The connection is dropped by now, so the reply future
                // holds either hyper's error or the request sent back.
                return response.as_mut().poll(cx);
            }
            Poll::Pending
        })
        .await
    }
}

/// Polls `conn` once; drops it when it has finished.
fn drive(
    conn: &mut Option<Connection<TokioIo<TcpStream>, ReqBody>>,
    cx: &mut Context<'_>,
) -> Drive {
    let Some(open) = conn.as_mut() else {
        return Drive::Finished(None);
    };
    match Pin::new(open).poll(cx) {
        Poll::Pending => Drive::Open,
        Poll::Ready(outcome) => {
            *conn = None;
            Drive::Finished(outcome.err())
        }
    }
}

/// Whether a reply in `version` with `headers` lets the connection be reused.
pub(super) fn keeps_alive(version: Version, headers: &HeaderMap) -> bool {
    let says = |word: &str| {
        headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(word))
    };
    match version {
        Version::HTTP_11 => !says("close"),
        Version::HTTP_10 => says("keep-alive") && !says("close"),
        _ => false,
    }
}

/// A response body that drives its connection and gives it back to the
/// pool once the body has been read to its end.
pub struct NodeBody {
    body: Incoming,
    held: Option<Held>,
}

struct Held {
    conn: Conn,
    pool: Arc<Pool<Conn>>,
    host: Arc<str>,
    /// The peer agreed to keep the connection.
    keep: bool,
}

impl NodeBody {
    pub(super) fn new(
        body: Incoming,
        conn: Conn,
        pool: Arc<Pool<Conn>>,
        host: Arc<str>,
        keep: bool,
    ) -> Self {
        let held = Held {
            conn,
            pool,
            host,
            keep,
        };
        NodeBody {
            body,
            held: Some(held),
        }
    }
}

impl Body for NodeBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let mut polled = Pin::new(&mut this.body).poll_frame(cx);
        if polled.is_pending() {
            // The bytes come in only while the connection is polled.
            if let Some(held) = this.held.as_mut() {
                if let Drive::Finished(_) = held.conn.drive(cx) {
                    held.keep = false;
                }
            }
            polled = Pin::new(&mut this.body).poll_frame(cx);
        }
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            give_back(this.held.take(), this.body.is_end_stream());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for NodeBody {
    fn drop(&mut self) {
        // An ended body that was simply not polled to its `None` still
        // leaves a reusable connection.
        give_back(self.held.take(), self.body.is_end_stream());
    }
}

/// Returns the connection to the pool if the body `ended` and the peer
/// keeps it; closes it (by dropping it) otherwise.
fn give_back(held: Option<Held>, ended: bool) {
    let Some(held) = held else { return };
    if held.keep && ended && !held.conn.is_closed() {
        let mut conn = held.conn;
        conn.reused = true;
        held.pool.put(&held.host, conn);
    }
}

impl std::fmt::Debug for NodeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeBody")
            .field("pooled_on_end", &self.held.as_ref().is_some_and(|h| h.keep))
            .finish_non_exhaustive()
    }
}
