//! MogileFS through the gateway, over real HTTP:
//! - PUT then GET returns identical bytes for 0 B, 1 B, 4 KiB and 10 MiB, chunked or not;
//! - HEAD, Range (206/416, suffix, `0-0`), conditional GET (304) and If-Range;
//! - Content-Type from the key's extension: nginx's defaults (`.webp`,
//!   `.ts`) without config, a `[mime]` entry over the default where set;
//! - 404 for unknown keys, 405 with Allow, 413 for oversized bodies, 400 for bad keys;
//! - awkward keys (space, `&`, `=`, `%`, `+`, `/`, UTF-8) round-trip exactly;
//! - DELETE gives 204, then 404; overwriting a key serves the new bytes.

use dfs_e2e::{pattern, MogEnv, MogOptions};
use futures_util::stream;
use reqwest::header;

#[tokio::test]
async fn put_then_get_is_byte_identical() {
    let env = MogEnv::start().await;
    for (i, len) in [0usize, 1, 4096, 10 << 20].into_iter().enumerate() {
        let data = pattern(i as u64, len);
        let key = format!("sizes/{len}.bin");
        assert_eq!(env.put(&key, data.clone()).await, 201, "PUT {len} bytes");
        let (status, body) = env.get(&key).await;
        assert_eq!(status, 200, "GET {len} bytes");
        assert_eq!(body.len(), len);
        assert!(body == data, "content of {len} bytes differs");
    }
}

#[tokio::test]
async fn chunked_upload_is_stored_whole() {
    let env = MogEnv::start().await;
    let data = pattern(7, 300_000);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(7_777).map(|c| Ok(c.to_vec())).collect();
    let body = reqwest::Body::wrap_stream(stream::iter(chunks));
    assert_eq!(env.put("chunked.bin", body).await, 201);
    let (status, got) = env.get("chunked.bin").await;
    assert_eq!(status, 200);
    assert!(got == data);
}

#[tokio::test]
async fn head_range_and_content_type() {
    let env = MogEnv::start().await;
    let data = pattern(3, 1000);
    assert_eq!(env.put("r/photo.jpg", data.clone()).await, 201);

    let head = env
        .http
        .head(env.image("r/photo.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()[header::CONTENT_LENGTH], "1000");
    assert_eq!(head.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(head.headers()[header::ACCEPT_RANGES], "bytes");
    assert!(head.headers().contains_key(header::ETAG));

    for (range, first, last) in [
        ("bytes=0-0", 0, 0),
        ("bytes=10-19", 10, 19),
        ("bytes=990-", 990, 999),
        ("bytes=-7", 993, 999),
        ("bytes=900-5000", 900, 999),
    ] {
        let r = env
            .http
            .get(env.image("r/photo.jpg"))
            .header(header::RANGE, range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()[header::CONTENT_RANGE],
            format!("bytes {first}-{last}/1000"),
            "{range}"
        );
        let body = r.bytes().await.unwrap();
        assert_eq!(&body[..], &data[first..=last], "{range}");
    }

    let r = env
        .http
        .get(env.image("r/photo.jpg"))
        .header(header::RANGE, "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes */1000");

    // Several ranges are not supported: the whole file, as RFC 9110 allows.
    let r = env
        .http
        .get(env.image("r/photo.jpg"))
        .header(header::RANGE, "bytes=0-1,5-6")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), 1000);
}

#[tokio::test]
async fn conditional_requests() {
    let env = MogEnv::start().await;
    assert_eq!(env.put("c.png", pattern(4, 100)).await, 201);
    let first = env.http.get(env.image("c.png")).send().await.unwrap();
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    let modified = first.headers()[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(first.headers()[header::CONTENT_TYPE], "image/png");

    let r = env
        .http
        .get(env.image("c.png"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()[header::ETAG], etag.as_str());
    let r = env
        .http
        .get(env.image("c.png"))
        .header(header::IF_MODIFIED_SINCE, &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = env
        .http
        .get(env.image("c.png"))
        .header(header::IF_NONE_MATCH, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = env
        .http
        .get(env.image("c.png"))
        .header(header::IF_MATCH, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);

    // If-Range with a stale tag: the whole new object instead of a range.
    let r = env
        .http
        .get(env.image("c.png"))
        .header(header::RANGE, "bytes=0-9")
        .header(header::IF_RANGE, "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), 100);
    let r = env
        .http
        .get(env.image("c.png"))
        .header(header::RANGE, "bytes=0-9")
        .header(header::IF_RANGE, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);

    // The tag follows the content: an overwrite changes it.
    assert_eq!(env.put("c.png", pattern(5, 100)).await, 201);
    let r = env
        .http
        .get(env.image("c.png"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap() == pattern(5, 100));
}

#[tokio::test]
async fn error_statuses() {
    let env = MogEnv::start_with(
        1,
        &MogOptions {
            max_body_size: Some("64KiB".into()),
            ..Default::default()
        },
    )
    .await;
    let (status, body) = env.get("missing.jpg").await;
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("unknown key"));

    // Methods: GET on the upload location, PUT on the read location, PATCH anywhere.
    let r = env.http.get(env.upload("a.jpg")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()[header::ALLOW], "PUT, DELETE");
    let r = env
        .http
        .put(env.image("a.jpg"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()[header::ALLOW], "GET, HEAD");
    let r = env
        .http
        .patch(env.upload("a.jpg"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let r = env
        .http
        .get(env.gateway.url("/elsewhere/a.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Oversized bodies, declared or chunked, are refused and store nothing.
    assert_eq!(env.put("big.bin", pattern(1, 65 * 1024)).await, 413);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|i| Ok(pattern(i, 4096))).collect();
    let r = env
        .http
        .put(env.upload("big2.bin"))
        .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
        .send()
        .await;
    assert!(r.is_err() || r.unwrap().status() == 413);
    assert_eq!(env.get("big.bin").await.0, 404);
    assert_eq!(env.get("big2.bin").await.0, 404);
    assert_eq!(env.put("fits.bin", pattern(1, 64 * 1024)).await, 201);

    // Bad keys.
    for bad in ["", "a%0Ab", "a%00", "%FF", &"k".repeat(256)] {
        let r = env.http.get(env.image(bad)).send().await.unwrap();
        assert_eq!(r.status(), 400, "key {bad:?}");
        assert!(!r.text().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn awkward_keys_round_trip() {
    let env = MogEnv::start().await;
    let keys = [
        ("a%20b.jpg", "space"),
        ("a+b.jpg", "plus"),
        ("a%2Bb.jpg", "escaped plus"),
        ("a%26b%3Dc.jpg", "amp and equals"),
        ("k%26noverify%3D1", "injection attempt"),
        ("p%25q.jpg", "percent"),
        ("a%2541.jpg", "escaped escape"),
        ("dir/sub/%C3%BC%E6%97%A5.jpg", "utf-8 and slashes"),
        ("d%2Fe.jpg", "encoded slash"),
    ];
    for (i, (path, what)) in keys.iter().enumerate() {
        let data = pattern(100 + i as u64, 64 + i);
        assert_eq!(env.put(path, data.clone()).await, 201, "{what}");
        let (status, body) = env.get(path).await;
        assert_eq!(status, 200, "{what}");
        assert!(body == data, "{what}: wrong content");
    }
    // Keys are decoded exactly once: `a+b` and `a b` are different keys, and
    // `a%2541` is the key `a%41`, not `aA`.
    assert!(env.get("a+b.jpg").await.1 != env.get("a%20b.jpg").await.1);
    assert_eq!(env.get("aA.jpg").await.0, 404);
    assert_eq!(env.get("k").await.0, 404);
    // `d%2Fe.jpg` and `d/e.jpg` name the same key.
    assert_eq!(env.get("d/e.jpg").await.0, 200);
}

#[tokio::test]
async fn delete_and_overwrite() {
    let env = MogEnv::start().await;
    assert_eq!(env.put("x.txt", "first").await, 201);
    assert_eq!(env.put("x.txt", "second version").await, 201);
    assert_eq!(&env.get("x.txt").await.1[..], b"second version");
    let r = env.http.delete(env.upload("x.txt")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(env.get("x.txt").await.0, 404);
    let r = env.http.delete(env.upload("x.txt")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

/// The `Content-Type` of a GET of `key` (stored first) through `env`.
async fn served_type(env: &MogEnv, key: &str) -> String {
    assert_eq!(env.put(key, pattern(3, 100)).await, 201, "PUT {key}");
    let response = env.http.get(env.image(key)).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {key}");
    let value = &response.headers()[header::CONTENT_TYPE];
    value.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn mime_overrides_win_and_nginx_defaults_apply_without_config() {
    let plain = MogEnv::start().await;
    assert_eq!(served_type(&plain, "m/a.webp").await, "image/webp");
    assert_eq!(served_type(&plain, "m/seg.ts").await, "video/mp2t");
    let options = MogOptions {
        // mime_guess's type for `.ts`, which some DLNA players want.
        extra_tables: "[mime]\nts = \"video/vnd.dlna.mpeg-tts\"\n".into(),
        ..MogOptions::default()
    };
    let configured = MogEnv::start_with(1, &options).await;
    assert_eq!(
        served_type(&configured, "m/seg.ts").await,
        "video/vnd.dlna.mpeg-tts"
    );
    assert_eq!(
        served_type(&configured, "m/SEG.TS").await,
        "video/vnd.dlna.mpeg-tts",
        "extensions match case-insensitively"
    );
    assert_eq!(served_type(&configured, "m/a.webp").await, "image/webp");
}
