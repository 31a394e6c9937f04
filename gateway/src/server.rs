//! The accept loop: HTTP/1.1 and HTTP/2 connections served by hyper with
//! bounded header size and header read time, and a graceful shutdown that
//! stops accepting, lets in-flight requests finish, and gives up after a grace
//! period.
//!
//! axum's own `serve` exposes neither limit, hence this small loop.

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

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
