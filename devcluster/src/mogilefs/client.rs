//! A minimal tracker client for tests and the demo: one connection, one
//! request at a time. (The gateway has its own pooled, health-aware client.)

use dfs_protocol::mogilefs::cmd::{CreateClose, CreateOpen};
use dfs_protocol::mogilefs::line::codec;
use dfs_protocol::mogilefs::line::LineCodec;
use dfs_protocol::mogilefs::{Command, Reply, Request};
use futures_util::StreamExt;
use std::io;
use std::net::SocketAddr;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

/// A connection to a tracker.
#[derive(Debug)]
pub struct TrackerClient {
    lines: FramedRead<OwnedReadHalf, LineCodec>,
    write: OwnedWriteHalf,
}

impl TrackerClient {
    /// Connects to a tracker.
    pub async fn connect(addr: SocketAddr) -> io::Result<TrackerClient> {
        let (read, write) = TcpStream::connect(addr).await?.into_split();
        Ok(TrackerClient {
            lines: FramedRead::new(read, codec()),
            write,
        })
    }

    /// Sends `line` (a `\r\n` is added when missing) and returns the reply
    /// line without its terminator.
    pub async fn raw(&mut self, line: &str) -> io::Result<String> {
        let mut bytes = line.to_owned();
        if !bytes.ends_with('\n') {
            bytes.push_str("\r\n");
        }
        self.write.write_all(bytes.as_bytes()).await?;
        match self.lines.next().await {
            Some(line) => line.map_err(io::Error::other),
            None => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }

    /// Sends a request and parses the reply line.
    pub async fn request(&mut self, request: &Request) -> io::Result<Reply> {
        let line = self.raw(&request.encode()).await?;
        Reply::parse(&line).map_err(io::Error::other)
    }

    /// Runs a typed command: `Ok(Ok(reply))`, or `Ok(Err(ERR reply))` when
    /// the tracker refused; `Err` for transport or format problems.
    pub async fn call<C: Command>(&mut self, command: &C) -> io::Result<Result<C::Reply, Reply>> {
        match self.request(&command.request()).await? {
            Reply::Ok(fields) => C::parse_reply(&fields).map(Ok).map_err(io::Error::other),
            refused => Ok(Err(refused)),
        }
    }
}

impl TrackerClient {
    /// Stores `data` under `key` the way MogileFS clients do: `create_open`,
    /// PUT to the first destination, `create_close`. Returns the fid.
    pub async fn store(
        &mut self,
        domain: &str,
        key: &str,
        class: Option<&str>,
        data: Vec<u8>,
    ) -> io::Result<u64> {
        let open = CreateOpen {
            domain: domain.to_owned(),
            key: key.to_owned(),
            class: class.map(str::to_owned),
            multi_dest: false,
            size: None,
        };
        let open = self.call(&open).await?.map_err(refused)?;
        let dest = &open.destinations[0];
        let size = data.len() as u64;
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(io::Error::other)?;
        let put = http.put(&dest.path).body(data).send().await;
        let put = put.map_err(io::Error::other)?;
        if !put.status().is_success() {
            return Err(io::Error::other(format!(
                "PUT {}: {}",
                dest.path,
                put.status()
            )));
        }
        let close = CreateClose {
            domain: domain.to_owned(),
            key: key.to_owned(),
            fid: open.fid,
            devid: dest.devid,
            path: dest.path.clone(),
            size,
            checksum: None,
        };
        self.call(&close).await?.map_err(refused)?;
        Ok(open.fid)
    }
}

fn refused(reply: Reply) -> io::Error {
    io::Error::other(format!("tracker refused: {}", reply.encode().trim_end()))
}
