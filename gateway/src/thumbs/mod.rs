//! Image thumbnails: the transform engine and the request side around it.
//!
//! - [`engine`]: [`transform`] — source bytes + [`Params`] + [`Limits`] → [`Thumb`].
//! - [`decode`] / [`encode`]: formats in (JPEG with shrink-on-load, PNG,
//!   WebP, GIF's first frame) and out (the source's, or WebP).
//! - [`geometry`]: output size and crop per [`Fit`] mode.
//! - [`pool`]: [`ThumbPool`], the bounded off-event-loop runner.
//! - [`failures`]: [`Failures`], sources a transform failed on lately.
//! - [`params`]: URL forms (FastDFS `_WxH` slave names, `?w=&h=` queries).
//! - [`request`]: checks against `[location.thumbnails]`, signatures,
//!   `Accept` negotiation, ETags and stored names.
//! - [`error`]: [`ThumbError`] and its HTTP statuses.

pub mod decode;
pub mod encode;
pub mod engine;
pub mod error;
pub mod failures;
pub mod geometry;
pub mod params;
pub mod pool;
pub mod request;

#[cfg(test)]
mod tests;

pub use decode::Kind;
pub use engine::{transform, Limits, Output, Params, Thumb};
pub use error::ThumbError;
pub use failures::Failures;
pub use geometry::Fit;
pub use params::{
    parse_query, parse_slave_name, FormatChoice, ParamError, SlaveName, ThumbQuery, MAX_SIDE,
};
pub use pool::ThumbPool;
pub use request::{
    negotiate, resolve_query, resolve_slave, thumb_etag, Negotiated, Resolved, SourceValidators,
};
