//! FastDFS through the gateway, over real HTTP:
//! - POST `/fdfs/?ext=jpg` with Content-Length or chunked → 201 with
//!   `Location: /<file id>` and `{"file_id", "size"}` → GET byte-identical,
//!   for 0 B, 4 KiB and 10 MiB; the extension from `?ext=` or `?filename=`;
//! - 413 for an oversized body, declared or chunked, and nothing stored;
//! - HEAD: Content-Length, Content-Type by extension, no body;
//! - Range: 206 with Content-Range, `bytes=0-0` is one byte, suffix and
//!   open ranges, 416 past the end, several ranges → the whole file;
//! - Last-Modified is the create time in the ID, the ETag is the same from
//!   either storage and for HEAD; 304 on If-None-Match / If-Modified-Since,
//!   If-Range;
//! - `?filename=x.jpg` → Content-Disposition: directories, drives and bidi
//!   controls dropped, `filename*` for other than plain ASCII, the file's own
//!   name when nothing is left;
//! - DELETE → 204, then GET/HEAD → 404 and DELETE → 404; DELETE on the read
//!   location → 405.

use dfs_e2e::fastdfs::{bounded, created, http_date, now_ts, raw_http, FdfsEnv, FdfsOptions};
use dfs_e2e::pattern;
use futures_util::stream;
use reqwest::header;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

fn chunked(data: &[u8]) -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(7_777).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(stream::iter(chunks))
}

#[tokio::test]
async fn uploads_come_back_byte_identical() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        for (seed, len) in [0usize, 4096, 10 << 20].into_iter().enumerate() {
            let data = pattern(seed as u64, len);
            for (how, body) in [
                ("content-length", reqwest::Body::from(data.clone())),
                ("chunked", chunked(&data)),
            ] {
                let (id, size) = created(env.post("ext=jpg", body).await).await;
                assert_eq!(size, len as u64, "{how} {len}: reported size");
                assert_eq!(id.group(), "group1");
                assert_eq!(id.size(), Some(len as u64), "{how} {len}: size in the ID");
                assert_eq!(id.extension(), Some("jpg"));
                let response = env.http.get(env.file_url(&id)).send().await.unwrap();
                assert_eq!(response.status(), 200, "{how} {len}");
                assert_eq!(response.headers()[header::CONTENT_LENGTH], len.to_string());
                let body = response.bytes().await.unwrap();
                assert_eq!(body.len(), len, "{how} {len}");
                assert!(body == data, "{how} {len}: content differs");
            }
        }
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_extension_comes_from_ext_or_filename() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let (id, _) = created(env.post("filename=holiday.png", "png").await).await;
        assert_eq!(id.extension(), Some("png"));
        let (id, _) = created(env.post("ext=.txt", "dot").await).await;
        assert_eq!(id.extension(), Some("txt"));
        let (id, _) = created(env.post("", "none").await).await;
        assert_eq!(id.extension(), None);
        assert_eq!(env.get_id(&id).await.1, "none");

        for bad in ["ext=toolong7", "ext=a.b", "ext=%2F..", "filename=x.j%20g"] {
            let response = env.post(bad, "x").await;
            assert_eq!(response.status(), 400, "{bad}");
        }
        // The storage names the file: a path after the location is refused.
        let response = env
            .http
            .post(env.url("/fdfs/group1/M00/00/00/x.jpg"))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let uploads: u64 = env
            .cluster
            .storages("group1")
            .iter()
            .map(|s| s.stats().uploads)
            .sum();
        assert_eq!(uploads, 3, "refused uploads reached a storage");
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn oversized_uploads_get_413_and_store_nothing() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start_with(&FdfsOptions {
            upload_extra: "max_body_size = \"64KiB\"".into(),
            ..Default::default()
        })
        .await;
        let addr = env.gateway.addr;
        // Raw requests, so the 413 is read whatever the client would do
        // with a body the server never reads.
        let declared = "POST /fdfs/?ext=bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                        Content-Length: 65537\r\nConnection: close\r\n\r\n";
        let (status, _) = raw_http(addr, declared.as_bytes()).await;
        assert_eq!(status, 413, "declared");

        let mut request = b"POST /fdfs/?ext=bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                           Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
        for i in 0..17 {
            request.extend_from_slice(b"1000\r\n");
            request.extend_from_slice(&pattern(i, 4096));
            request.extend_from_slice(b"\r\n");
        }
        let (status, _) = raw_http(addr, &request).await;
        assert_eq!(status, 413, "chunked, 68 KiB");

        // The ordinary client sees the same.
        let response = env.post("ext=bin", pattern(1, 65 * 1024)).await;
        assert_eq!(response.status(), 413, "declared, through reqwest");

        let stored = |env: &FdfsEnv| -> u64 {
            let storages = env.cluster.storages("group1");
            storages.iter().map(|s| s.stats().uploads).sum()
        };
        assert_eq!(stored(&env), 0, "an oversized upload reached a storage");
        let data = pattern(2, 64 * 1024);
        let (id, _) = created(env.post("ext=bin", data.clone()).await).await;
        let (id2, _) = created(env.post("ext=bin", chunked(&data)).await).await;
        assert_eq!(stored(&env), 2);
        assert!(env.get_id(&id).await.1 == data);
        assert!(env.get_id(&id2).await.1 == data);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn head_reports_size_and_type_without_a_body() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        for (ext, len, mime) in [
            ("jpg", 1000, "image/jpeg"),
            ("png", 0, "image/png"),
            ("txt", 5, "text/plain"),
            ("", 3, "application/octet-stream"),
        ] {
            let id = env.upload(pattern(5, len), ext).await;
            let head = env.http.head(env.file_url(&id)).send().await.unwrap();
            assert_eq!(head.status(), 200, "{ext}");
            let h = head.headers().clone();
            assert_eq!(h[header::CONTENT_LENGTH], len.to_string(), "{ext}");
            assert!(
                h[header::CONTENT_TYPE].to_str().unwrap().starts_with(mime),
                "{ext}: {:?}",
                h[header::CONTENT_TYPE]
            );
            assert_eq!(h[header::ACCEPT_RANGES], "bytes");
            assert!(h.contains_key(header::ETAG) && h.contains_key(header::LAST_MODIFIED));
            assert!(head.bytes().await.unwrap().is_empty(), "{ext}: HEAD body");
            let get = env.http.get(env.file_url(&id)).send().await.unwrap();
            assert_eq!(get.headers()[header::CONTENT_TYPE], h[header::CONTENT_TYPE]);
        }
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn ranges_map_to_offset_and_length() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let data = pattern(6, 4096);
        let id = env.upload(data.clone(), "bin").await;
        let range = |spec: &'static str| {
            env.http
                .get(env.file_url(&id))
                .header(header::RANGE, spec)
                .send()
        };
        for (spec, first, last) in [
            ("bytes=0-0", 0, 0),
            ("bytes=10-19", 10, 19),
            ("bytes=4000-", 4000, 4095),
            ("bytes=-7", 4089, 4095),
            ("bytes=4095-4095", 4095, 4095),
            ("bytes=4000-9999", 4000, 4095),
            ("bytes=-10000", 0, 4095),
        ] {
            let r = range(spec).await.unwrap();
            assert_eq!(r.status(), 206, "{spec}");
            let h = r.headers();
            assert_eq!(
                h[header::CONTENT_RANGE],
                format!("bytes {first}-{last}/4096"),
                "{spec}"
            );
            assert_eq!(
                h[header::CONTENT_LENGTH],
                (last - first + 1).to_string(),
                "{spec}"
            );
            let body = r.bytes().await.unwrap();
            assert_eq!(&body[..], &data[first..=last], "{spec}");
        }
        for spec in ["bytes=4096-", "bytes=5000-6000"] {
            let r = range(spec).await.unwrap();
            assert_eq!(r.status(), 416, "{spec}");
            assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes */4096");
        }
        // Several ranges are not supported: the whole file, as RFC 9110 allows.
        let r = range("bytes=0-1,5-6").await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.bytes().await.unwrap() == data);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn validators_and_conditional_requests() {
    bounded(LIMIT, async {
        // No look-up cache, so the tracker spreads the reads over both
        // storages and the tag is seen to be the same on each.
        let options = FdfsOptions {
            upstream_extra: "cache_ttl = \"0s\"".into(),
            ..Default::default()
        };
        let env = FdfsEnv::start_with(&options).await;
        let before = now_ts();
        let id = env.upload(pattern(7, 2000), "gif").await;
        let after = now_ts();
        assert!((before..=after).contains(&(id.create_time() as i32)));
        let url = env.file_url(&id);
        let modified = http_date(id.create_time().into());

        // Round-robin spreads the GETs over both storages: the tag is the same.
        let mut etags = Vec::new();
        for _ in 0..4 {
            let r = env.http.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()[header::LAST_MODIFIED], modified.as_str());
            etags.push(r.headers()[header::ETAG].to_str().unwrap().to_owned());
        }
        let head = env.http.head(&url).send().await.unwrap();
        etags.push(head.headers()[header::ETAG].to_str().unwrap().to_owned());
        assert_eq!(head.headers()[header::LAST_MODIFIED], modified.as_str());
        assert!(etags.iter().all(|e| *e == etags[0]), "{etags:?}");
        assert!(etags[0].starts_with('"') && etags[0].ends_with('"'));
        assert!(
            env.storage_downloads("group1").iter().all(|&n| n > 0),
            "both storages served: {:?}",
            env.storage_downloads("group1")
        );
        let etag = etags[0].as_str();

        let get =
            |name: header::HeaderName, value: String| env.http.get(&url).header(name, value).send();
        for (name, value) in [
            (header::IF_NONE_MATCH, etag.to_owned()),
            (header::IF_NONE_MATCH, format!("\"other\", {etag}")),
            (header::IF_NONE_MATCH, "*".to_owned()),
            (header::IF_MODIFIED_SINCE, modified.clone()),
            (
                header::IF_MODIFIED_SINCE,
                http_date(u64::from(id.create_time()) + 3600),
            ),
        ] {
            let r = get(name.clone(), value.clone()).await.unwrap();
            assert_eq!(r.status(), 304, "{name}: {value}");
            assert_eq!(r.headers()[header::ETAG], etag);
            assert!(r.bytes().await.unwrap().is_empty());
        }
        for (name, value) in [
            (header::IF_NONE_MATCH, "\"other\"".to_owned()),
            (
                header::IF_MODIFIED_SINCE,
                http_date(u64::from(id.create_time()) - 1),
            ),
        ] {
            let r = get(name.clone(), value.clone()).await.unwrap();
            assert_eq!(r.status(), 200, "{name}: {value}");
            assert_eq!(r.bytes().await.unwrap().len(), 2000);
        }
        // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
        let r = env
            .http
            .get(&url)
            .header(header::IF_NONE_MATCH, "\"other\"")
            .header(header::IF_MODIFIED_SINCE, &modified)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // If-Range: the range only while the tag still matches.
        for (tag, status) in [(etag, 206), ("\"stale\"", 200)] {
            let r = env
                .http
                .get(&url)
                .header(header::RANGE, "bytes=0-9")
                .header(header::IF_RANGE, tag)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), status, "If-Range {tag}");
        }
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn filename_sets_content_disposition() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let id = env.upload(pattern(8, 100), "jpg").await;
        let url = env.file_url(&id);
        let plain = env.http.get(&url).send().await.unwrap();
        assert!(!plain.headers().contains_key(header::CONTENT_DISPOSITION));
        let stored = id.as_str().rsplit('/').next().unwrap().to_owned();
        let fallback = format!("attachment; filename=\"{stored}\"");
        for (query, expected) in [
            ("filename=x.jpg", "attachment; filename=\"x.jpg\""),
            (
                "filename=a%22b.jpg",
                "attachment; filename=\"a_b.jpg\"; filename*=UTF-8''a%22b.jpg",
            ),
            (
                "filename=r%C3%A9sum%C3%A9.pdf",
                "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
            ),
            (
                "filename=..%2F..%2Fetc%2Fpasswd",
                "attachment; filename=\"passwd\"",
            ),
            ("filename=C:%5Cx%5Cy.txt", "attachment; filename=\"y.txt\""),
            // U+202E RIGHT-TO-LEFT OVERRIDE would show "fdp.exe" reversed.
            (
                "filename=a%E2%80%AEfdp.exe",
                "attachment; filename=\"afdp.exe\"",
            ),
            ("filename=..%2F", fallback.as_str()),
        ] {
            let r = env.http.get(format!("{url}?{query}")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{query}");
            assert_eq!(r.headers()[header::CONTENT_DISPOSITION], expected);
            assert_eq!(r.bytes().await.unwrap().len(), 100);
        }
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn delete_then_get_and_delete_again_are_404() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let id = env.upload(pattern(9, 5000), "jpg").await;
        let storages = env.cluster.storages("group1");
        assert!(storages.iter().all(|s| s.has_file(&id)));

        // Deletes belong to the upload location.
        let r = env.http.delete(env.file_url(&id)).send().await.unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()[header::ALLOW], "GET, HEAD");

        assert_eq!(env.delete(&id).await, 204);
        assert!(
            storages.iter().all(|s| !s.has_file(&id)),
            "sync removes copies"
        );
        assert_eq!(env.get_id(&id).await.0, 404);
        let head = env.http.head(env.file_url(&id)).send().await.unwrap();
        assert_eq!(head.status(), 404);
        assert_eq!(env.delete(&id).await, 404);

        let r = env
            .http
            .delete(env.url("/fdfs/group1/M00/00/00/nope.jpg"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        env.stop().await;
    })
    .await;
}
