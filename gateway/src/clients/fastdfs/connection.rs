//! One persistent connection to a FastDFS tracker or storage server.
//!
//! Both allow one request in flight per socket, so a connection serves one
//! exchange at a time and goes back to its pool only after a complete reply:
//! one whose body was not read to the end is dropped, never reused, because
//! its next bytes would be the rest of that body. A connection that carried
//! file data (an upload) and got an error answer is never reused either: the
//! storage may have answered before reading the data, and it then reads the
//! rest of the data as requests (see [`Connection::send_unless_answered`]).
//!
//! The 10-byte header is decoded on its own (`Header::decode`); what follows
//! is either a small reply body, read whole, or file data, streamed from the
//! same `BufReader` (which holds any read-ahead) by [`super::download`].

pub use crate::clients::CallError;
use bytes::Bytes;
use dfs_protocol::fastdfs::{cmd, Command, Header, HEADER_LEN};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Largest file-data chunk: a download to a slow client pins about this
/// much until it reads on.
const CHUNK: usize = 8 * 1024;

/// Read-ahead buffer per connection, which lives as long as the connection
/// (pooled ones included): room for any reply header and the small reply
/// bodies; file data bypasses it (reads of at least its size go straight
/// into the chunk).
const READ_AHEAD: usize = 1024;

/// Largest reply body read whole; every non-download reply is far smaller.
const MAX_REPLY: u64 = 64 * 1024;

/// A connected socket and its read-ahead buffer.
#[derive(Debug)]
pub struct Connection {
    stream: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl Connection {
    /// Connects to `addr` within `timeout`.
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, CallError> {
        let stream = crate::clients::connect(addr, timeout)
            .await
            .map_err(CallError::Connect)?;
        Ok(Connection {
            stream: BufReader::with_capacity(READ_AHEAD, stream),
            addr,
        })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Writes request bytes (or a chunk of file data) within `timeout`.
    pub async fn send(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), CallError> {
        tokio::time::timeout(timeout, self.stream.get_mut().write_all(bytes))
            .await
            .map_err(|_| CallError::Timeout(timeout))?
            .map_err(CallError::Send)
    }

    /// Writes file data unless the server starts answering first: `Ok(true)`
    /// when all of `bytes` went out, `Ok(false)` when a reply (or a close)
    /// arrived before, in which case the rest is not written. A storage that
    /// refuses an upload answers before it has read the data and then parses
    /// the unread data as the next request, so none may follow its answer.
    pub async fn send_unless_answered(
        &mut self,
        bytes: &[u8],
        timeout: Duration,
    ) -> Result<bool, CallError> {
        if !self.stream.buffer().is_empty() {
            return Ok(false);
        }
        let (mut reader, mut writer) = self.stream.get_mut().split();
        let mut probe = [0u8; 1];
        tokio::select! {
            biased;
            _ = reader.peek(&mut probe) => Ok(false),
            written = tokio::time::timeout(timeout, writer.write_all(bytes)) => match written {
                Err(_) => Err(CallError::Timeout(timeout)),
                Ok(done) => done.map(|()| true).map_err(CallError::Send),
            },
        }
    }

    /// Resolves once the server has sent something (or closed, or failed):
    /// while waiting for more upload data, an early answer ends the wait.
    pub async fn answered(&self) {
        if self.stream.buffer().is_empty() {
            let _ = self.stream.get_ref().peek(&mut [0u8; 1]).await;
        }
    }

    /// Closes the connection with a reset, so that request bytes still queued
    /// on this side are dropped rather than delivered and read by the server
    /// as a next request. For connections whose exchange went wrong.
    pub fn abort(self) {
        let _ = self.stream.get_ref().set_zero_linger();
    }

    /// Reads a reply header within `timeout`.
    pub async fn read_header(&mut self, timeout: Duration) -> Result<Header, CallError> {
        let mut raw = [0u8; HEADER_LEN];
        let got = tokio::time::timeout(timeout, read_full(&mut self.stream, &mut raw))
            .await
            .map_err(|_| CallError::Timeout(timeout))?
            .map_err(CallError::NoReply)?;
        match got {
            // Closed before a byte: an idle connection the server dropped.
            0 => return Err(CallError::NoReply(io::ErrorKind::UnexpectedEof.into())),
            n if n < raw.len() => {
                return Err(CallError::BadReply(format!(
                    "truncated header: {n} of {} bytes",
                    raw.len()
                )))
            }
            _ => {}
        }
        let header = Header::decode(&raw).map_err(|e| CallError::BadReply(e.to_string()))?;
        if header.cmd != cmd::RESP {
            return Err(CallError::BadReply(format!(
                "reply command {} is not 100",
                header.cmd
            )));
        }
        Ok(header)
    }

    /// Reads a small reply body of `len` bytes within `timeout`.
    pub async fn read_body(&mut self, len: u64, timeout: Duration) -> Result<Vec<u8>, CallError> {
        if len > MAX_REPLY {
            return Err(CallError::BadReply(format!(
                "{len}-byte reply body exceeds {MAX_REPLY}"
            )));
        }
        let mut body = vec![0u8; len as usize];
        let got = tokio::time::timeout(timeout, read_full(&mut self.stream, &mut body))
            .await
            .map_err(|_| CallError::Timeout(timeout))?
            .map_err(CallError::NoReply)?;
        if got < body.len() {
            // The header promised more than came: a broken reply.
            return Err(CallError::BadReply(format!(
                "truncated reply: {got} of {len} body bytes"
            )));
        }
        Ok(body)
    }

    /// Reads the next chunk of file data, at most `max` bytes, within
    /// `timeout`; an empty chunk means the server closed the connection.
    pub async fn read_chunk(&mut self, max: u64, timeout: Duration) -> io::Result<Bytes> {
        let mut buf = bytes::BytesMut::with_capacity(max.min(CHUNK as u64) as usize);
        let limited = (&mut self.stream).take(max);
        tokio::pin!(limited);
        tokio::time::timeout(timeout, limited.read_buf(&mut buf))
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no data from {} within {timeout:?}", self.addr),
                )
            })??;
        Ok(buf.freeze())
    }

    /// One exchange of a command without file data: the parsed reply, or the
    /// server's error status.
    pub async fn call<C: Command>(
        &mut self,
        command: &C,
        timeout: Duration,
    ) -> Result<Result<C::Reply, u8>, CallError> {
        debug_assert_eq!(command.data_len(), 0, "{} carries file data", C::NAME);
        self.send(&command.encode_request(), timeout).await?;
        self.read_reply::<C>(timeout).await
    }

    /// Reads the reply to command `C` (whose request, and data, were sent).
    pub async fn read_reply<C: Command>(
        &mut self,
        timeout: Duration,
    ) -> Result<Result<C::Reply, u8>, CallError> {
        let header = self.read_header(timeout).await?;
        let body = self.read_body(header.pkg_len, timeout).await?;
        if !header.is_ok() {
            return Ok(Err(header.status));
        }
        C::parse_reply(&body)
            .map(Ok)
            .map_err(|e| CallError::BadReply(e.to_string()))
    }
}

impl crate::clients::Pooled for Connection {
    type Key = SocketAddr;
    fn pool_key(&self) -> SocketAddr {
        self.addr
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
async fn read_full<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfs_protocol::fastdfs::status;
    use dfs_protocol::fastdfs::tracker::ActiveTest;
    use tokio::net::TcpListener;

    /// A scripted server: reads one header per reply and answers with it.
    async fn scripted(replies: Vec<Vec<u8>>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            for reply in replies {
                let mut header = [0u8; HEADER_LEN];
                if socket.read_exact(&mut header).await.is_err() {
                    return;
                }
                socket.write_all(&reply).await.unwrap();
            }
        });
        addr
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn replies_in_order_then_eof() {
        let ok = Header::reply(0, 0).encode().to_vec();
        let busy = Header::error(status::EBUSY).encode().to_vec();
        let addr = scripted(vec![ok, busy]).await;
        let mut conn = Connection::connect(addr, SECOND).await.unwrap();
        assert_eq!(conn.call(&ActiveTest, SECOND).await.unwrap(), Ok(()));
        assert_eq!(
            conn.call(&ActiveTest, SECOND).await.unwrap(),
            Err(status::EBUSY)
        );
        let e = conn.call(&ActiveTest, SECOND).await.unwrap_err();
        assert!(e.is_stale(), "{e}");
    }

    #[tokio::test]
    async fn garbage_and_silence_are_errors() {
        let not_a_reply = Header::request(11, 0, 0).encode().to_vec();
        let long_body = Header::reply(0, 1 << 20).encode().to_vec();
        let addr = scripted(vec![not_a_reply]).await;
        let mut conn = Connection::connect(addr, SECOND).await.unwrap();
        assert!(matches!(
            conn.call(&ActiveTest, SECOND).await,
            Err(CallError::BadReply(_))
        ));
        let addr = scripted(vec![long_body]).await;
        let mut conn = Connection::connect(addr, SECOND).await.unwrap();
        assert!(matches!(
            conn.call(&ActiveTest, SECOND).await,
            Err(CallError::BadReply(_))
        ));

        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let hold = tokio::spawn(async move { silent.accept().await });
        let mut conn = Connection::connect(addr, SECOND).await.unwrap();
        let e = conn
            .call(&ActiveTest, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(e.is_timeout(), "{e}");
        hold.abort();
    }
}
