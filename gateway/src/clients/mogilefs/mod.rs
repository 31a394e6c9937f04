//! MogileFS tracker client.
//!
//! - [`connection`]: one socket, one request in flight, line framing and time-outs.
//! - [`client`]: a pool of persistent connections per tracker, failover across
//!   the tracker set, and typed commands in, typed replies out.

mod client;
mod connection;

pub use client::{MogClient, MogError, Opened, TrackerTimeouts};
pub use connection::{CallError, Connection};
