//! Wire formats shared by the gateway's tracker clients and devcluster's servers.
//!
//! Pure encode/parse over byte buffers: nothing here opens a socket, so every
//! format is unit-tested on byte strings, including exchanges captured from
//! real clusters.
//!
//! # Layout
//! - [`mogilefs`]: the tracker's line protocol (URL-encoded arguments, `OK`/`ERR`
//!   replies), one type per command, and the fid path layout of storage nodes.
//! - [`fastdfs`]: the 10-byte packet header, one type per command, and file IDs.
//! - [`hex`]: the one strict lower-case hex spelling of tokens and signatures.

pub mod fastdfs;
pub mod hex;
pub mod mogilefs;

#[cfg(any(test, feature = "vectors"))]
pub mod vectors;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod checks;
#[cfg(test)]
mod hostile;
