//! One log line per request: method, path, status, bytes, duration, and which
//! tracker and storage node were involved. The line is written when the
//! response body has been sent (or abandoned), so the byte count and the
//! duration cover the whole transfer, not just the response head.

use crate::error::ErrorDetail;
use crate::storage::Source;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// Middleware: wraps the response body so that its end writes the log line.
pub async fn log_request(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let source = parts.extensions.remove::<Source>().unwrap_or_default();
    let error = parts.extensions.remove::<ErrorDetail>();
    let entry = Entry {
        start,
        method,
        path,
        status: parts.status.as_u16(),
        source,
        error,
        bytes: 0,
        outcome: "aborted",
    };
    Response::from_parts(parts, Body::new(LoggedBody { inner: body, entry }))
}

struct Entry {
    start: Instant,
    method: axum::http::Method,
    path: String,
    status: u16,
    source: Source,
    error: Option<ErrorDetail>,
    bytes: u64,
    outcome: &'static str,
}

impl Drop for Entry {
    fn drop(&mut self) {
        let tracker = self.source.tracker.map(|t| t.to_string());
        tracing::info!(
            target: "access",
            method = %self.method,
            path = %self.path,
            status = self.status,
            bytes = self.bytes,
            ms = self.start.elapsed().as_secs_f64() * 1000.0,
            tracker = tracker.as_deref().unwrap_or("-"),
            node = self.source.node.as_deref().unwrap_or("-"),
            body = self.outcome,
            error = self.error.as_ref().map(|e| e.0.as_str()).unwrap_or(""),
        );
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

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
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
