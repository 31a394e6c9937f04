//! FastDFS file IDs, the 27-character name block, trunk slots and the
//! anti-steal token. Input: a file ID (or any text) on the first line, then
//! optional lines `ts`, `now`, `ttl`, `token` and the secret. Properties:
//! nothing panics; a parsed ID prints back to itself, its parts agree with
//! it, and its on-disk path stays under `data/XX/YY/`; a decoded block
//! re-encodes to itself; a token made for an ID verifies at its own time.
#![no_main]

use dfs_protocol::fastdfs::token::{self, TokenPolicy};
use dfs_protocol::fastdfs::{FileId, NameInfo, TrunkSlot};
use libfuzzer_sys::fuzz_target;
use std::path::Component;

fn id_properties(id: &FileId) {
    assert_eq!(FileId::parse(id.as_str()).as_ref(), Ok(id));
    assert_eq!(format!("{}/{}", id.group(), id.remote_name()), id.as_str());
    assert!(id.remote_name().ends_with(id.file_name()));
    let path = id.relative_path();
    assert!(path.starts_with("data"));
    assert_eq!(path.components().count(), 4);
    assert!(path.components().all(|c| matches!(c, Component::Normal(_))));
    let _ = (
        id.size(),
        id.crc32(),
        id.extension(),
        id.kind(),
        id.source(),
    );
    for (prefix, ext) in [("_150x150", None), ("-x", Some("jpg")), ("", Some(""))] {
        if let Ok(slave) = id.slave(prefix, ext) {
            assert_eq!(FileId::parse(slave.as_str()), Ok(slave.clone()));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default();
    if let Ok(id) = FileId::parse(first) {
        id_properties(&id);
    }
    if let Some((group, remote)) = first.split_once('/') {
        let _ = FileId::from_parts(group, remote);
    }
    if let Some(info) = NameInfo::decode(first) {
        assert_eq!(NameInfo::decode(&info.encode()), Some(info));
        let _ = (info.size(), info.is_appender(), info.is_trunk());
    }
    let _ = TrunkSlot::decode(first);

    let ts_text = lines.next().unwrap_or_default();
    let number = |s: Option<&str>| s.and_then(|s| s.trim().parse::<i64>().ok()).unwrap_or(0);
    let now = number(lines.next());
    let ttl = number(lines.next()) as u64;
    let given = lines.next().unwrap_or_default();
    let secret = lines.next().unwrap_or_default().as_bytes();
    let policy = TokenPolicy {
        ttl,
        allow_ts_zero: ttl % 2 == 1,
    };
    let ts = token::parse_ts(ts_text);
    let _ = token::verify(first, secret, given, ts.unwrap_or(0), now, policy);
    if let Ok(ts) = ts {
        let made = token::generate(first, secret, ts);
        assert_eq!(made.len(), 32);
        let verdict = token::verify(first, secret, &made, ts, i64::from(ts), policy);
        assert!(ts == 0 || verdict.is_ok(), "{verdict:?}");
    }
});
