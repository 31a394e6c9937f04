//! FastDFS harness: a devcluster FastDFS cluster (group1 with two storage
//! servers unless told otherwise) with the gateway in front, the demo's
//! locations (`/` reads, `/fdfs/` uploads and deletes), and helpers for
//! what the FastDFS tests share: uploads that check the 201, raw HTTP
//! requests no client normalises, tokens, minted IDs and HTTP dates.

use crate::{client, init_tracing, Gateway};
use bytes::Bytes;
use devcluster::fastdfs::FdfsCluster;
use dfs_protocol::fastdfs::{token, FileId, NewName};
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Fails a test that hangs instead of letting it block the suite.
pub async fn bounded<T>(limit: Duration, test: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, test)
        .await
        .expect("test timed out")
}

/// The cluster's shape and the gateway's extra settings.
#[derive(Debug, Clone)]
pub struct FdfsOptions {
    /// Groups and their storage counts.
    pub groups: Vec<(String, usize)>,
    /// Number of trackers.
    pub trackers: usize,
    /// How long trackers keep naming a stopped storage (`None`: forever).
    pub notice_stop_after: Option<Duration>,
    /// Extra lines for the `[[upstream]]` table (time-outs here override
    /// the harness's short defaults).
    pub upstream_extra: String,
    /// Extra lines for the `/` read location.
    pub read_extra: String,
    /// Extra lines for the `/fdfs/` upload location.
    pub upload_extra: String,
    /// Extra tables appended to the config (more `[[location]]`s).
    pub extra_tables: String,
}

impl Default for FdfsOptions {
    fn default() -> Self {
        FdfsOptions {
            groups: vec![("group1".into(), 2)],
            trackers: 1,
            notice_stop_after: Some(Duration::ZERO),
            upstream_extra: String::new(),
            read_extra: String::new(),
            upload_extra: String::new(),
            extra_tables: String::new(),
        }
    }
}

/// Replaces the one occurrence of `anchor` in `text` with `anchor` + `extra`.
fn after(text: &str, anchor: &str, extra: &str) -> String {
    assert_eq!(
        text.matches(anchor).count(),
        1,
        "the demo's FastDFS config no longer has one {anchor:?}"
    );
    text.replace(anchor, &format!("{anchor}{extra}\n"))
}

/// The demo's FastDFS config for `trackers`, with `options` applied.
pub fn fdfs_config(trackers: &[SocketAddr], options: &FdfsOptions) -> String {
    let text = dfs_gateway::demo::fastdfs_config_text(trackers);
    // Short time-outs keep failure tests quick, and the object cache is off;
    // `upstream_extra` overrides either.
    let mut upstream = String::new();
    for default in [
        "connect_timeout = \"300ms\"",
        "reply_timeout = \"3s\"",
        "storage_timeout = \"5s\"",
        // Off unless a test turns it on: most tests count storage reads.
        "object_cache = { size = \"0\" }",
    ] {
        let key = default.split(' ').next().unwrap_or_default();
        if !options.upstream_extra.contains(key) {
            upstream.push_str(default);
            upstream.push('\n');
        }
    }
    upstream.push_str(&options.upstream_extra);
    let text = after(&text, "protocol = \"fastdfs\"\n", &upstream);
    let text = after(
        &text,
        "methods = [\"GET\", \"HEAD\"]\n",
        &options.read_extra,
    );
    let text = after(
        &text,
        "methods = [\"POST\", \"DELETE\"]\n",
        &options.upload_extra,
    );
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{text}\n{}",
        options.extra_tables
    )
}

/// `s` as a TOML basic string, quotes included.
pub fn toml_str(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// A path as a TOML string.
pub fn toml_path(path: &Path) -> String {
    toml_str(&path.display().to_string())
}

/// A FastDFS cluster with a gateway in front, and an HTTP client.
pub struct FdfsEnv {
    /// The cluster.
    pub cluster: FdfsCluster,
    /// The gateway.
    pub gateway: Gateway,
    /// A plain HTTP client.
    pub http: reqwest::Client,
}

impl FdfsEnv {
    /// group1 with two storages, one tracker, the demo's locations.
    pub async fn start() -> FdfsEnv {
        Self::start_with(&FdfsOptions::default()).await
    }

    /// A cluster and gateway shaped by `options`.
    pub async fn start_with(options: &FdfsOptions) -> FdfsEnv {
        let cluster = Self::cluster(options).await;
        Self::with_cluster(cluster, options).await
    }

    /// The cluster `options` describe, no gateway yet.
    pub async fn cluster(options: &FdfsOptions) -> FdfsCluster {
        init_tracing();
        let builder = options
            .groups
            .iter()
            .fold(FdfsCluster::builder(), |b, (g, n)| b.group(g, *n));
        builder
            .trackers(options.trackers)
            .tracker_notices_stop_after(options.notice_stop_after)
            .build()
            .await
            .expect("devcluster starts")
    }

    /// A gateway in front of `cluster`, configured by `options`.
    pub async fn with_cluster(cluster: FdfsCluster, options: &FdfsOptions) -> FdfsEnv {
        let config = fdfs_config(&cluster.tracker_addrs(), options);
        let gateway = Gateway::start(&config).await;
        FdfsEnv {
            cluster,
            gateway,
            http: client(),
        }
    }

    /// `http://gateway` + `path`.
    pub fn url(&self, path: &str) -> String {
        self.gateway.url(path)
    }

    /// The URL of a file ID on the `/` location.
    pub fn file_url(&self, id: &FileId) -> String {
        self.url(&format!("/{id}"))
    }

    /// POSTs `body` to `/fdfs/?<query>`.
    pub async fn post(&self, query: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/fdfs/?{query}")))
            .body(body)
            .send()
            .await
            .expect("upload request")
    }

    /// Uploads `data` with extension `ext`, checks the 201 (status,
    /// `Location`, JSON body) and returns the new file's ID.
    pub async fn upload(&self, data: impl Into<reqwest::Body>, ext: &str) -> FileId {
        let response = self.post(&format!("ext={ext}"), data).await;
        created(response).await.0
    }

    /// GETs `path`: status and body.
    pub async fn get(&self, path: &str) -> (u16, Bytes) {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap_or_default())
    }

    /// GETs a file ID on `/`: status and body.
    pub async fn get_id(&self, id: &FileId) -> (u16, Bytes) {
        self.get(&format!("/{id}")).await
    }

    /// DELETEs a file ID on `/fdfs/`; returns the status.
    pub async fn delete(&self, id: &FileId) -> u16 {
        let url = self.url(&format!("/fdfs/{id}"));
        let response = self.http.delete(url).send().await.unwrap();
        response.status().as_u16()
    }

    /// Requests answered so far by each storage of `group`.
    pub fn storage_requests(&self, group: &str) -> Vec<u64> {
        let storages = self.cluster.storages(group);
        storages.iter().map(|s| s.stats().requests).collect()
    }

    /// DOWNLOAD_FILEs answered with data so far by each storage of `group`.
    pub fn storage_downloads(&self, group: &str) -> Vec<u64> {
        let storages = self.cluster.storages(group);
        storages.iter().map(|s| s.stats().downloads).collect()
    }

    /// Stops the gateway, then the cluster.
    pub async fn stop(self) {
        self.gateway.stop().await;
        self.cluster.shutdown().await;
    }
}

/// Checks a 201 upload response; returns the ID and the size it reports.
pub async fn created(response: reqwest::Response) -> (FileId, u64) {
    assert_eq!(response.status(), 201, "upload status");
    let location = response.headers()["location"]
        .to_str()
        .expect("ASCII Location")
        .to_owned();
    let content_type = response.headers()["content-type"].to_str().unwrap_or("");
    assert_eq!(content_type, "application/json");
    let body = response.text().await.expect("upload reply body");
    let file_id = json_field(&body, "file_id").expect("file_id in the reply");
    let size = json_field(&body, "size")
        .and_then(|s| s.parse().ok())
        .expect("a numeric size in the reply");
    assert_eq!(location, format!("/{file_id}"), "Location names the file");
    let id = FileId::parse(file_id).expect("the reply names a valid file ID");
    (id, size)
}

/// The value of `"key"` in a flat JSON object: a string's content (file
/// IDs need no unescaping) or a number's digits.
pub fn json_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    let rest = json[json.find(&quoted)? + quoted.len()..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    if let Some(string) = rest.strip_prefix('"') {
        return string.split('"').next();
    }
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|n| !n.is_empty())
}

/// A raw HTTP/1.1 exchange: sends `request` as is (no client normalises the
/// path), reads until the server closes or 10 s pass. Returns the status
/// and the whole response text.
pub async fn raw_http(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect to gateway");
        stream.write_all(request).await.expect("send request");
        let mut response = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
            if is_complete(&response) {
                break;
            }
        }
        response
    };
    let response = match tokio::time::timeout(Duration::from_secs(10), exchange).await {
        Ok(response) => response,
        Err(_) => panic!("no complete reply within 10 s"),
    };
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

/// True once `response` holds a head and the `Content-Length` bytes it
/// announces (the server may keep the connection open after them).
fn is_complete(response: &[u8]) -> bool {
    let Some(head_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&response[..head_end]);
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    length.is_some_and(|n| response.len() >= head_end + 4 + n)
}

/// `GET <target>` over a raw connection; the target is sent byte for byte.
pub async fn raw_get(addr: SocketAddr, target: &str) -> (u16, String) {
    let request = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    raw_http(addr, request.as_bytes()).await
}

/// Unix seconds now, as FastDFS signs them.
pub fn now_ts() -> i32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i32::try_from(now).expect("a 32-bit timestamp")
}

/// `token=...&ts=...` for `id`, signed with `secret` at `ts`.
pub fn token_query(id: &FileId, secret: &str, ts: i32) -> String {
    let token = token::generate(id.remote_name(), secret.as_bytes(), ts);
    format!("token={token}&ts={ts}")
}

/// A well-formed ID in `group` that no storage ever stored, claiming to
/// come from `source`.
pub fn mint_id(group: &str, source: Ipv4Addr, size: u64, sub_dirs: (u8, u8)) -> FileId {
    let name = NewName {
        source,
        create_time: u32::try_from(now_ts()).unwrap_or_default(),
        size,
        crc32: 0x1234_5678,
        appender: false,
        random: 0x00ab_cdef_1234,
        ext: "jpg".into(),
    };
    FileId::mint(group, 0, sub_dirs, &name).expect("a valid minted ID")
}

/// `secs` after the epoch as an HTTP date (IMF-fixdate).
pub fn http_date(secs: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn json_fields() {
        let body = r#"{"file_id": "group1/M00/00/00/x.jpg", "size":42}"#;
        assert_eq!(json_field(body, "file_id"), Some("group1/M00/00/00/x.jpg"));
        assert_eq!(json_field(body, "size"), Some("42"));
        assert_eq!(json_field(body, "other"), None);
    }
}
