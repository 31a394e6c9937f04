//! Tracker and storage-server protocol clients, one module per protocol,
//! and what they share: the health-aware set of tracker addresses, peer
//! health with flip thresholds, one idle connection pool, one
//! connect-with-timeout and one background prober.
//!
//! Nothing here knows the gateway's front-end HTTP types: the storage layer
//! asks questions ("where is this key?", "send this request to that node")
//! and gets typed answers or typed errors. [`node_http`] is the pooled
//! HTTP/1 client for MogileFS storage nodes; [`addrmap`] turns the
//! storage addresses trackers name into the addresses dialled.

pub mod addrmap;
mod call;
mod connect;
pub mod fastdfs;
pub mod health;
pub mod mogilefs;
pub mod node_http;
mod pool;
mod probe;
mod set;

pub use addrmap::AddressMap;
pub use call::CallError;
pub use connect::connect;
pub use health::{Flip, HealthPolicy, HealthTable};
pub use pool::{Pool, PoolLimits, Pooled, DEFAULT_IDLE_TIMEOUT};
pub use probe::{spawn_prober, Probe};
pub use set::{TrackerHealth, TrackerSet};
