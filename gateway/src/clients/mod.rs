//! Tracker and storage-server protocol clients, one module per protocol,
//! and what they share: the health-aware set of tracker addresses, peer
//! health with flip thresholds, one idle connection pool, one
//! connect-with-timeout and one background prober.
//!
//! Nothing here knows about HTTP: the storage layer asks questions ("where is
//! this key?") and gets typed answers or typed errors.

mod call;
mod connect;
pub mod fastdfs;
pub mod health;
pub mod mogilefs;
mod pool;
mod probe;
mod set;

pub use call::CallError;
pub use connect::connect;
pub use health::{Flip, HealthPolicy, HealthTable};
pub use pool::{Pool, PoolLimits, Pooled, DEFAULT_IDLE_TIMEOUT};
pub use probe::{spawn_prober, Probe};
pub use set::{TrackerHealth, TrackerSet};
