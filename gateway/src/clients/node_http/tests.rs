//! The storage-node client against a scripted HTTP/1 server on 127.0.0.1:0
//! that counts its connections and records what it was sent:
//! - a connection is reused after a body read to its end (and after a HEAD);
//! - not after a body dropped unfinished, nor after an HTTP/1.0 reply
//!   without keep-alive; an HTTP/1.0 keep-alive peer (Perlbal) keeps it,
//!   and a PUT on it goes out with its Content-Length and whole body;
//! - a body of unknown length is refused before any connection is made;
//! - requests go out in origin form with a Host header;
//! - an idle connection the peer closed is replaced transparently, and a
//!   request sent on one comes back unsent instead of waiting forever;
//! - idle connections expire; connecting gives up after the time-out.

use super::*;
use axum::body::Body;
use futures_util::StreamExt;
use pool::Reusable;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the scripted server answers.
#[derive(Clone, Copy)]
enum Peer {
    /// HTTP/1.1, keep-alive.
    Http11,
    /// HTTP/1.0 and close, as an old server does.
    Http10Close,
    /// HTTP/1.0 with `Connection: keep-alive`, as Perlbal does.
    Perlbal,
    /// HTTP/1.1 keep-alive promised, then the socket closed after the reply.
    Http11ThenClose,
}

/// Each request head and body as received.
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    /// Connections the server has closed.
    closed: Arc<AtomicUsize>,
    seen: Seen,
}

impl Server {
    /// Waits (at most 5 s) until the server has closed `n` connections.
    async fn closed(&self, n: usize) {
        let wait = async {
            while self.closed.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("the server closes its connection");
    }
}

const BODY: usize = 256 * 1024;

async fn server(peer: Peer) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (a, c, s) = (
        Arc::clone(&accepted),
        Arc::clone(&closed),
        Arc::clone(&seen),
    );
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            let (c, s) = (Arc::clone(&c), Arc::clone(&s));
            tokio::spawn(async move {
                serve(socket, peer, s).await;
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Server {
        addr,
        accepted,
        closed,
        seen,
    }
}

async fn serve(mut socket: TcpStream, peer: Peer, seen: Seen) {
    let mut buf = Vec::new();
    loop {
        let Some(end) = read_until_head(&mut socket, &mut buf).await else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        buf.drain(..end);
        while buf.len() < length {
            let mut chunk = [0; 8192];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..length).collect();
        let is_head = head.starts_with("HEAD ");
        seen.lock().unwrap().push((head, body));
        let (status, keep) = match peer {
            Peer::Http11 | Peer::Http11ThenClose => ("HTTP/1.1 200 OK\r\n", ""),
            Peer::Http10Close => ("HTTP/1.0 200 OK\r\n", ""),
            Peer::Perlbal => ("HTTP/1.0 200 OK\r\n", "Connection: keep-alive\r\n"),
        };
        let reply = format!("{status}{keep}Content-Length: {BODY}\r\n\r\n");
        let mut out = reply.into_bytes();
        if !is_head {
            out.extend(std::iter::repeat_n(b'x', BODY));
        }
        if socket.write_all(&out).await.is_err() {
            return;
        }
        if matches!(peer, Peer::Http10Close | Peer::Http11ThenClose) {
            return;
        }
    }
}

/// Reads until `buf` holds a whole request head; its length.
async fn read_until_head(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(i + 4);
        }
        let mut chunk = [0; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn client() -> NodeHttp {
    NodeHttp::new(NodeHttpConfig::default())
}

fn get(addr: SocketAddr, method: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(format!("http://{addr}/dev1/0/000/000/0000000001.fid"))
        .body(Body::empty())
        .unwrap()
}

async fn read_all(client: &NodeHttp, request: Request<Body>) -> usize {
    let response = client.request(request).await.unwrap();
    axum::body::to_bytes(Body::new(response.into_body()), usize::MAX)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn reuses_a_connection_after_a_full_body_and_after_a_head() {
    let s = server(Peer::Http11).await;
    let c = client();
    for _ in 0..3 {
        assert_eq!(read_all(&c, get(s.addr, "GET")).await, BODY);
    }
    assert_eq!(read_all(&c, get(s.addr, "HEAD")).await, 0);
    assert_eq!(read_all(&c, get(s.addr, "GET")).await, BODY);
    assert_eq!(s.accepted.load(Ordering::SeqCst), 1);
    assert_eq!(c.idle_connections(&s.addr.to_string()), 1);
    let seen = s.seen.lock().unwrap();
    assert_eq!(seen.len(), 5);
    let first = &seen[0].0;
    assert!(
        first.starts_with("GET /dev1/0/000/000/0000000001.fid HTTP/1.1\r\n"),
        "{first}"
    );
    assert!(first.contains(&format!("host: {}", s.addr)), "{first}");
}

#[tokio::test]
async fn an_abandoned_body_closes_its_connection() {
    let s = server(Peer::Http11).await;
    let c = client();
    let response = c.request(get(s.addr, "GET")).await.unwrap();
    let mut body = Body::new(response.into_body()).into_data_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(first.len() < BODY);
    drop(body);
    assert_eq!(c.idle_connections(&s.addr.to_string()), 0);
    assert_eq!(read_all(&c, get(s.addr, "GET")).await, BODY);
    assert_eq!(s.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_http10_reply_without_keep_alive_is_not_reused() {
    let s = server(Peer::Http10Close).await;
    let c = client();
    assert_eq!(read_all(&c, get(s.addr, "GET")).await, BODY);
    assert_eq!(c.idle_connections(&s.addr.to_string()), 0);
    assert_eq!(read_all(&c, get(s.addr, "GET")).await, BODY);
    assert_eq!(s.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_perlbal_connection_is_reused_and_a_put_keeps_its_length() {
    let s = server(Peer::Perlbal).await;
    let c = client();
    assert_eq!(read_all(&c, get(s.addr, "GET")).await, BODY);
    let chunks = (0..10).map(|_| Ok::<_, io::Error>(bytes::Bytes::from(vec![b'p'; 1000])));
    let put = Request::builder()
        .method("PUT")
        .uri(format!("http://{}/dev1/0/000/000/0000000002.fid", s.addr))
        .header(CONTENT_LENGTH, 10_000)
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    assert_eq!(read_all(&c, put).await, BODY);
    assert_eq!(s.accepted.load(Ordering::SeqCst), 1);
    let seen = s.seen.lock().unwrap();
    let (head, body) = &seen[1];
    // hyper speaks HTTP/1.0 to a peer that did; the length frames the body.
    assert!(
        head.starts_with("PUT /dev1/0/000/000/0000000002.fid HTTP/1.0\r\n"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("content-length: 10000"),
        "{head}"
    );
    assert_eq!(body.len(), 10_000);
}

#[tokio::test]
async fn a_body_of_unknown_length_is_refused_unsent() {
    let s = server(Peer::Perlbal).await;
    let chunks = futures_util::stream::iter([Ok::<_, io::Error>(bytes::Bytes::from("data"))]);
    let put = Request::builder()
        .method("PUT")
        .uri(format!("http://{}/dev1/x.fid", s.addr))
        .body(Body::from_stream(chunks))
        .unwrap();
    let e = client().request(put).await.unwrap_err();
    assert!(matches!(e, NodeHttpError::UnknownLength { .. }), "{e}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_idle_connection_the_peer_closed_is_replaced() {
    let s = server(Peer::Http11ThenClose).await;
    let c = client();
    assert_eq!(read_all(&c, get(s.addr, "GET")).await, BODY);
    // The server has closed it; the pool does not know yet.
    s.closed(1).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = tokio::time::timeout(Duration::from_secs(5), read_all(&c, get(s.addr, "GET")));
    assert_eq!(again.await.expect("no hang"), BODY);
    assert_eq!(s.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_request_queued_on_a_connection_the_peer_closed_comes_back_unsent() {
    // The race `request` can lose: the connection looked ready, then hyper
    // reads the peer's close before it takes the queued request. Sending
    // without asking `ready` first makes that order certain.
    let s = server(Peer::Http11ThenClose).await;
    let c = client();
    let mut conn = c.connect(&Arc::from(s.addr.to_string())).await.unwrap();
    // A HEAD: its reply ends with its head, so nothing needs reading.
    drop(conn.send(get(s.addr, "HEAD")).await.unwrap());
    s.closed(1).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = tokio::time::timeout(Duration::from_secs(5), conn.send(get(s.addr, "GET")));
    let mut e = again.await.expect("no hang").unwrap_err();
    assert!(e.take_message().is_some(), "the request was not sent");
    assert!(conn.is_closed());
}

#[tokio::test]
async fn idle_connections_expire() {
    let s = server(Peer::Http11).await;
    let c = NodeHttp::new(NodeHttpConfig {
        idle_for: Duration::from_millis(200),
        ..NodeHttpConfig::default()
    });
    assert_eq!(read_all(&c, get(s.addr, "GET")).await, BODY);
    assert_eq!(c.idle_connections(&s.addr.to_string()), 1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The reaper closed it without waiting for another request.
    assert_eq!(c.idle_connections(&s.addr.to_string()), 0);
    assert_eq!(read_all(&c, get(s.addr, "GET")).await, BODY);
    assert_eq!(s.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn connecting_gives_up_after_the_time_out() {
    // A listener that never accepts, its backlog full: further SYNs go
    // unanswered, so a connect hangs until the client gives up.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) =
            tokio::time::timeout(Duration::from_millis(100), TcpStream::connect(addr)).await
        {
            fillers.push(s);
        }
    }
    let c = NodeHttp::new(NodeHttpConfig {
        connect_timeout: Duration::from_millis(300),
        ..NodeHttpConfig::default()
    });
    let started = std::time::Instant::now();
    let e = c.request(get(addr, "GET")).await.unwrap_err();
    assert!(matches!(e, NodeHttpError::ConnectTimeout { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
    drop((listener, fillers));
}
