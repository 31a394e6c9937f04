//! FastDFS packets: the 10-byte header, every command's request parser
//! (server side: the fixed part, length fields checked against `pkg_len`)
//! and every reply parser (client side). Properties: nothing panics, and
//! whatever parses re-encodes to bytes that parse back to the same value.
#![no_main]

use bytes::{Bytes, BytesMut};
use dfs_protocol::fastdfs::storage::*;
use dfs_protocol::fastdfs::tracker::*;
use dfs_protocol::fastdfs::{Command, FileRef, Header, Payload, HEADER_LEN};
use libfuzzer_sys::fuzz_target;
use std::fmt::Debug;

fn request<C: Command + Debug + PartialEq>(header: &Header, body: &[u8], packet: &[u8]) {
    let _ = C::parse_request(packet);
    let Ok(parsed) = C::parse_body(header, body) else {
        return;
    };
    let encoded = parsed.encode_request();
    let (head, fixed) = encoded.split_at(HEADER_LEN);
    let head = Header::decode(head.try_into().unwrap()).expect("a valid header");
    assert_eq!(
        C::parse_body(&head, fixed).as_ref(),
        Ok(&parsed),
        "{}",
        C::NAME
    );
}

fn reply<P: Payload + Debug + PartialEq>(body: &[u8]) {
    if let Ok(parsed) = P::parse(body) {
        let mut out = BytesMut::new();
        parsed.encode(&mut out);
        assert_eq!(P::parse(&out), Ok(parsed));
    }
}

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
    let (h, b, p) = (&header, body, data);
    request::<QueryStoreWithoutGroupOne>(h, b, p);
    request::<QueryStoreWithGroupOne>(h, b, p);
    request::<QueryStoreWithoutGroupAll>(h, b, p);
    request::<QueryStoreWithGroupAll>(h, b, p);
    request::<QueryFetchOne>(h, b, p);
    request::<QueryFetchAll>(h, b, p);
    request::<QueryUpdate>(h, b, p);
    request::<ActiveTest>(h, b, p);
    request::<Quit>(h, b, p);
    request::<UploadFile>(h, b, p);
    request::<UploadAppenderFile>(h, b, p);
    request::<UploadSlaveFile>(h, b, p);
    request::<AppendFile>(h, b, p);
    request::<DownloadFile>(h, b, p);
    request::<DeleteFile>(h, b, p);
    request::<QueryFileInfo>(h, b, p);
    request::<SetMetadata>(h, b, p);
    request::<GetMetadata>(h, b, p);
    request::<RegenerateAppenderFilename>(h, b, p);
    for body in [body, data] {
        reply::<()>(body);
        reply::<FileRef>(body);
        reply::<StoreTarget>(body);
        reply::<StoreTargets>(body);
        reply::<StorageLocation>(body);
        reply::<StorageLocations>(body);
        reply::<FileInfo>(body);
        reply::<Metadata>(body);
        reply::<Bytes>(body);
    }
});
