//! Log lines written in batches: the process's log writer.
//!
//! One `write` per access line is a system call per request, and worker
//! threads writing to the same stderr wait on each other's writes (its lock,
//! and the file's position lock in the kernel): with two workers serving
//! cached 4 KiB objects, the access log took a quarter of the throughput.
//! So, like nginx's `access_log ... buffer= flush=`, lines of level INFO and
//! below are appended to a buffer of the thread that wrote them, and the
//! buffer goes out in one write when it holds [`FLUSH_BYTES`], or at the
//! latest [`FLUSH_INTERVAL`] later (a flusher thread sees to that).
//! Warnings and errors go out at once, after what their thread holds, so each
//! thread's lines keep their order; [`Batched::flush`] writes everything
//! (at exit).

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// A thread's buffer is written when it holds this much.
pub const FLUSH_BYTES: usize = 32 * 1024;
/// Longest time a line waits in a buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// A writer (for a `tracing_subscriber` layer) batching lines into `sink`.
/// Clones share the buffers.
#[derive(Clone)]
pub struct Batched<W> {
    shared: Arc<Shared<W>>,
}

struct Shared<W> {
    /// Tells this writer's buffers apart from another's in [`MINE`].
    id: usize,
    sink: W,
    /// Every thread's buffer, for the flusher.
    buffers: Mutex<Vec<Arc<Buffer>>>,
}

type Buffer = Mutex<Vec<u8>>;

thread_local! {
    /// This thread's buffer of each writer it has written through.
    static MINE: RefCell<Vec<(usize, Arc<Buffer>)>> = const { RefCell::new(Vec::new()) };
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a line was copied in leaves at worst a partial line.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<W> Batched<W>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    /// Batches lines into `sink`, with a flusher thread writing out what
    /// waited [`FLUSH_INTERVAL`]; the thread ends with the last clone.
    pub fn new(sink: W) -> Self {
        Self::with_interval(sink, FLUSH_INTERVAL)
    }

    /// [`Batched::new`] with the flusher waking every `interval`.
    fn with_interval(sink: W, interval: Duration) -> Self {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(0);
        let shared = Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            sink,
            buffers: Mutex::new(Vec::new()),
        });
        let weak = Arc::downgrade(&shared);
        let flusher = std::thread::Builder::new()
            .name("dfs-log-flush".into())
            .spawn(move || flush_periodically(weak, interval));
        if let Err(e) = flusher {
            // Lines then wait for a full buffer, a warning or the exit.
            let _ = writeln!(
                shared.sink.make_writer(),
                "cannot start the log flusher: {e}"
            );
        }
        Batched { shared }
    }

    /// Writes every thread's buffered lines.
    pub fn flush(&self) {
        self.shared.flush_all();
    }
}

fn flush_periodically<W: for<'a> MakeWriter<'a>>(shared: Weak<Shared<W>>, interval: Duration) {
    loop {
        std::thread::sleep(interval);
        match shared.upgrade() {
            Some(shared) => shared.flush_all(),
            None => return,
        }
    }
}

impl<W: for<'a> MakeWriter<'a>> Shared<W> {
    /// The calling thread's buffer, made and registered on first use; none
    /// while the thread's locals are being destroyed.
    fn buffer(&self) -> Option<Arc<Buffer>> {
        MINE.try_with(|mine| {
            let mut mine = mine.borrow_mut();
            if let Some((_, buffer)) = mine.iter().find(|(id, _)| *id == self.id) {
                return buffer.clone();
            }
            let buffer = Arc::new(Mutex::new(Vec::with_capacity(FLUSH_BYTES)));
            lock(&self.buffers).push(buffer.clone());
            mine.push((self.id, buffer.clone()));
            buffer
        })
        .ok()
    }

    /// Writes out `held` (the buffer stays locked meanwhile, so that a
    /// thread's lines reach the sink in order).
    fn write_out(&self, held: &mut Vec<u8>) {
        if held.is_empty() {
            return;
        }
        // A log that cannot be written is not worth failing a request for.
        let _ = self.sink.make_writer().write_all(held);
        held.clear();
        if held.capacity() > 4 * FLUSH_BYTES {
            // One huge line does not keep its memory.
            *held = Vec::with_capacity(FLUSH_BYTES);
        }
    }

    fn flush_all(&self) {
        let buffers = {
            let mut buffers = lock(&self.buffers);
            // The buffer of a thread that has ended is dropped once empty.
            buffers.retain(|b| Arc::strong_count(b) > 1 || !lock(b).is_empty());
            buffers.clone()
        };
        for buffer in buffers {
            self.write_out(&mut lock(&buffer));
        }
    }
}

/// One event's writer: into the thread's buffer, or straight through.
pub struct Line<'a, W> {
    shared: &'a Shared<W>,
    batch: bool,
}

impl<'a, W> MakeWriter<'a> for Batched<W>
where
    W: for<'b> MakeWriter<'b> + 'static,
{
    type Writer = Line<'a, W>;

    fn make_writer(&'a self) -> Self::Writer {
        Line {
            shared: &self.shared,
            batch: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        Line {
            shared: &self.shared,
            batch: *meta.level() >= Level::INFO,
        }
    }
}

impl<W: for<'b> MakeWriter<'b>> Write for Line<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let Some(buffer) = self.shared.buffer() else {
            self.shared.sink.make_writer().write_all(bytes)?;
            return Ok(bytes.len());
        };
        let mut held = lock(&buffer);
        if self.batch {
            held.extend_from_slice(bytes);
            if held.len() >= FLUSH_BYTES {
                self.shared.write_out(&mut held);
            }
        } else {
            self.shared.write_out(&mut held);
            self.shared.sink.make_writer().write_all(bytes)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every write the sink received, one entry per write.
    #[derive(Clone, Default)]
    struct Writes(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Writes {
        type Writer = Writes;
        fn make_writer(&'a self) -> Writes {
            self.clone()
        }
    }

    impl Writes {
        fn taken(&self) -> Vec<Vec<u8>> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }

    /// A writer whose flusher does not wake during a test.
    fn batched(sink: &Writes) -> Batched<Writes> {
        Batched::with_interval(sink.clone(), Duration::from_secs(3600))
    }

    /// Runs `f` with a subscriber writing bare messages through `batched`.
    fn logging(batched: &Batched<Writes>, f: impl FnOnce()) {
        let subscriber = tracing_subscriber::fmt()
            .without_time()
            .with_level(false)
            .with_target(false)
            .with_writer(batched.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
    }

    #[test]
    fn info_lines_wait_and_go_out_together() {
        let sink = Writes::default();
        let batched = batched(&sink);
        logging(&batched, || {
            for i in 0..3 {
                tracing::info!("line {i}");
            }
        });
        assert!(sink.taken().is_empty(), "nothing written before a flush");
        batched.flush();
        assert_eq!(sink.taken(), vec![b"line 0\nline 1\nline 2\n".to_vec()]);
    }

    #[test]
    fn a_warning_goes_out_at_once_after_the_buffered_lines() {
        let sink = Writes::default();
        let batched = batched(&sink);
        logging(&batched, || {
            tracing::info!("first");
            tracing::warn!("second");
        });
        assert_eq!(
            sink.taken(),
            vec![b"first\n".to_vec(), b"second\n".to_vec()]
        );
    }

    #[test]
    fn a_full_buffer_is_written_without_waiting() {
        let sink = Writes::default();
        let batched = batched(&sink);
        let line = "x".repeat(1000);
        logging(&batched, || {
            for _ in 0..FLUSH_BYTES / 1000 + 1 {
                tracing::info!("{line}");
            }
        });
        let writes = sink.taken();
        assert_eq!(writes.len(), 1);
        assert!(writes[0].len() >= FLUSH_BYTES);
    }

    #[test]
    fn the_flusher_writes_what_waited() {
        let sink = Writes::default();
        let batched = Batched::with_interval(sink.clone(), Duration::from_millis(10));
        logging(&batched, || tracing::info!("waiting"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut written = Vec::new();
        while written.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            written = sink.taken();
        }
        assert_eq!(written, vec![b"waiting\n".to_vec()]);
    }

    #[test]
    fn lines_of_an_ended_thread_are_written_and_its_buffer_dropped() {
        let sink = Writes::default();
        let batched = batched(&sink);
        let other = batched.clone();
        std::thread::spawn(move || logging(&other, || tracing::info!("from a thread")))
            .join()
            .unwrap();
        batched.flush();
        assert_eq!(sink.taken(), vec![b"from a thread\n".to_vec()]);
        batched.flush();
        assert!(lock(&batched.shared.buffers).is_empty());
    }
}
