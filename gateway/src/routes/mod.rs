//! The HTTP front: one router for `run` and for tests, dispatching each request
//! to the location whose prefix matches, then to that location's protocol.
//!
//! - [`mogilefs`]: GET/HEAD/PUT/DELETE of keys.
//! - [`access_log`]: one log line per request, written when its body ends.

pub mod access_log;
pub mod mogilefs;

use crate::config::{Config, LocationConfig, Method, Protocol};
use crate::error::AppError;
use crate::storage::mogilefs::MogStore;
use crate::storage::node::NodeClient;
use crate::trackers::mogilefs::{MogClient, TrackerTimeouts};
use crate::trackers::TrackerSet;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;

/// What serves a location.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A MogileFS upstream.
    Mogilefs(MogStore),
}

/// A configured location, ready to serve.
#[derive(Debug)]
pub struct Location {
    /// Its settings.
    pub config: LocationConfig,
    /// Its upstream.
    pub backend: Backend,
    /// Largest accepted upload.
    pub max_body_size: u64,
}

/// Everything handlers need, built once from the config.
#[derive(Debug)]
pub struct AppState {
    /// Locations, longest prefix first.
    locations: Vec<Location>,
}

impl AppState {
    /// Builds tracker clients (one per upstream, shared by its locations) and locations.
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let mut backends: HashMap<&str, Backend> = HashMap::new();
        for upstream in config.upstreams.iter().map(|u| u.get_ref()) {
            let mut addrs = Vec::new();
            for t in &upstream.trackers {
                addrs.extend(crate::config::resolve_tracker(t, upstream.protocol)?);
            }
            let trackers = TrackerSet::new(addrs, upstream.fail_timeout.0);
            let timeouts = TrackerTimeouts {
                connect: upstream.connect_timeout.0,
                reply: upstream.reply_timeout.0,
            };
            let nodes = NodeClient::new(upstream.storage_connect_timeout.0, upstream.storage_timeout.0);
            let backend = match upstream.protocol {
                Protocol::Mogilefs => {
                    let client = Arc::new(MogClient::new(trackers, upstream.max_idle, timeouts));
                    Backend::Mogilefs(MogStore::new(client, nodes))
                }
                Protocol::Fastdfs => return Err(format!("upstream {:?}: FastDFS is not supported yet", upstream.name)),
            };
            backends.insert(&upstream.name, backend);
        }
        let mut locations: Vec<Location> = config
            .locations
            .iter()
            .map(|l| l.get_ref())
            .map(|l| Location {
                backend: backends[l.upstream.as_str()].clone(),
                max_body_size: l.max_body_size.unwrap_or(config.server.max_body_size).0,
                config: l.clone(),
            })
            .collect();
        locations.sort_by(|a, b| b.config.prefix.len().cmp(&a.config.prefix.len()));
        Ok(AppState { locations })
    }

    /// The location with the longest prefix of `path`.
    fn locate(&self, path: &str) -> Option<&Location> {
        self.locations.iter().find(|l| path.starts_with(&l.config.prefix))
    }
}

/// The router: every path goes through [`dispatch`], inside the access log.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .fallback(dispatch)
        .with_state(state)
        .layer(axum::middleware::from_fn(access_log::log_request))
}

/// Finds the location, checks the method, and hands over to the protocol.
async fn dispatch(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let Some(location) = state.locate(request.uri().path()) else {
        return AppError::NoLocation.into_response();
    };
    let method = match method_of(request.method()) {
        Some(m) if location.config.allows(m) => m,
        _ => return not_allowed(&location.config).into_response(),
    };
    let result = match &location.backend {
        Backend::Mogilefs(store) => mogilefs::handle(location, store, method, request).await,
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn method_of(method: &axum::http::Method) -> Option<Method> {
    Some(match *method {
        axum::http::Method::GET => Method::Get,
        axum::http::Method::HEAD => Method::Head,
        axum::http::Method::PUT => Method::Put,
        axum::http::Method::POST => Method::Post,
        axum::http::Method::DELETE => Method::Delete,
        _ => return None,
    })
}

fn not_allowed(location: &LocationConfig) -> AppError {
    let all = [Method::Get, Method::Head, Method::Put, Method::Post, Method::Delete];
    let allowed: Vec<&str> = all.into_iter().filter(|m| location.allows(*m)).map(Method::as_str).collect();
    AppError::MethodNotAllowed {
        allow: allowed.join(", "),
    }
}

#[cfg(test)]
mod tests;
