//! The HTTP front: one router for `run` and for tests, dispatching each request
//! to the location whose prefix matches, then to the read or write pipeline
//! with the location's ready store. Routes never build clients or stores:
//! [`crate::app`] does, from the config.
//!
//! - [`read`]: the one GET/HEAD pipeline (preconditions, ranges, headers).
//! - [`write`]: the one PUT/POST/DELETE pipeline.
//! - [`thumbnail`]: the read pipeline's thumbnail step.
//! - [`naming`]: how a protocol's URLs name objects — the only protocol part.
//! - [`mogilefs`], [`fastdfs`]: the two URL schemes.
//! - `accel`: MogileFS accel mode, replicas handed to nginx.
//! - [`access_log`]: the one middleware: request ids, the in-flight limit,
//!   the answers that need no location (missing `Host`, the landing page),
//!   JSON error bodies, and one log line and metrics per request, written
//!   when its body ends.
//! - `admin`: `/healthz`, `/readyz`, `/metrics`, the status page.

mod accel;
pub mod access_log;
mod admin;
pub mod fastdfs;
pub mod mogilefs;
pub mod naming;
pub mod read;
pub mod thumbnail;
pub mod write;

use crate::access::RequestInfo as AccessInfo;
use crate::clients::TrackerSet;
use crate::config::{LocationConfig, Method};
use crate::error::AppError;
use crate::storage::SharedStore;
use crate::web::body::with_idle_timeout;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use naming::Naming;
use std::sync::{Arc, PoisonError, RwLock};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A configured location, ready to serve.
#[derive(Debug)]
pub struct Location {
    /// Its settings.
    pub config: LocationConfig,
    /// Its objects.
    pub store: SharedStore,
    /// How its URLs name them.
    pub naming: Arc<dyn Naming>,
    /// Largest accepted upload.
    pub max_body_size: u64,
    /// Its prefix, for logs and metrics.
    pub label: Arc<str>,
    /// Who may do what here.
    pub access: crate::access::Policy,
    /// Content-Type by extension: nginx's defaults and `[mime]`.
    pub mime: crate::mime_types::MimeTypes,
    /// The gateway's one thumbnail pool, shared by every location.
    pub thumbs: crate::thumbs::ThumbPool,
    /// The upstream's hot-object cache (also in `store`), which keeps
    /// thumbnails too.
    pub cache: crate::cache::ObjectCache,
    /// Where thumbnails are stored back under derived keys (MogileFS with
    /// `thumbnails.store`: `store_domain` and `store_class`).
    pub variants: Option<SharedStore>,
}

/// Everything handlers need, built once from the config (by [`crate::app`]).
#[derive(Debug)]
pub struct AppState {
    /// Locations, longest prefix first.
    pub(crate) locations: Vec<Location>,
    /// Tracker sets of every upstream, for readiness.
    pub(crate) upstreams: Vec<(String, Arc<TrackerSet>)>,
    /// Bounds the requests served at once.
    pub(crate) limiter: Arc<Semaphore>,
    /// What the status page asks, per upstream.
    pub(crate) status: Vec<crate::status::Source>,
    /// Where the status page is served.
    pub(crate) status_path: String,
    /// Who may reach the admin endpoints.
    pub(crate) admin_access: crate::access::admin::AdminPolicy,
    /// Whether `/healthz`, `/readyz` and `/metrics` are on the main listener.
    pub(crate) admin_here: bool,
    /// `[server].client_body_timeout`.
    pub(crate) body_timeout: std::time::Duration,
    /// `[server].access_log_format`.
    pub(crate) access_format: access_log::AccessFormat,
    /// The page on `GET /`, when `[server].landing_page` asks for one.
    pub(crate) landing: Option<Arc<crate::landing::Page>>,
}

impl AppState {
    /// How access lines are spelled.
    pub fn access_format(&self) -> access_log::AccessFormat {
        self.access_format
    }

    /// The page on `GET /`, if any.
    pub fn landing(&self) -> Option<&crate::landing::Page> {
        self.landing.as_deref()
    }

    /// The admin side's access rules.
    pub fn admin_access(&self) -> &crate::access::admin::AdminPolicy {
        &self.admin_access
    }

    /// The location with the longest prefix of `path`.
    fn locate(&self, path: &str) -> Option<&Location> {
        self.locations
            .iter()
            .find(|l| path.starts_with(&l.config.prefix))
    }

    /// Upstreams without a tracker currently considered alive.
    pub fn unready_upstreams(&self) -> Vec<&str> {
        self.upstreams
            .iter()
            .filter(|(_, set)| !set.any_up())
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// What the status page asks, per upstream.
    pub fn status_sources(&self) -> &[crate::status::Source] {
        &self.status
    }

    /// Each tracker's health: (upstream, tracker, up).
    pub fn tracker_health(&self) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        for (name, set) in &self.upstreams {
            for i in 0..set.len() {
                out.push((name.clone(), set.addr(i).to_string(), set.health(i).up));
            }
        }
        out
    }

    /// A permit to serve one request, or `None` when too many are in flight.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.limiter.clone().try_acquire_owned().ok()
    }

    /// Whether a request for `path` is served outside the in-flight limit:
    /// the health and metrics endpoints, so that a load balancer never sees
    /// a busy gateway as a dead one.
    pub fn unlimited(&self, path: &str) -> bool {
        self.admin_here && admin::PATHS.contains(&path)
    }
}

/// The state in force, replaceable while serving (config reload): each request
/// takes the state current when it starts and keeps it to the end.
#[derive(Debug)]
pub struct Live {
    current: RwLock<Arc<AppState>>,
}

impl Live {
    /// Live state starting with `state`.
    pub fn new(state: AppState) -> Self {
        Live {
            current: RwLock::new(Arc::new(state)),
        }
    }

    /// The state in force now.
    pub fn current(&self) -> Arc<AppState> {
        // Only a whole `Arc` is ever written, so a poisoned lock still
        // holds a usable state.
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `state` in force for requests that start from now on.
    pub fn replace(&self, state: AppState) {
        let state = Arc::new(state);
        let old = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(PoisonError::into_inner),
            state,
        );
        // The old state is dropped (perhaps its last reference) outside the lock.
        drop(old);
    }
}

/// Which location served a request, for logs and metrics.
#[derive(Debug, Clone)]
pub struct LocationLabel(pub Arc<str>);

/// The router. With `admin` set, `/healthz`, `/readyz` and `/metrics` are
/// answered here ahead of the locations; otherwise they belong to
/// [`admin_app`] on a listener of their own.
pub fn app(live: Arc<Live>, admin: bool) -> Router {
    let mut router = Router::new();
    if admin {
        let status_path = live.current().status_path.clone();
        router = admin::routes(router, &live, &status_path);
    }
    // One middleware does what comes before the locations (see
    // `access_log::edge`): each `from_fn` layer boxes the request's future
    // and clones the service below it, for every request.
    router
        .fallback(dispatch)
        .layer(axum::middleware::from_fn_with_state(
            live.clone(),
            access_log::edge,
        ))
        .with_state(live)
}

/// The admin endpoints alone, for a separate listener.
pub fn admin_app(live: Arc<Live>) -> Router {
    let status_path = live.current().status_path.clone();
    admin::routes(Router::new(), &live, &status_path)
        .layer(axum::middleware::from_fn(require_host))
        .with_state(live)
}

/// Middleware of the admin listener: [`missing_host`], and error bodies
/// as JSON when asked, as the main listener's edge does.
async fn require_host(request: Request, next: axum::middleware::Next) -> Response {
    let json = crate::error::wants_json(request.headers());
    let response = match missing_host(&request) {
        Some(answer) => answer,
        None => next.run(request).await,
    };
    crate::error::negotiated(json, response)
}

/// An HTTP/1.1 request without `Host` gets 400 (RFC 9112 §3.2); HTTP/1.0
/// may omit it, and HTTP/2 carries `:authority` instead.
pub(crate) fn missing_host(request: &Request) -> Option<Response> {
    let missing = request.version() == axum::http::Version::HTTP_11
        && !request.headers().contains_key(header::HOST);
    missing.then(|| AppError::MissingHost.into_response())
}

/// Finds the location, checks the method, and hands over to the protocol.
async fn dispatch(State(live): State<Arc<Live>>, request: Request) -> Response {
    let state = live.current();
    let Some(location) = state.locate(request.uri().path()) else {
        return AppError::NoLocation.into_response();
    };
    let label = LocationLabel(location.label.clone());
    let granted = match location.access.check(AccessInfo::of(&request)).await {
        Ok(granted) => granted,
        Err(answer) => return with_label(answer, label),
    };
    let finish = |response| with_label(location.access.finish(&granted, response), label);
    let method = match method_of(request.method()) {
        Some(m) if location.config.allows(m) => m,
        _ => return finish(not_allowed(&location.config).into_response()),
    };
    // Only uploads read a body; each read waits at most `client_body_timeout`.
    let (request, stalled) = match method {
        Method::Put | Method::Post => {
            let (request, stalled) = with_idle_timeout(request, state.body_timeout);
            (request, Some(stalled))
        }
        _ => (request, None),
    };
    let result = match method {
        Method::Get | Method::Head => {
            let (parts, _) = request.into_parts();
            read::serve(location, method == Method::Head, &parts).await
        }
        Method::Put | Method::Post => write::store(location, method == Method::Put, request).await,
        Method::Delete => write::delete(location, &request.into_parts().0).await,
    };
    let result = match result {
        Err(e) if stalled.is_some_and(|s| s.fired()) => Err(AppError::BodyTimeout {
            limit: state.body_timeout,
            failure: e.to_string(),
        }),
        other => other,
    };
    finish(result.unwrap_or_else(IntoResponse::into_response))
}

fn with_label(mut response: Response, label: LocationLabel) -> Response {
    response.extensions_mut().insert(label);
    response
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
    let all = [
        Method::Get,
        Method::Head,
        Method::Put,
        Method::Post,
        Method::Delete,
    ];
    let allowed: Vec<&str> = all
        .into_iter()
        .filter(|m| location.allows(*m))
        .map(Method::as_str)
        .collect();
    AppError::MethodNotAllowed {
        allow: allowed.join(", "),
    }
}

pub(crate) fn insert(h: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

#[cfg(test)]
mod tests;
