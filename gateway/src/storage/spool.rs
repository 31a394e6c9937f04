//! Upload bodies of unknown length (chunked), held until their size is known.
//!
//! Both back ends need the size before the bytes: FastDFS puts it in the
//! UPLOAD_FILE header, and mogstored (Perlbal) must get a `Content-Length`
//! (see [`super::node`] for why a chunked PUT to it is never sent). So a body
//! without a declared length is read to its end first: in memory while it is
//! at most [`MEMORY_LIMIT`] bytes (most chunked uploads are small), then in an
//! anonymous temporary file, never more than the size limit.

use super::body::ByteStream;
use bytes::Bytes;
use futures_util::TryStreamExt;
use std::io;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

/// Bodies up to this size are kept in memory; larger ones go to a temporary file.
pub const MEMORY_LIMIT: u64 = 64 * 1024;

/// Why a body could not be spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// More than the allowed bytes arrived.
    #[error("upload body exceeds {0} bytes")]
    TooLarge(u64),
    /// The client's body failed mid-way.
    #[error("the upload body was cut off by the client: {0}")]
    ClientBody(#[source] io::Error),
    /// The temporary file could not be written or read.
    #[error("spooling the upload to a temporary file: {0}")]
    Io(#[source] io::Error),
}

/// A body read to its end: its exact size, and a stream of it.
pub struct Spooled {
    /// Bytes the client sent.
    pub size: u64,
    /// The same bytes, from memory or the temporary file (removed when the
    /// stream is dropped).
    pub body: ByteStream,
}

/// Reads `body` to its end, refusing more than `limit` bytes.
pub async fn spool(mut body: ByteStream, limit: u64) -> Result<Spooled, SpoolError> {
    let mut held: Vec<Bytes> = Vec::new();
    let mut size = 0u64;
    let mut file: Option<tokio::fs::File> = None;
    while let Some(chunk) = body.try_next().await.map_err(SpoolError::ClientBody)? {
        size += chunk.len() as u64;
        if size > limit {
            return Err(SpoolError::TooLarge(limit));
        }
        match file.as_mut() {
            Some(f) => f.write_all(&chunk).await.map_err(SpoolError::Io)?,
            None if size <= MEMORY_LIMIT => held.push(chunk),
            None => {
                let mut f = temp_file().await?;
                for part in held.drain(..).chain(std::iter::once(chunk)) {
                    f.write_all(&part).await.map_err(SpoolError::Io)?;
                }
                file = Some(f);
            }
        }
    }
    let body: ByteStream = match file {
        None => Box::pin(futures_util::stream::iter(held.into_iter().map(Ok))),
        Some(mut f) => {
            f.flush().await.map_err(SpoolError::Io)?;
            f.seek(io::SeekFrom::Start(0))
                .await
                .map_err(SpoolError::Io)?;
            Box::pin(tokio_util::io::ReaderStream::with_capacity(f, 64 * 1024))
        }
    };
    Ok(Spooled { size, body })
}

/// An anonymous temporary file: already unlinked, so nothing is left behind
/// whatever happens to the upload (or the process).
async fn temp_file() -> Result<tokio::fs::File, SpoolError> {
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(|e| SpoolError::Io(io::Error::other(e)))?
        .map_err(SpoolError::Io)?;
    Ok(tokio::fs::File::from_std(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn body(parts: Vec<io::Result<Bytes>>) -> ByteStream {
        Box::pin(futures_util::stream::iter(parts))
    }

    async fn collect(mut s: ByteStream) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn small_and_large_bodies_come_back_whole() {
        for len in [
            0usize,
            10,
            MEMORY_LIMIT as usize,
            MEMORY_LIMIT as usize + 1,
            300_000,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let parts = data
                .chunks(7000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let spooled = spool(body(parts), 1 << 20).await.unwrap();
            assert_eq!(spooled.size, len as u64);
            assert_eq!(collect(spooled.body).await, data, "{len} bytes");
        }
    }

    #[tokio::test]
    async fn too_large_and_broken_bodies_are_refused() {
        let big = vec![
            Ok(Bytes::from(vec![1u8; 100])),
            Ok(Bytes::from(vec![2u8; 100])),
        ];
        assert!(matches!(
            spool(body(big), 150).await,
            Err(SpoolError::TooLarge(150))
        ));
        let broken = vec![
            Ok(Bytes::from_static(b"abc")),
            Err(io::Error::other("reset")),
        ];
        assert!(matches!(
            spool(body(broken), 150).await,
            Err(SpoolError::ClientBody(_))
        ));
    }
}
