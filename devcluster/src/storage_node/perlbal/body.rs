//! Request bodies as Perlbal reads them: `Content-Length`, exactly
//! `chunked`, or none at all.
//!
//! The bytes are handed to the node's handler through a channel as they
//! arrive. Chunked decoding keeps Perlbal's ways (`ChunkedUploadState.pm`):
//! the upload ends at the `0` size line; the CRLF after it is taken only if
//! it is already buffered, and anything else buffered then is dropped.

use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::{HeaderMap, Method};
use bytes::Bytes;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc::Sender;

/// Longest wait for more body bytes (Perlbal waits as long as the client).
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest chunk size line.
const MAX_SIZE_LINE: u64 = 1024;

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body: no length, and not exactly `chunked`.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`, case-sensitive as in Perlbal.
    Chunked,
}

impl Framing {
    pub(super) fn of(method: &Method, headers: &HeaderMap) -> Framing {
        let length = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        match length {
            Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
            None if method == Method::PUT
                && headers
                    .get(TRANSFER_ENCODING)
                    .is_some_and(|v| v.as_bytes() == b"chunked") =>
            {
                Framing::Chunked
            }
            None => Framing::Empty,
        }
    }
}

type Conn = BufReader<TcpStream>;

/// Reads the body and sends it on `tx`. `Ok(true)`: all of it was read, the
/// connection can carry another request; `Ok(false)`: the handler stopped
/// taking it, the rest is unread.
pub(super) async fn feed(
    conn: &mut Conn,
    framing: Framing,
    tx: Sender<io::Result<Bytes>>,
) -> io::Result<bool> {
    let read = match framing {
        Framing::Empty => return Ok(true),
        Framing::Length(n) => exact(conn, n, &tx).await,
        Framing::Chunked => chunked(conn, &tx).await,
    };
    match read {
        Ok(all) => Ok(all),
        Err(e) => {
            // The handler sees the body fail; the connection is done.
            let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string()))).await;
            Err(e)
        }
    }
}

/// Forwards exactly `n` bytes; `Ok(false)` when the handler went away.
async fn exact(conn: &mut Conn, mut n: u64, tx: &Sender<io::Result<Bytes>>) -> io::Result<bool> {
    while n > 0 {
        let buf = timed(conn.fill_buf()).await?;
        if buf.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let take = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
        let chunk = Bytes::copy_from_slice(&buf[..take]);
        conn.consume(take);
        n -= take as u64;
        if tx.send(Ok(chunk)).await.is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Chunked decoding, Perlbal style.
async fn chunked(conn: &mut Conn, tx: &Sender<io::Result<Bytes>>) -> io::Result<bool> {
    loop {
        let size = size_line(conn).await?;
        if size == 0 {
            // Taken only if already here; whatever else was read ahead is lost.
            let ahead = conn.buffer().len();
            conn.consume(ahead);
            return Ok(true);
        }
        if !exact(conn, size, tx).await? {
            return Ok(false);
        }
        let mut crlf = [0u8; 2];
        timed(conn.read_exact(&mut crlf)).await?;
        if &crlf != b"\r\n" {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunk not followed by CRLF",
            ));
        }
    }
}

/// A chunk size line: hex digits, optional `;extension`, CRLF.
async fn size_line(conn: &mut Conn) -> io::Result<u64> {
    let mut line = Vec::new();
    timed(
        (&mut *conn)
            .take(MAX_SIZE_LINE)
            .read_until(b'\n', &mut line),
    )
    .await?;
    let text = std::str::from_utf8(&line)
        .ok()
        .and_then(|l| l.strip_suffix('\n'))
        .map(|l| l.trim_end_matches('\r'));
    let digits = text.map(|l| l.split(';').next().unwrap_or_default().trim());
    digits
        .filter(|d| !d.is_empty())
        .and_then(|d| u64::from_str_radix(d, 16).ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size line"))
}

async fn timed<T>(read: impl std::future::Future<Output = io::Result<T>>) -> io::Result<T> {
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "body read timed out"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn framing_is_perlbals() {
        let mut h = HeaderMap::new();
        assert_eq!(Framing::of(&Method::PUT, &h), Framing::Empty);
        h.insert(TRANSFER_ENCODING, HeaderValue::from_static("Chunked"));
        assert_eq!(Framing::of(&Method::PUT, &h), Framing::Empty);
        h.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        assert_eq!(Framing::of(&Method::PUT, &h), Framing::Chunked);
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert_eq!(Framing::of(&Method::PUT, &h), Framing::Length(12));
    }
}
