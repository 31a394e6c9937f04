//! Replays of every exchange captured from a real FastDFS 6.16 cluster
//! (`protocol/tests/vectors/fastdfs/`), both directions of each:
//! - server side: the captured request parses into its command type, and the
//!   reply re-encodes from its parsed value to the captured bytes exactly;
//! - client side: the command type encodes the captured request exactly, and
//!   the captured reply parses to the values the capture's decode lists;
//! - error replies are a bare header with the captured status;
//! - every file name on the wire is a valid [`FileId`];
//! - monitor commands (90, 91, 92), which the gateway does not use, are checked
//!   at the header level only.

use super::fields::FileRef;
use super::storage::{
    AppendFile, DeleteFile, DownloadFile, FileInfo, GetMetadata, Metadata, QueryFileInfo,
    RegenerateAppenderFilename, SetMetadata, UploadAppenderFile, UploadFile, UploadSlaveFile,
};
use super::tracker::*;
use super::*;
use crate::vectors::{fastdfs_exchanges, FdfsExchange};
use bytes::Bytes;
use std::fmt::Debug;
use std::net::{Ipv4Addr, SocketAddrV4};

const HELLO: &[u8] = b"hello fastdfs vectors\n";

fn exchanges() -> Vec<FdfsExchange> {
    fastdfs_exchanges()
}

fn storage(last: u8) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, last), 23000)
}

/// What one replay found.
struct Replayed<C: Command> {
    cmd: C,
    /// The parsed reply, or the error status.
    reply: Result<C::Reply, u8>,
    /// File data after the fixed part of the request.
    data: Vec<u8>,
}

/// Replays `ex` through `C`; `fixed` is the length of the request body's
/// fixed part (the rest is file data).
fn replay<C>(ex: &FdfsExchange, fixed: impl Fn(&[u8]) -> usize) -> Replayed<C>
where
    C: Command + Debug + PartialEq,
    C::Reply: Debug,
{
    let (header, body) = Header::split(&ex.request).expect(&ex.name);
    let fixed = fixed(body);
    let cmd = C::parse_body(&header, &body[..fixed]).expect(&ex.name);
    assert_eq!(
        &cmd.encode_request()[..],
        &ex.request[..HEADER_LEN + fixed],
        "{}",
        ex.name
    );
    assert_eq!(cmd.data_len(), (body.len() - fixed) as u64, "{}", ex.name);
    let response = ex.response.as_deref().expect(&ex.name);
    let (reply_header, reply_body) = Header::split(response).expect(&ex.name);
    assert_eq!(reply_header.cmd, cmd::RESP, "{}", ex.name);
    let reply = if reply_header.is_ok() {
        let reply = C::parse_reply(reply_body).expect(&ex.name);
        assert_eq!(&C::encode_reply(&reply)[..], response, "{}", ex.name);
        Ok(reply)
    } else {
        assert_eq!(
            Header::error(reply_header.status).encode(),
            response,
            "{}",
            ex.name
        );
        Err(reply_header.status)
    };
    Replayed {
        cmd,
        reply,
        data: body[fixed..].to_vec(),
    }
}

fn whole(body: &[u8]) -> usize {
    body.len()
}

/// A length-prefixed name after `skip` bytes: APPEND_FILE, UPLOAD_SLAVE_FILE.
fn prefixed(skip: usize) -> impl Fn(&[u8]) -> usize {
    move |body| skip + u64::from_be_bytes(body[..8].try_into().unwrap()) as usize
}

fn file_id(file: &FileRef) -> FileId {
    FileId::from_parts(&file.group, &file.remote_name).expect("a valid file id")
}

fn ok<R: Debug>(reply: Result<R, u8>) -> R {
    reply.expect("an OK reply")
}

/// Replays one exchange; returns false for a command only checked by header.
/// One arm per command code: a dispatch table, long by nature.
fn replay_one(ex: &FdfsExchange, all: &[FdfsExchange]) -> bool {
    match ex.request[8] {
        cmd::QUERY_STORE_WITHOUT_GROUP_ONE => {
            store_one(replay::<QueryStoreWithoutGroupOne>(ex, whole).reply)
        }
        cmd::QUERY_STORE_WITH_GROUP_ONE => {
            let r = replay::<QueryStoreWithGroupOne>(ex, whole);
            match r.reply {
                Ok(target) => assert_eq!(target.group, r.cmd.group),
                Err(status) => assert_eq!(
                    (r.cmd.group.as_str(), status),
                    ("nosuchgroup", status::ENOENT)
                ),
            }
        }
        cmd::QUERY_STORE_WITHOUT_GROUP_ALL => {
            let all = ok(replay::<QueryStoreWithoutGroupAll>(ex, whole).reply);
            assert_eq!(
                (all.group.as_str(), all.addrs, all.store_path_index),
                ("group1", vec![storage(2), storage(3)], 0)
            );
        }
        cmd::QUERY_FETCH_ONE => fetch(ex, replay::<QueryFetchOne>(ex, whole)),
        cmd::QUERY_UPDATE => fetch(ex, replay::<QueryUpdate>(ex, whole)),
        cmd::QUERY_FETCH_ALL => {
            let r = replay::<QueryFetchAll>(ex, whole);
            file_id(&r.cmd.file);
            assert_eq!(ok(r.reply).addrs, vec![storage(2), storage(3)]);
        }
        cmd::ACTIVE_TEST => ok(replay::<ActiveTest>(ex, whole).reply),
        cmd::QUIT => {
            assert_eq!(Quit::parse_request(&ex.request), Ok(Quit));
            assert_eq!(&Quit.encode_request()[..], &ex.request[..]);
            assert!(ex.response.is_none());
        }
        cmd::UPLOAD_FILE => upload(ex, replay::<UploadFile>(ex, |_| UploadFile::FIXED_LEN)),
        cmd::UPLOAD_APPENDER_FILE => {
            let r = replay::<UploadAppenderFile>(ex, |_| UploadFile::FIXED_LEN);
            let id = file_id(&ok(r.reply));
            assert_eq!((id.kind(), r.data.as_slice()), (FileKind::Appender, HELLO));
        }
        cmd::UPLOAD_SLAVE_FILE => {
            let r = replay::<UploadSlaveFile>(ex, prefixed(storage::appender::SLAVE_FIXED_LEN));
            match r.reply {
                Ok(file) => {
                    let slave = file_id(&file);
                    let master = FileId::from_parts(slave.group(), &r.cmd.master).unwrap();
                    assert_eq!(master.slave(&r.cmd.prefix, Some(&r.cmd.ext)), Ok(slave));
                }
                // 28g: the slave exists already; 28h: the master does not.
                Err(status) => assert!(
                    [status::EEXIST, status::ENOENT].contains(&status),
                    "{}",
                    ex.name
                ),
            }
        }
        cmd::DOWNLOAD_FILE => download(ex, replay::<DownloadFile>(ex, whole), all),
        cmd::DELETE_FILE => {
            let r = replay::<DeleteFile>(ex, whole);
            file_id(&r.cmd.file);
            assert!(r.reply.is_ok() || r.reply == Err(status::ENOENT));
        }
        cmd::QUERY_FILE_INFO => file_info(ex, replay::<QueryFileInfo>(ex, whole)),
        cmd::APPEND_FILE => {
            let r = replay::<AppendFile>(ex, prefixed(16));
            assert_eq!((r.cmd.size, r.data.as_slice()), (6, &b"+more\n"[..]));
        }
        cmd::SET_METADATA => {
            let r = replay::<SetMetadata>(ex, whole);
            assert_eq!((r.cmd.op, r.cmd.meta.0.len()), (b'O', 4));
        }
        cmd::GET_METADATA => match replay::<GetMetadata>(ex, whole).reply {
            Ok(Metadata(pairs)) => assert_eq!(pairs[0], ("ext_name".into(), "jpg".into())),
            Err(status) => assert_eq!(status, status::ENOENT),
        },
        cmd::REGENERATE_APPENDER_FILENAME => {
            let r = replay::<RegenerateAppenderFilename>(ex, whole);
            let new = file_id(&ok(r.reply));
            assert_eq!((new.kind(), new.size()), (FileKind::Normal, Some(22)));
        }
        cmd::SERVER_LIST_ONE_GROUP | cmd::SERVER_LIST_ALL_GROUPS | cmd::SERVER_LIST_STORAGE => {
            let response = ex.response.as_deref().unwrap();
            // 27c, 27e, 27f: an unknown group or storage is a bare ENOENT.
            let (reply, body) = Header::split(response).expect(&ex.name);
            assert!(Header::split(&ex.request).is_ok(), "{}", ex.name);
            assert_eq!(reply.cmd, cmd::RESP, "{}", ex.name);
            assert!(reply.is_ok() || (reply.status, body.len()) == (status::ENOENT, 0));
            return false;
        }
        other => panic!("{}: command {other} has no replay", ex.name),
    }
    true
}

fn store_one(reply: Result<StoreTarget, u8>) {
    let t = ok(reply);
    // group1 has storages .2 and .3 (the tracker round-robins), group2 has .4.
    let members = if t.group == "group1" {
        vec![storage(2), storage(3)]
    } else {
        vec![storage(4)]
    };
    assert!(members.contains(&t.addr), "{t:?}");
    assert_eq!(t.store_path_index, 0);
}

fn fetch<C: Command<Reply = StorageLocation> + Debug + PartialEq>(
    ex: &FdfsExchange,
    r: Replayed<C>,
) {
    let (header, body) = Header::split(&ex.request).unwrap();
    let file = C::parse_body(&header, body)
        .map(|_| FileRef::parse(body).unwrap())
        .unwrap();
    let id = file_id(&file);
    match r.reply {
        Ok(at) => {
            assert_eq!(at.group, id.group());
            assert!(
                [storage(2), storage(3), storage(4)].contains(&at.addr),
                "{}",
                ex.name
            );
        }
        // 18a: a group the tracker does not know.
        Err(status) => assert_eq!((id.group(), status), ("group9", status::ENOENT)),
    }
}

fn upload(ex: &FdfsExchange, r: Replayed<UploadFile>) {
    assert_eq!(r.cmd.store_path_index, 0, "{}", ex.name);
    assert_eq!(r.cmd.size, r.data.len() as u64, "{}", ex.name);
    let id = file_id(&ok(r.reply));
    let Source::Ip(ip) = id.source() else {
        panic!("{}: source is not an address", ex.name)
    };
    assert!((2..=4).contains(&ip.octets()[3]), "{}: {ip}", ex.name);
    assert_eq!(
        (id.size(), id.crc32(), id.extension()),
        (
            Some(r.cmd.size),
            Some(crc32fast::hash(&r.data)),
            Some(r.cmd.ext.as_str())
        ),
        "{}",
        ex.name
    );
}

/// The bytes a captured upload stored as `file`; the files of the captures
/// that do not include their upload hold [`HELLO`].
fn content(all: &[FdfsExchange], file: &FileRef) -> Vec<u8> {
    let stored_as = |ex: &FdfsExchange| {
        let (header, body) = Header::split(ex.response.as_deref()?).ok()?;
        let named = header.is_ok() && FileRef::parse(body).ok().as_ref() == Some(file);
        let (_, request) = Header::split(&ex.request).ok()?;
        let fixed = match ex.request[8] {
            cmd::UPLOAD_FILE | cmd::UPLOAD_APPENDER_FILE => UploadFile::FIXED_LEN,
            cmd::UPLOAD_SLAVE_FILE => prefixed(storage::appender::SLAVE_FIXED_LEN)(request),
            _ => return None,
        };
        named.then(|| request[fixed..].to_vec())
    };
    all.iter()
        .find_map(stored_as)
        .unwrap_or_else(|| HELLO.to_vec())
}

fn download(ex: &FdfsExchange, r: Replayed<DownloadFile>, all: &[FdfsExchange]) {
    let id = file_id(&r.cmd.file);
    let stored = content(all, &r.cmd.file);
    let size = id.size().unwrap_or(stored.len() as u64);
    match r.reply {
        Ok(bytes) => {
            let start = r.cmd.offset as usize;
            let end = if r.cmd.length == 0 {
                size as usize
            } else {
                start + r.cmd.length as usize
            };
            assert_eq!(
                bytes,
                Bytes::copy_from_slice(&stored[start..end]),
                "{}",
                ex.name
            );
        }
        // 16b, 17a: offset at the end (a 0-byte file included) is EINVAL;
        // 13b: a deleted file is ENOENT.
        Err(status::EINVAL) => assert_eq!(r.cmd.offset, size, "{}", ex.name),
        Err(status) => assert_eq!(status, status::ENOENT, "{}", ex.name),
    }
}

fn file_info(ex: &FdfsExchange, r: Replayed<QueryFileInfo>) {
    let id = file_id(&r.cmd.file);
    let Ok(info) = r.reply else {
        return assert_eq!(r.reply, Err(status::ENOENT), "{}", ex.name);
    };
    let crc = if r.cmd.flags & storage::FLAG_NOT_CALC_CRC32 != 0 {
        0
    } else {
        0x6549_c5b9
    };
    let source = id.source().to_string();
    let expected = FileInfo {
        size: 22,
        create_time: u64::from(id.create_time()),
        crc32: crc,
        source_ip: source,
    };
    assert_eq!(info, expected, "{}", ex.name);
}

#[test]
fn every_capture_replays() {
    let all = exchanges();
    assert!(all.len() >= 58, "found only {} captures", all.len());
    let header_only: Vec<&str> = all
        .iter()
        .filter(|ex| !replay_one(ex, &all))
        .map(|ex| ex.name.as_str())
        .collect();
    let monitor: Vec<&str> = all
        .iter()
        .map(|ex| ex.name.as_str())
        .filter(|name| name.contains("-SERVER_LIST_"))
        .collect();
    assert_eq!(header_only, monitor);
    assert!(monitor.len() >= 3, "{monitor:?}");
}

#[test]
fn captured_replies_decode_to_the_documented_values() {
    let all = exchanges();
    let find = |name: &str| all.iter().find(|ex| ex.name.starts_with(name)).unwrap();
    let reply = |name: &str| {
        Header::split(find(name).response.as_deref().unwrap())
            .unwrap()
            .1
            .to_vec()
    };

    let target = StoreTarget::parse(&reply("01a")).unwrap();
    assert_eq!(
        (target.group.as_str(), target.addr, target.store_path_index),
        ("group2", storage(4), 0)
    );
    let stored = FileRef::parse(&reply("01b")).unwrap();
    assert_eq!(
        stored.to_string(),
        "group2/M00/00/02/fwAABGsBrrOAY5cMAAAAFmVJxbk421.txt"
    );
    let at = StorageLocation::parse(&reply("04a")).unwrap();
    assert_eq!((at.group.as_str(), at.addr), ("group1", storage(2)));
    assert_eq!(reply("05b"), b"fastdfs");
    let info = FileInfo::parse(&reply("07b")).unwrap();
    assert_eq!(
        (info.size, info.create_time, info.crc32),
        (22, 1_795_272_377, 0x6549_c5b9)
    );
    assert_eq!(info.source_ip, "127.0.0.2");
    let all_of = StorageLocations::parse(&reply("22a")).unwrap();
    assert_eq!((all_of.group.as_str(), all_of.addrs.len()), ("group1", 2));
    let regenerated = FileRef::parse(&reply("23d")).unwrap();
    assert_eq!(
        regenerated.remote_name,
        "M00/00/01/fwAAA2sBrseAbj4ZAAAAFmVJxbk017.txt"
    );
}
