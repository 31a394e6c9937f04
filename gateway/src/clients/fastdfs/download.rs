//! The body of a DOWNLOAD_FILE reply as a stream of chunks.
//!
//! After an OK header of `pkg_len` bytes the connection belongs to the
//! stream, which yields exactly `pkg_len` bytes (read-ahead first) and then
//! puts the connection back in its pool. A stream dropped early, or cut by
//! the server, drops its connection instead: the unread rest of the body
//! would corrupt the next exchange. A server that stops sending for the I/O
//! time-out, or closes early, ends the stream with an error item, never with
//! a clean but short end.

use super::connection::Connection;
use crate::clients::Pool;
use bytes::Bytes;
use futures_util::stream::{self, Stream};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// A boxed stream of body chunks.
pub type ChunkStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A download in progress.
pub struct Download {
    len: u64,
    storage: SocketAddr,
    inner: ChunkStream,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("len", &self.len)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

/// What the stream owns between chunks.
struct State {
    conn: Option<Connection>,
    remaining: u64,
    pool: Arc<Pool<Connection>>,
    timeout: Duration,
}

impl Download {
    /// Streams the `len` bytes that follow an OK header on `conn`.
    pub(crate) fn new(
        conn: Connection,
        len: u64,
        pool: Arc<Pool<Connection>>,
        timeout: Duration,
    ) -> Self {
        let storage = conn.addr();
        let mut state = State {
            conn: Some(conn),
            remaining: len,
            pool,
            timeout,
        };
        if len == 0 {
            state.release();
        }
        Download {
            len,
            storage,
            inner: Box::pin(stream::unfold(state, next_chunk)),
        }
    }

    /// An empty body that needed no data from `storage` (a 0-byte file).
    pub(crate) fn empty(storage: SocketAddr) -> Self {
        Download {
            len: 0,
            storage,
            inner: Box::pin(stream::empty()),
        }
    }

    /// Bytes the stream yields in total.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty body.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The storage server the bytes come from.
    pub fn storage(&self) -> SocketAddr {
        self.storage
    }

    /// The chunks as a boxed stream.
    pub fn into_stream(self) -> ChunkStream {
        self.inner
    }
}

impl Stream for Download {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl State {
    /// The body was read to its end: the connection can serve again.
    fn release(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put(conn);
        }
    }
}

async fn next_chunk(mut state: State) -> Option<(io::Result<Bytes>, State)> {
    let mut conn = state.conn.take()?;
    let item = match conn.read_chunk(state.remaining, state.timeout).await {
        Ok(chunk) if chunk.is_empty() => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "storage {} closed the download {} bytes early",
                conn.addr(),
                state.remaining
            ),
        )),
        Ok(chunk) => {
            state.remaining -= chunk.len() as u64;
            state.conn = Some(conn);
            if state.remaining == 0 {
                // Released before the last chunk is handed out: a consumer
                // that stops at the expected length never polls again.
                state.release();
            }
            Ok(chunk)
        }
        Err(e) => Err(e),
    };
    Some((item, state))
}
