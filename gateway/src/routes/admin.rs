//! Operational endpoints: `/healthz` (the process answers), `/readyz` (every
//! upstream has a tracker considered alive) and `/metrics` (Prometheus text).

use super::{Live, LocationLabel};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// The paths served here.
pub const PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Adds the admin routes to `router`.
pub fn routes(router: Router<Arc<Live>>) -> Router<Arc<Live>> {
    router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
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
        let body = format!(
            "not ready: no live tracker for upstream(s) {}\n",
            unready.join(", ")
        );
        labelled((StatusCode::SERVICE_UNAVAILABLE, body))
    }
}

async fn metrics() -> Response {
    let body = crate::metrics::metrics().render();
    labelled((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    ))
}
