//! The server side of one connection: read a header, then either a small
//! body or a stream of file data; write replies.
//!
//! Reads go through a `BufReader`, which is also the read-ahead buffer that
//! file data is streamed from after the fixed part of an upload.

use dfs_protocol::fastdfs::{Command, Header, HEADER_LEN};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Largest body read whole; tracker and non-upload storage bodies are tiny.
pub(crate) const MAX_SMALL_BODY: u64 = 64 * 1024;

/// One accepted connection.
#[derive(Debug)]
pub(crate) struct ServerConn {
    stream: BufReader<TcpStream>,
}

impl ServerConn {
    pub(crate) fn new(stream: TcpStream) -> Self {
        ServerConn {
            stream: BufReader::with_capacity(64 * 1024, stream),
        }
    }

    /// The next request's header; `None` when the client closed cleanly.
    pub(crate) async fn read_header(&mut self) -> io::Result<Option<Header>> {
        let mut raw = [0u8; HEADER_LEN];
        let first = self.stream.read(&mut raw).await?;
        if first == 0 {
            return Ok(None);
        }
        self.stream.read_exact(&mut raw[first..]).await?;
        Header::decode(&raw)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Reads `len` bytes of a small body.
    pub(crate) async fn read_exact_vec(&mut self, len: u64) -> io::Result<Vec<u8>> {
        if len > MAX_SMALL_BODY {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request body too large",
            ));
        }
        let mut body = vec![0u8; len as usize];
        self.stream.read_exact(&mut body).await?;
        Ok(body)
    }

    /// The reader that file data is streamed from.
    pub(crate) fn data(&mut self) -> &mut (impl AsyncRead + Unpin) {
        &mut self.stream
    }

    /// Sends an OK reply to command `C`.
    pub(crate) async fn reply<C: Command>(&mut self, reply: &C::Reply) -> io::Result<()> {
        self.write(&C::encode_reply(reply)).await
    }

    /// Sends an error reply: a bare header with `status`.
    pub(crate) async fn error(&mut self, status: u8) -> io::Result<()> {
        self.write(&Header::error(status).encode()).await
    }

    /// Writes raw bytes.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.get_mut().write_all(bytes).await
    }

    /// The socket, for streaming a download.
    pub(crate) fn socket(&mut self) -> &mut TcpStream {
        self.stream.get_mut()
    }
}
