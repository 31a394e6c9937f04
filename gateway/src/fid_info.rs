//! `dfs-gateway fid-info FILE_ID`: what a FastDFS file ID says about its
//! file, decoded offline as `fdfs_file_info` does (the fields it prints
//! without asking a storage: source, create time, size, crc32, kind).

use dfs_protocol::fastdfs::{FileId, FileKind, Source};
use std::fmt::Write;

/// A civil date and time (UTC) of a Unix time, `YYYY-MM-DD HH:MM:SS`.
/// FastDFS create times are 32-bit, so every one is within what humantime
/// formats (years before 10000).
pub fn utc(secs: u32) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(secs));
    // RFC 3339 (`2026-11-21T14:46:12Z`) in fdfs_file_info's layout.
    let rfc3339 = humantime::format_rfc3339_seconds(time).to_string();
    rfc3339.trim_end_matches('Z').replacen('T', " ", 1)
}

/// The report for `id`, or why it is not a FastDFS file ID.
pub fn describe(id: &str) -> Result<String, String> {
    let fid = FileId::parse(id).map_err(|e| format!("{id:?} is not a FastDFS file ID: {e}"))?;
    let mut out = String::new();
    let kind = match fid.kind() {
        FileKind::Normal => "normal",
        FileKind::Appender => "appender",
        FileKind::Trunk(_) => "trunk",
        FileKind::Slave => "slave",
    };
    let _ = writeln!(out, "file id: {}", fid.as_str());
    let _ = writeln!(out, "group name: {}", fid.group());
    let _ = writeln!(out, "file type: {kind}");
    match fid.source() {
        Source::Ip(ip) => {
            let _ = writeln!(out, "source storage id: 0");
            let _ = writeln!(out, "source ip address: {ip}");
        }
        Source::ServerId(n) => {
            let _ = writeln!(out, "source storage id: {n}");
            let _ = writeln!(out, "source ip address: (storage id in file name)");
        }
    }
    let created = fid.create_time();
    let _ = writeln!(
        out,
        "file create timestamp: {} UTC ({created})",
        utc(created)
    );
    match (fid.size(), fid.crc32()) {
        (Some(size), Some(crc)) => {
            let _ = writeln!(out, "file size: {size}");
            let _ = writeln!(out, "file crc32: {crc} (0x{crc:08x})");
        }
        _ => {
            let why = match fid.kind() {
                FileKind::Slave => "a slave's name carries its master's fields",
                _ => "an appender file may grow",
            };
            let _ = writeln!(out, "file size: unknown ({why}; ask the storage)");
        }
    }
    if let FileKind::Trunk(slot) = fid.kind() {
        let _ = writeln!(
            out,
            "trunk slot: file {} offset {} size {}",
            slot.id, slot.offset, slot.size
        );
    }
    if fid.kind() == FileKind::Slave {
        let _ = writeln!(out, "master create timestamp: {} UTC", utc(created));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Civil dates of known Unix times; bad IDs are refused with the ID named.
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_795_272_372), "2026-11-21 14:46:12");
    }

    #[test]
    fn bad_ids_are_named() {
        let e = describe("group1/nothing").unwrap_err();
        assert!(e.contains("group1/nothing"), "{e}");
    }
}
