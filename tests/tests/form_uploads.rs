//! Uploads from HTML forms and the JSON answers, over real HTTP:
//! - POST `multipart/form-data` to FastDFS stores the file part only (not
//!   the envelope), byte-identical, with the extension of its filename; text
//!   fields around it are dropped;
//! - a form without a boundary, without a file part, or with two file parts
//!   → 400 with a reason, and nothing reaches a storage;
//! - MogileFS PUT → 201 with `Location` and `{"key","size","fid"}\n`;
//! - errors are `{"error","status"}\n` JSON when `Accept` prefers JSON, text
//!   with a final newline otherwise.

use dfs_e2e::fastdfs::{bounded, created, json_field, FdfsEnv};
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
