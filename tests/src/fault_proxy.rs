//! A TCP proxy that sits in front of a tracker (or any server) and breaks its
//! replies on demand: garbage, a reply cut off mid-way, silence, or a limit on
//! how many reply bytes get through. Protocol-agnostic, so it serves the
//! MogileFS and FastDFS fault tests alike.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What happens to the server's replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Replies pass untouched.
    Pass,
    /// Each reply is replaced by these bytes, then the connection closes.
    Garbage(Vec<u8>),
    /// The first half of a reply gets through, then the connection closes.
    CloseMidReply,
    /// Replies are swallowed; the connection stays open.
    Stall,
    /// Only this many reply bytes in total get through, then the connection closes.
    Truncate(usize),
}

/// A running proxy.
pub struct FaultProxy {
    addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free 127.0.0.1 port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let shared = fault.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, shared.clone()));
            }
        });
        FaultProxy { addr, fault, task }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets the fault for replies from now on.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr, fault: Arc<Mutex<Fault>>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let mut passed = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match server_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let current = fault.lock().unwrap().clone();
        let (send, close) = match &current {
            Fault::Pass => (&buf[..n], false),
            Fault::Garbage(junk) => (&junk[..], true),
            Fault::CloseMidReply => (&buf[..n.div_ceil(2).min(n.saturating_sub(1))], true),
            Fault::Stall => (&buf[..0], false),
            Fault::Truncate(limit) => {
                let room = limit.saturating_sub(passed).min(n);
                (&buf[..room], room < n)
            }
        };
        passed += send.len();
        if client_write.write_all(send).await.is_err() || close {
            break;
        }
    }
    requests.abort();
}
