//! Connections spread over the workers: the pick itself, and a burst of
//! connects through [`serve_workers`] served by every worker.

use super::*;
use axum::routing::get;
use std::collections::HashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn balance(workers: usize) -> Arc<Balance> {
    Arc::new(Balance {
        open: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
        inboxes: (0..workers).map(|_| mpsc::unbounded_channel().0).collect(),
    })
}

#[test]
fn a_burst_accepted_by_one_worker_is_spread_evenly() {
    let b = balance(3);
    let picks: Vec<usize> = (0..9).map(|_| b.pick(1)).collect();
    let mut per_worker = [0; 3];
    for p in &picks {
        per_worker[*p] += 1;
    }
    assert_eq!(per_worker, [3, 3, 3], "{picks:?}");
    // On a tie the accepting worker keeps it.
    assert_eq!(picks[0], 1);
}

#[test]
fn a_closed_connection_makes_room_on_its_worker() {
    let b = balance(2);
    let first = b.pick(0);
    let second = b.pick(0);
    assert_eq!((first, second), (0, 1));
    drop(Open(Some((b.clone(), 1))));
    assert_eq!(b.pick(0), 1, "worker 1 has none open again");
}

/// Reads one HTTP/1.1 response's body (`Content-Length` framed) from `s`.
async fn body_of(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = s.read(&mut chunk).await.expect("response");
        assert!(n > 0, "connection closed early: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .expect("content-length");
            if body.len() >= length {
                return body[..length].to_string();
            }
        }
    }
}

#[tokio::test]
async fn every_worker_serves_a_share_of_a_burst_of_connections() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route("/", get(|| async { worker_index().to_string() }));
    let limits = Limits {
        header_read_timeout: Duration::from_secs(10),
        max_header_size: 8192,
        shutdown_grace: Duration::from_secs(1),
        max_connections: 100,
        h2c: false,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_workers(listener, 2, Plain, router, limits, async {
        let _ = stopped.await;
    }));
    let run = async {
        // All connected before any request, as a client pool opens them.
        let mut conns = Vec::new();
        for _ in 0..8 {
            conns.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut served: HashMap<String, usize> = HashMap::new();
        for c in &mut conns {
            c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                .await
                .unwrap();
            *served.entry(body_of(c).await).or_default() += 1;
        }
        served
    };
    let served = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("served in time");
    assert_eq!(served.get("0"), Some(&4), "{served:?}");
    assert_eq!(served.get("1"), Some(&4), "{served:?}");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
}
