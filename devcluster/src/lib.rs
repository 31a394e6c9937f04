//! In-process MogileFS and FastDFS servers speaking the real wire protocols.
//!
//! A test peer for the demo and the test suites, never a production store:
//! metadata lives in memory and every listener binds to 127.0.0.1.
//!
//! # Layout
//! - [`storage_node`]: a mogstored-like HTTP storage node (GET/HEAD with Range,
//!   PUT, DELETE) with injectable faults.
//! - [`mogilefs`]: a MogileFS tracker and a cluster builder wiring trackers to nodes.
//! - [`fastdfs`]: a FastDFS tracker, storage servers in groups, and a cluster builder.
//! - `service`: the stoppable, restartable TCP listener all of them serve on.

pub mod fastdfs;
pub mod mogilefs;
mod service;
pub mod storage_node;
