//! The accept loop: HTTP/1.1 (and HTTP/2 over TLS, or h2c when enabled)
//! connections served by hyper with bounded header size and header read
//! time, an idle time-out per connection, a cap on open connections, and a
//! graceful shutdown that stops accepting, lets in-flight requests finish,
//! and gives up after a grace period.
//!
//! axum's own `serve` exposes none of these limits, hence this small loop.
//!
//! The main listener is served by [`serve_workers`]: a few threads, each with
//! a single-threaded runtime accepting from the same socket, like nginx's
//! worker processes. A request then stays on one thread from accept to the
//! last byte, storage connections included (each worker keeps its own, see
//! [`worker_index`]): on a small machine, tokio's work-stealing scheduler
//! spent more time waking threads than serving a 4 KiB file.
//!
//! The kernel hands a new connection to whichever worker asks first, and a
//! burst of connects (a load balancer's pool, wrk) can land them all on one
//! thread while the others idle. So a worker that accepts a connection
//! while another serves fewer passes it there ([`Balance`]): connections
//! are spread over the workers by how many each has open, as nginx's
//! `reuseport` spreads them by hash.
//!
//! - `conn`: a connection's idle time-out.
//! - `throttle`: warnings written at most once per period.
//! - `tests`: connections spread over the workers.

mod conn;
mod throttle;

#[cfg(test)]
mod tests;

use axum::Router;
use conn::{Activity, Tracked};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use throttle::Throttle;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

/// Streams one HTTP/2 client may have open at once.
pub const MAX_H2_STREAMS: u32 = 100;
/// Bytes of response data hyper queues per HTTP/2 stream.
const H2_SEND_BUF: usize = 64 * 1024;
/// Longest pause between two failed accepts (out of file descriptors...).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest time a client may take to send a request head; also how long
    /// a connection with no request in progress stays open (HTTP/1 keep-alive,
    /// HTTP/2 without open streams), and the HTTP/2 ping interval and time-out.
    pub header_read_timeout: Duration,
    /// Largest request head (HTTP/1 read buffer; at least 8 KiB).
    pub max_header_size: usize,
    /// How long in-flight requests may go on after shutdown begins.
    pub shutdown_grace: Duration,
    /// Client connections open at once (all workers of a listener together).
    pub max_connections: usize,
    /// Speak HTTP/2 without TLS (h2c prior knowledge) on plain listeners.
    pub h2c: bool,
}

impl Limits {
    /// The limits `[server]` sets.
    pub fn from_config(server: &crate::config::ServerConfig) -> Self {
        Limits {
            header_read_timeout: server.header_read_timeout.0,
            max_header_size: server.max_header_size.0 as usize,
            shutdown_grace: server.shutdown_grace.0,
            max_connections: server.max_connections,
            h2c: server.h2c,
        }
    }
}

/// Something that turns an accepted TCP stream into a served connection's I/O
/// (identity for plain HTTP, a TLS handshake for HTTPS).
pub trait Acceptor: Clone + Send + Sync + 'static {
    /// The I/O type handed to hyper.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// Whether HTTP/2 is agreed on during the accept (TLS ALPN), so that it
    /// is served whatever [`Limits::h2c`] says.
    const NEGOTIATES_H2: bool = false;
    /// Completes the accept (e.g. the TLS handshake).
    fn accept(
        &self,
        stream: tokio::net::TcpStream,
    ) -> impl Future<Output = io::Result<Self::Io>> + Send;
}

/// Plain TCP.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Acceptor for Plain {
    type Io = tokio::net::TcpStream;
    async fn accept(&self, stream: tokio::net::TcpStream) -> io::Result<Self::Io> {
        Ok(stream)
    }
}

fn builder(limits: &Limits, h2: bool) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_size.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_read_timeout)
        .keep_alive_timeout(limits.header_read_timeout)
        .max_concurrent_streams(MAX_H2_STREAMS)
        .max_header_list_size(u32::try_from(limits.max_header_size).unwrap_or(u32::MAX))
        .max_send_buf_size(H2_SEND_BUF);
    if h2 {
        builder
    } else {
        builder.http1_only()
    }
}

/// What the workers of one listener share: the open-connection cap, the
/// throttled warnings, and how connections are spread over the workers.
#[derive(Debug, Clone)]
struct Shared {
    connections: Arc<Semaphore>,
    full: Arc<Throttle>,
    accept_failed: Arc<Throttle>,
    balance: Option<Arc<Balance>>,
}

impl Shared {
    fn new(limits: &Limits) -> Self {
        Shared {
            connections: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            full: Arc::default(),
            accept_failed: Arc::default(),
            balance: None,
        }
    }
}

/// An accepted connection on its way to the worker that serves it, already
/// counted open there.
type Handoff = (std::net::TcpStream, SocketAddr, OwnedSemaphorePermit, Open);

/// Open connections per worker, and the way to hand a worker one.
#[derive(Debug)]
struct Balance {
    open: Vec<AtomicUsize>,
    inboxes: Vec<mpsc::UnboundedSender<Handoff>>,
}

impl Balance {
    /// The worker that should serve a connection `me` accepted: the one
    /// with the fewest open, `me` on a tie. Counted as open there at once,
    /// so a burst of accepts spreads before any connection starts.
    fn pick(&self, me: usize) -> usize {
        let load = |i: usize| self.open[i].load(Ordering::Relaxed);
        let least = (0..self.open.len()).min_by_key(|&i| (load(i), i != me));
        let target = least.unwrap_or(me);
        self.open[target].fetch_add(1, Ordering::Relaxed);
        target
    }
}

/// Counts a connection open on its worker until dropped.
struct Open(Option<(Arc<Balance>, usize)>);

impl Drop for Open {
    fn drop(&mut self) {
        if let Some((balance, i)) = &self.0 {
            balance.open[*i].fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve<A: Acceptor>(
    listener: TcpListener,
    acceptor: A,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let shared = Shared::new(&limits);
    let (_, inbox) = mpsc::unbounded_channel();
    let worker = Worker::new(0, listener, acceptor, router, limits, shared);
    worker.serve(inbox, shutdown).await
}

/// One worker's share of a listener.
struct Worker<A> {
    index: usize,
    listener: TcpListener,
    acceptor: A,
    router: Router,
    limits: Limits,
    shared: Shared,
    builder: Builder<TokioExecutor>,
}

impl<A: Acceptor> Worker<A> {
    fn new(
        index: usize,
        listener: TcpListener,
        acceptor: A,
        router: Router,
        limits: Limits,
        shared: Shared,
    ) -> Self {
        Worker {
            index,
            listener,
            acceptor,
            router,
            limits,
            shared,
            builder: builder(&limits, A::NEGOTIATES_H2 || limits.h2c),
        }
    }

    /// Serves until `shutdown`: connections it accepts, and those other
    /// workers hand it through `inbox`.
    async fn serve(
        self,
        mut inbox: mpsc::UnboundedReceiver<Handoff>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        let graceful = GracefulShutdown::new();
        // The pause after the last failed accept (zero after a success).
        let mut backoff = Duration::ZERO;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.accept(&mut backoff) => {
                    if let Some((stream, peer, permit)) = accepted {
                        self.place(stream, peer, permit, &graceful);
                    }
                }
                Some((stream, peer, permit, open)) = inbox.recv() => {
                    match TcpStream::from_std(stream) {
                        Ok(stream) => self.start(stream, peer, permit, open, &graceful),
                        Err(e) => tracing::debug!(%peer, error = %e, "handed-over connection lost"),
                    }
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        let grace = self.limits.shutdown_grace;
        tracing::info!(
            ?grace,
            "shutting down: no new connections; in-flight requests may finish"
        );
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(grace) => {
                tracing::warn!("shutdown grace period over; dropping the remaining requests");
            }
        }
        Ok(())
    }

    /// The next connection within `max_connections`; `None` after a failed
    /// accept (backed off, `backoff` doubled) or a connection over the cap
    /// (closed).
    async fn accept(
        &self,
        backoff: &mut Duration,
    ) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
        let (stream, peer) = match self.listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                *backoff = (*backoff * 2).clamp(Duration::from_millis(10), MAX_ACCEPT_BACKOFF);
                let retry_in = *backoff;
                self.shared.accept_failed.hit(|skipped| {
                    tracing::warn!(error = %e, ?retry_in, skipped, "accept failed");
                });
                tokio::time::sleep(retry_in).await;
                return None;
            }
        };
        *backoff = Duration::ZERO;
        let Ok(permit) = self.shared.connections.clone().try_acquire_owned() else {
            self.shared.full.hit(|skipped| {
                tracing::warn!(
                    max_connections = self.limits.max_connections,
                    %peer,
                    refused_since_last_warning = skipped,
                    "server.max_connections client connections are open; closing new ones"
                );
            });
            return None;
        };
        Some((stream, peer, permit))
    }

    /// Serves a connection this worker accepted here, or hands it to the
    /// worker with the fewest open.
    fn place(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        permit: OwnedSemaphorePermit,
        graceful: &GracefulShutdown,
    ) {
        let Some(balance) = &self.shared.balance else {
            self.start(stream, peer, permit, Open(None), graceful);
            return;
        };
        let target = balance.pick(self.index);
        let open = Open(Some((balance.clone(), target)));
        if target == self.index {
            self.start(stream, peer, permit, open, graceful);
            return;
        }
        let sent = stream
            .into_std()
            .map_err(|e| e.to_string())
            .and_then(|std| {
                balance.inboxes[target]
                    .send((std, peer, permit, open))
                    .map_err(|_| "that worker has stopped".to_string())
            });
        if let Err(e) = sent {
            tracing::debug!(%peer, error = %e, "connection not handed over");
        }
    }

    /// Serves one connection in a task of its own.
    fn start(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        permit: OwnedSemaphorePermit,
        open: Open,
        graceful: &GracefulShutdown,
    ) {
        let _ = stream.set_nodelay(true);
        let limits = self.limits;
        let (acceptor, builder, router, watcher) = (
            self.acceptor.clone(),
            self.builder.clone(),
            self.router.clone(),
            graceful.watcher(),
        );
        // The handshake (TLS) runs in the connection's own task, so a slow
        // client cannot hold up accepting the next one.
        tokio::spawn(async move {
            let _held = (permit, open);
            let io = match acceptor.accept(stream).await {
                Ok(io) => io,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "connection setup failed");
                    return;
                }
            };
            let activity = Activity::new();
            let service = Tracked::new(router, activity.clone(), peer);
            let connection = builder.serve_connection(TokioIo::new(io), service);
            tokio::select! {
                served = watcher.watch(connection.into_owned()) => {
                    if let Err(e) = served {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                () = conn::idle(activity, limits.header_read_timeout) => {
                    tracing::debug!(%peer, "idle connection closed");
                }
            }
        });
    }
}

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// The index of the worker thread running this code (0 off worker threads),
/// for per-worker resources such as connection pools.
pub fn worker_index() -> usize {
    WORKER.with(Cell::get)
}

/// Serves `router` on `listener` with `workers` threads (see the module
/// notes) until `shutdown` completes and they have all finished.
pub async fn serve_workers<A: Acceptor>(
    listener: TcpListener,
    workers: usize,
    acceptor: A,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let listener = listener.into_std()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = workers.max(1);
    let (senders, mut inboxes): (Vec<_>, Vec<_>) =
        (0..workers).map(|_| mpsc::unbounded_channel()).unzip();
    let mut shared = Shared::new(&limits);
    shared.balance = Some(Arc::new(Balance {
        open: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
        inboxes: senders,
    }));
    let mut finished = Vec::new();
    for index in (0..workers).rev() {
        let listener = listener.try_clone()?;
        let inbox = inboxes.pop().expect("one inbox per worker");
        let (acceptor, router, shared) = (acceptor.clone(), router.clone(), shared.clone());
        let mut stop = stop_rx.clone();
        let (done, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("dfs-worker-{index}"))
            .spawn(move || {
                WORKER.with(|w| w.set(index));
                let served = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        runtime.block_on(async move {
                            let listener = TcpListener::from_std(listener)?;
                            let stopped = async move {
                                let _ = stop.wait_for(|s| *s).await;
                            };
                            Worker::new(index, listener, acceptor, router, limits, shared)
                                .serve(inbox, stopped)
                                .instrument(tracing::info_span!("worker", index))
                                .await
                        })
                    });
                let _ = done.send(served);
            })?;
        finished.push(result);
    }
    drop(listener);
    let all = futures_util::future::join_all(finished);
    tokio::pin!(all, shutdown);
    let results = tokio::select! {
        // Only an error ends every worker before the shutdown signal.
        results = &mut all => results,
        () = &mut shutdown => {
            let _ = stop_tx.send(true);
            all.await
        }
    };
    for result in results {
        result.map_err(|_| io::Error::other("a worker thread panicked"))??;
    }
    Ok(())
}
