//! Tracker and storage-server protocol clients, one module per protocol, and
//! the health-aware set of tracker addresses they share.
//!
//! Nothing here knows about HTTP: the storage layer asks questions ("where is
//! this key?") and gets typed answers or typed errors.

mod call;
pub mod fastdfs;
pub mod mogilefs;
pub mod node_http;
mod set;

pub use call::{spawn_prober, CallError};
pub use set::{TrackerHealth, TrackerSet};
