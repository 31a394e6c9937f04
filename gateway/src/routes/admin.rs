//! Operational endpoints: `/healthz` (the process answers), `/readyz` (every
//! upstream has a tracker considered alive), `/metrics` (OpenMetrics, or the
//! 0.0.4 text format when the scraper asks for `text/plain`) and the cluster
//! status page (`server.status_path`, default `/_status`, and its `.json`).

use super::{Live, LocationLabel};
use crate::error::error_response;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// The paths served here outside the request limit (the status page, which
/// asks the trackers, stays inside it).
pub const PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Adds the admin routes to `router`, the status page at `status_path`
/// (checked by the config's validation), all behind `[server.access.admin]`.
pub fn routes(router: Router<Arc<Live>>, live: &Arc<Live>, status_path: &str) -> Router<Arc<Live>> {
    router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(status_path, get(status_page))
        .route(&format!("{status_path}.json"), get(status_json))
        .route_layer(axum::middleware::from_fn_with_state(
            live.clone(),
            crate::access::admin::guard,
        ))
}

fn labelled(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response
        .extensions_mut()
        .insert(LocationLabel(Arc::from("admin")));
    response
}

async fn healthz() -> Response {
    labelled("ok\n")
}

async fn readyz(State(live): State<Arc<Live>>) -> Response {
    let state = live.current();
    let unready = state.unready_upstreams();
    if unready.is_empty() {
        labelled("ready\n")
    } else {
        let message = format!(
            "not ready: no live tracker for upstream(s) {}",
            unready.join(", ")
        );
        let status = StatusCode::SERVICE_UNAVAILABLE;
        labelled(error_response(status, message.clone(), message))
    }
}

/// True when the scraper asks for the 0.0.4 text format rather than
/// OpenMetrics: it names `text/plain` and not `application/openmetrics-text`.
fn wants_text004(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    accept.contains("text/plain") && !accept.contains("application/openmetrics-text")
}

async fn metrics(State(live): State<Arc<Live>>, headers: HeaderMap) -> Response {
    let text004 = wants_text004(&headers);
    let body = crate::metrics::metrics().scrape(live.current().tracker_health(), text004);
    let content_type = if text004 {
        "text/plain; version=0.0.4; charset=utf-8"
    } else {
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    };
    labelled(([(header::CONTENT_TYPE, content_type)], body))
}

async fn status_page(State(live): State<Arc<Live>>) -> Response {
    let report = crate::status::build(live.current().status_sources()).await;
    let page = crate::status::html::render(&report);
    labelled((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    ))
}

async fn status_json(State(live): State<Arc<Live>>) -> Response {
    let report = crate::status::build(live.current().status_sources()).await;
    let mut body = serde_json::to_string_pretty(&report).unwrap_or_default();
    body.push('\n');
    labelled((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    ))
}
