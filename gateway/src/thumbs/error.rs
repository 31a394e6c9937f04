//! What can go wrong making a thumbnail, and the HTTP status each maps to.

use axum::http::StatusCode;
use std::time::Duration;

/// A transform that did not produce a thumbnail.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ThumbError {
    /// The source is larger than `max_source_bytes`.
    #[error("source image is {bytes} bytes, more than the {max}-byte limit")]
    SourceTooLarge {
        /// Size of the source.
        bytes: u64,
        /// The configured limit.
        max: u64,
    },
    /// The source's header declares more pixels than `max_pixels` (a
    /// decompression bomb, or just too big to thumbnail here).
    #[error("source image is {width}x{height}, more than the {max}-pixel limit")]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The configured limit.
        max: u64,
    },
    /// A JPEG with more scans than [`super::decode::MAX_JPEG_SCANS`]: each
    /// scan is a pass over every block, so a few bytes each can keep a
    /// decoder busy for seconds.
    #[error("source jpeg image has {scans} scans, more than the {max} allowed")]
    TooManyScans {
        /// Scans in the file.
        scans: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not an image in a format the engine reads.
    #[error("source is not a JPEG, PNG, WebP or GIF image")]
    UnknownFormat,
    /// The bytes start like an image but do not decode (truncated, corrupt).
    #[error("source {format} image does not decode: {reason}")]
    Corrupt {
        /// The format the bytes claimed.
        format: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// The transform did not finish within the time budget (queueing included).
    #[error("thumbnail not made within its {0:?} time budget")]
    TimedOut(Duration),
    /// No worker was free early enough to make the thumbnail within the
    /// time budget: the gateway was busy, the source is not to blame.
    #[error("thumbnail not made within its {0:?} time budget: every worker was busy")]
    Busy(Duration),
    /// Encoding the result failed.
    #[error("could not encode the {format} thumbnail: {reason}")]
    Encode {
        /// The output format.
        format: &'static str,
        /// What the encoder said.
        reason: String,
    },
    /// The worker running the transform failed (a panic in a codec).
    #[error("thumbnail worker failed: {0}")]
    Worker(String),
}

impl ThumbError {
    /// The status a client gets: the source's fault is 4xx-like for the
    /// URL (422/415/413), the gateway's is 5xx.
    pub fn status(&self) -> StatusCode {
        match self {
            ThumbError::SourceTooLarge { .. } | ThumbError::TooManyPixels { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ThumbError::UnknownFormat => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ThumbError::Corrupt { .. } | ThumbError::TooManyScans { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ThumbError::TimedOut(_) | ThumbError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ThumbError::Encode { .. } | ThumbError::Worker(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the source itself is to blame, so that the same source under
    /// the same limits would fail the same way again: what the engine
    /// refused, and a transform that ran out of time on its own. Not a wait
    /// for a worker ([`ThumbError::Busy`]) nor the gateway's own failures.
    pub fn is_the_sources(&self) -> bool {
        match self {
            ThumbError::SourceTooLarge { .. }
            | ThumbError::TooManyPixels { .. }
            | ThumbError::TooManyScans { .. }
            | ThumbError::UnknownFormat
            | ThumbError::Corrupt { .. }
            | ThumbError::TimedOut(_) => true,
            ThumbError::Busy(_) | ThumbError::Encode { .. } | ThumbError::Worker(_) => false,
        }
    }
}
