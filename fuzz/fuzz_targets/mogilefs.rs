//! MogileFS tracker protocol: the line codec, argument decoding, request and
//! reply lines, every command's reply parser (client side) and argument
//! parser (server side), and fid paths. Properties: nothing panics, parsed
//! lists are no longer than the fields they came from, and `escape` /
//! `Args::encode` round-trip through `unescape` / `Args::decode`.
#![no_main]

use bytes::BytesMut;
use dfs_protocol::mogilefs::args::{escape, unescape};
use dfs_protocol::mogilefs::cmd::*;
use dfs_protocol::mogilefs::{fid, line, Args, Command, Reply, Request};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fn replies(args: &Args) {
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

fn requests(args: &Args) {
    let _ = (GetPaths::from_args(args), CreateOpen::from_args(args));
    let _ = (CreateClose::from_args(args), Delete::from_args(args));
    let _ = (Rename::from_args(args), FileInfo::from_args(args));
    let _ = (ListKeys::from_args(args), Noop::from_args(args));
}

fuzz_target!(|data: &[u8]| {
    let mut codec = line::codec();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(line)) = codec.decode(&mut buf) {
        assert!(line.len() <= line::MAX_LINE);
    }
    let _ = codec.decode_eof(&mut buf);

    let text = String::from_utf8_lossy(data);
    if let Ok(Reply::Ok(args)) = Reply::parse(&text) {
        replies(&args);
    }
    if let Ok(request) = Request::parse(&text) {
        requests(&request.args);
        // What a server reads back is what the client meant to send.
        assert_eq!(Request::parse(&request.encode()), Ok(request));
    }
    let args = Args::decode(&text);
    replies(&args);
    requests(&args);
    assert_eq!(Args::decode(&args.encode()), args);
    assert_eq!(unescape(&escape(text.as_bytes())), text);
    let _ = fid::fid_of_path(&text);
});
