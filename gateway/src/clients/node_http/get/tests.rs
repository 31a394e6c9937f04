//! The read client against a scripted server on 127.0.0.1:0 that answers
//! each request head with raw bytes, counts its connections and records the
//! heads:
//! - Perlbal's HTTP/1.0 keep-alive reply is read whole (body bytes read with
//!   the head included) and its connection reused; an HTTP/1.0 reply without
//!   keep-alive, a body framed by the close, and a body dropped unfinished
//!   are not reused;
//! - a small body is read in reads of up to its length, a large one in
//!   8 KiB reads;
//! - a HEAD reads no body; a 1xx is skipped;
//! - a body cut short ends with an error, never a clean end;
//! - a chunked reply, a bad head and an oversized head are refused;
//! - an idle connection the peer closed is replaced transparently;
//! - a silent node times out within the wait;
//! - the request goes out in origin form with Host and the given headers.

use super::*;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server does for one request.
#[derive(Clone)]
enum Step {
    Send(Vec<u8>),
    Pause(Duration),
    Close,
}

/// Chooses the steps for request `r` on connection `c`.
type Script = fn(usize, usize) -> Vec<Step>;

struct Server {
    host: String,
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.host)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

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

async fn server(script: Script) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let (a, c, h) = (accepted.clone(), closed.clone(), heads.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let conn = a.fetch_add(1, Ordering::SeqCst);
            let (c, h) = (c.clone(), h.clone());
            tokio::spawn(async move {
                let mut request = 0;
                'requests: while let Some(head) = read_request(&mut socket).await {
                    h.lock().unwrap().push(head);
                    for step in script(conn, request) {
                        match step {
                            Step::Send(bytes) => {
                                if socket.write_all(&bytes).await.is_err() {
                                    break 'requests;
                                }
                            }
                            Step::Pause(d) => tokio::time::sleep(d).await,
                            Step::Close => break 'requests,
                        }
                    }
                    request += 1;
                }
                drop(socket);
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Server {
        host,
        accepted,
        closed,
        heads,
    }
}

/// One request head (up to the blank line), or `None` at EOF.
async fn read_request(socket: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match socket.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn client() -> GetClient {
    GetClient::new(NodeHttpConfig::default())
}

const WAIT: Duration = Duration::from_secs(5);

/// The body, and whether it ended with an error.
async fn collect(body: GetBody) -> (Vec<u8>, bool) {
    let mut body = body;
    let mut out = Vec::new();
    while let Some(item) = body.next().await {
        match item {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(_) => return (out, true),
        }
    }
    (out, false)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Perlbal: HTTP/1.0 with keep-alive; the head goes with the body's start.
fn perlbal(_: usize, _: usize) -> Vec<Step> {
    let body = pattern(20_000);
    let mut first =
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 20000\r\n\r\n".to_vec();
    first.extend_from_slice(&body[..300]);
    vec![
        Step::Send(first),
        Step::Pause(Duration::from_millis(20)),
        Step::Send(body[300..].to_vec()),
    ]
}

#[tokio::test]
async fn a_perlbal_reply_is_read_whole_and_its_connection_reused() {
    let server = server(perlbal).await;
    let client = client();
    for _ in 0..3 {
        let response = client
            .get(&server.url("/dev1/0/1.fid"), false, &[], WAIT)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.version(), Version::HTTP_10);
        let (body, failed) = collect(response.into_body()).await;
        assert!(!failed);
        assert_eq!(body, pattern(20_000));
        assert_eq!(client.idle_connections(&server.host), 1);
    }
    assert_eq!(server.accepted(), 1, "one connection served all three");
}

/// The head, then after a pause the whole body of `len` bytes in one write.
fn body_after_pause(len: usize) -> Vec<Step> {
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
    vec![
        Step::Send(head.into_bytes()),
        Step::Pause(Duration::from_millis(50)),
        Step::Send(pattern(len)),
    ]
}

/// The chunk lengths in which the client hands out the `len`-byte body
/// that `script` sends.
async fn chunks_of(script: Script, len: usize) -> Vec<usize> {
    let server = server(script).await;
    let response = client()
        .get(&server.url("/f"), false, &[], WAIT)
        .await
        .unwrap();
    let chunks: Vec<usize> = response
        .into_body()
        .map(|chunk| chunk.expect("a whole body").len())
        .collect()
        .await;
    assert_eq!(chunks.iter().sum::<usize>(), len);
    chunks
}

#[tokio::test]
async fn a_small_body_is_read_whole_and_a_large_one_in_8_kib_reads() {
    let small = chunks_of(|_, _| body_after_pause(60_000), 60_000).await;
    // All of it was in the socket when the client read: one read, two if
    // the kernel split the write.
    assert!(small.len() <= 2, "{small:?}");
    let large = chunks_of(|_, _| body_after_pause(200_000), 200_000).await;
    assert!(large.iter().all(|&n| n <= CHUNK), "{large:?}");
}

#[tokio::test]
async fn a_small_file_comes_with_its_head_in_one_read() {
    let whole = |_, _| {
        let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n".to_vec();
        reply.extend(pattern(4096));
        vec![Step::Send(reply)]
    };
    // One chunk: the bytes read with the head (a 1 KiB first read made it
    // two reads and two chunks).
    assert_eq!(chunks_of(whole, 4096).await, [4096]);
}

#[tokio::test]
async fn the_request_goes_out_in_origin_form_with_host_and_headers() {
    let server = server(perlbal).await;
    let range = (hyper::header::RANGE, HeaderValue::from_static("bytes=0-9"));
    let response = client()
        .get(&server.url("/dev1/0/1.fid?x=1"), false, &[range], WAIT)
        .await
        .unwrap();
    drop(response);
    let heads = server.heads.lock().unwrap().clone();
    let head = &heads[0];
    assert!(
        head.starts_with("GET /dev1/0/1.fid?x=1 HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains(&format!("\r\nHost: {}\r\n", server.host)),
        "{head}"
    );
    assert!(head.contains("\r\nrange: bytes=0-9\r\n"), "{head}");
}

#[tokio::test]
async fn an_http10_reply_without_keep_alive_is_not_reused() {
    let server = server(|_, _| {
        vec![
            Step::Send(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec()),
            Step::Close,
        ]
    })
    .await;
    let client = client();
    for _ in 0..2 {
        let response = client
            .get(&server.url("/f"), false, &[], WAIT)
            .await
            .unwrap();
        assert_eq!(
            collect(response.into_body()).await,
            (b"hello".to_vec(), false)
        );
        assert_eq!(client.idle_connections(&server.host), 0);
    }
    assert_eq!(server.accepted(), 2);
}

#[tokio::test]
async fn a_body_framed_by_the_close_is_read_to_the_end_and_not_reused() {
    let server = server(|_, _| {
        vec![
            Step::Send(b"HTTP/1.1 200 OK\r\n\r\nuntil ".to_vec()),
            Step::Send(b"the end".to_vec()),
            Step::Close,
        ]
    })
    .await;
    let client = client();
    let response = client
        .get(&server.url("/f"), false, &[], WAIT)
        .await
        .unwrap();
    assert_eq!(
        collect(response.into_body()).await,
        (b"until the end".to_vec(), false)
    );
    assert_eq!(client.idle_connections(&server.host), 0);
}

#[tokio::test]
async fn a_body_cut_short_ends_with_an_error() {
    let server = server(|_, _| {
        let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
        reply.extend_from_slice(&pattern(500));
        vec![Step::Send(reply), Step::Close]
    })
    .await;
    let client = client();
    let response = client
        .get(&server.url("/f"), false, &[], WAIT)
        .await
        .unwrap();
    let (body, failed) = collect(response.into_body()).await;
    assert!(failed, "a short body must not end cleanly");
    assert_eq!(body, pattern(500));
    assert_eq!(client.idle_connections(&server.host), 0);
}

#[tokio::test]
async fn a_body_dropped_unfinished_takes_its_connection() {
    let server = server(|_, _| {
        let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec();
        reply.extend_from_slice(&pattern(100_000));
        vec![Step::Send(reply)]
    })
    .await;
    let client = client();
    let response = client
        .get(&server.url("/f"), false, &[], WAIT)
        .await
        .unwrap();
    let mut body = response.into_body();
    assert!(body.next().await.unwrap().is_ok());
    drop(body);
    assert_eq!(client.idle_connections(&server.host), 0);
    server.closed(1).await;
}

#[tokio::test]
async fn a_head_reads_no_body_and_keeps_the_connection() {
    let server = server(|_, _| {
        vec![Step::Send(
            b"HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n".to_vec(),
        )]
    })
    .await;
    let client = client();
    let response = client
        .get(&server.url("/f"), true, &[], WAIT)
        .await
        .unwrap();
    assert_eq!(response.headers()[CONTENT_LENGTH], "12345");
    assert_eq!(collect(response.into_body()).await, (Vec::new(), false));
    assert_eq!(client.idle_connections(&server.host), 1);
    assert!(server.heads.lock().unwrap()[0].starts_with("HEAD /f HTTP/1.1\r\n"));
}

#[tokio::test]
async fn an_interim_reply_is_skipped() {
    let server = server(|_, _| {
        vec![Step::Send(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".to_vec(),
        )]
    })
    .await;
    let response = client()
        .get(&server.url("/f"), false, &[], WAIT)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(collect(response.into_body()).await, (b"hi".to_vec(), false));
}

#[tokio::test]
async fn chunked_bad_and_oversized_replies_are_refused() {
    let chunked = server(|_, _| {
        vec![Step::Send(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                .to_vec(),
        )]
    })
    .await;
    let garbage = server(|_, _| vec![Step::Send(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec())]).await;
    let huge = server(|_, _| {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..40 {
            head.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "a".repeat(500)).as_bytes());
        }
        vec![Step::Send(head)]
    })
    .await;
    let conflicting = server(|_, _| {
        vec![Step::Send(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(),
        )]
    })
    .await;
    for s in [&chunked, &garbage, &huge, &conflicting] {
        let e = client()
            .get(&s.url("/f"), false, &[], WAIT)
            .await
            .unwrap_err();
        assert!(matches!(e, NodeHttpError::BadReply { .. }), "{e}");
    }
}

#[tokio::test]
async fn an_idle_connection_the_peer_closed_is_replaced() {
    let server = server(|_, _| {
        vec![
            Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()),
            Step::Close,
        ]
    })
    .await;
    let client = client();
    let response = client
        .get(&server.url("/f"), false, &[], WAIT)
        .await
        .unwrap();
    assert_eq!(collect(response.into_body()).await, (b"ok".to_vec(), false));
    // Kept: the reply promised keep-alive; then the peer closes it.
    assert_eq!(client.idle_connections(&server.host), 1);
    server.closed(1).await;
    let response = client
        .get(&server.url("/f"), false, &[], WAIT)
        .await
        .unwrap();
    assert_eq!(collect(response.into_body()).await, (b"ok".to_vec(), false));
    assert_eq!(server.accepted(), 2);
}

#[tokio::test]
async fn a_silent_node_times_out_within_the_wait() {
    let server = server(|_, _| vec![Step::Pause(Duration::from_secs(30))]).await;
    let started = std::time::Instant::now();
    let e = client()
        .get(&server.url("/f"), false, &[], Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(e, NodeHttpError::HeadTimeout { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_refused_connection_and_a_bad_url_fail_cleanly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = client()
        .get(&format!("http://{addr}/f"), false, &[], WAIT)
        .await
        .unwrap_err();
    assert!(matches!(e, NodeHttpError::Connect { .. }), "{e}");
    let e = client()
        .get("ftp://127.0.0.1/f", false, &[], WAIT)
        .await
        .unwrap_err();
    assert!(matches!(e, NodeHttpError::BadUrl { .. }), "{e}");
}
