//! Byte streams between the client and storage nodes.
//!
//! Nothing here buffers a body: each type passes chunks through as they come,
//! counting, cutting or checking them on the way.

use bytes::Bytes;
use futures_util::Stream;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// A boxed stream of body chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Fails a stream that yields nothing for `limit`: a storage node that stalls
/// mid-body must end the client's response, not hold it open for ever.
pub struct IdleTimeout {
    inner: ByteStream,
    limit: Duration,
    /// When this wait for the node began; `None` while the consumer holds
    /// the last chunk. A slow client that polls late is not the node's
    /// stall, so the clock starts at the first poll that finds nothing.
    waiting_since: Option<Instant>,
    timer: Pin<Box<Sleep>>,
}

impl IdleTimeout {
    /// `inner`, failing after `limit` without a chunk.
    pub fn new(inner: ByteStream, limit: Duration) -> Self {
        let now = Instant::now();
        IdleTimeout {
            inner,
            limit,
            waiting_since: Some(now),
            timer: Box::pin(tokio::time::sleep_until(now + limit)),
        }
    }
}

impl Stream for IdleTimeout {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(item) => {
                this.waiting_since = None;
                Poll::Ready(item)
            }
            Poll::Pending => {
                // The timer is moved only when a new wait begins, not per chunk.
                let since = *this.waiting_since.get_or_insert_with(Instant::now);
                let deadline = since + this.limit;
                if this.timer.deadline() != deadline {
                    this.timer.as_mut().reset(deadline);
                }
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("storage node sent nothing for {:?}", this.limit),
                    )))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

/// The bytes `skip..skip + take` of an inner stream, failing if the inner
/// stream ends early: a storage node that dies mid-body must break the
/// client's response, never end it as a clean but short one.
pub struct Window {
    inner: Option<ByteStream>,
    skip: u64,
    remaining: u64,
}

impl Window {
    /// The bytes `skip..skip + take` of `inner`.
    pub fn new(inner: ByteStream, skip: u64, take: u64) -> Self {
        Window {
            inner: Some(inner),
            skip,
            remaining: take,
        }
    }
}

impl Stream for Window {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.remaining == 0 {
                // Dropping the inner stream releases the storage connection now.
                self.inner = None;
                return Poll::Ready(None);
            }
            let Some(inner) = self.inner.as_mut() else {
                return Poll::Ready(None);
            };
            let mut chunk = match inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => chunk,
                Poll::Ready(Some(Err(e))) => {
                    self.inner = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    let missing = self.remaining;
                    self.inner = None;
                    self.remaining = 0;
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("storage node ended the body {missing} bytes early"),
                    ))));
                }
            };
            if self.skip > 0 {
                let cut = self.skip.min(chunk.len() as u64);
                self.skip -= cut;
                chunk = chunk.slice(cut as usize..);
            }
            if chunk.is_empty() {
                continue;
            }
            if chunk.len() as u64 > self.remaining {
                chunk.truncate(self.remaining as usize);
            }
            self.remaining -= chunk.len() as u64;
            return Poll::Ready(Some(Ok(chunk)));
        }
    }
}

/// Why an upload body stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFault {
    /// More than the allowed bytes arrived.
    TooLarge,
    /// The client's side failed (disconnect, bad chunked encoding).
    Client,
}

/// How much of an upload is kept so that it can be sent again to another
/// destination if the first one fails early. Bounded, so memory per upload
/// stays small; a destination failing later than this fails the upload.
pub const REPLAY_WINDOW: u64 = 256 * 1024;

struct Shared {
    stream: ByteStream,
    /// Bytes taken from the client so far.
    pulled: u64,
    limit: u64,
    fault: Option<BodyFault>,
    /// The first chunks, while they fit in [`REPLAY_WINDOW`].
    replay: Vec<Bytes>,
    /// False once more than the window has been taken.
    replayable: bool,
}

/// A client's upload body, bounded by a size limit, that can be offered to
/// several destinations in turn as long as the earlier ones failed within
/// the first [`REPLAY_WINDOW`] bytes.
#[derive(Clone)]
pub struct UploadBody {
    shared: Arc<Mutex<Shared>>,
}

impl UploadBody {
    /// Wraps `stream`, refusing more than `limit` bytes.
    pub fn new(stream: ByteStream, limit: u64) -> Self {
        UploadBody {
            shared: Arc::new(Mutex::new(Shared {
                stream,
                pulled: 0,
                limit,
                fault: None,
                replay: Vec::new(),
                replayable: true,
            })),
        }
    }

    /// Bytes taken from the client so far.
    pub fn sent(&self) -> u64 {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pulled
    }

    /// Whether the client's side failed or exceeded the limit.
    pub fn fault(&self) -> Option<BodyFault> {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fault
    }

    /// Whether another destination can still get the whole body.
    pub fn can_restart(&self) -> bool {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.replayable && shared.fault.is_none()
    }

    /// A stream over the whole body for one destination: the kept chunks
    /// first, then the rest from the client.
    pub fn attempt(&self) -> ByteStream {
        Box::pin(Attempt {
            shared: self.shared.clone(),
            next: 0,
        })
    }
}

/// One destination's view of an [`UploadBody`].
struct Attempt {
    shared: Arc<Mutex<Shared>>,
    /// Index of the next kept chunk to replay.
    next: usize,
}

impl Stream for Attempt {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let shared = self.shared.clone();
        let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
        if shared.fault.is_some() {
            return Poll::Ready(Some(Err(io::Error::other("upload body already failed"))));
        }
        if let Some(chunk) = shared.replay.get(self.next) {
            self.next += 1;
            return Poll::Ready(Some(Ok(chunk.clone())));
        }
        match shared.stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                shared.pulled += chunk.len() as u64;
                if shared.pulled > shared.limit {
                    shared.fault = Some(BodyFault::TooLarge);
                    return Poll::Ready(Some(Err(io::Error::other(
                        "upload exceeds the body size limit",
                    ))));
                }
                if shared.replayable && shared.pulled <= REPLAY_WINDOW {
                    shared.replay.push(chunk.clone());
                    self.next = shared.replay.len();
                } else if shared.replayable {
                    shared.replayable = false;
                    shared.replay = Vec::new();
                    self.next = 0;
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                shared.fault = Some(BodyFault::Client);
                Poll::Ready(Some(Err(e)))
            }
            other => other,
        }
    }
}

/// The first bytes of `body`, at most `limit` of them: reading stops there,
/// so a caller that allows one byte less than `limit` sees an over-long
/// body as too long without the rest being read.
///
/// The buffer holds `expected` bytes from the start (the length the store
/// reported; 0 when unknown), so that a body read whole is one allocation
/// of its own size instead of a doubling series that keeps up to twice it.
pub async fn read_at_most(mut body: ByteStream, limit: u64, expected: u64) -> io::Result<Bytes> {
    use futures_util::StreamExt;
    let capacity = usize::try_from(expected.min(limit)).unwrap_or(0);
    let mut out = bytes::BytesMut::with_capacity(capacity);
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        let room = usize::try_from(limit - out.len() as u64).unwrap_or(usize::MAX);
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() as u64 >= limit {
            break;
        }
    }
    Ok(out.freeze())
}

/// A body of bytes already in memory (a cached object, a transformed one),
/// as the same stream type a storage read returns.
pub fn from_bytes(bytes: Bytes) -> ByteStream {
    Box::pin(futures_util::stream::once(async move { Ok(bytes) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn chunks(parts: &[&'static str]) -> ByteStream {
        let items: Vec<io::Result<Bytes>> = parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p.as_bytes())))
            .collect();
        Box::pin(futures_util::stream::iter(items))
    }

    async fn collect(
        mut s: impl Stream<Item = io::Result<Bytes>> + Unpin,
    ) -> (Vec<u8>, Option<io::ErrorKind>) {
        let mut out = Vec::new();
        while let Some(item) = s.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(e) => return (out, Some(e.kind())),
            }
        }
        (out, None)
    }

    /// "a" at once, then "b" `delay` after the consumer asks for it.
    fn a_then_b_after(delay: Duration) -> ByteStream {
        let a = futures_util::stream::iter([Ok(Bytes::from_static(b"a"))]);
        let b = futures_util::stream::once(async move {
            tokio::time::sleep(delay).await;
            Ok(Bytes::from_static(b"b"))
        });
        Box::pin(a.chain(b))
    }

    #[tokio::test]
    async fn idle_timeout_does_not_count_a_slow_consumer() {
        let limit = Duration::from_millis(200);
        let mut s = IdleTimeout::new(a_then_b_after(Duration::from_millis(20)), limit);
        assert_eq!(&s.next().await.unwrap().unwrap()[..], b"a");
        // The client holds the chunk for longer than the limit: the node is
        // not at fault, and the next chunk is still served.
        tokio::time::sleep(limit * 2).await;
        assert_eq!(&s.next().await.unwrap().unwrap()[..], b"b");
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn idle_timeout_fails_a_node_that_stalls() {
        let limit = Duration::from_millis(50);
        let mut s = IdleTimeout::new(a_then_b_after(Duration::from_secs(5)), limit);
        assert_eq!(&s.next().await.unwrap().unwrap()[..], b"a");
        let err = s.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn window_cuts_across_chunks() {
        let (out, err) = collect(Window::new(
            chunks(&["hello ", "mogilefs ", "vector"]),
            6,
            8,
        ))
        .await;
        assert_eq!((out.as_slice(), err), (&b"mogilefs"[..], None));
        let (out, err) = collect(Window::new(chunks(&["abc"]), 0, 3)).await;
        assert_eq!((out.as_slice(), err), (&b"abc"[..], None));
    }

    #[tokio::test]
    async fn window_fails_when_the_node_stops_early() {
        let (out, err) = collect(Window::new(chunks(&["abc", "de"]), 1, 10)).await;
        assert_eq!(out, b"bcde");
        assert_eq!(err, Some(io::ErrorKind::UnexpectedEof));
    }

    #[tokio::test]
    async fn upload_body_counts_and_limits() {
        let body = UploadBody::new(chunks(&["12345", "678"]), 100);
        let (out, err) = collect(body.attempt()).await;
        assert_eq!((out.len(), err), (8, None));
        assert_eq!(body.sent(), 8);
        assert_eq!(body.fault(), None);

        let body = UploadBody::new(chunks(&["12345", "678"]), 6);
        let (_, err) = collect(body.attempt()).await;
        assert!(err.is_some());
        assert_eq!(body.fault(), Some(BodyFault::TooLarge));
    }

    #[tokio::test]
    async fn a_body_within_the_window_can_be_offered_again() {
        let body = UploadBody::new(chunks(&["abc", "def", "ghi"]), 100);
        let mut first = body.attempt();
        assert_eq!(&first.next().await.unwrap().unwrap()[..], b"abc");
        assert_eq!(&first.next().await.unwrap().unwrap()[..], b"def");
        drop(first);
        assert!(body.can_restart());
        let (out, err) = collect(body.attempt()).await;
        assert_eq!((out.as_slice(), err), (&b"abcdefghi"[..], None));
        assert_eq!(body.sent(), 9);
    }

    #[tokio::test]
    async fn a_body_past_the_window_cannot_restart() {
        let big = Bytes::from(vec![7u8; REPLAY_WINDOW as usize]);
        let items: Vec<io::Result<Bytes>> = vec![Ok(big.clone()), Ok(Bytes::from_static(b"x"))];
        let body = UploadBody::new(Box::pin(futures_util::stream::iter(items)), u64::MAX);
        let mut first = body.attempt();
        first.next().await.unwrap().unwrap();
        assert!(body.can_restart());
        first.next().await.unwrap().unwrap();
        assert!(!body.can_restart());
    }

    #[tokio::test]
    async fn a_body_read_is_the_same_whatever_length_was_expected() {
        for expected in [0, 3, 8, 11, 1 << 20] {
            let got = read_at_most(chunks(&["abc", "defgh"]), 100, expected).await;
            assert_eq!(&got.unwrap()[..], b"abcdefgh", "expected {expected}");
            let cut = read_at_most(chunks(&["abc", "defgh"]), 5, expected).await;
            assert_eq!(&cut.unwrap()[..], b"abcde", "expected {expected}");
        }
    }
}
