//! An in-process MogileFS: trackers speaking the real text protocol,
//! mogstored-like storage nodes, and a cluster builder wiring them.
//!
//! A test peer, never a production store: metadata lives in memory (shared by
//! all trackers of a cluster, like the database behind real trackers) and
//! every listener binds 127.0.0.1.
//!
//! ```text
//!   client ──line──▶ tracker ─┐                 ┌─▶ storage node 1 (/dev1)
//!   client ──line──▶ tracker ─┼─ Shared { Meta } ┤
//!                             │  replicator, deleter, monitor ─HTTP─▶ node 2 (/dev2)
//! ```
//!
//! # Layout
//! - [`cluster`](MogCluster) / `builder`: the public handle and its builder.
//! - `tracker`: TCP connections, one reply line per request line.
//! - `commands`: the command dispatcher, checks in mogilefsd's order.
//! - `meta`, `topology`: domains, keys, files, temp files; hosts and devices.
//! - `workers`: replication, background deletes, the device monitor.
//! - `http`: the tracker's HTTP client for storage nodes.
//! - `nginx`: storage nodes served by a real nginx (WebDAV), optionally.
//! - `service`: a listener that can stop and restart on the same port.
//! - [`TrackerClient`]: a minimal client for tests and the demo.

mod builder;
mod client;
mod cluster;
mod commands;
mod http;
mod meta;
mod nginx;
mod random;
pub(crate) mod service;
mod state;
mod topology;
mod tracker;
mod workers;

pub use builder::MogClusterBuilder;
pub use client::TrackerClient;
pub use cluster::{FileSnapshot, MogCluster};
pub use topology::DeviceState;

#[cfg(test)]
mod replay;
