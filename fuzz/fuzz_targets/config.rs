//! The gateway configuration: TOML text through `Config::parse` (serde,
//! `mod_fastdfs.conf` files it names, then `validate`) and the summary of
//! what passes. Property: nothing panics or hangs.
//!
//! Inputs naming device, proc or sys files, or path globs, are skipped: the
//! target must not read from `/dev/stdin` or `/dev/zero` by accident.
#![no_main]

use dfs_gateway::config::Config;
use libfuzzer_sys::fuzz_target;

#[path = "sandbox.rs"]
mod sandbox;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if !sandbox::safe_paths(text) {
        return;
    }
    if let Ok(config) = Config::parse(text) {
        let _ = config.summary();
    }
});
