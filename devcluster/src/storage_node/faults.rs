//! Injected faults and request counters of a storage node.
//!
//! Faults apply to the requests of clients under test; the tracker's own
//! traffic (size checks, replication, deletes, recognised by its User-Agent)
//! is spared unless asked for, so a `fail_next` meant for the gateway is not
//! eaten by a background replication. Monitor probes of `/devN/usage` are
//! never faulted and never counted.

use axum::http::StatusCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The User-Agent of devcluster's tracker when it talks to storage nodes.
pub const TRACKER_USER_AGENT: &str = "devcluster-tracker (MogileFS::Connection::HTTP)";

/// The configured faults; [`Faults::clear`] resets them all.
#[derive(Debug, Default)]
struct Plan {
    fail_next: u32,
    fail_status: u16,
    latency: Option<Duration>,
    trickle: Option<(usize, Duration)>,
    reset_after: Option<u64>,
    include_tracker: bool,
}

/// What one request suffers, taken when it arrives.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestFaults {
    /// Sleep before the response head.
    pub latency: Option<Duration>,
    /// Answer with this status instead.
    pub fail: Option<StatusCode>,
    /// GET body: chunk size and pause between chunks.
    pub trickle: Option<(usize, Duration)>,
    /// GET body: abort the connection after this many bytes.
    pub reset_after: Option<u64>,
}

/// The fault plan, shared by the handle and the request handlers.
#[derive(Debug, Default)]
pub(crate) struct Faults(Mutex<Plan>);

impl Faults {
    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn fail_next(&self, n: u32, status: u16) {
        let mut plan = self.plan();
        plan.fail_next = n;
        plan.fail_status = status;
    }

    pub(crate) fn latency(&self, delay: Duration) {
        self.plan().latency = Some(delay);
    }

    pub(crate) fn trickle(&self, bytes_per_chunk: usize, interval: Duration) {
        self.plan().trickle = Some((bytes_per_chunk.max(1), interval));
    }

    pub(crate) fn reset_mid_body(&self, after_bytes: u64) {
        self.plan().reset_after = Some(after_bytes);
    }

    pub(crate) fn include_tracker(&self, yes: bool) {
        self.plan().include_tracker = yes;
    }

    pub(crate) fn clear(&self) {
        *self.plan() = Plan::default();
    }

    /// The faults for a request arriving now (consuming one `fail_next`).
    pub(crate) fn take(&self, from_tracker: bool) -> RequestFaults {
        let mut plan = self.plan();
        if from_tracker && !plan.include_tracker {
            return RequestFaults::default();
        }
        let fail = (plan.fail_next > 0).then(|| {
            plan.fail_next -= 1;
            StatusCode::from_u16(plan.fail_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        });
        RequestFaults {
            latency: plan.latency,
            fail,
            trickle: plan.trickle,
            reset_after: plan.reset_after,
        }
    }
}

/// Request counters of a storage node (monitor probes excluded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// GET requests from clients.
    pub get: u64,
    /// HEAD requests from clients.
    pub head: u64,
    /// PUT requests from clients.
    pub put: u64,
    /// DELETE requests from clients.
    pub delete: u64,
    /// Other methods from clients (MKCOL...).
    pub other: u64,
    /// Client GET bodies whose last byte has been handed to the connection.
    pub get_bodies_completed: u64,
    /// Requests of any method from the tracker (size checks, replication, deletes).
    pub tracker_requests: u64,
}

/// Atomic counters behind [`NodeStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    get: AtomicU64,
    head: AtomicU64,
    put: AtomicU64,
    delete: AtomicU64,
    other: AtomicU64,
    completed: AtomicU64,
    tracker: AtomicU64,
}

impl Counters {
    pub(crate) fn request(&self, method: &axum::http::Method, from_tracker: bool) {
        use axum::http::Method;
        let counter = match *method {
            _ if from_tracker => &self.tracker,
            Method::GET => &self.get,
            Method::HEAD => &self.head,
            Method::PUT => &self.put,
            Method::DELETE => &self.delete,
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn body_completed(&self) {
        self.completed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> NodeStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NodeStats {
            get: load(&self.get),
            head: load(&self.head),
            put: load(&self.put),
            delete: load(&self.delete),
            other: load(&self.other),
            get_bodies_completed: load(&self.completed),
            tracker_requests: load(&self.tracker),
        }
    }

    pub(crate) fn reset(&self) {
        for c in [
            &self.get,
            &self.head,
            &self.put,
            &self.delete,
            &self.other,
            &self.completed,
            &self.tracker,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_next_is_consumed_by_clients_only() {
        let faults = Faults::default();
        faults.fail_next(2, 503);
        assert!(faults.take(true).fail.is_none());
        assert_eq!(
            faults.take(false).fail,
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        faults.include_tracker(true);
        assert_eq!(
            faults.take(true).fail,
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert!(faults.take(false).fail.is_none());
    }

    #[test]
    fn clear_resets_everything() {
        let faults = Faults::default();
        faults.latency(Duration::from_millis(5));
        faults.reset_mid_body(3);
        faults.clear();
        let taken = faults.take(false);
        assert!(taken.latency.is_none() && taken.reset_after.is_none());
    }
}
