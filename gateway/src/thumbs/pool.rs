//! The bounded pool image work runs on: at most `permits` transforms at
//! once (one per CPU by default), each on a tokio blocking thread, so the
//! event loops never decode a pixel and a burst of thumbnail requests
//! queues instead of oversubscribing the CPUs.
//!
//! The time budget covers the wait for a permit and the work. A transform
//! past its budget is answered [`ThumbError::TimedOut`] at once; the thread
//! still finishes its current stage (pixel work cannot be interrupted) and
//! keeps its permit until then, so the bound on concurrent work holds.

use super::engine::{transform_until, Limits, Params, Thumb};
use super::error::ThumbError;
use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// A shared, bounded runner for [`super::transform`].
#[derive(Debug, Clone)]
pub struct ThumbPool {
    permits: Arc<Semaphore>,
    size: usize,
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
        }
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
        let deadline = Instant::now() + limits.time_budget;
        let timed_out = || ThumbError::TimedOut(limits.time_budget);
        let permit = tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| ThumbError::Worker(e.to_string()))?;
        let std_deadline = deadline.into_std();
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            transform_until(&source, &params, &limits, std_deadline)
        });
        match tokio::time::timeout_at(deadline, work).await {
            Err(_) => Err(timed_out()),
            Ok(Err(join)) => Err(ThumbError::Worker(join.to_string())),
            Ok(Ok(result)) => result,
        }
    }
}
