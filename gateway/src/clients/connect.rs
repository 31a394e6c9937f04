//! Opening a TCP connection with a time-out, for every client: trackers,
//! FastDFS storage servers, and anything else that dials a server.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// Connects to `addr` within `timeout`, with Nagle's algorithm off: requests
/// are small and each waits for its answer. A time-out is an error of kind
/// [`io::ErrorKind::TimedOut`] naming the address.
pub async fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect to {addr} timed out after {timeout:?}"),
            )
        })??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    //! - a listening server is reached, with Nagle off;
    //! - a refused connect is an error, not a time-out;
    //! - a connect that cannot finish times out with the address named.
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn connects_with_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = connect(addr, Duration::from_secs(1)).await.unwrap();
        assert!(stream.nodelay().unwrap());
    }

    #[tokio::test]
    async fn refused_is_not_a_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = connect(addr, Duration::from_secs(1)).await.unwrap_err();
        assert_ne!(e.kind(), io::ErrorKind::TimedOut, "{e}");
    }

    #[tokio::test]
    async fn a_connect_that_cannot_finish_times_out() {
        // A listener that never accepts, with the smallest backlog: once the
        // queue is full, further handshakes go unanswered.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let listener = socket.listen(1).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut held = Vec::new();
        let mut last = None;
        for _ in 0..16 {
            match connect(addr, Duration::from_millis(100)).await {
                Ok(stream) => held.push(stream),
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
        let e = last.expect("the backlog filled up");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
    }
}
