//! MogileFS tracker protocol: the line codec, argument decoding, request and
//! reply lines, every command's reply parser (client side) and argument
//! parser (server side), and fid paths. Properties (checked by
//! `dfs_protocol::checks::mogilefs::check`, the same function the crate's
//! hostile-input tests run): nothing panics, parsed lists are no longer than
//! the fields they came from, and `escape` / `Args::encode` round-trip
//! through `unescape` / `Args::decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dfs_protocol::checks::mogilefs::check(data));
