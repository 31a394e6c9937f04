//! A TCP listener on a fixed loopback address that can be stopped and started
//! again, as a killed and restarted daemon looks to its clients: while
//! stopped the port refuses connections and open connections are cut;
//! started again, the same address answers.
//!
//! The accept loop owns its connection tasks, so aborting the loop drops
//! every connection at once.

use futures_util::future::BoxFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::state::lock;

/// Serves one accepted connection until it ends.
pub(crate) type Handler = Arc<dyn Fn(TcpStream) -> BoxFuture<'static, ()> + Send + Sync>;

/// A listener and its connections.
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

    /// Closes the port and aborts every open connection.
    pub(crate) async fn stop(&self) {
        let task = lock(&self.running).take();
        if let Some(task) = task {
            task.abort();
            // Awaiting makes sure the listener is closed before returning.
            let _ = task.await;
        }
    }

    /// Binds the same address again; a no-op when running.
    pub(crate) fn start(&self) -> io::Result<()> {
        if lock(&self.running).is_some() {
            return Ok(());
        }
        self.spawn(listen(self.addr)?);
        Ok(())
    }

    fn spawn(&self, listener: TcpListener) {
        let task = tokio::spawn(accept_loop(listener, self.handler.clone()));
        *lock(&self.running) = Some(task);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.running).take() {
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
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn accept_loop(listener: TcpListener, handler: Handler) {
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
