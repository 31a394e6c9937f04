//! Every body the gateway writes itself ends with a newline, as nginx's do:
//! health, readiness, metrics (both formats), the status page and its JSON,
//! and the error answers (404, 405, 400, 413, 503), through the whole router.

use axum::body::Body;
use axum::http::{Request, Version};
use dfs_gateway::config::Config;
use dfs_gateway::routes::{app, Live};
use std::sync::Arc;
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
methods = ["PUT"]
"#;

async fn body(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    version: Version,
) -> (u16, String) {
    let config = Config::parse(CONFIG).unwrap();
    let live = Arc::new(Live::new(dfs_gateway::app::build(&config).unwrap()));
    let mut request = Request::builder().method(method).uri(uri).version(version);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app(live, true)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Method, path, headers and HTTP version of one request.
type Case = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Version,
);

#[tokio::test]
async fn every_body_ends_with_a_newline() {
    let host = [("host", "gw")];
    let cases: Vec<Case> = vec![
        ("GET", "/healthz", host.to_vec(), Version::HTTP_11),
        ("GET", "/readyz", host.to_vec(), Version::HTTP_11),
        ("GET", "/metrics", host.to_vec(), Version::HTTP_11),
        (
            "GET",
            "/metrics",
            vec![("host", "gw"), ("accept", "text/plain")],
            Version::HTTP_11,
        ),
        ("GET", "/_status", host.to_vec(), Version::HTTP_11),
        ("GET", "/_status.json", host.to_vec(), Version::HTTP_11),
        ("GET", "/elsewhere/a.jpg", host.to_vec(), Version::HTTP_11),
        ("DELETE", "/images/a.jpg", host.to_vec(), Version::HTTP_11),
        ("GET", "/images/a.jpg", vec![], Version::HTTP_11),
        (
            "PUT",
            "/upload/a.jpg",
            vec![("host", "gw"), ("content-length", "4096")],
            Version::HTTP_11,
        ),
        ("GET", "/images/a.jpg", host.to_vec(), Version::HTTP_11),
    ];
    let mut statuses = Vec::new();
    for (method, uri, headers, version) in cases {
        let (status, text) = body(method, uri, &headers, version).await;
        statuses.push(status);
        assert!(
            !text.is_empty(),
            "{method} {uri}: {status} with an empty body"
        );
        assert!(text.ends_with('\n'), "{method} {uri}: {status}: {text:?}");
    }
    for expected in [404, 405, 400, 413, 503] {
        assert!(
            statuses.contains(&expected),
            "{expected} not covered: {statuses:?}"
        );
    }
}
