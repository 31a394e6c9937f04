//! Uploads from HTML forms and the JSON answers, over real HTTP:
//! - POST `multipart/form-data` to FastDFS stores the file part only (not
//!   the envelope), byte-identical, with the extension of its filename; text
//!   fields around it are dropped;
//! - a form without a boundary, without a file part, or with two file parts
//!   → 400 with a reason, and nothing reaches a storage;
//! - a form whose file part is over the location's `max_body_size` → 413,
//!   declared, streamed or chunked, and nothing is stored; a file of exactly
//!   the limit in the same envelope is stored (the limit is the file's);
//! - MogileFS PUT → 201 with `Location` and `{"key","size","fid"}\n`;
//! - errors are `{"error","status"}\n` JSON when `Accept` prefers JSON, text
//!   with a final newline otherwise.

use dfs_e2e::fastdfs::{bounded, created, json_field, raw_http, FdfsEnv, FdfsOptions};
use dfs_e2e::{pattern, MogEnv};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);
const BOUNDARY: &str = "----formBoundary7MA4YWxkTrZu0gW";

/// A form body: `(name, filename, data)` per part, as a browser sends it.
fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match filename {
            Some(f) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                 Content-Type: application/octet-stream\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_form(env: &FdfsEnv, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    env.http
        .post(env.url("/fdfs/"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn form_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A raw POST of a form `body` to `/fdfs/`, with `Content-Length` or
/// chunked; raw so the 413 is read whatever a client would do with a body
/// the server stops reading.
fn raw_form_post(body: &[u8], chunked: bool) -> Vec<u8> {
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let mut request = format!(
        "POST /fdfs/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {}\r\n{framing}\r\n\
         Connection: close\r\n\r\n",
        form_type()
    )
    .into_bytes();
    if !chunked {
        request.extend_from_slice(body);
        return request;
    }
    for chunk in body.chunks(8192) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

fn uploads(env: &FdfsEnv) -> u64 {
    let storages = env.cluster.storages("group1");
    storages.iter().map(|s| s.stats().uploads).sum()
}

#[tokio::test]
async fn a_form_upload_stores_the_file_part_only() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let data = pattern(5, 300_000);
        let body = form(&[
            ("title", None, &b"holiday"[..]),
            ("file", Some("p.jpg"), &data[..]),
            ("note", None, &b"after"[..]),
        ]);
        let (id, size) = created(post_form(&env, &form_type(), body).await).await;
        assert_eq!(size, data.len() as u64);
        assert_eq!(id.extension(), Some("jpg"));
        let (status, got) = env.get_id(&id).await;
        assert_eq!(status, 200);
        assert!(got == data, "the stored bytes are not the file part");
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_forms_are_400_and_store_nothing() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let cases = [
            (
                "multipart/form-data".to_owned(),
                form(&[("file", Some("a.jpg"), &b"x"[..])]),
                "boundary",
            ),
            (
                form_type(),
                form(&[("title", None, &b"only text"[..])]),
                "no file part",
            ),
            (
                form_type(),
                form(&[
                    ("a", Some("a.jpg"), &b"one"[..]),
                    ("b", Some("b.jpg"), &b"two"[..]),
                ]),
                "two file parts",
            ),
            (form_type(), b"--nope\r\n".to_vec(), "malformed"),
        ];
        for (content_type, body, why) in cases {
            let response = post_form(&env, &content_type, body).await;
            assert_eq!(response.status(), 400, "{why}");
            let text = response.text().await.unwrap();
            assert!(text.contains(why) || why == "malformed", "{why}: {text}");
            assert!(text.ends_with('\n'), "{why}: {text:?}");
        }
        assert_eq!(uploads(&env), 0, "a bad form reached a storage");
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_form_whose_file_is_over_the_limit_is_413_and_stores_nothing() {
    /// The upload location's `max_body_size`, 64KiB.
    const MAX: usize = 64 * 1024;
    bounded(LIMIT, async {
        let env = FdfsEnv::start_with(&FdfsOptions {
            upload_extra: "max_body_size = \"64KiB\"".into(),
            ..Default::default()
        })
        .await;
        let addr = env.gateway.addr;
        // One byte over: the envelope stays within the allowance for
        // boundaries and headers, so the limit is met inside the file part.
        let file = pattern(8, MAX + 1);
        let over = form(&[("title", None, &b"t"[..]), ("file", Some("big.jpg"), &file)]);
        for chunked in [false, true] {
            let (status, text) = raw_http(addr, &raw_form_post(&over, chunked)).await;
            assert_eq!(status, 413, "chunked: {chunked}\n{text}");
        }
        // A declared length past the limit plus any envelope: refused unread.
        let head = format!(
            "POST /fdfs/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            form_type(),
            10 * MAX
        );
        assert_eq!(raw_http(addr, head.as_bytes()).await.0, 413, "declared");
        assert_eq!(uploads(&env), 0, "an oversized form file was stored");

        let file = pattern(9, MAX);
        let at_limit = form(&[("title", None, &b"t"[..]), ("file", Some("ok.jpg"), &file)]);
        let (id, size) = created(post_form(&env, &form_type(), at_limit).await).await;
        assert_eq!(size, MAX as u64);
        assert!(env.get_id(&id).await.1 == file);
        assert_eq!(uploads(&env), 1);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn mogilefs_put_answers_json_with_key_size_and_fid() {
    let env = MogEnv::start().await;
    let response = env
        .http
        .put(env.upload("j/a.bin"))
        .body(vec![7u8; 1234])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], "/upload/j/a.bin");
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(text.ends_with("}\n"), "{text:?}");
    assert_eq!(json_field(&text, "key"), Some("j/a.bin"));
    assert_eq!(json_field(&text, "size"), Some("1234"));
    let fid: u64 = json_field(&text, "fid").unwrap().parse().unwrap();
    assert!(fid > 0);
    let (status, body) = env.get("j/a.bin").await;
    assert_eq!((status, body.len()), (200, 1234));
}

#[tokio::test]
async fn errors_are_json_when_accept_prefers_it() {
    let env = MogEnv::start().await;
    let get = |accept: &'static str| {
        let request = env.http.get(env.image("missing.jpg"));
        let request = if accept.is_empty() {
            request
        } else {
            request.header("accept", accept)
        };
        async move { request.send().await.unwrap() }
    };
    let response = get("application/json").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(text.ends_with("}\n"), "{text:?}");
    assert_eq!(json_field(&text, "status"), Some("404"));
    assert!(
        json_field(&text, "error").is_some_and(|e| !e.is_empty()),
        "{text}"
    );
    for accept in ["", "*/*", "text/plain, application/json;q=0.5"] {
        let response = get(accept).await;
        assert_eq!(response.status(), 404);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/plain"),
            "{accept}: {content_type}"
        );
        let text = response.text().await.unwrap();
        assert!(
            text.starts_with("404 Not Found") && text.ends_with('\n'),
            "{accept}: {text:?}"
        );
    }
}
