//! Every error the gateway writes answers `{"error","status"}` JSON to a
//! client whose `Accept` asks for it, with the headers its text form has:
//! - access rules on a location: 401 (with `WWW-Authenticate`), 403 for
//!   wrong credentials and for a denied address, 429 (with `Retry-After`),
//!   a refused CORS preflight;
//! - the admin side: 401 (with `WWW-Authenticate`) and 403;
//! - thumbnails: 415 (not an image), 413 (too many pixels), 422 (a cut
//!   JPEG), 503 (past the time budget);
//! - the gateway's own: 404 (no location), 405 (with `Allow`);
//! - the same errors stay text for a client that does not ask.

use dfs_e2e::fastdfs::bounded;
use dfs_e2e::{MogEnv, MogOptions};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);
const JSON: (&str, &str) = ("accept", "application/json");
const ADMIN_TOKEN: &str = "admin-token-0123456789";

const TABLES: &str = r#"
[[location]]
prefix = "/auth/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
[location.access]
tokens = ["reader-token-0123456789"]
require = "all"

[[location]]
prefix = "/deny/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
[location.access]
clients = ["deny 127.0.0.1", "allow all"]

[[location]]
prefix = "/rate/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
[location.access]
rate = { reads = { per_second = 1, burst = 1 } }

[[location]]
prefix = "/cors/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
[location.access]
cors = { origins = ["http://app.test"] }

[[location]]
prefix = "/thumbs/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
thumbnails = { sizes = ["100x50"], max_pixels = 1000000 }

[[location]]
prefix = "/hurried/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
thumbnails = { sizes = ["100x50"], time_budget = "1ms" }

[server.access.admin]
tokens = ["admin-token-0123456789"]
"#;

async fn send(
    env: &MogEnv,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = env.http.request(method, env.gateway.url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

/// Asserts `response` is a JSON error body of `status`; returns its headers.
async fn json_error(
    what: &str,
    response: reqwest::Response,
    status: u16,
) -> reqwest::header::HeaderMap {
    assert_eq!(response.status(), status, "{what}");
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json", "{what}");
    let text = response.text().await.unwrap();
    assert!(text.ends_with('\n'), "{what}: {text:?}");
    let body: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
    assert_eq!(body["status"], status, "{what}: {text}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{what}: {text}");
    headers
}

#[tokio::test]
async fn every_error_class_answers_json_when_asked() {
    bounded(LIMIT, async {
        let options = MogOptions {
            extra_tables: TABLES.into(),
            ..MogOptions::default()
        };
        let env = MogEnv::start_with(1, &options).await;
        let get = reqwest::Method::GET;

        // Access rules on a location.
        let h = json_error(
            "401",
            send(&env, get.clone(), "/auth/a", &[JSON]).await,
            401,
        )
        .await;
        assert!(h["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let wrong = [JSON, ("authorization", "Bearer not-the-token-at-all")];
        json_error(
            "403 credentials",
            send(&env, get.clone(), "/auth/a", &wrong).await,
            403,
        )
        .await;
        json_error(
            "403 address",
            send(&env, get.clone(), "/deny/a", &[JSON]).await,
            403,
        )
        .await;
        assert_eq!(
            send(&env, get.clone(), "/rate/a", &[JSON]).await.status(),
            404
        );
        let h = json_error(
            "429",
            send(&env, get.clone(), "/rate/a", &[JSON]).await,
            429,
        )
        .await;
        assert!(h.contains_key("retry-after"));
        let preflight = [
            JSON,
            ("origin", "http://evil.test"),
            ("access-control-request-method", "GET"),
        ];
        let refused = send(&env, reqwest::Method::OPTIONS, "/cors/a", &preflight).await;
        json_error("CORS preflight", refused, 403).await;

        // The admin side.
        let h = json_error(
            "admin 401",
            send(&env, get.clone(), "/metrics", &[JSON]).await,
            401,
        )
        .await;
        assert!(h["www-authenticate"].to_str().unwrap().contains("admin"));
        let wrong = [JSON, ("authorization", "Bearer wrong-admin-token-xyz")];
        json_error(
            "admin 403",
            send(&env, get.clone(), "/metrics", &wrong).await,
            403,
        )
        .await;
        let right = format!("Bearer {ADMIN_TOKEN}");
        let scraped = send(&env, get.clone(), "/metrics", &[("authorization", &right)]).await;
        assert_eq!(scraped.status(), 200);

        // Thumbnails.
        assert_eq!(env.put("notes.jpg", "plain text, not pixels").await, 201);
        let r = send(&env, get.clone(), "/thumbs/notes.jpg?w=100&h=50", &[JSON]).await;
        json_error("415", r, 415).await;
        assert_eq!(
            env.put("big.jpg", dfs_e2e::gradient_jpeg(1600, 1200)).await,
            201
        );
        let r = send(&env, get.clone(), "/thumbs/big.jpg?w=100&h=50", &[JSON]).await;
        json_error("413", r, 413).await;
        let small = dfs_e2e::gradient_jpeg(400, 300);
        assert_eq!(
            env.put("cut.jpg", small[..small.len() / 2].to_vec()).await,
            201
        );
        let r = send(&env, get.clone(), "/thumbs/cut.jpg?w=100&h=50", &[JSON]).await;
        json_error("422", r, 422).await;
        let r = send(&env, get.clone(), "/hurried/big.jpg?w=100&h=50", &[JSON]).await;
        json_error("503", r, 503).await;

        // The gateway's own.
        json_error(
            "404",
            send(&env, get.clone(), "/nowhere/a", &[JSON]).await,
            404,
        )
        .await;
        let r = send(&env, reqwest::Method::PUT, "/images/a", &[JSON]).await;
        let h = json_error("405", r, 405).await;
        assert!(h.contains_key("allow"));

        // Without asking: text, as before.
        let text = send(&env, get.clone(), "/auth/a", &[]).await;
        assert_eq!(text.status(), 401);
        assert!(text.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        assert!(text.text().await.unwrap().starts_with("401 Unauthorized: "));
        let text = send(&env, get, "/thumbs/notes.jpg?w=100&h=50", &[]).await;
        assert_eq!(text.status(), 415);
        let body = text.text().await.unwrap();
        assert!(
            body.starts_with("415 Unsupported Media Type: notes.jpg: "),
            "{body}"
        );
        env.gateway.stop().await;
    })
    .await;
}
