//! FastDFS anti-steal tokens (`token = { secret, ttl }` on a location), with
//! tokens minted by `dfs_protocol::fastdfs::token::generate` as FastDFS's
//! own generator computes them:
//! - a valid token → 200 (GET, HEAD, Range), also with `ts` slightly ahead;
//! - expired, wrong (other secret, other file, upper case, signed with the
//!   group), malformed or missing token or `ts` → 403, nothing read;
//! - a `ts` far in the future → 403;
//! - `ts=0` refused unless the location has `allow_ts_zero = true`;
//! - `token_check_fail = "<file>"` → 200 with that file's bytes and type;
//! - locations without a token are not affected.

use dfs_e2e::fastdfs::{bounded, now_ts, token_query, toml_path, FdfsEnv, FdfsOptions};
use dfs_e2e::pattern;
use dfs_protocol::fastdfs::token::generate;
use dfs_protocol::fastdfs::FileId;
use reqwest::header;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const SECRET: &str = "FastDFS1234567890";
const TOKEN: &str = "token = { secret = \"FastDFS1234567890\", ttl = \"900s\" }";

/// `/` checks tokens; `/lax/` also accepts `ts=0`; `/fallback/` serves a
/// fixed file on failure; `/open/` checks nothing.
async fn token_env(fallback: &std::path::Path) -> FdfsEnv {
    let extra = format!(
        "[[location]]\nprefix = \"/lax/\"\nupstream = \"fdfs\"\n{TOKEN}\nallow_ts_zero = true\n\n\
         [[location]]\nprefix = \"/fallback/\"\nupstream = \"fdfs\"\n{TOKEN}\ntoken_check_fail = {}\n\n\
         [[location]]\nprefix = \"/open/\"\nupstream = \"fdfs\"\n",
        toml_path(fallback)
    );
    FdfsEnv::start_with(&FdfsOptions {
        read_extra: TOKEN.into(),
        extra_tables: extra,
        ..Default::default()
    })
    .await
}

/// GET `/<prefix><id>?<query>`: status and body.
async fn get(env: &FdfsEnv, prefix: &str, id: &FileId, query: &str) -> (u16, bytes::Bytes) {
    env.get(&format!("/{prefix}{id}?{query}")).await
}

#[tokio::test]
async fn valid_tokens_pass_and_others_get_403() {
    bounded(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let fallback = dir.path().join("denied.png");
        std::fs::write(&fallback, b"fallback image").unwrap();
        let env = token_env(&fallback).await;
        let data = pattern(41, 3000);
        let id = env.upload(data.clone(), "jpg").await;
        let other = env.upload(pattern(42, 10), "jpg").await;
        let now = now_ts();

        for ts in [now, now - 880, now + 60] {
            let (status, body) = get(&env, "", &id, &token_query(&id, SECRET, ts)).await;
            assert_eq!(status, 200, "ts = now{:+}", ts - now);
            assert!(body == data);
        }
        let valid = token_query(&id, SECRET, now);
        let url = format!("{}?{valid}", env.file_url(&id));
        let head = env.http.head(&url).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()[header::CONTENT_LENGTH], "3000");
        let r = env
            .http
            .get(&url)
            .header(header::RANGE, "bytes=0-0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(&r.bytes().await.unwrap()[..], &data[..1]);

        let good = generate(id.remote_name(), SECRET.as_bytes(), now);
        let refused = [
            ("expired", token_query(&id, SECRET, now - 1000)),
            ("far future", token_query(&id, SECRET, now + 2000)),
            ("other secret", token_query(&id, "not-the-secret", now)),
            ("other file", token_query(&other, SECRET, now)),
            (
                "upper case",
                format!("token={}&ts={now}", good.to_uppercase()),
            ),
            ("other ts", format!("token={good}&ts={}", now - 1)),
            (
                "signed with the group",
                format!(
                    "token={}&ts={now}",
                    generate(id.as_str(), SECRET.as_bytes(), now)
                ),
            ),
            ("short", format!("token={}&ts={now}", &good[1..])),
            ("ts not a number", format!("token={good}&ts=12ab")),
            ("ts too big", format!("token={good}&ts=99999999999")),
            ("no token", format!("ts={now}")),
            ("no ts", format!("token={good}")),
            ("nothing", String::new()),
        ];
        let before: u64 = env.storage_requests("group1").iter().sum();
        for (what, query) in &refused {
            let (status, body) = get(&env, "", &id, query).await;
            assert_eq!(status, 403, "{what}");
            assert!(body != data, "{what}: the file was sent");
            let head = env
                .http
                .head(format!("{}?{query}", env.file_url(&id)))
                .send()
                .await
                .unwrap();
            assert_eq!(head.status(), 403, "HEAD, {what}");
        }
        let after: u64 = env.storage_requests("group1").iter().sum();
        assert_eq!(after, before, "a refused request reached a storage");

        // The fallback location answers every refusal with its file.
        for (what, query) in &refused {
            let r = env
                .http
                .get(format!("{}?{query}", env.url(&format!("/fallback/{id}"))))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "fallback, {what}");
            assert_eq!(r.headers()[header::CONTENT_TYPE], "image/png");
            assert_eq!(&r.bytes().await.unwrap()[..], b"fallback image");
        }
        let (status, body) = get(&env, "fallback/", &id, &valid).await;
        assert_eq!(status, 200);
        assert!(body == data, "a valid token on the fallback location");

        // Without a token setting nothing is checked.
        let (status, body) = get(&env, "open/", &id, "").await;
        assert_eq!(status, 200);
        assert!(body == data);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn ts_zero_needs_allow_ts_zero() {
    bounded(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let fallback = dir.path().join("denied.txt");
        std::fs::write(&fallback, b"no").unwrap();
        let env = token_env(&fallback).await;
        let data = pattern(43, 500);
        let id = env.upload(data.clone(), "jpg").await;
        let zero = token_query(&id, SECRET, 0);

        assert_eq!(get(&env, "", &id, &zero).await.0, 403, "strict location");
        let (status, body) = get(&env, "lax/", &id, &zero).await;
        assert_eq!(status, 200, "allow_ts_zero = true");
        assert!(body == data);
        // Still a real check there: a wrong ts=0 token fails, and ttl holds.
        let wrong = token_query(&id, "other", 0);
        assert_eq!(get(&env, "lax/", &id, &wrong).await.0, 403);
        let expired = token_query(&id, SECRET, now_ts() - 1000);
        assert_eq!(get(&env, "lax/", &id, &expired).await.0, 403);
        env.stop().await;
    })
    .await;
}
