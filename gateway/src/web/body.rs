//! The request body's idle time-out (nginx's `client_body_timeout`): the
//! longest the gateway waits for the next bytes of a body it is reading.
//!
//! The clock runs only while the gateway waits for the client: time spent
//! waiting for a storage node to take the bytes already read does not count,
//! so back-pressure never turns into a client time-out.

use axum::body::Body;
use axum::extract::Request;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The client sent no body bytes for the time-out.
#[derive(Debug, thiserror::Error)]
#[error("the client sent no request body bytes for {0:?} (server.client_body_timeout)")]
pub struct BodyStalled(pub Duration);

/// Set once a body's time-out has fired, for the handler's caller to turn
/// whatever error followed into a 408.
#[derive(Debug, Clone, Default)]
pub struct Stalled(Arc<AtomicBool>);

impl Stalled {
    /// Whether the time-out fired.
    pub fn fired(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// `request` with its body under the idle time-out `limit`.
pub fn with_idle_timeout(request: Request, limit: Duration) -> (Request, Stalled) {
    let stalled = Stalled::default();
    let request = request.map(|inner| {
        Body::new(IdleBody {
            inner,
            limit,
            timer: None,
            waiting: false,
            stalled: stalled.clone(),
        })
    });
    (request, stalled)
}

struct IdleBody {
    inner: Body,
    limit: Duration,
    /// Made on the first wait, so bodies that never wait cost no timer.
    timer: Option<Pin<Box<Sleep>>>,
    /// Whether the last poll was pending (the clock is running).
    waiting: bool,
    stalled: Stalled,
}

impl HttpBody for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.stalled.fired() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.waiting = false;
            return Poll::Ready(frame);
        }
        let deadline = Instant::now() + this.limit;
        let timer = match &mut this.timer {
            Some(timer) => {
                if !this.waiting {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => this
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        this.waiting = true;
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.stalled.0.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(axum::Error::new(BodyStalled(this.limit)))))
            }
            Poll::Pending => Poll::Pending,
        }
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
    use futures_util::StreamExt;

    const MS: Duration = Duration::from_millis(1);

    /// A body that yields "a", then waits `pause`, then yields "b".
    fn paused(pause: Duration) -> Request {
        let first = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("a"))]);
        let second = futures_util::stream::once(async move {
            tokio::time::sleep(pause).await;
            Ok(Bytes::from("b"))
        });
        Request::new(Body::from_stream(first.chain(second)))
    }

    async fn read(request: Request) -> Result<Vec<u8>, String> {
        let mut stream = request.into_body().into_data_stream();
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            out.extend_from_slice(&item.map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn a_pause_shorter_than_the_limit_passes() {
        let (request, stalled) = with_idle_timeout(paused(50 * MS), 300 * MS);
        assert_eq!(read(request).await.unwrap(), b"ab");
        assert!(!stalled.fired());
    }

    #[tokio::test]
    async fn a_longer_pause_fails_the_body() {
        let (request, stalled) = with_idle_timeout(paused(2000 * MS), 100 * MS);
        let start = Instant::now();
        let err = read(request).await.unwrap_err();
        assert!(err.contains("client_body_timeout"), "{err}");
        assert!(stalled.fired());
        assert!(start.elapsed() < 1000 * MS, "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn time_the_reader_spends_elsewhere_does_not_count() {
        // The client sends "y" soon, but the reader comes back for it only
        // after three times the limit (a slow storage node): no time-out.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
        let body = Body::from_stream(tokio_stream_of(rx));
        let (request, stalled) = with_idle_timeout(Request::new(body), 100 * MS);
        let mut stream = request.into_body().into_data_stream();
        tx.send(Ok(Bytes::from("x"))).await.unwrap();
        assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"x");
        tx.send(Ok(Bytes::from("y"))).await.unwrap();
        drop(tx);
        tokio::time::sleep(300 * MS).await;
        assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"y");
        assert!(stream.next().await.is_none());
        assert!(!stalled.fired());
    }

    fn tokio_stream_of<T: Send + 'static>(
        rx: tokio::sync::mpsc::Receiver<T>,
    ) -> impl futures_util::Stream<Item = T> + Send {
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|t| (t, rx)) })
    }
}
