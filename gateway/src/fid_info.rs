//! `dfs-gateway fid-info FILE_ID`: what a FastDFS file ID says about its
//! file, decoded offline as `fdfs_file_info` does (the fields it prints
//! without asking a storage: source, create time, size, crc32, kind).

use dfs_protocol::fastdfs::{FileId, FileKind, Source};
use std::fmt::Write;

/// A civil date and time (UTC) of a Unix time, `YYYY-MM-DD HH:MM:SS`.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}")
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
    let created = u64::from(fid.create_time());
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
