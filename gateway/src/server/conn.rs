//! One client connection's idle time-out, for HTTP/1 and HTTP/2 alike.
//!
//! A connection is busy from the moment a request reaches the router until
//! its response body has been sent or dropped. A connection that is not busy
//! for the idle limit is closed: an HTTP/1 keep-alive connection waiting for
//! its next request, an HTTP/2 connection with no stream open, and one that
//! never completes a request head (an unfinished HEADERS block included).

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower::ServiceExt;

/// What a connection is doing: requests in progress, and when the last ended.
#[derive(Debug)]
pub struct Activity {
    state: Mutex<(usize, Instant)>,
}

impl Activity {
    /// A connection that has just opened (idle since now).
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            state: Mutex::new((0, Instant::now())),
        })
    }

    fn update(&self, f: impl FnOnce(&mut (usize, Instant))) {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// When the connection will have been idle for `limit`; `None` while busy.
    fn idle_deadline(&self, limit: Duration) -> Option<Instant> {
        let (busy, since) = *self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (busy == 0).then(|| since + limit)
    }
}

/// Completes once the connection has been idle for `limit`.
pub async fn idle(activity: Arc<Activity>, limit: Duration) {
    loop {
        match activity.idle_deadline(limit) {
            Some(deadline) if deadline <= Instant::now() => return,
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            // Busy: look again later; the end of a request resets the clock.
            None => tokio::time::sleep(limit).await,
        }
    }
}

/// Marks the connection busy while alive.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: Arc<Activity>) -> Self {
        activity.update(|s| s.0 += 1);
        Busy(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0
            .update(|s| *s = (s.0.saturating_sub(1), Instant::now()));
    }
}

/// The router as a hyper service that keeps a connection's [`Activity`].
#[derive(Clone)]
pub struct Tracked {
    router: Router,
    activity: Arc<Activity>,
    peer: SocketAddr,
}

impl Tracked {
    /// Serves `router` to the client at `peer`, recording requests in
    /// `activity`; each request carries the peer address (axum's
    /// `ConnectInfo`) for access rules and the log.
    pub fn new(router: Router, activity: Arc<Activity>, peer: SocketAddr) -> Self {
        Tracked {
            router,
            activity,
            peer,
        }
    }
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<axum::http::Response<TrackedBody>, Infallible>> + Send>>;

impl hyper::service::Service<axum::http::Request<Incoming>> for Tracked {
    type Response = axum::http::Response<TrackedBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut request: axum::http::Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let busy = Busy::new(self.activity.clone());
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(request).await?;
            Ok(response.map(|inner| TrackedBody { inner, _busy: busy }))
        })
    }
}

/// A response body that keeps its connection busy until sent or dropped.
pub struct TrackedBody {
    inner: Body,
    _busy: Busy,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn idle_waits_for_the_last_request_to_end() {
        let activity = Activity::new();
        let limit = 100 * MS;
        let busy = Busy::new(activity.clone());
        let start = Instant::now();
        let waiting = tokio::spawn(idle(activity.clone(), limit));
        tokio::time::sleep(250 * MS).await;
        assert!(!waiting.is_finished(), "a busy connection is never idle");
        drop(busy);
        waiting.await.unwrap();
        assert!(start.elapsed() >= 350 * MS, "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn a_fresh_connection_is_idle_after_the_limit() {
        let start = Instant::now();
        idle(Activity::new(), 100 * MS).await;
        assert!(start.elapsed() >= 100 * MS);
    }
}
