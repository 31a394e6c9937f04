//! A TCP service on a fixed 127.0.0.1 port that can be stopped and started again.
//!
//! Trackers and storage nodes both need what a killed and restarted daemon
//! looks like to a client: while stopped the port refuses connections and
//! every connection that was open is cut; started again, the same port
//! answers. `axum::serve` cannot abort in-flight connections, so the accept
//! loop lives here and owns its connection tasks: aborting the loop drops them.

use futures_util::future::BoxFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Serves one accepted connection until it ends.
pub(crate) type Handler = Arc<dyn Fn(TcpStream) -> BoxFuture<'static, ()> + Send + Sync>;

/// A listener and its connections, stoppable and restartable on the same port.
pub(crate) struct Service {
    addr: SocketAddr,
    handler: Handler,
    running: Mutex<Option<JoinHandle<()>>>,
}

impl Service {
    /// Binds `addr` (port 0 picks one) and starts accepting.
    pub(crate) fn bind(addr: SocketAddr, handler: Handler) -> io::Result<Service> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("devcluster binds loopback addresses only, not {addr}"),
            ));
        }
        let listener = listen(addr)?;
        let service = Service {
            addr: listener.local_addr()?,
            handler,
            running: Mutex::new(None),
        };
        service.spawn(listener);
        Ok(service)
    }

    /// The bound address (the port stays the same across stop/start).
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

    /// Binds the same port again; a no-op when already running.
    pub(crate) fn start(&self) -> io::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let listener = listen(self.addr)?;
        self.spawn(listener);
        Ok(())
    }

    fn spawn(&self, listener: TcpListener) {
        let task = tokio::spawn(accept_loop(listener, self.handler.clone()));
        *self.slot() = Some(task);
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
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

/// SO_REUSEADDR lets `start` re-bind the port while closed connections of the
/// previous run linger in TIME_WAIT.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
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
