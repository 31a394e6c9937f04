//! MogileFS tracker and cluster builder.
