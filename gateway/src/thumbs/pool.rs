//! The bounded pool image work runs on: at most `permits` transforms at
//! once (one per CPU by default), each on a tokio blocking thread, so the
//! event loops never decode a pixel and a burst of thumbnail requests
//! queues instead of oversubscribing the CPUs.
//!
//! The time budget covers the wait for a permit and the work. A transform
//! past its budget is answered at once: [`ThumbError::Busy`] when it got a
//! worker only in the second half of its budget (the gateway was busy),
//! [`ThumbError::TimedOut`] otherwise (the source was too slow). The decoder
//! stops at the deadline (see [`super::decode`]); the resize and encode
//! stages, bounded by the decoded and output sizes, cannot be interrupted
//! and finish first. The thread keeps its permit until it returns, so the
//! bound on concurrent work holds.
//!
//! The pool also holds the gateway's [`Failures`], shared by every location.

use super::engine::{transform_until, Limits, Params, Thumb};
use super::error::ThumbError;
use super::failures::Failures;
use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// A shared, bounded runner for [`super::transform`].
#[derive(Debug, Clone)]
pub struct ThumbPool {
    permits: Arc<Semaphore>,
    size: usize,
    failures: Failures,
}

impl ThumbPool {
    /// A pool running at most `size` transforms at once; 0 = one per CPU.
    pub fn new(size: usize) -> Self {
        let size = if size == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            size
        };
        ThumbPool {
            permits: Arc::new(Semaphore::new(size)),
            size,
            failures: Failures::default(),
        }
    }

    /// The sources transforms failed on lately.
    pub fn failures(&self) -> &Failures {
        &self.failures
    }

    /// How many transforms may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Transforms running now.
    pub fn busy(&self) -> usize {
        self.size - self.permits.available_permits()
    }

    /// Runs one transform off the event loop, within `limits.time_budget`.
    pub async fn run(
        &self,
        source: Bytes,
        params: Params,
        limits: Limits,
    ) -> Result<Thumb, ThumbError> {
        let budget = limits.time_budget;
        let deadline = Instant::now() + budget;
        let busy = || ThumbError::Busy(budget);
        let permit = tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|e| ThumbError::Worker(e.to_string()))?;
        // Started with less than half the budget left: running out of time
        // then says little about the source.
        let late = deadline.saturating_duration_since(Instant::now()) < budget / 2;
        let std_deadline = deadline.into_std();
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            transform_until(&source, &params, &limits, std_deadline)
        });
        let result = match tokio::time::timeout_at(deadline, work).await {
            Err(_) => Err(ThumbError::TimedOut(budget)),
            Ok(Err(join)) => Err(ThumbError::Worker(join.to_string())),
            Ok(Ok(result)) => result,
        };
        match result {
            Err(ThumbError::TimedOut(_)) if late => Err(busy()),
            result => result,
        }
    }
}
