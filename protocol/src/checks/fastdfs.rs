//! FastDFS: every packet, reply and name parser on one input.

use crate::fastdfs::storage::*;
use crate::fastdfs::token::{self, TokenPolicy};
use crate::fastdfs::tracker::*;
use crate::fastdfs::{Command, FileId, FileRef, Header, NameInfo, Payload, TrunkSlot, HEADER_LEN};
use bytes::{Bytes, BytesMut};
use std::fmt::Debug;

/// Parses `body` as a request of `C`; what parses must survive a round trip.
fn request<C: Command + Debug + PartialEq>(header: &Header, body: &[u8], packet: &[u8]) {
    let _ = C::parse_request(packet);
    let Ok(parsed) = C::parse_body(header, body) else {
        return;
    };
    let encoded = parsed.encode_request();
    let (head, fixed) = encoded.split_at(HEADER_LEN);
    let head = Header::decode(head.try_into().expect("10 bytes")).expect("a valid header");
    assert_eq!(
        C::parse_body(&head, fixed).as_ref(),
        Ok(&parsed),
        "{}",
        C::NAME
    );
}

/// Parses `body` as a reply payload `P`; what parses must survive a round trip.
fn reply<P: Payload + Debug + PartialEq>(body: &[u8]) {
    if let Ok(parsed) = P::parse(body) {
        let mut out = BytesMut::new();
        parsed.encode(&mut out);
        assert_eq!(P::parse(&out), Ok(parsed));
    }
}

/// Every request parser on `body` under `header` (and on the whole packet).
pub fn requests(header: &Header, body: &[u8], packet: &[u8]) {
    request::<QueryStoreWithoutGroupOne>(header, body, packet);
    request::<QueryStoreWithGroupOne>(header, body, packet);
    request::<QueryStoreWithoutGroupAll>(header, body, packet);
    request::<QueryStoreWithGroupAll>(header, body, packet);
    request::<QueryFetchOne>(header, body, packet);
    request::<QueryFetchAll>(header, body, packet);
    request::<QueryUpdate>(header, body, packet);
    request::<ActiveTest>(header, body, packet);
    request::<Quit>(header, body, packet);
    request::<UploadFile>(header, body, packet);
    request::<UploadAppenderFile>(header, body, packet);
    request::<UploadSlaveFile>(header, body, packet);
    request::<AppendFile>(header, body, packet);
    request::<DownloadFile>(header, body, packet);
    request::<DeleteFile>(header, body, packet);
    request::<QueryFileInfo>(header, body, packet);
    request::<SetMetadata>(header, body, packet);
    request::<GetMetadata>(header, body, packet);
    request::<RegenerateAppenderFilename>(header, body, packet);
}

/// Every reply payload parser on `body`.
pub fn replies(body: &[u8]) {
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

/// File IDs, name blocks, trunk slots and tokens on `text`.
pub fn names(text: &str, bytes: &[u8]) {
    if let Ok(id) = FileId::parse(text) {
        assert_eq!(FileId::parse(id.as_str()).as_ref(), Ok(&id));
        let _ = (id.relative_path(), id.size(), id.extension());
        let _ = id.slave("_150x150", None);
    }
    if let Some((group, remote)) = text.split_once('/') {
        let _ = FileId::from_parts(group, remote);
    }
    let _ = (NameInfo::decode(text), TrunkSlot::decode(text));
    let n8 = |at: usize| {
        let raw = bytes.get(at..at + 8).and_then(|b| b.try_into().ok());
        raw.map_or(0, i64::from_be_bytes)
    };
    let ts = token::parse_ts(text).unwrap_or(n8(0) as i32);
    let policy = TokenPolicy {
        ttl: n8(8) as u64,
        allow_ts_zero: n8(16) & 1 == 1,
    };
    let _ = token::verify(text, bytes, text, ts, n8(24), policy);
}

/// One input through every FastDFS parser, as a packet and as text.
/// Panics when something that parses does not re-encode to the same value.
pub fn check(bytes: &[u8]) {
    let _ = Header::split(bytes);
    let (header, body) = match bytes.split_first_chunk::<HEADER_LEN>() {
        Some((head, body)) => match Header::decode(head) {
            Ok(header) => (header, body),
            Err(_) => (Header::request(head[8], body.len() as u64, head[9]), body),
        },
        None => (Header::request(0, bytes.len() as u64, 0), bytes),
    };
    requests(&header, body, bytes);
    replies(body);
    replies(bytes);
    names(&String::from_utf8_lossy(bytes), bytes);
}
