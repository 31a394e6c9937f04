//! PUT: stream the body into a temporary file beside the target, then rename.
//!
//! Never buffered in memory, and never half-visible: readers see the old file
//! or the complete new one. A client that disconnects mid-body (or a node
//! stopped mid-upload) leaves nothing behind: the temporary file is removed by
//! a drop guard unless the rename happened.
//!
//! In Perlbal mode the body goes straight into the target, truncated first,
//! as Perlbal does: a PUT cut off keeps what it got, and the
//! `reset_mid_body` fault makes the node fail after that many body bytes,
//! keeping them, with a reset instead of a reply.

use super::faults::RequestFaults;
use super::perlbal::AbortConnection;
use super::routes::{devid_of, html};
use super::{NodeMode, NodeState};
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;

/// Name suffix of temporary upload files.
pub(super) const PARTIAL_SUFFIX: &str = ".partial";

/// Stores the request body at `segments`.
pub(super) async fn store(
    state: &NodeState,
    segments: &[String],
    request: Request,
    faults: &RequestFaults,
) -> Response {
    if !valid_name(segments) {
        return html(StatusCode::BAD_REQUEST, "Invalid filename");
    }
    if !devid_of(segments).is_some_and(|d| state.has_device(d)) {
        return html(StatusCode::NOT_FOUND, "Base directory does not exist");
    }
    let expected_md5 = match content_md5(&request) {
        Ok(md5) => md5,
        Err(()) => return html(StatusCode::BAD_REQUEST, "Invalid Content-MD5"),
    };
    let target = state.root.join(segments.join("/"));
    if state.mode == NodeMode::Perlbal {
        return store_in_place(&target, request.into_body(), expected_md5, faults).await;
    }
    let upload = match receive(&target, request.into_body(), expected_md5.is_some()).await {
        Ok(upload) => upload,
        Err(error) => {
            tracing::debug!(%error, path = %target.display(), "PUT failed");
            return html(StatusCode::INTERNAL_SERVER_ERROR, "");
        }
    };
    if let Some(refusal) = md5_refusal(expected_md5, upload.md5) {
        return refusal;
    }
    let verified = upload.md5.is_some();
    match upload.commit(&target).await {
        // mogstored answers 201 only when it verified a Content-MD5.
        Ok(()) if verified => created(),
        Ok(()) => html(StatusCode::OK, ""),
        Err(_) => html(StatusCode::INTERNAL_SERVER_ERROR, ""),
    }
}

/// The 400 for a body whose MD5 is not the one the client declared.
fn md5_refusal(expected: Option<[u8; 16]>, actual: Option<[u8; 16]>) -> Option<Response> {
    let (expected, actual) = (expected?, actual?);
    (expected != actual).then(|| {
        let detail = format!(
            "Content-MD5 mismatch, expected: {} actual: {}",
            STANDARD_NO_PAD.encode(expected),
            STANDARD_NO_PAD.encode(actual)
        );
        html(StatusCode::BAD_REQUEST, &detail)
    })
}

/// Perlbal mode: the body written into the target itself.
async fn store_in_place(
    target: &Path,
    body: Body,
    expected_md5: Option<[u8; 16]>,
    faults: &RequestFaults,
) -> Response {
    let written = write_in_place(target, body, expected_md5.is_some(), faults.reset_after).await;
    match written {
        Ok(InPlace::Complete(md5)) => match md5_refusal(expected_md5, md5) {
            Some(refusal) => {
                let _ = tokio::fs::remove_file(target).await;
                refusal
            }
            None if md5.is_some() => created(),
            None => html(StatusCode::OK, ""),
        },
        Ok(InPlace::Reset) => {
            let mut response = html(StatusCode::INTERNAL_SERVER_ERROR, "");
            response.extensions_mut().insert(AbortConnection);
            response
        }
        Err(error) => {
            tracing::debug!(%error, path = %target.display(), "PUT cut off; keeping what arrived");
            html(StatusCode::INTERNAL_SERVER_ERROR, "")
        }
    }
}

/// How an in-place PUT ended.
enum InPlace {
    /// The whole body is in the file (and its MD5, when asked).
    Complete(Option<[u8; 16]>),
    /// The injected reset hit after `reset_after` bytes.
    Reset,
}

async fn write_in_place(
    target: &Path,
    body: Body,
    hash: bool,
    reset_after: Option<u64>,
) -> io::Result<InPlace> {
    let dir = target.parent().ok_or(io::ErrorKind::InvalidInput)?;
    tokio::fs::create_dir_all(dir).await?;
    let mut file = tokio::fs::File::create(target).await?;
    let mut hasher = hash.then(Md5::new);
    let mut stream = body.into_data_stream();
    let mut got = 0u64;
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(io::Error::other)?;
        if let Some(limit) = reset_after {
            chunk.truncate(
                usize::try_from(limit - got)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len()),
            );
        }
        got += chunk.len() as u64;
        if let Some(h) = hasher.as_mut() {
            h.update(&chunk);
        }
        file.write_all(&chunk).await?;
        if reset_after.is_some_and(|limit| got >= limit) {
            file.flush().await?;
            return Ok(InPlace::Reset);
        }
    }
    file.flush().await?;
    Ok(InPlace::Complete(hasher.map(|h| h.finalize().into())))
}

/// Perlbal's rule: `(/[\w\-.]+)*/[\w\-.]+`.
fn valid_name(segments: &[String]) -> bool {
    segments.iter().all(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    })
}

/// The decoded `Content-MD5` header; `Err` when present but malformed.
fn content_md5(request: &Request) -> Result<Option<[u8; 16]>, ()> {
    let Some(value) = request.headers().get("content-md5") else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ())?.trim();
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .map_err(|_| ())?;
    bytes.try_into().map(Some).map_err(|_| ())
}

fn created() -> Response {
    let mut response = html(StatusCode::CREATED, "");
    *response.body_mut() = Body::from("<h1>201</h1>\n");
    response
}

/// A fully received body in its temporary file.
struct Upload {
    temp: TempGuard,
    md5: Option<[u8; 16]>,
}

impl Upload {
    async fn commit(mut self, target: &Path) -> io::Result<()> {
        tokio::fs::rename(&self.temp.0, target).await?;
        self.temp.disarm();
        Ok(())
    }
}

async fn receive(target: &Path, body: Body, hash: bool) -> io::Result<Upload> {
    let dir = target.parent().ok_or(io::ErrorKind::InvalidInput)?;
    tokio::fs::create_dir_all(dir).await?;
    let temp = TempGuard(temp_name(target));
    let mut file = tokio::fs::File::create(&temp.0).await?;
    let mut hasher = hash.then(Md5::new);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(io::Error::other)?;
        if let Some(h) = hasher.as_mut() {
            h.update(&chunk);
        }
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    Ok(Upload {
        temp,
        md5: hasher.map(|h| h.finalize().into()),
    })
}

/// `.<name>.<n>.partial` in the target's directory: same file system, so the
/// rename is atomic; unique per upload, so concurrent PUTs do not collide.
fn temp_name(target: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(
        ".{name}.{}-{n}{PARTIAL_SUFFIX}",
        std::process::id()
    ))
}

/// Removes the temporary file when dropped, unless disarmed.
struct TempGuard(PathBuf);

impl TempGuard {
    fn disarm(&mut self) {
        self.0 = PathBuf::new();
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_perlbal() {
        let s = |p: &str| p.split('/').map(str::to_owned).collect::<Vec<_>>();
        assert!(valid_name(&s("dev1/0/000/000/0000000001.fid")));
        assert!(!valid_name(&s("dev1/0/000/")));
        assert!(!valid_name(&s("dev1/a b.fid")));
    }

    #[test]
    fn temp_files_sit_beside_the_target() {
        let t = temp_name(Path::new("/r/dev1/0/000/000/0000000001.fid"));
        assert_eq!(t.parent(), Some(Path::new("/r/dev1/0/000/000")));
        assert!(t.to_string_lossy().ends_with(PARTIAL_SUFFIX));
    }
}
