//! Injected faults of one tracker or storage server.
//!
//! Each is armed from a test through the server's handle and consumed by the
//! next request it applies to:
//! - `fail_next(status)`: answer the next request with an error status;
//! - `close_mid_body()`: send half of the next download's body, then close;
//! - `latency(d)`: wait `d` before every reply (time-out tests).

use super::state::lock;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The faults armed on one server.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    fail: Mutex<VecDeque<u8>>,
    close_mid_body: AtomicU64,
    latency_ms: AtomicU64,
}

impl Faults {
    /// Queues an error status for the next request.
    pub(crate) fn fail_next(&self, status: u8) {
        lock(&self.fail).push_back(status);
    }

    /// The status to fail this request with, if one is queued.
    pub(crate) fn take_failure(&self) -> Option<u8> {
        lock(&self.fail).pop_front()
    }

    /// Arms one mid-body close.
    pub(crate) fn close_mid_body(&self) {
        self.close_mid_body.fetch_add(1, Ordering::Relaxed);
    }

    /// True (once per arming) when this download must be cut.
    pub(crate) fn take_close_mid_body(&self) -> bool {
        self.close_mid_body
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Sets the delay before every reply.
    pub(crate) fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.latency_ms.store(ms, Ordering::Relaxed);
    }

    /// Waits the configured delay, if any.
    pub(crate) async fn delay(&self) {
        let ms = self.latency_ms.load(Ordering::Relaxed);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
}
