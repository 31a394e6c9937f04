//! Hostile input for every parser of the crate: regression tests for inputs
//! that froze or crashed a parser, and a seeded property test per protocol
//! that feeds random, adversarial and mutated captured bytes to every
//! parser. Shared here:
//! - [`Watchdog`]: runs a batch of inputs on a worker thread and fails the
//!   test, naming the input, when one does not finish within a generous
//!   wall-clock bound or panics;
//! - [`Rng`]: a small seeded generator, so every run sees the same inputs;
//! - [`mutations`]: truncations, bit flips and splices of a captured message.

mod fastdfs;
mod mogilefs;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Time one input may take. Every parser here is linear in its input and
/// inputs are at most about 1 MiB, which takes milliseconds; the bound is
/// two orders of magnitude above that so a loaded machine never trips it,
/// while an unbounded loop or a quadratic decode does.
pub(crate) const PER_INPUT: Duration = Duration::from_secs(5);

/// One labelled input.
pub(crate) type Input = (String, Vec<u8>);

/// Runs `check` on every input on a worker thread; panics naming the input
/// that panicked or that ran longer than [`PER_INPUT`].
pub(crate) struct Watchdog;

impl Watchdog {
    /// Checks every input in order.
    pub(crate) fn run(inputs: Vec<Input>, check: fn(&[u8])) {
        let current = Arc::new(AtomicUsize::new(0));
        let labels: Vec<String> = inputs.iter().map(|(label, _)| label.clone()).collect();
        let (done, finished) = mpsc::channel();
        let progress = current.clone();
        std::thread::spawn(move || {
            for (i, (_, bytes)) in inputs.iter().enumerate() {
                progress.store(i, Ordering::SeqCst);
                if catch_unwind(AssertUnwindSafe(|| check(bytes))).is_err() {
                    let _ = done.send(Err(i));
                    return;
                }
            }
            let _ = done.send(Ok(()));
        });
        Self::watch(&current, &labels, &finished);
    }

    /// Runs one input (a regression test), with the same bound.
    pub(crate) fn one(label: &str, bytes: Vec<u8>, check: fn(&[u8])) {
        Self::run(vec![(label.to_owned(), bytes)], check);
    }

    fn watch(
        current: &AtomicUsize,
        labels: &[String],
        finished: &mpsc::Receiver<Result<(), usize>>,
    ) {
        let mut seen = usize::MAX;
        let mut since = Instant::now();
        loop {
            match finished.recv_timeout(Duration::from_millis(20)) {
                Ok(Ok(())) => return,
                Ok(Err(i)) => panic!("input {:?} made a parser panic", labels[i]),
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the worker thread died"),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let now = current.load(Ordering::SeqCst);
            if now != seen {
                (seen, since) = (now, Instant::now());
            } else if since.elapsed() > PER_INPUT {
                // The worker is left spinning; the test process ends with the failure.
                panic!(
                    "input {:?} did not finish within {PER_INPUT:?}",
                    labels[now]
                );
            }
        }
    }
}

/// xorshift64*: small, seeded, good enough to pick bytes and lengths.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value; 0 is remapped).
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `items`.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `len` bytes drawn from `alphabet`.
    pub(crate) fn bytes_from(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len).map(|_| *self.pick(alphabet)).collect()
    }
}

/// Every truncation of `message` (each prefix), then `flips` copies with one
/// to four bytes replaced, then `flips` splices of `message` with `other`.
pub(crate) fn mutations(
    label: &str,
    message: &[u8],
    other: &[u8],
    rng: &mut Rng,
    flips: usize,
) -> Vec<Input> {
    let mut out: Vec<Input> = (0..message.len())
        .map(|n| (format!("{label} cut at {n}"), message[..n].to_vec()))
        .collect();
    for k in 0..flips {
        let mut bytes = message.to_vec();
        for _ in 0..=rng.below(4) {
            if !bytes.is_empty() {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
        }
        out.push((format!("{label} flip {k}"), bytes));
    }
    for k in 0..flips {
        let cut = rng.below(message.len() + 1);
        let from = rng.below(other.len() + 1);
        let mut bytes = message[..cut].to_vec();
        bytes.extend_from_slice(&other[from..]);
        out.push((format!("{label} splice {k}"), bytes));
    }
    out
}
