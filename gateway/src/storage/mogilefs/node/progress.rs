//! Time-outs on storage node requests that bound waiting, never a transfer
//! making progress, and that tell a slow client from a failing node.
//!
//! A request (and, for a PUT, its body) runs under a [`Watchdog`]. It fails
//! with a time-out only when the node has kept it waiting for the limit:
//!
//! ```text
//! connecting, sending the head        limit from the start
//! body: node not taking the next chunk limit since it took the last one
//! body: waiting for the client         no limit here (the client body's own
//!                                      time-out applies; the node is idle)
//! after the body: response head        limit from the last body byte
//! ```
//!
//! The body goes through [`Metered`], which records when the connection took
//! each chunk, whether it is waiting on the client, how many bytes went out,
//! and whether the client's body failed, so that a failure caused by the
//! client never marks the node as failed.

use crate::storage::body::ByteStream;
use bytes::Bytes;
use futures_util::Stream;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug)]
struct State {
    /// When the node last made progress (start, or took a chunk).
    last: Instant,
    /// The body is waiting for the client's next chunk.
    on_client: bool,
    /// Bytes handed to the connection.
    sent: u64,
    /// The client's body failed (or exceeded the size limit).
    client_failed: bool,
}

/// What a [`Metered`] body has seen, shared with its [`Watchdog`].
#[derive(Debug, Clone)]
pub struct Progress(Arc<Mutex<State>>);

impl Progress {
    /// Progress starting now.
    pub fn new() -> Self {
        Progress(Arc::new(Mutex::new(State {
            last: Instant::now(),
            on_client: false,
            sent: 0,
            client_failed: false,
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Body bytes the connection took.
    pub fn sent(&self) -> u64 {
        self.state().sent
    }

    /// Whether the client's side of the body failed.
    pub fn client_failed(&self) -> bool {
        self.state().client_failed
    }

    /// When the node will have kept the request waiting for `limit`, or
    /// `None` while the body waits for the client.
    fn deadline(&self, limit: Duration) -> Option<Instant> {
        let state = self.state();
        (!state.on_client).then(|| state.last + limit)
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

/// A request body that reports to a [`Progress`].
pub struct Metered {
    inner: ByteStream,
    progress: Progress,
}

impl Metered {
    /// `inner`, reporting to `progress`.
    pub fn new(inner: ByteStream, progress: Progress) -> Self {
        Metered { inner, progress }
    }
}

impl Stream for Metered {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        let mut state = self.progress.state();
        match &polled {
            Poll::Pending => state.on_client = true,
            Poll::Ready(item) => {
                state.on_client = false;
                state.last = Instant::now();
                match item {
                    Some(Ok(chunk)) => state.sent += chunk.len() as u64,
                    Some(Err(_)) => state.client_failed = true,
                    None => {}
                }
            }
        }
        polled
    }
}

/// Runs a request future under the waiting limit of [`Progress`].
pub struct Watchdog {
    progress: Progress,
    limit: Duration,
}

/// The node kept a request waiting for the whole limit.
#[derive(Debug, Clone, Copy)]
pub struct Stalled;

impl Watchdog {
    /// A watchdog over `progress` with `limit`.
    pub fn new(progress: Progress, limit: Duration) -> Self {
        Watchdog { progress, limit }
    }

    /// `fut`'s output, or [`Stalled`] once the node has kept it waiting for
    /// the limit.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, Stalled> {
        tokio::pin!(fut);
        loop {
            // While the client is awaited, look again after a while.
            let wake = self
                .progress
                .deadline(self.limit)
                .unwrap_or_else(|| Instant::now() + self.limit);
            tokio::select! {
                out = &mut fut => return Ok(out),
                () = tokio::time::sleep_until(wake) => {
                    if self
                        .progress
                        .deadline(self.limit)
                        .is_some_and(|d| d <= Instant::now())
                    {
                        return Err(Stalled);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    const LIMIT: Duration = Duration::from_millis(300);

    #[tokio::test]
    async fn a_node_taking_chunks_steadily_never_times_out() {
        let progress = Progress::new();
        let body: ByteStream = Box::pin(futures_util::stream::iter(0..10).then(|_| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(Bytes::from_static(b"0123456789"))
        }));
        let mut metered = Metered::new(body, progress.clone());
        // A "node" taking a chunk every 200 ms: 2 s in all (over 6 limits),
        // never 300 ms without progress.
        let node = async {
            while let Some(chunk) = metered.next().await {
                chunk.unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let started = Instant::now();
        Watchdog::new(progress.clone(), LIMIT)
            .run(node)
            .await
            .expect("no stall");
        assert!(started.elapsed() >= Duration::from_millis(1900));
        assert_eq!(progress.sent(), 100);
    }

    #[tokio::test]
    async fn a_slow_client_is_not_the_nodes_stall_but_a_silent_node_is() {
        let progress = Progress::new();
        let body: ByteStream = Box::pin(futures_util::stream::once(async {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            Ok(Bytes::from_static(b"late"))
        }));
        let mut metered = Metered::new(body, progress.clone());
        let node = async {
            while metered.next().await.is_some() {}
            // Body sent; the node never answers.
            std::future::pending::<()>().await;
        };
        let started = Instant::now();
        let outcome = Watchdog::new(progress.clone(), LIMIT).run(node).await;
        assert!(outcome.is_err());
        let waited = started.elapsed();
        // Not while the client was awaited (1 s), only after its last byte.
        assert!(
            waited >= Duration::from_millis(1300) && waited < Duration::from_millis(2500),
            "{waited:?}"
        );
        assert!(!progress.client_failed());
    }
}
