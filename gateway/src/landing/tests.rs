//! The landing page, through the whole router (`oneshot`):
//! - off by default: `GET /` goes to the locations as before;
//! - on: `GET /` and `HEAD /` answer the HTML page listing the locations, the
//!   example links (escaped), the status page and the commands;
//! - other paths and methods on `/` still reach the locations.

use crate::config::Config;
use crate::routes::{app, Live};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use std::sync::Arc;
use tower::ServiceExt;

const BASE: &str = r#"
[server]
listen = "127.0.0.1:0"
{extra}

[[upstream]]
name = "fdfs"
protocol = "fastdfs"
trackers = ["127.0.0.1:1"]
connect_timeout = "200ms"

[[location]]
prefix = "/"
upstream = "fdfs"
methods = ["GET", "HEAD", "POST"]
"#;

async fn get(extra: &str, method: &str, uri: &str) -> (StatusCode, String, String) {
    let config = Config::parse(&BASE.replace("{extra}", extra)).unwrap();
    let live = Arc::new(Live::new(crate::app::build(&config).unwrap()));
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "gw")
        .body(Body::empty())
        .unwrap();
    let response = app(live, true).oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, kind, String::from_utf8_lossy(&body).into_owned())
}

const ON: &str = r#"landing_page = { links = ["/group1/M00/00/00/a.png", "/x?a=1&b=<2>"], commands = ["curl -i http://127.0.0.1:8080/"] }"#;

#[tokio::test]
async fn without_the_key_slash_goes_to_the_locations() {
    let (status, kind, body) = get("", "GET", "/").await;
    assert_ne!(status, StatusCode::OK, "{body}");
    assert!(!kind.starts_with("text/html"), "{kind}: {body}");
}

#[tokio::test]
async fn with_the_key_slash_is_the_page() {
    let (status, kind, body) = get(ON, "GET", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/html; charset=utf-8");
    assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
    assert!(
        body.contains("<code>/</code></td><td>fdfs</td><td>fastdfs</td><td>GET, HEAD, POST</td>"),
        "{body}"
    );
    assert!(
        body.contains("<a href=\"/group1/M00/00/00/a.png\">"),
        "{body}"
    );
    assert!(body.contains("/x?a=1&amp;b=&lt;2&gt;"), "escaped: {body}");
    assert!(!body.contains("<2>"), "{body}");
    assert!(body.contains("href=\"/_status\""), "{body}");
    assert!(body.contains("curl -i http://127.0.0.1:8080/"), "{body}");
    let (status, _, body) = get(ON, "HEAD", "/").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
}

#[tokio::test]
async fn with_the_key_other_requests_still_reach_the_locations() {
    let (without, _, _) = get("", "GET", "/group1/M00/00/00/nope.jpg").await;
    let (with, kind, _) = get(ON, "GET", "/group1/M00/00/00/nope.jpg").await;
    assert_eq!(with, without);
    assert!(!kind.starts_with("text/html"));
    let (status, kind, _) = get(ON, "POST", "/").await;
    assert_ne!(status, StatusCode::OK);
    assert!(!kind.starts_with("text/html"));
}
