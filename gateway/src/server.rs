//! The accept loop: HTTP/1.1 and HTTP/2 connections served by hyper with
//! bounded header size and header read time, and a graceful shutdown that
//! stops accepting, lets in-flight requests finish, and gives up after a grace
//! period.
//!
//! axum's own `serve` exposes neither limit, hence this small loop.
//!
//! The main listener is served by [`serve_workers`]: a few threads, each with
//! a single-threaded runtime accepting from the same socket, like nginx's
//! worker processes. A request then stays on one thread from accept to the
//! last byte, storage connections included (each worker keeps its own, see
//! [`worker_index`]): on a small machine, tokio's work-stealing scheduler
//! spent more time waking threads than serving a 4 KiB file.

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::cell::Cell;
use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tracing::Instrument;

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest time a client may take to send a request head.
    pub header_read_timeout: Duration,
    /// Largest request head (HTTP/1 read buffer; at least 8 KiB).
    pub max_header_size: usize,
    /// How long in-flight requests may go on after shutdown begins.
    pub shutdown_grace: Duration,
}

/// Something that turns an accepted TCP stream into a served connection's I/O
/// (identity for plain HTTP, a TLS handshake for HTTPS).
pub trait Acceptor: Clone + Send + Sync + 'static {
    /// The I/O type handed to hyper.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
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

fn builder(limits: &Limits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_size.max(8192));
    builder.http2().timer(TokioTimer::new());
    builder
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve<A: Acceptor>(
    listener: TcpListener,
    acceptor: A,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let builder = builder(&limits);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, builder, router, watcher) = (
            acceptor.clone(),
            builder.clone(),
            router.clone(),
            graceful.watcher(),
        );
        // The handshake (TLS) runs in the connection's own task, so a slow
        // client cannot hold up accepting the next one.
        tokio::spawn(async move {
            let io = match acceptor.accept(stream).await {
                Ok(io) => io,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "connection setup failed");
                    return;
                }
            };
            // The peer address, for access rules and the log (axum's `ConnectInfo`).
            let router = tower::ServiceExt::map_request(router, move |mut r: Request<_>| {
                r.extensions_mut().insert(ConnectInfo(peer));
                r
            });
            let service = TowerToHyperService::new(router);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            if let Err(e) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(grace = ?limits.shutdown_grace, "shutting down: no new connections; in-flight requests may finish");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!("shutdown grace period over; dropping the remaining requests");
        }
    }
    Ok(())
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
    let mut finished = Vec::new();
    for index in 0..workers.max(1) {
        let listener = listener.try_clone()?;
        let (acceptor, router, mut stop) = (acceptor.clone(), router.clone(), stop_rx.clone());
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
                            serve(listener, acceptor, router, limits, stopped)
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
