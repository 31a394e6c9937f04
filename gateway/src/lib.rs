//! dfs-gateway: an HTTP gateway for MogileFS and FastDFS clusters.
//!
//! Maps URLs such as `/images/<key>` to tracker look-ups over a pool of
//! trackers, then streams bytes from or to the chosen storage node without
//! buffering them.
//!
//! # Layout
//! - [`config`]: the TOML configuration, parsed and validated.
//! - [`trackers`]: tracker clients, one module per protocol; no HTTP types.
//! - [`storage`]: the facade saying what reading, writing and deleting a key
//!   mean, with replica failover; the only layer that talks to storage nodes.
//! - [`routes`]: the HTTP front — locations, methods, status codes, access log.
//! - [`web`]: HTTP semantics as small pure modules (ranges, preconditions, keys).
//! - [`error`]: the one error type at the edge and its status table.
//! - [`demo`]: the one-command demo cluster.

pub mod config;
#[cfg(any())]
pub mod demo;
pub mod error;
pub mod routes;
pub mod storage;
pub mod trackers;
pub mod web;

use config::Config;
use routes::AppState;
use std::future::Future;
use std::io;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves `config` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish for up to `[server].shutdown_grace`.
pub async fn run(listener: TcpListener, config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
    let state = AppState::from_config(&config).map_err(io::Error::other)?;
    let app = routes::app(Arc::new(state));
    let grace = config.server.shutdown_grace.0;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        tracing::info!(?grace, "shutting down: no new connections; in-flight requests may finish");
        let _ = stop_tx.send(true);
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(signal);
    let deadline = async move {
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!("shutdown grace period over; dropping the remaining requests");
            Ok(())
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
