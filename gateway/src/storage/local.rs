//! Reading a file from this machine's disk (FastDFS local-disk mode).
//!
//! Every filesystem call blocks, so by default each one is a trip to tokio's
//! blocking pool, and a trip costs more than reading a small file. So the
//! first trip opens the file, checks its size and reads the first chunk — for
//! most files the whole of them — and later chunks are one trip each, read at
//! an offset (no shared file position, no seek). With `inline` the same calls
//! run on the calling thread, as nginx does: faster from the page cache, but a
//! read that waits for the disk stalls the thread's other work meanwhile.

use super::ByteStream;
use bytes::Bytes;
use futures_util::{stream, StreamExt};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

/// Bytes read per trip to the blocking pool.
const CHUNK: u64 = 256 * 1024;

/// Opens `length` bytes at `offset` of the file at `path`, which must be
/// `size` bytes long (a shorter one is still being synced: an error, so the
/// caller can fetch it elsewhere). `head` checks the file without reading.
/// A file that shrinks while being read ends the stream with an error.
pub async fn open(
    path: PathBuf,
    (size, offset, length): (u64, u64, u64),
    head: bool,
    inline: bool,
) -> io::Result<Option<ByteStream>> {
    let first_len = if head { 0 } else { length.min(CHUNK) };
    let (file, first) = run(inline, move || {
        let file = File::open(&path)?;
        let on_disk = file.metadata()?.len();
        if on_disk != size {
            return Err(io::Error::other(format!(
                "{on_disk} bytes on disk, {size} expected"
            )));
        }
        let first = read_at(&file, offset, first_len)?;
        Ok((file, first))
    })
    .await?;
    if head {
        return Ok(None);
    }
    let first = stream::once(async { Ok(first) });
    if length == first_len {
        return Ok(Some(Box::pin(first)));
    }
    let state = (Arc::new(file), offset + first_len, length - first_len);
    let rest = stream::try_unfold(state, move |(file, at, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let n = left.min(CHUNK);
        let reader = file.clone();
        let chunk = run(inline, move || read_at(&reader, at, n)).await?;
        Ok(Some((chunk, (file, at + n, left - n))))
    });
    Ok(Some(Box::pin(first.chain(rest))))
}

/// Exactly `n` bytes at `at`.
fn read_at(file: &File, at: u64, n: u64) -> io::Result<Bytes> {
    let mut buf = vec![0; n as usize];
    file.read_exact_at(&mut buf, at)?;
    Ok(Bytes::from(buf))
}

/// Runs `f` here (`inline`) or on the blocking pool.
async fn run<T: Send + 'static>(
    inline: bool,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    if inline {
        return f();
    }
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
}
