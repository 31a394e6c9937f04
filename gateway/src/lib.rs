//! dfs-gateway: an HTTP gateway for MogileFS and FastDFS clusters.
//!
//! Maps URLs such as `/images/<key>` to tracker look-ups over a pool of
//! trackers, then streams bytes from or to the chosen storage node without
//! buffering them.
//!
//! # Layout
//! - [`access`]: access control — client addresses, credentials, signed
//!   URLs, CORS, caching headers, rate limits.
//! - [`cache`]: the hot-object cache, keyed by identities whose bytes never change.
//! - [`config`]: the TOML configuration, parsed and validated.
//! - [`app`]: the composition root — clients, caches and stores built from
//!   the config, handed to the routes ready.
//! - [`clients`]: tracker, FastDFS storage-server and storage-node HTTP
//!   clients, one module per protocol, with the pool, connect, prober and
//!   peer health they share; no HTTP front-end types.
//! - [`storage`]: the one [`storage::Store`] interface and a store per
//!   protocol — look-ups, look-up caches, replica order and failover.
//! - [`routes`]: the HTTP front — locations, the one read and one write
//!   pipeline, each protocol's URL scheme, access log.
//! - [`web`]: HTTP semantics as small pure modules (ranges, preconditions, keys).
//! - [`error`]: the one error type at the edge and its status table.
//! - [`server`]: the accept loop, connection limits and graceful shutdown.
//! - [`tls`]: TLS termination with certificate reload.
//! - [`metrics`]: the Prometheus registry.
//! - [`mime_types`]: `Content-Type` by extension (nginx's defaults, `[mime]`).
//! - [`status`]: the cluster status report (`/_status`, `dfs-gateway status`).
//! - [`fid_info`]: `fid-info`, a FastDFS file ID decoded offline.
//! - [`demo`]: the one-command demo cluster.
//! - [`landing`]: the optional page on `GET /` (the demo's first stop).
//! - [`import_nginx`]: `import-nginx`, nginx module configs turned into gateway TOML.
//! - [`fdfs_conf`]: `mod_fastdfs.conf` as read by both `config` and `import_nginx`.
//! - [`thumbs`]: image thumbnails — the transform engine, its pool, URL forms.

pub mod access;
pub mod app;
pub mod cache;
pub mod clients;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod fdfs_conf;
pub mod fid_info;
pub mod import_nginx;
pub mod landing;
pub mod metrics;
pub mod mime_types;
pub mod routes;
pub mod server;
pub mod status;
pub mod storage;
pub mod thumbs;
pub mod tls;
pub mod web;

use config::Config;
use routes::Live;
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
    Gateway::new(&config)?
        .serve(listener, &config, shutdown)
        .await
}

/// A running gateway's state, kept by the caller so it can be reloaded.
#[derive(Debug, Clone)]
pub struct Gateway {
    live: Arc<Live>,
    tls: Option<tls::Tls>,
}

impl Gateway {
    /// Builds tracker clients, caches and (when configured) TLS from `config`.
    pub fn new(config: &Config) -> io::Result<Self> {
        let state = app::build(config).map_err(io::Error::other)?;
        let tls = match &config.server.tls {
            Some(t) => Some(
                tls::Tls::load(&t.cert, &t.key, config.server.header_read_timeout.0)
                    .map_err(io::Error::other)?,
            ),
            None => None,
        };
        Ok(Gateway {
            live: Arc::new(Live::new(state)),
            tls,
        })
    }

    /// Puts a new config in force for requests that start from now on, and
    /// re-reads the TLS certificate. On error nothing changes. Listener
    /// addresses and connection limits keep their start-up values.
    pub fn reload(&self, config: &Config) -> Result<(), String> {
        let state = app::build(config)?;
        match (&self.tls, &config.server.tls) {
            (Some(tls), Some(files)) => tls.reload(&files.cert, &files.key)?,
            (None, None) => {}
            _ => return Err("turning TLS on or off needs a restart".into()),
        }
        self.live.replace(state);
        Ok(())
    }

    /// Loads a config with `load` and puts it in force, as SIGHUP does.
    /// A config that does not load, cannot be built, or even panics while
    /// being built is an error: the running config stays, and the gateway
    /// and later reloads are unaffected (the work runs on a task of its own,
    /// whose panic ends only that task).
    pub async fn reload_with<F>(&self, load: F) -> Result<Config, String>
    where
        F: FnOnce() -> Result<Config, String> + Send + 'static,
    {
        let gateway = self.clone();
        // Blocking: loading reads files and resolves tracker names.
        let task = tokio::task::spawn_blocking(move || {
            let config = load()?;
            gateway.reload(&config)?;
            Ok(config)
        });
        match task.await {
            Ok(result) => result,
            Err(e) => Err(format!("building the new config failed: {e}")),
        }
    }

    /// Serves on `listener` (and `[server].admin_listen`) until `shutdown`.
    pub async fn serve(
        &self,
        listener: TcpListener,
        config: &Config,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let limits = server::Limits::from_config(&config.server);
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
                let router = routes::admin_app(self.live.clone());
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
        let router = routes::app(self.live.clone(), config.server.admin_listen.is_none());
        let signal = async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        };
        let workers = config.server.workers;
        let (result, ()) = match &self.tls {
            Some(tls) => tokio::join!(
                server::serve_workers(listener, workers, tls.clone(), router, limits, stopped()),
                signal
            ),
            None => tokio::join!(
                server::serve_workers(listener, workers, server::Plain, router, limits, stopped()),
                signal
            ),
        };
        if let Some(admin) = admin {
            let _ = admin.await;
        }
        result
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
