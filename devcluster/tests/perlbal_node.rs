//! A storage node in Perlbal mode against the request sequences of the
//! mogstored captures (Perlbal keep-alive and chunked-split vectors), each on
//! one raw connection:
//! - every reply is HTTP/1.0 with `Connection: keep-alive` +
//!   `Keep-Alive: timeout=30, max=100` when kept; chunked PUT, GET, a second
//!   chunked PUT (file replaced), GET on one connection;
//! - PUT HTTP/1.0 + keep-alive without length or body: 200, empty file, kept;
//!   PUT HTTP/1.0 with no headers: 200, `Connection: close`, closed;
//! - chunked body split over writes works; a final CRLF sent apart is read
//!   as the next request, which gets no reply (closed), the data stored;
//! - `Transfer-Encoding: Chunked` stores an empty file and the connection
//!   closes; a request pipelined behind a chunked PUT is lost;
//! - `bytes=-N` served as bytes 0-N.

use devcluster::storage_node::{NodeMode, StorageNode};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PATH: &str = "/dev1/0/000/000/0000000382.fid";

async fn node() -> (StorageNode, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = StorageNode::bind_with(dir.path(), &[1], NodeMode::Perlbal)
        .await
        .unwrap();
    (node, dir)
}

/// A reply: status line, headers (lower-case names), body.
#[derive(Debug)]
struct Reply {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one reply (framed by Content-Length); `None` when the node closed
/// or sent nothing within a second.
async fn reply(conn: &mut TcpStream) -> Option<Reply> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(1), conn.read(&mut byte))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        raw.push(byte[0]);
    }
    let text = String::from_utf8(raw).unwrap();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).await.ok()?;
    Some(Reply {
        status_line,
        headers,
        body,
    })
}

/// True when the node closes the connection (EOF or reset) within a second.
async fn closed(conn: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), conn.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

fn get(version: &str, extra: &str) -> String {
    format!("GET {PATH} {version}\r\nHost: n\r\n{extra}\r\n")
}

fn assert_kept(r: &Reply) {
    assert!(r.status_line.starts_with("HTTP/1.0 "), "{r:?}");
    assert_eq!(r.header("connection"), Some("keep-alive"), "{r:?}");
    assert_eq!(r.header("keep-alive"), Some("timeout=30, max=100"));
}

#[tokio::test]
async fn keep_alive_sequence_of_the_capture() {
    let (node, _dir) = node().await;
    let mut c = TcpStream::connect(node.addr()).await.unwrap();
    let put = format!(
        "PUT {PATH} HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: chunked\r\n\r\nd\r\nfirst chunk, \r\nd\r\nsecond chunk\n\r\n0\r\n\r\n"
    );
    c.write_all(put.as_bytes()).await.unwrap();
    let r = reply(&mut c).await.unwrap();
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    assert_eq!(r.body, b"<h1>200 - OK</h1>\n");
    assert_kept(&r);
    c.write_all(get("HTTP/1.1", "").as_bytes()).await.unwrap();
    let r = reply(&mut c).await.unwrap();
    assert_kept(&r);
    assert_eq!(r.body, b"first chunk, second chunk\n");
    let put = format!(
        "PUT {PATH} HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: chunked\r\n\r\n2a\r\nsecond chunked PUT on the same connection\n\r\n0\r\n\r\n"
    );
    c.write_all(put.as_bytes()).await.unwrap();
    assert_kept(&reply(&mut c).await.unwrap());
    c.write_all(get("HTTP/1.1", "").as_bytes()).await.unwrap();
    assert_eq!(
        reply(&mut c).await.unwrap().body,
        b"second chunked PUT on the same connection\n"
    );
    // (b) HTTP/1.0 keep-alive PUT without length: an empty file, kept.
    let bodiless = format!("PUT {PATH} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    c.write_all(bodiless.as_bytes()).await.unwrap();
    let r = reply(&mut c).await.unwrap();
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    assert_kept(&r);
    c.write_all(get("HTTP/1.0", "Connection: keep-alive\r\n").as_bytes())
        .await
        .unwrap();
    let r = reply(&mut c).await.unwrap();
    assert_kept(&r);
    assert_eq!(r.header("content-length"), Some("0"));
    let put = format!("PUT {PATH} HTTP/1.1\r\nHost: n\r\nContent-Length: 12\r\n\r\nrestored 12\n");
    c.write_all(put.as_bytes()).await.unwrap();
    assert_kept(&reply(&mut c).await.unwrap());
    // No headers at all: 200, then the node closes.
    c.write_all(format!("PUT {PATH} HTTP/1.0\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let r = reply(&mut c).await.unwrap();
    assert_eq!(r.status_line, "HTTP/1.0 200 OK");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(closed(&mut c).await);
    assert_eq!(node.files().unwrap()[0].len, 0);
}

#[tokio::test]
async fn chunked_corner_cases_of_the_capture() {
    let (node, _dir) = node().await;
    let head = format!("PUT {PATH} HTTP/1.1\r\nHost: n\r\nTransfer-Encoding: chunked\r\n\r\n");
    // E1: split over writes, complete: fine.
    let mut c = TcpStream::connect(node.addr()).await.unwrap();
    for part in [
        head.as_str(),
        "6\r\nsplit \r\n",
        "7\r\nchunks\n\r\n",
        "0\r\n\r\n",
    ] {
        c.write_all(part.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_kept(&reply(&mut c).await.unwrap());
    c.write_all(get("HTTP/1.1", "").as_bytes()).await.unwrap();
    assert_eq!(reply(&mut c).await.unwrap().body, b"split chunks\n");
    // E2: the final CRLF apart: stored, but the next request gets no reply.
    let mut c = TcpStream::connect(node.addr()).await.unwrap();
    c.write_all(format!("{head}9\r\nlast crlf\r\n6\r\n apart\r\n0\r\n").as_bytes())
        .await
        .unwrap();
    assert_kept(&reply(&mut c).await.unwrap());
    c.write_all(format!("\r\n{}", get("HTTP/1.1", "")).as_bytes())
        .await
        .unwrap();
    assert!(reply(&mut c).await.is_none());
    assert_eq!(node.files().unwrap()[0].len, 15);
    // E3: "Chunked": bodiless, an empty file; the chunk bytes close it.
    let mut c = TcpStream::connect(node.addr()).await.unwrap();
    let caps = head.replace("chunked", "Chunked");
    c.write_all(format!("{caps}4\r\nCAPS\r\n0\r\n\r\n").as_bytes())
        .await
        .unwrap();
    assert_kept(&reply(&mut c).await.unwrap());
    assert!(closed(&mut c).await);
    assert_eq!(node.files().unwrap()[0].len, 0);
    // A GET pipelined behind a chunked PUT, in the same write, is lost.
    let mut c = TcpStream::connect(node.addr()).await.unwrap();
    c.write_all(format!("{head}3\r\nabc\r\n0\r\n\r\n{}", get("HTTP/1.1", "")).as_bytes())
        .await
        .unwrap();
    assert_kept(&reply(&mut c).await.unwrap());
    assert!(
        reply(&mut c).await.is_none(),
        "the pipelined GET was answered"
    );
}

#[tokio::test]
async fn suffix_ranges_are_served_from_the_start() {
    let (node, _dir) = node().await;
    let mut c = TcpStream::connect(node.addr()).await.unwrap();
    let body = "hello mogilefs test vector\n";
    let put = format!(
        "PUT {PATH} HTTP/1.1\r\nHost: n\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(put.as_bytes()).await.unwrap();
    assert_kept(&reply(&mut c).await.unwrap());
    c.write_all(get("HTTP/1.1", "Range: bytes=-7\r\n").as_bytes())
        .await
        .unwrap();
    let r = reply(&mut c).await.unwrap();
    assert_eq!(r.status_line, "HTTP/1.0 206 Partial Content");
    assert_eq!(r.header("content-range"), Some("bytes 0-7/27"));
    assert_eq!(r.body, b"hello mo");
}
