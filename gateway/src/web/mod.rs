//! HTTP semantics as small pure modules, each with its own tests.
//!
//! - [`range`]: the `Range` header (single ranges; RFC 9110 §14).
//! - [`conditional`]: `If-*` preconditions in RFC 9110 §13.2.2 order.
//! - [`key`]: turning the request path after a location prefix into a key.
//! - [`body`]: the request body's idle time-out.
//! - [`disposition`]: `Content-Disposition` for a client-chosen download name.

pub mod body;
pub mod conditional;
pub mod disposition;
pub mod key;
pub mod range;
