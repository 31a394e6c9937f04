//! Access control end to end: a MogileFS devcluster, the gateway on a real
//! socket (so the peer address comes from the accept loop), a real client.
//! - address rules: denied and allowed peers; `X-Forwarded-For` honoured
//!   from a trusted proxy, a spoofed one from an untrusted peer ignored;
//! - writes with Basic (bcrypt and `{SHA}` entries) and bearer tokens; 401
//!   with `WWW-Authenticate` without credentials, 403 with wrong ones;
//! - signed URLs: valid (stored), expired, tampered, wrong method, too large;
//! - CORS preflight and simple requests, `Vary: Origin`;
//! - `Cache-Control` on successful reads only;
//! - 429 with `Retry-After` under a burst, then recovery;
//! - the admin side restricted by address and token, health checks exempt.

use dfs_e2e::{MogEnv, MogOptions};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "e2e-signing-secret-0123456789";

/// A cluster with `/w/` (GET, HEAD, PUT, DELETE) under `access`, and
/// `server` appended (e.g. `[server.access]`).
async fn env(access: &str, server: &str) -> MogEnv {
    let extra_tables = format!(
        r#"
[[location]]
prefix = "/w/"
upstream = "mog"
domain = "imgs"
class = "photos"
methods = ["GET", "HEAD", "PUT", "DELETE"]

[location.access]
{access}

{server}
"#
    );
    let options = MogOptions {
        extra_tables,
        ..MogOptions::default()
    };
    MogEnv::start_with(1, &options).await
}

async fn put(
    env: &MogEnv,
    path: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> reqwest::Response {
    let mut request = env.http.put(env.gateway.url(path)).body(body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

async fn get(env: &MogEnv, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = env.http.get(env.gateway.url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn signed(method: &str, path: &str, expires: u64, max: Option<u64>) -> String {
    let query = dfs_gateway::access::signed::sign(SECRET.as_bytes(), method, path, expires, max);
    format!("{path}?{query}")
}

#[tokio::test]
async fn address_rules_and_trusted_proxies() {
    let denied = env(r#"clients = ["deny 127.0.0.1", "allow all"]"#, "").await;
    assert_eq!(get(&denied, "/w/a", &[]).await.status(), 403);
    // Writes only from 10.1.0.0/16; the test client is 127.0.0.1, so a
    // spoofed header from this untrusted peer changes nothing.
    let rules = r#"write_clients = ["allow 10.1.0.0/16", "deny all"]"#;
    let direct = env(rules, "").await;
    let spoof = [("x-forwarded-for", "10.1.0.5")];
    assert_eq!(put(&direct, "/w/a.txt", &spoof, "x").await.status(), 403);
    assert_eq!(
        get(&direct, "/w/a.txt", &[]).await.status(),
        404,
        "reads stay open"
    );
    // With 127.0.0.1 a trusted proxy, its header names the client.
    let proxied = env(
        rules,
        "[server.access]\ntrusted_proxies = [\"127.0.0.0/8\"]",
    )
    .await;
    assert_eq!(put(&proxied, "/w/a.txt", &spoof, "x").await.status(), 201);
    let outside = [("x-forwarded-for", "192.0.2.1")];
    assert_eq!(put(&proxied, "/w/a.txt", &outside, "x").await.status(), 403);
}

#[tokio::test]
async fn basic_bcrypt_sha_and_bearer_writes() {
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = dir.path().join("htpasswd");
    let hash = bcrypt::hash("bob-password", 4).unwrap();
    // alice's entry is `htpasswd -s` output for "secret".
    std::fs::write(
        &htpasswd,
        format!("alice:{{SHA}}5en6G6MezRroT3XKqkdPOmY/BfQ=\nbob:{hash}\n"),
    )
    .unwrap();
    let access = format!(
        "htpasswd = {:?}\ntokens = [\"bearer-token-0123456789\"]",
        htpasswd.display().to_string()
    );
    let env = env(&access, "").await;
    let response = put(&env, "/w/b.txt", &[], "x").await;
    assert_eq!(response.status(), 401);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic realm="));
    let with_basic = |user: &'static str, password: &'static str| {
        let env = &env;
        async move {
            env.http
                .put(env.gateway.url("/w/b.txt"))
                .basic_auth(user, Some(password))
                .body("from basic")
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(with_basic("alice", "secret").await, 201);
    assert_eq!(with_basic("bob", "bob-password").await, 201);
    assert_eq!(with_basic("bob", "wrong").await, 403);
    let bearer = [("authorization", "Bearer bearer-token-0123456789")];
    assert_eq!(
        put(&env, "/w/b.txt", &bearer, "from bearer").await.status(),
        201
    );
    let wrong = [("authorization", "Bearer bearer-token-0123456788")];
    assert_eq!(put(&env, "/w/b.txt", &wrong, "x").await.status(), 403);
    let read = get(&env, "/w/b.txt", &[]).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.text().await.unwrap(), "from bearer");
}

#[tokio::test]
async fn signed_urls_end_to_end() {
    let env = env(&format!("signed = {{ secret = {SECRET:?} }}"), "").await;
    let url = signed("PUT", "/w/s.txt", now() + 60, Some(100));
    assert_eq!(put(&env, &url, &[], "signed body").await.status(), 201);
    assert_eq!(
        get(&env, "/w/s.txt", &[]).await.text().await.unwrap(),
        "signed body"
    );
    assert_eq!(
        put(&env, "/w/s.txt", &[], "x").await.status(),
        403,
        "unsigned"
    );
    let expired = signed("PUT", "/w/s.txt", now() - 120, None);
    assert_eq!(put(&env, &expired, &[], "x").await.status(), 403);
    let tampered = url.replace("/w/s.txt", "/w/t.txt");
    assert_eq!(put(&env, &tampered, &[], "x").await.status(), 403);
    let delete = env.http.delete(env.gateway.url(&url)).send().await.unwrap();
    assert_eq!(delete.status(), 403, "signed for PUT, not DELETE");
    let small = signed("PUT", "/w/s.txt", now() + 60, Some(4));
    assert_eq!(put(&env, &small, &[], "five!").await.status(), 403);
    assert_eq!(
        get(&env, "/w/s.txt", &[]).await.text().await.unwrap(),
        "signed body",
        "refused uploads stored nothing"
    );
}

#[tokio::test]
async fn cors_and_cache_control() {
    let env = env(
        r#"cors = { origins = ["http://app.test"] }
cache = { max_age = "365d", immutable = true }"#,
        "",
    )
    .await;
    assert_eq!(put(&env, "/w/c.jpg", &[], "jpeg").await.status(), 201);
    let origin = [("origin", "http://app.test")];
    let read = get(&env, "/w/c.jpg", &origin).await;
    assert_eq!(read.status(), 200);
    assert_eq!(
        read.headers()["access-control-allow-origin"],
        "http://app.test"
    );
    assert_eq!(read.headers()["vary"], "Origin");
    assert_eq!(
        read.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let other = get(&env, "/w/c.jpg", &[("origin", "http://evil.test")]).await;
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    let missing = get(&env, "/w/none.jpg", &origin).await;
    assert_eq!(missing.status(), 404);
    assert!(
        !missing.headers().contains_key("cache-control"),
        "no caching of a 404"
    );
    let preflight = env
        .http
        .request(reqwest::Method::OPTIONS, env.gateway.url("/w/c.jpg"))
        .header("origin", "http://app.test")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert!(preflight.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("PUT"));
}

#[tokio::test]
async fn rate_limit_429_then_recovery() {
    let env = env("rate = { reads = { per_second = 5, burst = 2 } }", "").await;
    assert_eq!(get(&env, "/w/r", &[]).await.status(), 404);
    assert_eq!(get(&env, "/w/r", &[]).await.status(), 404);
    let limited = get(&env, "/w/r", &[]).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    // A token every 200ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(&env, "/w/r", &[]).await.status(), 404);
}

#[tokio::test]
async fn admin_side_by_address_and_token() {
    let env = env(
        "",
        "[server.access.admin]\ntokens = [\"admin-token-0123456789\"]",
    )
    .await;
    assert_eq!(get(&env, "/healthz", &[]).await.status(), 200);
    assert_eq!(get(&env, "/metrics", &[]).await.status(), 401);
    let token = [("authorization", "Bearer admin-token-0123456789")];
    assert_eq!(get(&env, "/metrics", &token).await.status(), 200);
    let closed = env_denied_admin().await;
    assert_eq!(get(&closed, "/healthz", &[]).await.status(), 403);
}

async fn env_denied_admin() -> MogEnv {
    env(
        "",
        "[server.access.admin]\nclients = [\"allow 10.0.0.0/8\", \"deny all\"]",
    )
    .await
}

#[tokio::test]
async fn htpasswd_is_reread_on_reload() {
    let cluster = MogEnv::cluster(1).await;
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = dir.path().join("htpasswd");
    std::fs::write(&htpasswd, "alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n").unwrap();
    let access = format!("htpasswd = {:?}", htpasswd.display().to_string());
    let options = MogOptions {
        extra_tables: format!(
            "[[location]]\nprefix = \"/w/\"\nupstream = \"mog\"\ndomain = \"imgs\"\nmethods = [\"PUT\"]\n[location.access]\n{access}\n"
        ),
        ..MogOptions::default()
    };
    let text = dfs_e2e::mog_config(&cluster.tracker_addrs(), &options);
    let config = dfs_gateway::config::Config::parse(&text).unwrap();
    let gateway = dfs_gateway::Gateway::new(&config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/w/reload.txt", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let (gateway, config) = (gateway.clone(), config.clone());
        tokio::spawn(async move {
            gateway
                .serve(listener, &config, async {
                    let _ = stopped.await;
                })
                .await
        })
    };
    let http = dfs_e2e::client();
    let put = |password: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let r = http
                .put(url)
                .basic_auth("alice", Some(password))
                .body("x")
                .send();
            r.await.unwrap().status().as_u16()
        }
    };
    assert_eq!(put("secret").await, 201);
    // `htpasswd -s` for "hunter2", in force after the reload SIGHUP does.
    std::fs::write(&htpasswd, "alice:{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0=\n").unwrap();
    gateway
        .reload(&dfs_gateway::config::Config::parse(&text).unwrap())
        .unwrap();
    assert_eq!(put("secret").await, 403);
    assert_eq!(put("hunter2").await, 201);
    // A broken file is refused at reload; the running rules stay.
    std::fs::write(&htpasswd, "alice:$apr1$x$y\n").unwrap();
    assert!(dfs_gateway::config::Config::parse(&text).is_err());
    assert_eq!(put("hunter2").await, 201);
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}
