//! Reading a file from this machine's disk (FastDFS local-disk mode).
//!
//! A filesystem call may wait for the disk, and a worker thread that waits
//! stalls every connection it serves. A trip to tokio's blocking pool avoids
//! that but costs more than reading a small file: two wake-ups across threads.
//! So by default (`pool`) each step is first tried on the worker with calls
//! that answer from the kernel's caches or not at all: `openat2` with
//! `RESOLVE_CACHED` (the path's every component already looked up) and
//! `preadv2` with `RWF_NOWAIT` (the bytes already in the page cache). Only a
//! step that would wait goes to the pool — a hot file costs no trip, a cold
//! one the same trips as before. Later chunks of a large file are read at an
//! offset (no shared file position, no seek). With `inline` every call runs
//! on the worker, as nginx does, and a read that waits for the disk stalls
//! the worker meanwhile.

use super::ByteStream;
use bytes::Bytes;
use futures_util::{stream, StreamExt};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes read at once.
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
    let (file, first) = match cached::open(&path) {
        Some(file) => {
            // The inode of an open file is in memory: its size is known.
            check(&file, size)?;
            let file = Arc::new(file);
            (file.clone(), read(file, offset, first_len, inline).await?)
        }
        None if inline => open_and_read(&path, size, offset, first_len)?,
        None => blocking(move || open_and_read(&path, size, offset, first_len)).await?,
    };
    if head {
        return Ok(None);
    }
    let first = stream::once(async { Ok(first) });
    if length == first_len {
        return Ok(Some(Box::pin(first)));
    }
    let state = (file, offset + first_len, length - first_len);
    let rest = stream::try_unfold(state, move |(file, at, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let n = left.min(CHUNK);
        let chunk = read(file.clone(), at, n, inline).await?;
        Ok(Some((chunk, (file, at + n, left - n))))
    });
    Ok(Some(Box::pin(first.chain(rest))))
}

/// Opens and checks the file and reads its first chunk, all calls that may
/// wait: one trip to the pool.
fn open_and_read(path: &Path, size: u64, at: u64, n: u64) -> io::Result<(Arc<File>, Bytes)> {
    let file = File::open(path)?;
    check(&file, size)?;
    let mut buf = vec![0; n as usize];
    file.read_exact_at(&mut buf, at)?;
    Ok((Arc::new(file), Bytes::from(buf)))
}

/// An error unless the file is `size` bytes long.
fn check(file: &File, size: u64) -> io::Result<()> {
    let on_disk = file.metadata()?.len();
    if on_disk != size {
        return Err(io::Error::other(format!(
            "{on_disk} bytes on disk, {size} expected"
        )));
    }
    Ok(())
}

/// Exactly `n` bytes at `at`: what the page cache holds is read here, the
/// rest here too (`inline`) or on the blocking pool.
async fn read(file: Arc<File>, at: u64, n: u64, inline: bool) -> io::Result<Bytes> {
    let mut buf = vec![0; n as usize];
    let done = cached::read(&file, at, &mut buf);
    if done == buf.len() {
        return Ok(Bytes::from(buf));
    }
    let finish = move || {
        file.read_exact_at(&mut buf[done..], at + done as u64)?;
        Ok(Bytes::from(buf))
    };
    if inline {
        finish()
    } else {
        blocking(finish).await
    }
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
}

/// The calls that never wait for the disk. Any error, `EAGAIN` ("it would
/// wait") or not (an older kernel, a filesystem that cannot tell), leaves
/// the step to the calls that may wait, which give the real answer.
#[cfg(target_os = "linux")]
mod cached {
    use rustix::fs::{Mode, OFlags, ResolveFlags, CWD};
    use rustix::io::{Errno, ReadWriteFlags};
    use std::fs::File;
    use std::io::IoSliceMut;
    use std::path::Path;

    /// `path` opened if the kernel knows every component of it already.
    pub fn open(path: &Path) -> Option<File> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat2(CWD, path, flags, Mode::empty(), ResolveFlags::CACHED);
        fd.ok().map(File::from)
    }

    /// How many bytes of `buf`, from `at`, were read from the page cache:
    /// all of them for a hot file, fewer where a page would need the disk
    /// or the file ends.
    pub fn read(file: &File, at: u64, buf: &mut [u8]) -> usize {
        let mut done = 0;
        while done < buf.len() {
            let into = &mut [IoSliceMut::new(&mut buf[done..])];
            let pos = at + done as u64;
            match rustix::io::preadv2(file, into, pos, ReadWriteFlags::NOWAIT) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(Errno::INTR) => {}
                Err(_) => break,
            }
        }
        done
    }
}

/// Elsewhere every step may wait: each goes to the pool.
#[cfg(not(target_os = "linux"))]
mod cached {
    use std::fs::File;
    use std::path::Path;

    pub fn open(_: &Path) -> Option<File> {
        None
    }

    pub fn read(_: &File, _: u64, _: &mut [u8]) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    async fn body(path: &Path, span: (u64, u64, u64), inline: bool) -> io::Result<Vec<u8>> {
        let stream = open(path.to_owned(), span, false, inline).await?.unwrap();
        let chunks: Vec<Bytes> = stream.try_collect().await?;
        Ok(chunks.concat())
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[tokio::test]
    async fn hot_and_cold_files_read_the_same_bytes_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data = pattern(700 * 1024 + 13);
        std::fs::write(&path, &data).unwrap();
        let size = data.len() as u64;
        for inline in [false, true] {
            for evict in [false, true] {
                if evict {
                    drop_from_page_cache(&path);
                }
                let all = body(&path, (size, 0, size), inline).await.unwrap();
                assert!(all == data, "inline {inline}, evicted {evict}");
                drop_from_page_cache(&path);
                let part = body(&path, (size, 300_001, 400_000), inline).await.unwrap();
                assert!(part == data[300_001..700_001], "inline {inline}");
            }
        }
    }

    #[tokio::test]
    async fn a_size_other_than_expected_is_an_error_and_head_reads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        let short = open(path.clone(), (6, 0, 6), false, false).await;
        let err = short
            .err()
            .expect("a 5-byte file is not the 6 bytes expected");
        assert!(
            err.to_string().contains("5 bytes on disk, 6 expected"),
            "{err}"
        );
        assert!(open(path.clone(), (5, 0, 5), true, false)
            .await
            .unwrap()
            .is_none());
        let missing = open(dir.path().join("none"), (5, 0, 5), false, false).await;
        assert_eq!(missing.err().unwrap().kind(), io::ErrorKind::NotFound);
    }

    /// The point of the cached calls: a hot file needs no blocking thread,
    /// so it is served while the pool is busy; a cold one waits for it.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_hot_file_is_read_while_the_blocking_pool_is_busy_and_a_cold_one_waits() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f");
            let data = pattern(100 * 1024);
            std::fs::write(&path, &data).unwrap();
            let size = data.len() as u64;
            let (release, held) = std::sync::mpsc::channel::<()>();
            let busy = tokio::task::spawn_blocking(move || held.recv());
            let wait = std::time::Duration::from_secs(10);
            let hot = tokio::time::timeout(wait, body(&path, (size, 0, size), false)).await;
            assert!(hot.expect("no blocking thread needed").unwrap() == data);

            drop_from_page_cache(&path);
            let cold_path = path.clone();
            let cold = tokio::spawn(async move { body(&cold_path, (size, 0, size), false).await });
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            assert!(
                !cold.is_finished(),
                "a read from the disk waits for the pool"
            );
            release.send(()).unwrap();
            busy.await.unwrap().unwrap();
            assert!(cold.await.unwrap().unwrap() == data);
        });
    }

    /// Asks the kernel to forget a clean file's pages.
    fn drop_from_page_cache(path: &Path) {
        let file = File::open(path).unwrap();
        file.sync_all().unwrap();
        #[cfg(target_os = "linux")]
        rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_cached_calls_answer_for_a_hot_file_and_stand_aside_for_a_cold_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data = pattern(64 * 1024);
        std::fs::write(&path, &data).unwrap();
        let file = cached::open(&path).expect("a file just written is known to the kernel");
        let mut buf = vec![0; data.len()];
        assert_eq!(cached::read(&file, 0, &mut buf), data.len());
        assert!(buf == data);
        drop_from_page_cache(&path);
        let mut buf = vec![0; data.len()];
        assert_eq!(
            cached::read(&file, 0, &mut buf),
            0,
            "its pages were dropped"
        );
        let mut tail = [0; 16];
        assert_eq!(cached::read(&file, data.len() as u64 - 8, &mut tail), 0);
        std::fs::read(&path).unwrap();
        assert_eq!(
            cached::read(&file, data.len() as u64 - 8, &mut tail),
            8,
            "the end of the file"
        );
        assert_eq!(tail[..8], data[data.len() - 8..]);
    }
}
