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
//! - [`server`]: the accept loop, connection limits and graceful shutdown.
//! - [`metrics`]: the Prometheus registry.
//! - [`demo`]: the one-command demo cluster.

pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod metrics;
pub mod routes;
pub mod server;
pub mod storage;
pub mod trackers;
pub mod web;

use config::Config;
use routes::{AppState, Live};
use std::future::Future;
use std::io;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves `config` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish for up to `[server].shutdown_grace`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let live = Arc::new(Live::new(
        AppState::from_config(&config).map_err(io::Error::other)?,
    ));
    serve_live(listener, &config, live, shutdown).await
}

/// [`run`] with state the caller keeps a handle on (to reload it).
pub async fn serve_live(
    listener: TcpListener,
    config: &Config,
    live: Arc<Live>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = server::Limits {
        header_read_timeout: config.server.header_read_timeout.0,
        max_header_size: config.server.max_header_size.0 as usize,
        shutdown_grace: config.server.shutdown_grace.0,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let admin = match config.server.admin_listen {
        Some(addr) => {
            let admin_listener = TcpListener::bind(addr).await?;
            let router = routes::admin_app(live.clone());
            Some(tokio::spawn(server::serve(
                admin_listener,
                server::Plain,
                router,
                limits,
                stopped(),
            )))
        }
        None => None,
    };
    let router = routes::app(live, config.server.admin_listen.is_none());
    let main = server::serve(listener, server::Plain, router, limits, stopped());
    let signal = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let (result, ()) = tokio::join!(main, signal);
    if let Some(admin) = admin {
        let _ = admin.await;
    }
    result
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
