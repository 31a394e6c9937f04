//! The gateway's storage-node clients (`clients::node_http`: the hyper-based
//! one for writes, the bare-socket `GetClient` for reads) against
//! hyper-util's pooled client, configured as the gateway used to configure
//! it, all against one scripted HTTP/1.1 keep-alive server on 127.0.0.1:
//!
//! - 4 KiB GETs from 16 concurrent tasks: requests per second and CPU time
//!   per request of this process (client and server together, the server
//!   being the same for both);
//! - 1,000 responses of 1 MiB opened and held after their first chunk, as
//!   behind slow readers: the RSS this adds, per response.
//!
//! `cargo bench -p dfs-bench --bench node_client` (one thread of runtime, so
//! the figures compare the clients' own costs).

use axum::body::Body;
use dfs_gateway::clients::node_http::{GetClient, NodeHttp, NodeHttpConfig};
use futures_util::StreamExt;
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SMALL: usize = 4096;
const LARGE: usize = 1 << 20;
const REQUESTS: usize = 20_000;
const TASKS: usize = 16;
const HELD: usize = 1000;

/// Each client, behind one call.
#[derive(Clone)]
enum Subject {
    Get(GetClient),
    Lean(NodeHttp),
    Legacy(Client<HttpConnector, Body>),
}

impl Subject {
    fn name(&self) -> &'static str {
        match self {
            Subject::Get(_) => "node_http GET",
            Subject::Lean(_) => "node_http",
            Subject::Legacy(_) => "hyper-util legacy",
        }
    }

    /// GETs `path`; the body as a stream of chunks.
    async fn get(
        &self,
        addr: SocketAddr,
        path: &str,
    ) -> futures_util::stream::BoxStream<'static, usize> {
        let url = format!("http://{addr}{path}");
        if let Subject::Get(c) = self {
            let wait = Duration::from_secs(5);
            let response = c.get(&url, false, &[], wait).await.unwrap();
            return response.into_body().map(|c| c.unwrap().len()).boxed();
        }
        let request = Request::get(url).body(Body::empty()).unwrap();
        let body = match self {
            Subject::Get(_) => unreachable!("answered above"),
            Subject::Lean(c) => Body::new(c.request(request).await.unwrap().into_body()),
            Subject::Legacy(c) => Body::new(c.request(request).await.unwrap().into_body()),
        };
        body.into_data_stream().map(|c| c.unwrap().len()).boxed()
    }
}

fn legacy() -> Subject {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(1)));
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(32)
        .pool_timer(TokioTimer::new())
        .http1_max_buf_size(8 * 1024)
        .build(connector);
    Subject::Legacy(client)
}

fn get() -> Subject {
    Subject::Get(GetClient::new(NodeHttpConfig {
        max_idle_per_host: 32,
        ..NodeHttpConfig::default()
    }))
}

fn lean() -> Subject {
    Subject::Lean(NodeHttp::new(NodeHttpConfig {
        max_idle_per_host: 32,
        ..NodeHttpConfig::default()
    }))
}

/// A keep-alive server answering `/small` with 4 KiB and anything else with 1 MiB.
async fn server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket));
        }
    });
    addr
}

/// The two replies, built once (a copy per connection would weigh more
/// than what is measured).
static REPLIES: std::sync::LazyLock<(Vec<u8>, Vec<u8>)> =
    std::sync::LazyLock::new(|| (reply(SMALL), reply(LARGE)));

async fn serve(mut socket: TcpStream) {
    let (small, large) = &*REPLIES;
    let mut buf = Vec::with_capacity(1024);
    loop {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0; 1024];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let out = if buf.starts_with(b"GET /small") {
            &small
        } else {
            &large
        };
        buf.drain(..end);
        if socket.write_all(out).await.is_err() {
            return;
        }
    }
}

fn reply(size: usize) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n").into_bytes();
    out.resize(out.len() + size, b'x');
    out
}

/// CPU time of this process so far (user + system), from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 (11 and 12 after the name); 100 Hz.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Resident set size in bytes, from /proc.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

async fn throughput(subject: &Subject, addr: SocketAddr) {
    let (started, cpu) = (Instant::now(), cpu_time());
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let subject = subject.clone();
            tokio::spawn(async move {
                for _ in 0..REQUESTS / TASKS {
                    let read: usize = subject
                        .get(addr, "/small")
                        .await
                        .collect::<Vec<_>>()
                        .await
                        .iter()
                        .sum();
                    assert_eq!(read, SMALL);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let (wall, cpu) = (started.elapsed(), cpu_time() - cpu);
    println!(
        "{:>18}: 4 KiB GET  {:>7.0} req/s  {:>5.1} µs CPU/req",
        subject.name(),
        REQUESTS as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / REQUESTS as f64
    );
}

async fn held_responses(subject: &Subject, addr: SocketAddr) {
    let before = rss();
    let mut held = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        let mut body = subject.get(addr, "/large").await;
        assert!(body.next().await.unwrap() > 0);
        held.push(body);
    }
    // Let the connections fill their buffers.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let extra = rss().saturating_sub(before);
    println!(
        "{:>18}: {HELD} held 1 MiB responses  +{:.1} MiB RSS  ({} KiB each)",
        subject.name(),
        extra as f64 / f64::from(1 << 20),
        extra / HELD as u64 / 1024
    );
    drop(held);
}

/// Set to `get`, `lean` or `legacy` in the child processes that measure memory.
const MEMORY: &str = "NODE_CLIENT_MEMORY";

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let memory = std::env::var(MEMORY).ok();
    runtime.block_on(async {
        let addr = server().await;
        match memory.as_deref() {
            Some("get") => held_responses(&get(), addr).await,
            Some("lean") => held_responses(&lean(), addr).await,
            Some(_) => held_responses(&legacy(), addr).await,
            None => {
                for subject in [get(), lean(), legacy(), get(), lean(), legacy()] {
                    throughput(&subject, addr).await;
                }
            }
        }
    });
    if memory.is_none() {
        // Memory in a fresh process per client: none reuses what another
        // freed.
        for which in ["get", "lean", "legacy"] {
            let exe = std::env::current_exe().unwrap();
            let status = std::process::Command::new(exe).env(MEMORY, which).status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "the {which} memory run failed"
            );
        }
    }
}
