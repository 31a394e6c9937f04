//! Real nginx with the shipped `nginx/dfs-gateway-proxy.conf` in front of the
//! gateway and a devcluster MogileFS cluster (client → nginx → gateway →
//! tracker and storage nodes):
//! - GET, HEAD and Range (206, suffix, 416) give the gateway's answers and
//!   byte-identical bodies; the request id nginx makes reaches the gateway;
//! - PUT with Content-Length and chunked, and a 0-byte PUT, store exactly the
//!   bytes sent; escaped keys reach the gateway undecoded;
//! - DELETE gives 204 then 404; methods a location refuses give 405 + Allow;
//! - a 20 MiB upload and download stream through nginx: it spools neither to
//!   disk, even while the client stalls mid-download;
//! - the gateway's own pages pass through as well: the landing page on `/`,
//!   `/healthz`, `/readyz`, `/metrics` and the status page (HTML and JSON).
//!
//! Without nginx installed each test is listed as ignored ("nginx not installed").

use dfs_e2e::nginx::Nginx;
use dfs_e2e::{byte_at, mog_config, pattern, pattern_stream, Gateway, MogEnv, MogOptions};
use futures_util::{stream, StreamExt};
use reqwest::header;
use std::time::Duration;

/// The cluster and gateway, with nginx in front.
async fn start() -> (MogEnv, Nginx) {
    let env = MogEnv::start().await;
    let nginx = Nginx::proxy(env.gateway.addr).await;
    (env, nginx)
}

#[tokio::test]
#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]
async fn get_head_and_range_through_nginx() {
    let (env, nginx) = start().await;
    let data = pattern(1, 100_000);
    let put = env
        .http
        .put(nginx.url("/upload/n/photo.jpg"))
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201, "{}", nginx.logs());

    let get = env
        .http
        .get(nginx.url("/images/n/photo.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()[header::CONTENT_TYPE], "image/jpeg");
    let id = get.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "nginx's $request_id, got {id:?}"
    );
    assert!(get.bytes().await.unwrap() == data);

    let head = env
        .http
        .head(nginx.url("/images/n/photo.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()[header::CONTENT_LENGTH], "100000");
    assert_eq!(head.headers()[header::ACCEPT_RANGES], "bytes");
    assert!(head.bytes().await.unwrap().is_empty());

    for (range, first, last) in [
        ("bytes=10-19", 10, 19),
        ("bytes=-7", 99_993, 99_999),
        ("bytes=0-0", 0, 0),
    ] {
        let r = env
            .http
            .get(nginx.url("/images/n/photo.jpg"))
            .header(header::RANGE, range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(
            r.headers()[header::CONTENT_RANGE],
            format!("bytes {first}-{last}/100000")
        );
        assert_eq!(
            &r.bytes().await.unwrap()[..],
            &data[first..=last],
            "{range}"
        );
    }
    let r = env
        .http
        .get(nginx.url("/images/n/photo.jpg"))
        .header(header::RANGE, "bytes=100000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes */100000");
}

#[tokio::test]
#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]
async fn uploads_with_content_length_and_chunked_through_nginx() {
    let (env, nginx) = start().await;
    let sized = pattern(2, 1 << 20);
    let r = env
        .http
        .put(nginx.url("/upload/n/sized.bin"))
        .body(sized.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let chunked = pattern(3, 300_000);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        chunked.chunks(7_777).map(|c| Ok(c.to_vec())).collect();
    let body = reqwest::Body::wrap_stream(stream::iter(chunks));
    let r = env
        .http
        .put(nginx.url("/upload/n/chunked.bin"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let r = env
        .http
        .put(nginx.url("/upload/n/empty.bin"))
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Read back past nginx, straight from the gateway: what was stored.
    for (key, data) in [
        ("n/sized.bin", &sized),
        ("n/chunked.bin", &chunked),
        ("n/empty.bin", &Vec::new()),
    ] {
        let (status, body) = env.get(key).await;
        assert_eq!(status, 200, "{key}");
        assert!(body == data[..], "{key}: stored bytes differ");
    }
}

#[tokio::test]
#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]
async fn escaped_keys_reach_the_gateway_undecoded() {
    let (env, nginx) = start().await;
    // The gateway decodes once: %20 → ' ', %2B → '+', %25 → '%'; '+' stays.
    let path = "n/a%20b%2Bc+d%25e.bin";
    let r = env
        .http
        .put(nginx.url(&format!("/upload/{path}")))
        .body(pattern(4, 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(
        env.cluster.file("imgs", "n/a b+c+d%e.bin").is_some(),
        "stored under the key decoded once"
    );
    let (status, body) = env.get(path).await;
    assert_eq!((status, &body[..]), (200, &pattern(4, 10)[..]));
}

#[tokio::test]
#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]
async fn delete_404_and_405_through_nginx() {
    let (env, nginx) = start().await;
    assert_eq!(env.put("n/gone.txt", pattern(5, 10)).await, 201);
    let r = env
        .http
        .delete(nginx.url("/upload/n/gone.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = env
        .http
        .get(nginx.url("/images/n/gone.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = env
        .http
        .delete(nginx.url("/upload/n/gone.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let r = env
        .http
        .post(nginx.url("/upload/n/x.txt"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()[header::ALLOW], "PUT, DELETE");
    let r = env
        .http
        .put(nginx.url("/images/n/x.txt"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]
async fn twenty_mib_stream_through_nginx_without_spooling() {
    const LEN: u64 = 20 << 20;
    let (env, nginx) = start().await;
    let r = env
        .http
        .put(nginx.url("/upload/n/big.bin"))
        .body(pattern_stream(6, LEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        nginx.disk_buffering(),
        Vec::<String>::new(),
        "the upload was spooled"
    );

    let r = env
        .http
        .get(nginx.url("/images/n/big.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()[header::CONTENT_LENGTH],
        LEN.to_string().as_str()
    );
    let mut body = r.bytes_stream();
    let mut offset = 0u64;
    let first = body.next().await.expect("a first chunk").unwrap();
    check(&first, &mut offset);
    // A stalled client: buffering nginx would now pull the rest of the file
    // from the gateway into a temporary file (and log it); streaming nginx
    // stops reading until the client reads again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        nginx.disk_buffering(),
        Vec::<String>::new(),
        "the download was spooled"
    );
    while let Some(chunk) = body.next().await {
        check(&chunk.unwrap(), &mut offset);
    }
    assert_eq!(offset, LEN);
}

/// Compares a chunk of the big download with the pattern it should hold.
fn check(chunk: &[u8], offset: &mut u64) {
    for (i, b) in chunk.iter().enumerate() {
        let at = *offset + i as u64;
        assert_eq!(*b, byte_at(6, at), "byte {at} differs");
    }
    *offset += chunk.len() as u64;
}

#[tokio::test]
#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]
async fn landing_page_health_metrics_and_status_through_nginx() {
    let cluster = MogEnv::cluster(1).await;
    let config = mog_config(&cluster.tracker_addrs(), &MogOptions::default()).replacen(
        "[server]\n",
        "[server]\nlanding_page = { links = [\"/images/sample.png\"] }\n",
        1,
    );
    let gateway = Gateway::start(&config).await;
    let nginx = Nginx::proxy(gateway.addr).await;
    let http = dfs_e2e::client();
    let get = |path: &str| {
        let request = http.get(nginx.url(path));
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            let kind = answer
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, kind, answer.text().await.unwrap())
        }
    };
    let (status, kind, page) = get("/").await;
    assert_eq!(status, 200, "{page}\n{}", nginx.logs());
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(page.contains("href=\"/images/sample.png\""), "{page}");
    for path in ["/healthz", "/readyz"] {
        let (status, _, body) = get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, _, metrics) = get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("dfs_gateway_build_info"), "{metrics}");
    let (status, kind, page) = get("/_status").await;
    assert_eq!(status, 200, "{page}");
    assert!(kind.starts_with("text/html"), "{kind}");
    let (status, _, json) = get("/_status.json").await;
    assert_eq!(status, 200, "{json}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(json.is_object(), "{json}");
    drop(nginx);
    gateway.stop().await;
    cluster.shutdown().await;
}
