//! A TCP service on a fixed loopback address that can be stopped and started
//! again, for every devcluster server (MogileFS trackers, storage nodes,
//! FastDFS trackers and storage servers).
//!
//! Each needs what a killed and restarted daemon looks like to a client:
//! while stopped the port refuses connections and every connection that was
//! open is cut; started again, the same address answers. `axum::serve`
//! cannot abort in-flight connections, so the accept loop lives here and
//! owns its connection tasks: aborting the loop drops them.

use futures_util::future::BoxFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Serves one accepted connection until it ends.
pub(crate) type Handler = Arc<dyn Fn(TcpStream) -> BoxFuture<'static, ()> + Send + Sync>;

/// A listener and its connections, stoppable and restartable on the same address.
pub(crate) struct Service {
    addr: SocketAddr,
    handler: Handler,
    running: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").field("addr", &self.addr).finish()
    }
}

impl Service {
    /// Binds loopback `addr` (port 0 picks one) and starts accepting.
    pub(crate) fn bind(addr: SocketAddr, handler: Handler) -> io::Result<Service> {
        Self::start_on(listen(addr)?, handler)
    }

    /// Starts accepting on an already bound listener.
    pub(crate) fn start_on(listener: TcpListener, handler: Handler) -> io::Result<Service> {
        let service = Service {
            addr: listener.local_addr()?,
            handler,
            running: Mutex::new(None),
        };
        service.spawn(listener);
        Ok(service)
    }

    /// The bound address, the same across stop and start.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// True while accepting connections.
    pub(crate) fn is_running(&self) -> bool {
        self.slot().is_some()
    }

    /// Closes the port and aborts every open connection.
    pub(crate) async fn stop(&self) {
        let task = self.slot().take();
        if let Some(task) = task {
            task.abort();
            // Awaiting makes sure the listener is closed before returning.
            let _ = task.await;
        }
    }

    /// Binds the same address again; a no-op when running.
    pub(crate) fn start(&self) -> io::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        self.spawn(listen(self.addr)?);
        Ok(())
    }

    fn spawn(&self, listener: TcpListener) {
        let task = tokio::spawn(accept_loop(listener, self.handler.clone()));
        *self.slot() = Some(task);
    }

    /// The running accept loop. A panic while this was held left nothing
    /// half-written (it is one `Option`), so a poisoned lock is taken over.
    fn slot(&self) -> MutexGuard<'_, Option<JoinHandle<()>>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(task) = self.slot().take() {
            task.abort();
        }
    }
}

/// Binds a loopback address. SO_REUSEADDR lets `start` re-bind while the
/// previous run's connections linger in TIME_WAIT.
pub(crate) fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    if !addr.ip().is_loopback() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("devcluster binds loopback addresses only, not {addr}"),
        ));
    }
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn accept_loop(listener: TcpListener, handler: Handler) {
    // Dropping the set (when this task is aborted) aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(handler(stream));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    //! - a stopped service refuses connections and cuts open ones; started
    //!   again, the same address answers;
    //! - only loopback addresses are bound.
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Echoes one byte per connection, then holds it open.
    fn echo() -> Handler {
        Arc::new(|mut stream: TcpStream| {
            Box::pin(async move {
                let mut byte = [0u8; 1];
                if stream.read_exact(&mut byte).await.is_ok() {
                    let _ = stream.write_all(&byte).await;
                    let _ = stream.read(&mut byte).await;
                }
            })
        })
    }

    async fn ping(stream: &mut TcpStream) -> io::Result<u8> {
        stream.write_all(b"x").await?;
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await?;
        Ok(byte[0])
    }

    #[tokio::test]
    async fn stops_cuts_and_restarts_on_the_same_address() {
        let service = Service::bind(SocketAddr::from(([127, 0, 0, 1], 0)), echo()).unwrap();
        let addr = service.addr();
        let mut open = TcpStream::connect(addr).await.unwrap();
        assert_eq!(ping(&mut open).await.unwrap(), b'x');
        service.stop().await;
        assert!(!service.is_running());
        let mut rest = [0u8; 1];
        let cut = tokio::time::timeout(Duration::from_secs(5), open.read(&mut rest)).await;
        assert!(
            matches!(cut, Ok(Ok(0)) | Ok(Err(_))),
            "the open connection was cut"
        );
        assert!(TcpStream::connect(addr).await.is_err(), "stopped: refused");
        service.start().unwrap();
        assert_eq!(service.addr(), addr);
        let mut again = TcpStream::connect(addr).await.unwrap();
        assert_eq!(ping(&mut again).await.unwrap(), b'x');
    }

    #[tokio::test]
    async fn binds_loopback_only() {
        let e = Service::bind(SocketAddr::from(([0, 0, 0, 0], 0)), echo()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
