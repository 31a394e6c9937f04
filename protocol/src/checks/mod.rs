//! Property checks that run one input through every parser of a protocol
//! and panic when a parser breaks a property (a list longer than its input,
//! an encode that does not parse back). Shared by the seeded hostile-input
//! tests of this crate and by the fuzz targets, so both check the same
//! properties; built for tests and under the `fuzzing` feature only.

pub mod fastdfs;
pub mod mogilefs;
