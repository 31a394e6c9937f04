//! Router tests (`oneshot`) of the access rules, each request given a peer
//! address as the accept loop would. The tracker is a closed port, so a
//! request that passes every rule shows as 503 (no tracker), one that is
//! stopped shows as 401/403/429/204:
//! - `clients` / `write_clients` allow and deny, IPv4 and IPv6, first match wins;
//! - `X-Forwarded-For` honoured from a trusted proxy, ignored (spoofed) otherwise;
//! - Basic with `{SHA}` and bcrypt entries, bearer tokens: 401 + WWW-Authenticate, 403, pass;
//! - signed URLs: valid, expired, tampered, wrong method, too large;
//! - CORS preflight (allowed, disallowed origin, disallowed method) and simple requests;
//!   `Origin: null` allowed only when `"null"` is listed, `"*"` with
//!   `credentials` refused by `check-config`;
//! - 429 with Retry-After over the burst, and recovery;
//! - the admin side: open by default, by CIDR, by token with health checks exempt;
//! - `check-config` errors naming key and line.

use crate::config::Config;
use crate::routes::{app, Live};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

const SECRET: &str = "a-signing-secret-of-some-length";

fn config(access: &str, server_access: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
{server_access}

[[upstream]]
name = "mog"
protocol = "mogilefs"
trackers = ["127.0.0.1:1"]
connect_timeout = "200ms"
probe_interval = "0s"

[[location]]
prefix = "/files/"
upstream = "mog"
domain = "d"
methods = ["GET", "PUT", "DELETE"]

[location.access]
{access}
"#
    )
}

fn router(access: &str, server_access: &str) -> axum::Router {
    let config = Config::parse(&config(access, server_access)).unwrap();
    app(
        Arc::new(Live::new(crate::app::build(&config).unwrap())),
        true,
    )
}

async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    peer: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(axum::http::header::HOST, "gw");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = router.clone().oneshot(request).await.unwrap();
    (response.status(), response.headers().clone())
}

const PASSED: StatusCode = StatusCode::SERVICE_UNAVAILABLE;
const V4: &str = "192.0.2.10:5000";

#[tokio::test]
async fn address_rules_first_match_wins_and_write_rules_narrow_writes() {
    let r = router(
        r#"clients = ["deny 10.9.0.0/16", "allow 10.0.0.0/8", "allow 2001:db8::/32", "deny all"]
write_clients = ["allow 10.1.0.0/16", "deny all"]"#,
        "",
    );
    assert_eq!(
        send(&r, "GET", "/files/a", "10.2.0.1:1", &[]).await.0,
        PASSED
    );
    assert_eq!(
        send(&r, "GET", "/files/a", "10.9.0.1:1", &[]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&r, "GET", "/files/a", V4, &[]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&r, "GET", "/files/a", "[2001:db8::7]:1", &[]).await.0,
        PASSED
    );
    assert_eq!(
        send(&r, "GET", "/files/a", "[2001:db9::7]:1", &[]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&r, "PUT", "/files/a", "10.1.2.3:1", &[]).await.0,
        PASSED
    );
    assert_eq!(
        send(&r, "PUT", "/files/a", "10.2.0.1:1", &[]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&r, "DELETE", "/files/a", "10.2.0.1:1", &[]).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn forwarded_for_only_from_trusted_proxies() {
    let r = router(
        r#"clients = ["allow 203.0.113.0/24", "deny all"]"#,
        "[server.access]\ntrusted_proxies = [\"127.0.0.1\"]",
    );
    let xff = [("x-forwarded-for", "203.0.113.5")];
    assert_eq!(
        send(&r, "GET", "/files/a", "127.0.0.1:1", &xff).await.0,
        PASSED
    );
    // The same header from an untrusted peer is a spoof: the peer is judged.
    assert_eq!(
        send(&r, "GET", "/files/a", V4, &xff).await.0,
        StatusCode::FORBIDDEN
    );
    // A client behind the proxy cannot pick its address by sending its own header.
    let spoofed = [("x-forwarded-for", "203.0.113.5, 198.51.100.1")];
    assert_eq!(
        send(&r, "GET", "/files/a", "127.0.0.1:1", &spoofed).await.0,
        StatusCode::FORBIDDEN
    );
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

#[tokio::test]
async fn basic_with_sha_and_bcrypt_and_bearer() {
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = dir.path().join("htpasswd");
    let hash = bcrypt::hash("b-password", 4).unwrap();
    std::fs::write(
        &htpasswd,
        format!("alice:{{SHA}}5en6G6MezRroT3XKqkdPOmY/BfQ=\nbob:{hash}\n"),
    )
    .unwrap();
    let r = router(
        &format!(
            "htpasswd = {:?}\ntokens = [\"tok-0123456789abcdef\"]\nrealm = \"uploads\"",
            htpasswd.display().to_string()
        ),
        "",
    );
    // Reads stay public (require defaults to writes).
    assert_eq!(send(&r, "GET", "/files/a", V4, &[]).await.0, PASSED);
    let (code, headers) = send(&r, "PUT", "/files/a", V4, &[]).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = headers.get_all("www-authenticate").iter().collect();
    assert_eq!(challenges.len(), 2);
    assert_eq!(challenges[0], "Basic realm=\"uploads\", charset=\"UTF-8\"");
    let put = |auth: String| {
        let r = r.clone();
        async move {
            send(&r, "PUT", "/files/a", V4, &[("authorization", &auth)])
                .await
                .0
        }
    };
    assert_eq!(put(basic("alice", "secret")).await, PASSED);
    assert_eq!(put(basic("alice", "wrong")).await, StatusCode::FORBIDDEN);
    assert_eq!(put(basic("bob", "b-password")).await, PASSED);
    assert_eq!(put(basic("bob", "secret")).await, StatusCode::FORBIDDEN);
    assert_eq!(put("Bearer tok-0123456789abcdef".into()).await, PASSED);
    assert_eq!(
        put("Bearer tok-0123456789abcdeX".into()).await,
        StatusCode::FORBIDDEN
    );
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn signed_uri(method: &str, path: &str, expires: u64, max: Option<u64>) -> String {
    let query = super::signed::sign(SECRET.as_bytes(), method, path, expires, max);
    format!("{path}?{query}")
}

#[tokio::test]
async fn signed_urls() {
    let r = router(
        &format!("signed = {{ secret = {SECRET:?}, skew = \"5s\" }}"),
        "",
    );
    let len = [("content-length", "10")];
    let valid = signed_uri("PUT", "/files/a.jpg", now() + 60, None);
    assert_eq!(send(&r, "PUT", &valid, V4, &len).await.0, PASSED);
    // No signature, another path, another method, expired, tampered expiry.
    assert_eq!(
        send(&r, "PUT", "/files/a.jpg", V4, &len).await.0,
        StatusCode::FORBIDDEN
    );
    let other = valid.replace("a.jpg", "b.jpg");
    assert_eq!(
        send(&r, "PUT", &other, V4, &len).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&r, "DELETE", &valid, V4, &[]).await.0,
        StatusCode::FORBIDDEN
    );
    let expired = signed_uri("PUT", "/files/a.jpg", now() - 10, None);
    assert_eq!(
        send(&r, "PUT", &expired, V4, &len).await.0,
        StatusCode::FORBIDDEN
    );
    let skewed = signed_uri("PUT", "/files/a.jpg", now() - 2, None);
    assert_eq!(
        send(&r, "PUT", &skewed, V4, &len).await.0,
        PASSED,
        "inside the skew"
    );
    let tampered = valid.replace("expires=", "expires=1");
    assert_eq!(
        send(&r, "PUT", &tampered, V4, &len).await.0,
        StatusCode::FORBIDDEN
    );
    // Size-bound: within, above, and undeclared.
    let bound = signed_uri("PUT", "/files/a.jpg", now() + 60, Some(10));
    assert_eq!(send(&r, "PUT", &bound, V4, &len).await.0, PASSED);
    let big = [("content-length", "11")];
    assert_eq!(
        send(&r, "PUT", &bound, V4, &big).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&r, "PUT", &bound, V4, &[]).await.0,
        StatusCode::LENGTH_REQUIRED
    );
}

#[tokio::test]
async fn cors_preflight_and_simple_requests() {
    let r = router(
        r#"cors = { origins = ["http://app.test"], headers = ["content-type", "x-extra"], max_age = "1h" }"#,
        "",
    );
    let preflight = |origin: &'static str, method: &'static str| {
        let r = r.clone();
        async move {
            let h = [
                ("origin", origin),
                ("access-control-request-method", method),
                ("access-control-request-headers", "Content-Type"),
            ];
            send(&r, "OPTIONS", "/files/a.jpg", V4, &h).await
        }
    };
    let (code, h) = preflight("http://app.test", "PUT").await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(h["access-control-allow-origin"], "http://app.test");
    assert_eq!(h["access-control-allow-methods"], "GET, PUT, DELETE, HEAD");
    assert_eq!(h["access-control-allow-headers"], "Content-Type");
    assert_eq!(h["access-control-max-age"], "3600");
    assert_eq!(h["vary"], "Origin");
    for (origin, method) in [("http://evil.test", "PUT"), ("http://app.test", "POST")] {
        let (code, h) = preflight(origin, method).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{origin} {method}");
        assert!(
            !h.keys().any(|k| k.as_str().starts_with("access-control-")),
            "{h:?}"
        );
    }
    // Simple request: headers for an allowed origin only; Vary for both.
    let (_, h) = send(
        &r,
        "GET",
        "/files/a.jpg",
        V4,
        &[("origin", "http://app.test")],
    )
    .await;
    assert_eq!(h["access-control-allow-origin"], "http://app.test");
    assert!(h["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("etag"));
    let (_, h) = send(
        &r,
        "GET",
        "/files/a.jpg",
        V4,
        &[("origin", "http://evil.test")],
    )
    .await;
    assert!(!h.contains_key("access-control-allow-origin"));
    assert_eq!(h["vary"], "Origin");
    // Without CORS configured OPTIONS stays a 405.
    let plain = router("", "");
    assert_eq!(
        send(
            &plain,
            "OPTIONS",
            "/files/a.jpg",
            V4,
            &[
                ("origin", "http://app.test"),
                ("access-control-request-method", "GET")
            ]
        )
        .await
        .0,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn a_null_origin_is_echoed_only_when_listed() {
    let null = [("origin", "null")];
    let listed = router(
        r#"cors = { origins = ["http://app.test"], credentials = true }"#,
        "",
    );
    let (_, h) = send(&listed, "GET", "/files/a.jpg", V4, &null).await;
    assert!(!h.contains_key("access-control-allow-origin"), "{h:?}");
    assert!(!h.contains_key("access-control-allow-credentials"), "{h:?}");
    let (_, h) = send(
        &listed,
        "GET",
        "/files/a.jpg",
        V4,
        &[("origin", "http://app.test")],
    )
    .await;
    assert_eq!(h["access-control-allow-origin"], "http://app.test");
    assert_eq!(h["access-control-allow-credentials"], "true");
    // "*" without credentials: a literal `*`, never the origin itself.
    let any = router(r#"cors = { origins = ["*"] }"#, "");
    let (_, h) = send(&any, "GET", "/files/a.jpg", V4, &null).await;
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(!h.contains_key("access-control-allow-credentials"), "{h:?}");
    // Listed literally, `null` is an origin like another.
    let opaque = router(r#"cors = { origins = ["null"], credentials = true }"#, "");
    let (_, h) = send(&opaque, "GET", "/files/a.jpg", V4, &null).await;
    assert_eq!(h["access-control-allow-origin"], "null");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let h = [("origin", "null"), ("access-control-request-method", "PUT")];
    assert_eq!(
        send(&listed, "OPTIONS", "/files/a.jpg", V4, &h).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&opaque, "OPTIONS", "/files/a.jpg", V4, &h).await.0,
        StatusCode::NO_CONTENT
    );
}

#[test]
fn check_config_refuses_any_origin_with_credentials() {
    let err = config_error(r#"cors = { origins = ["*"], credentials = true }"#, "");
    assert!(
        err.contains("location[0].access.cors.origins (line 20)")
            && err.contains("credentials")
            && err.contains("list the origins"),
        "{err}"
    );
    let err = config_error(
        r#"cors = { origins = ["https://app.test", "*"], credentials = true }"#,
        "",
    );
    assert!(err.contains("access.cors.origins"), "{err}");
    for fine in [
        r#"cors = { origins = ["*"] }"#,
        r#"cors = { origins = ["https://app.test", "null"], credentials = true }"#,
    ] {
        assert!(Config::parse(&config(fine, "")).is_ok(), "{fine}");
    }
}

#[tokio::test]
async fn rate_limit_burst_then_429_then_recovery() {
    let r = router("rate = { writes = { per_second = 10, burst = 3 } }", "");
    for _ in 0..3 {
        assert_eq!(send(&r, "PUT", "/files/a", V4, &[]).await.0, PASSED);
    }
    let (code, h) = send(&r, "PUT", "/files/a", V4, &[]).await;
    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h["retry-after"], "1");
    // Reads are not limited, other addresses have their own bucket.
    assert_eq!(send(&r, "GET", "/files/a", V4, &[]).await.0, PASSED);
    assert_eq!(
        send(&r, "PUT", "/files/a", "192.0.2.11:1", &[]).await.0,
        PASSED
    );
    // One token comes back every 100ms.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(send(&r, "PUT", "/files/a", V4, &[]).await.0, PASSED);
}

#[tokio::test]
async fn admin_side_restrictions() {
    let open = router("", "");
    assert_eq!(
        send(&open, "GET", "/metrics", V4, &[]).await.0,
        StatusCode::OK
    );
    let r = router("", "[server.access.admin]\nclients = [\"allow 127.0.0.0/8\", \"deny all\"]\ntokens = [\"admin-token-0123456789\"]");
    let local = "127.0.0.1:9";
    assert_eq!(
        send(&r, "GET", "/healthz", local, &[]).await.0,
        StatusCode::OK,
        "health checks need no token"
    );
    assert_eq!(
        send(&r, "GET", "/readyz", local, &[]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&r, "GET", "/healthz", V4, &[]).await.0,
        StatusCode::FORBIDDEN
    );
    let (code, h) = send(&r, "GET", "/metrics", local, &[]).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert!(h.contains_key("www-authenticate"));
    let token = [("authorization", "Bearer admin-token-0123456789")];
    assert_eq!(
        send(&r, "GET", "/metrics", local, &token).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&r, "GET", "/metrics", V4, &token).await.0,
        StatusCode::FORBIDDEN
    );
    let wrong = [("authorization", "Bearer admin-token-0123456780")];
    assert_eq!(
        send(&r, "GET", "/metrics", local, &wrong).await.0,
        StatusCode::FORBIDDEN
    );
}

fn config_error(access: &str, server_access: &str) -> String {
    Config::parse(&config(access, server_access))
        .unwrap_err()
        .to_string()
}

#[test]
fn check_config_names_key_and_line() {
    let err = config_error(r#"clients = ["allow 10.0.0.0/33"]"#, "");
    assert!(
        err.contains("line 20") && err.contains("10.0.0.0/33"),
        "{err}"
    );
    let err = config_error(r#"clients = ["permit 10.0.0.0/8"]"#, "");
    assert!(err.contains("line 20") && err.contains("allow"), "{err}");
    let err = config_error("htpasswd = \"/nonexistent/htpasswd\"", "");
    assert!(
        err.contains("location[0].access.htpasswd (line 20)") && err.contains("cannot read"),
        "{err}"
    );
    let err = config_error("signed = { secret = \"short\" }", "");
    assert!(
        err.contains("location[0].access.signed (line 20)") && err.contains("too weak"),
        "{err}"
    );
    let err = config_error("tokens = [\"\"]", "");
    assert!(
        err.contains("access.tokens") && err.contains("empty"),
        "{err}"
    );
    let err = config_error("require = \"all\"", "");
    assert!(err.contains("access.require"), "{err}");
    let err = config_error(r#"cors = { origins = ["http://a.test/"] }"#, "");
    assert!(err.contains("access.cors"), "{err}");
    let err = config_error("", "[server.access]\ntrusted_proxies = [\"10.0.0.300\"]");
    assert!(
        err.contains("line 5") && err.contains("10.0.0.300"),
        "{err}"
    );
    let err = config_error("", "[server.access.admin]\ntokens = [\"weak\"]");
    assert!(
        err.contains("server.access.admin.tokens") && err.contains("too weak"),
        "{err}"
    );
}
