//! The tracker's TCP connections: lines in, one reply line per line, in order.
//!
//! A connection handles one line at a time, like mogilefsd's
//! `Connection::Client`, which stops reading until the reply is written:
//! pipelined requests are answered strictly in order. Lines longer than the
//! protocol's bound close the connection.

use super::commands::answer;
use super::service::Handler;
use super::state::Shared;
use dfs_protocol::mogilefs::line::codec;
use futures_util::StreamExt;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

/// The reply to any `!` admin line: free-form lines ended by `.`.
const ADMIN_REPLY: &str = "devcluster tracker: no admin commands here\r\n.\r\n";

/// Serves tracker connections against `shared`.
pub(crate) fn handler(shared: Arc<Shared>) -> Handler {
    Arc::new(move |stream| Box::pin(serve(shared.clone(), stream)))
}

async fn serve(shared: Arc<Shared>, stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut lines = FramedRead::new(read, codec());
    while let Some(Ok(line)) = lines.next().await {
        let reply = if line.starts_with('!') {
            ADMIN_REPLY.to_owned()
        } else {
            match answer(&shared, &line).await {
                Some(reply) => reply,
                None => continue,
            }
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            break;
        }
    }
}
