//! One persistent connection to a MogileFS tracker.
//!
//! The protocol allows one outstanding request per socket, so a connection is
//! used exclusively by one request at a time and returned to its pool after a
//! complete reply. A connection whose exchange failed halfway is dropped, never
//! reused: its next line could be the previous request's reply.

pub use crate::clients::CallError;
use dfs_protocol::mogilefs::line::LineCodec;
use dfs_protocol::mogilefs::line::{codec, Reply, Request};
use futures_util::{SinkExt, StreamExt};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_util::codec::{Framed, LinesCodecError};

/// A connected tracker socket with its line framing.
#[derive(Debug)]
pub struct Connection {
    framed: Framed<TcpStream, LineCodec>,
    addr: SocketAddr,
}

impl Connection {
    /// Connects to `addr` within `timeout`.
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, CallError> {
        let stream = crate::clients::connect(addr, timeout)
            .await
            .map_err(CallError::Connect)?;
        Ok(Connection {
            framed: Framed::new(stream, codec()),
            addr,
        })
    }

    /// The tracker's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `request` and reads its reply line within `timeout`.
    pub async fn call(&mut self, request: &Request, timeout: Duration) -> Result<Reply, CallError> {
        let line = request.encode();
        // The codec appends its own "\n"; the tracker strips an optional "\r".
        self.framed
            .send(line.trim_end_matches(['\r', '\n']))
            .await
            .map_err(|e| CallError::Send(lines_to_io(e)))?;
        let reply = tokio::time::timeout(timeout, self.framed.next())
            .await
            .map_err(|_| CallError::Timeout(timeout))?;
        match reply {
            None => Err(CallError::NoReply(io::ErrorKind::UnexpectedEof.into())),
            // Part of a line, then the end: a broken reply, not a missing one.
            Some(Err(LinesCodecError::Io(e))) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(CallError::BadReply(format!("truncated reply: {e}")))
            }
            Some(Err(LinesCodecError::Io(e))) => Err(CallError::NoReply(e)),
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => Err(CallError::BadReply(
                "reply line exceeds the length limit".into(),
            )),
            Some(Ok(line)) => Reply::parse(&line).map_err(|e| CallError::BadReply(e.to_string())),
        }
    }
}

impl crate::clients::Pooled for Connection {
    type Key = SocketAddr;
    fn pool_key(&self) -> SocketAddr {
        self.addr
    }
}

fn lines_to_io(e: LinesCodecError) -> io::Error {
    match e {
        LinesCodecError::Io(e) => e,
        LinesCodecError::MaxLineLengthExceeded => {
            io::Error::new(io::ErrorKind::InvalidInput, "line too long")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfs_protocol::mogilefs::Args;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    /// A scripted tracker: answers each line with the next canned reply.
    async fn scripted(replies: Vec<&'static str>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            for reply in replies {
                if lines.next_line().await.unwrap().is_none() {
                    return;
                }
                write.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn reads_replies_in_order_on_one_socket() {
        let addr = scripted(vec!["OK \r\n", "ERR unknown_key unknown_key\r\n"]).await;
        let mut conn = Connection::connect(addr, Duration::from_secs(1))
            .await
            .unwrap();
        let noop = Request::new("noop", Args::new());
        assert_eq!(
            conn.call(&noop, Duration::from_secs(1)).await.unwrap(),
            Reply::Ok(Args::new())
        );
        assert_eq!(
            conn.call(&noop, Duration::from_secs(1)).await.unwrap(),
            Reply::error("unknown_key")
        );
        let e = conn.call(&noop, Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(e, CallError::NoReply(_)), "{e}");
    }

    #[tokio::test]
    async fn garbage_and_silence_are_errors() {
        let addr = scripted(vec!["HTTP/1.0 400 Bad request\r\n"]).await;
        let mut conn = Connection::connect(addr, Duration::from_secs(1))
            .await
            .unwrap();
        let noop = Request::new("noop", Args::new());
        assert!(matches!(
            conn.call(&noop, Duration::from_secs(1)).await,
            Err(CallError::BadReply(_))
        ));

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move { listener.accept().await });
        let mut conn = Connection::connect(addr, Duration::from_secs(1))
            .await
            .unwrap();
        let e = conn
            .call(&noop, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(matches!(e, CallError::Timeout(_)), "{e}");
        hold.abort();
    }
}
