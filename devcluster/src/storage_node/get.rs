//! GET and HEAD: headers like Perlbal's, single ranges, and a body stream that
//! can trickle or break on purpose.

use super::faults::RequestFaults;
use super::range::{self, RangeAnswer};
use super::routes::html;
use super::NodeState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LAST_MODIFIED, RANGE, SERVER,
};
use axum::http::{response::Builder, Method, StatusCode};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use std::io::{self, SeekFrom};
use std::sync::Arc;
use std::time::Duration;
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Read size when no trickle is asked for.
const CHUNK: usize = 64 * 1024;

/// What a GET or HEAD asks for.
pub(super) struct Read {
    /// HEAD: headers only.
    pub head: bool,
    /// The `Range` header.
    pub range: Option<String>,
    /// The tracker's own request (not counted in client stats).
    pub from_tracker: bool,
}

impl Read {
    pub(super) fn of(request: &Request, from_tracker: bool) -> Read {
        Read {
            head: request.method() == Method::HEAD,
            range: request
                .headers()
                .get(RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            from_tracker,
        }
    }
}

/// Answers a GET or HEAD of the file at `segments`: open, resolve the
/// range, then headers only or a body stream.
pub(super) async fn serve(
    state: &Arc<NodeState>,
    segments: &[String],
    read: Read,
    faults: RequestFaults,
) -> Response {
    let Some((mut file, meta)) = open(&state.root.join(segments.join("/"))).await else {
        return html(StatusCode::NOT_FOUND, "");
    };
    let len = meta.len();
    let suffix_bug = state.suffix_bug.load(std::sync::atomic::Ordering::Relaxed);
    let head = common_head(&meta);
    let (head, start, count) = match range::resolve(read.range.as_deref(), len, suffix_bug) {
        RangeAnswer::Full => (head.status(StatusCode::OK), 0, len),
        RangeAnswer::Partial { start, end } => (
            head.status(StatusCode::PARTIAL_CONTENT)
                .header(CONTENT_RANGE, format!("bytes {start}-{end}/{len}")),
            start,
            end - start + 1,
        ),
        RangeAnswer::Unsatisfiable => return unsatisfiable(head, len),
    };
    let head = head
        .header(CONTENT_TYPE, content_type(segments))
        .header(CONTENT_LENGTH, count);
    if read.head {
        return head.body(Body::empty()).unwrap_or_default();
    }
    if file.seek(SeekFrom::Start(start)).await.is_err() {
        return html(StatusCode::INTERNAL_SERVER_ERROR, "");
    }
    let counted = (!read.from_tracker).then(|| state.clone());
    let sender = Sender::new(file, count, faults, counted);
    head.body(Body::from_stream(sender.into_stream()))
        .unwrap_or_default()
}

/// The file and its metadata, if it is a regular file.
async fn open(path: &std::path::Path) -> Option<(File, std::fs::Metadata)> {
    let file = File::open(path).await.ok()?;
    let meta = file.metadata().await.ok().filter(|m| m.is_file())?;
    Some((file, meta))
}

/// Headers of every answer about an existing file.
fn common_head(meta: &std::fs::Metadata) -> Builder {
    let head = Response::builder()
        .header(SERVER, "devcluster")
        .header(ACCEPT_RANGES, "bytes");
    match meta.modified() {
        Ok(modified) => head.header(LAST_MODIFIED, httpdate::fmt_http_date(modified)),
        Err(_) => head,
    }
}

fn unsatisfiable(head: Builder, len: u64) -> Response {
    head.status(StatusCode::RANGE_NOT_SATISFIABLE)
        .header(CONTENT_RANGE, format!("bytes */{len}"))
        .header(CONTENT_LENGTH, 0)
        .body(Body::empty())
        .unwrap_or_default()
}

/// mogstored guesses from the extension; `.fid` is `text/plain`.
fn content_type(segments: &[String]) -> &'static str {
    let name = segments.last().map(String::as_str).unwrap_or_default();
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("fid" | "txt") => "text/plain",
        Some("html" | "htm") => "text/html",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Produces the body chunk by chunk, applying trickle and reset faults.
struct Sender {
    file: File,
    left: u64,
    sent: u64,
    chunk: usize,
    pause: Option<Duration>,
    reset_after: Option<u64>,
    /// Where to count a completed body; `None` for the tracker's own GETs.
    counted: Option<Arc<NodeState>>,
    broken: bool,
}

impl Sender {
    fn new(file: File, left: u64, faults: RequestFaults, counted: Option<Arc<NodeState>>) -> Self {
        let (chunk, pause) = match faults.trickle {
            Some((bytes, pause)) => (bytes, Some(pause)),
            None => (CHUNK, None),
        };
        Sender {
            file,
            left,
            sent: 0,
            chunk,
            pause,
            reset_after: faults.reset_after,
            counted,
            broken: false,
        }
    }

    fn into_stream(self) -> impl Stream<Item = io::Result<Bytes>> + Send {
        futures_util::stream::unfold(self, |mut sender| async move {
            let item = sender.next_chunk().await?;
            Some((item, sender))
        })
    }

    async fn next_chunk(&mut self) -> Option<io::Result<Bytes>> {
        if self.left == 0 || self.broken {
            return None;
        }
        let mut want = (self.chunk as u64).min(self.left);
        if let Some(limit) = self.reset_after {
            if self.sent >= limit {
                // Let hyper flush what was sent (it does while the body is
                // pending), then an error item makes it abort the connection.
                tokio::time::sleep(Duration::from_millis(10)).await;
                self.broken = true;
                let reset = io::Error::new(io::ErrorKind::ConnectionReset, "injected reset");
                return Some(Err(reset));
            }
            want = want.min(limit - self.sent);
        }
        if let (Some(pause), true) = (self.pause, self.sent > 0) {
            tokio::time::sleep(pause).await;
        }
        Some(self.read(want as usize).await)
    }

    async fn read(&mut self, want: usize) -> io::Result<Bytes> {
        let mut buf = BytesMut::zeroed(want);
        let n = match self.file.read(&mut buf).await {
            Ok(0) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank")),
            other => other,
        }
        .inspect_err(|_| self.broken = true)?;
        buf.truncate(n);
        self.sent += n as u64;
        self.left -= n as u64;
        if self.left == 0 {
            if let Some(state) = &self.counted {
                state.counters.body_completed();
            }
        }
        Ok(buf.freeze())
    }
}
