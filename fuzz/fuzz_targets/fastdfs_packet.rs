//! FastDFS packets: the 10-byte header, every command's request parser
//! (server side: the fixed part, length fields checked against `pkg_len`)
//! and every reply parser (client side). Properties (checked by
//! `dfs_protocol::checks::fastdfs`, the same functions the crate's
//! hostile-input tests run): nothing panics, a split header agrees with its
//! body, and whatever parses re-encodes to bytes that parse back to the same
//! value.
#![no_main]

use dfs_protocol::checks::fastdfs::{replies, requests};
use dfs_protocol::fastdfs::{Header, HEADER_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, body)) = Header::split(data) {
        assert_eq!(header.pkg_len, body.len() as u64);
        assert_eq!(Header::decode(&header.encode()), Ok(header));
    }
    let (header, body) = match data.split_first_chunk::<HEADER_LEN>() {
        Some((head, body)) => match Header::decode(head) {
            Ok(header) => (header, body),
            Err(_) => (Header::request(head[8], body.len() as u64, head[9]), body),
        },
        None => (Header::request(0, data.len() as u64, 0), data),
    };
    requests(&header, body, data);
    replies(body);
    replies(data);
});
