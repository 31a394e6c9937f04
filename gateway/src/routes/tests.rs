//! Router tests with `oneshot`: everything decided before a tracker is asked
//! (location matching, methods, keys, declared body size). The tracker address
//! is a closed port, so reaching it would show as a 503.
//! - the status page (HTML and `.json`) answers at `server.status_path`, and
//!   is refused without the admin side's credentials, served with them.

use super::*;
use crate::config::Config;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
max_body_size = "1KiB"

[[upstream]]
name = "mog"
protocol = "mogilefs"
trackers = ["127.0.0.1:1"]
connect_timeout = "200ms"

[[location]]
prefix = "/images/"
upstream = "mog"
domain = "imgs"

[[location]]
prefix = "/upload/"
upstream = "mog"
domain = "imgs"
methods = ["PUT", "DELETE"]
"#;

fn router() -> Router {
    let config = Config::parse(CONFIG).unwrap();
    app(
        Arc::new(Live::new(crate::app::build(&config).unwrap())),
        true,
    )
}

async fn status(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "gw");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    (response.status(), response.headers().clone())
}

#[tokio::test]
async fn unmatched_paths_are_404() {
    assert_eq!(
        status("GET", "/other/x.jpg", &[]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(status("GET", "/images", &[]).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn methods_are_checked_per_location() {
    let (code, headers) = status("DELETE", "/images/a.jpg", &[]).await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET, HEAD");
    let (code, headers) = status("POST", "/upload/a.jpg", &[]).await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "PUT, DELETE");
    assert_eq!(
        status("OPTIONS", "/upload/a.jpg", &[]).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn bad_keys_are_400_before_any_tracker_call() {
    for uri in ["/images/", "/images/a%0Db", "/images/%C3", "/upload/%00"] {
        let method = if uri.starts_with("/upload") {
            "PUT"
        } else {
            "GET"
        };
        assert_eq!(
            status(method, uri, &[]).await.0,
            StatusCode::BAD_REQUEST,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn declared_oversize_is_413_before_any_tracker_call() {
    let (code, _) = status("PUT", "/upload/a.jpg", &[("content-length", "1025")]).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn admin_endpoints_answer() {
    assert_eq!(status("GET", "/healthz", &[]).await.0, StatusCode::OK);
    let (code, headers) = status("GET", "/metrics", &[]).await;
    assert_eq!(code, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    // Request ids: generated, or the client's own when it is sane.
    let (_, headers) = status("GET", "/healthz", &[("x-request-id", "abc-123")]).await;
    assert_eq!(headers["x-request-id"], "abc-123");
    let (_, headers) = status("GET", "/healthz", &[("x-request-id", "bad id with spaces")]).await;
    assert_ne!(headers["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn readyz_needs_a_live_tracker() {
    let router = router();
    let request = |uri: &str| {
        Request::builder()
            .uri(uri)
            .header("host", "gw")
            .body(Body::empty())
            .unwrap()
    };
    // The only tracker is a closed port: a failed request marks it down.
    let response = router
        .clone()
        .oneshot(request("/images/a.jpg"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let response = router.oneshot(request("/readyz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn unreachable_tracker_is_503() {
    let (code, headers) = status("GET", "/images/a.jpg", &[]).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
}

#[tokio::test]
async fn http11_without_host_is_400_http10_is_served() {
    let request = |version| {
        Request::builder()
            .uri("/healthz")
            .version(version)
            .body(Body::empty())
            .unwrap()
    };
    let eleven = router()
        .oneshot(request(axum::http::Version::HTTP_11))
        .await
        .unwrap();
    assert_eq!(eleven.status(), StatusCode::BAD_REQUEST);
    let ten = router()
        .oneshot(request(axum::http::Version::HTTP_10))
        .await
        .unwrap();
    assert_eq!(ten.status(), StatusCode::OK);
}

async fn error_body(accept: &str) -> (StatusCode, String, String) {
    let request = Request::builder()
        .uri("/other/x.jpg")
        .header("host", "gw")
        .header("accept", accept)
        .body(Body::empty())
        .unwrap();
    let response = router().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn errors_are_json_when_accept_prefers_json() {
    let (status, content_type, body) = error_body("application/json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "application/json");
    assert_eq!(
        body,
        "{\"error\":\"no location serves this path\",\"status\":404}\n"
    );
    for accept in [
        "*/*",
        "text/html, */*;q=0.8",
        "text/plain, application/json",
    ] {
        let (status, content_type, body) = error_body(accept).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(content_type.starts_with("text/plain"), "{accept}");
        assert_eq!(
            body, "404 Not Found: no location serves this path\n",
            "{accept}"
        );
    }
}

/// The router of `CONFIG` with `extra` at the end of its `[server]` table
/// (`extra` may open `[server.*]` tables of its own).
fn router_with(extra: &str) -> Router {
    let text = CONFIG.replacen("\n[[upstream]]", &format!("\n{extra}\n[[upstream]]"), 1);
    let config = Config::parse(&text).unwrap();
    app(
        Arc::new(Live::new(crate::app::build(&config).unwrap())),
        true,
    )
}

/// GETs `uri` through `router`: status, `Content-Type` and body.
async fn get_page(
    router: &Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let mut request = Request::builder().uri(uri).header("host", "gw");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map_or("", |v| v.to_str().unwrap())
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn the_status_page_answers_at_its_configured_path() {
    let router = router_with("status_path = \"/ops/cluster\"");
    let (code, content_type, page) = get_page(&router, "/ops/cluster", &[]).await;
    assert_eq!(code, StatusCode::OK, "{page}");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    // The tracker is a closed port: the page says so rather than failing.
    assert!(page.contains("127.0.0.1:1"), "{page}");
    let (code, content_type, json) = get_page(&router, "/ops/cluster.json", &[]).await;
    assert_eq!(code, StatusCode::OK, "{json}");
    assert_eq!(content_type, "application/json");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["upstreams"][0]["name"], "mog", "{json}");
    // Moved, not duplicated: no location serves the default path.
    let (code, _, _) = get_page(&router, "/_status", &[]).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_status_page_needs_the_admin_token_when_one_is_set() {
    const TOKEN: &str = "status-token-0123456789";
    let router = router_with(&format!("[server.access.admin]\ntokens = [\"{TOKEN}\"]"));
    let bearer = format!("Bearer {TOKEN}");
    let with_token = [("authorization", bearer.as_str())];
    for path in ["/_status", "/_status.json"] {
        let (code, _, body) = get_page(&router, path, &[]).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{path} without a token");
        assert!(!body.contains("127.0.0.1:1"), "{path} leaked the report");
        let wrong = [("authorization", "Bearer status-token-0123456780")];
        let (code, _, _) = get_page(&router, path, &wrong).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{path} with a wrong token");
        let (code, _, body) = get_page(&router, path, &with_token).await;
        assert_eq!(code, StatusCode::OK, "{path} with the token");
        assert!(body.contains("127.0.0.1:1"), "{path}: {body}");
    }
}
