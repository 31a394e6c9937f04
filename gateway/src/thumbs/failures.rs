//! Sources a transform failed on, remembered for [`REMEMBER_FOR`] so that
//! asking again for a thumbnail of a source that is corrupt, too large or
//! too slow to decode answers the same refusal at once instead of reading
//! and decoding it once more.
//!
//! A failure is remembered by the source's identity (the object cache's:
//! MogileFS fid and size, FastDFS file ID, so a new version of the source
//! is a new entry) and the limits it was judged under (locations may differ
//! in `max_pixels` or `time_budget`), not by the thumbnail's size: a source
//! that did not decode for one size is not decoded for another either.
//! Only failures that are the source's own are kept
//! ([`ThumbError::is_the_sources`]).

use super::engine::Limits;
use super::error::ThumbError;
use crate::cache::ObjectId;
use std::time::Duration;

/// How long a failure is remembered.
pub const REMEMBER_FOR: Duration = Duration::from_secs(60);

/// Most failures remembered at once; the oldest go first.
const CAPACITY: u64 = 4096;

/// The remembered failures, shared by every clone.
#[derive(Clone)]
pub struct Failures {
    seen: moka::sync::Cache<(ObjectId, Limits), ThumbError>,
}

impl std::fmt::Debug for Failures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Failures")
            .field("entries", &self.seen.entry_count())
            .finish()
    }
}

impl Default for Failures {
    fn default() -> Self {
        Failures::new(REMEMBER_FOR)
    }
}

impl Failures {
    /// Failures kept for `ttl` each.
    pub fn new(ttl: Duration) -> Self {
        Failures {
            seen: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// How a transform of `source` under `limits` failed lately, if it did.
    pub fn get(&self, source: &ObjectId, limits: &Limits) -> Option<ThumbError> {
        self.seen.get(&(source.clone(), *limits))
    }

    /// Remembers `error` for `source` under `limits`, when it is the
    /// source's own.
    pub fn record(&self, source: ObjectId, limits: Limits, error: &ThumbError) {
        if error.is_the_sources() {
            self.seen.insert((source, limits), error.clone());
        }
    }
}
