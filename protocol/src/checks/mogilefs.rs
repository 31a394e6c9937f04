//! MogileFS: every parser of the tracker protocol on one input.

use crate::mogilefs::args::{escape, unescape};
use crate::mogilefs::cmd::{
    CreateClose, CreateOpen, Delete, FileInfo, GetPaths, ListKeys, Noop, Rename, MAX_KEYS,
    MAX_PATHS,
};
use crate::mogilefs::{fid, line, Args, Command, Reply, Request};
use bytes::BytesMut;
use tokio_util::codec::Decoder;

/// Every client-side reply parser on `args`; checks lists against the fields.
pub fn parse_replies(args: &Args) {
    let fields = args.len();
    if let Ok(paths) = GetPaths::parse_reply(args) {
        assert!(paths.len() <= fields && paths.len() as u64 <= MAX_PATHS);
    }
    if let Ok(open) = CreateOpen::parse_reply(args) {
        assert!(open.destinations.len() <= fields);
    }
    if let Ok(page) = ListKeys::parse_reply(args) {
        assert!(page.keys.len() <= fields && page.keys.len() as u64 <= MAX_KEYS);
    }
    let _ = FileInfo::parse_reply(args);
    let _ = (Noop::parse_reply(args), CreateClose::parse_reply(args));
    let _ = (Delete::parse_reply(args), Rename::parse_reply(args));
}

/// Every server-side request parser on `args`.
pub fn parse_requests(args: &Args) {
    let _ = (GetPaths::from_args(args), CreateOpen::from_args(args));
    let _ = (CreateClose::from_args(args), Delete::from_args(args));
    let _ = (Rename::from_args(args), FileInfo::from_args(args));
    let _ = (ListKeys::from_args(args), Noop::from_args(args));
}

/// One input through every MogileFS parser: the line codec, `Args`,
/// `Request`, `Reply`, every command's parsers on both sides and fid paths.
/// Panics when a line is longer than its bound, a parsed list is longer
/// than the fields it came from, or an encode does not parse back.
pub fn check(bytes: &[u8]) {
    let mut codec = line::codec();
    let mut buf = BytesMut::from(bytes);
    while let Ok(Some(line)) = codec.decode(&mut buf) {
        assert!(line.len() <= line::MAX_LINE);
    }
    let _ = codec.decode_eof(&mut buf);
    let text = String::from_utf8_lossy(bytes);
    if let Ok(Reply::Ok(args)) = Reply::parse(&text) {
        parse_replies(&args);
    }
    if let Ok(request) = Request::parse(&text) {
        parse_requests(&request.args);
        // What a server reads back is what the client meant to send.
        assert_eq!(Request::parse(&request.encode()), Ok(request));
    }
    let args = Args::decode(&text);
    assert!(args.len() <= text.len() / 2 + 1);
    parse_replies(&args);
    parse_requests(&args);
    assert_eq!(Args::decode(&args.encode()), args);
    assert_eq!(unescape(&escape(text.as_bytes())), text);
    let _ = fid::fid_of_path(&text);
}
