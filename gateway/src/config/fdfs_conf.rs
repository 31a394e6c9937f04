//! `fastdfs_conf = "mod_fastdfs.conf"` on a location: the settings a site
//! already has for fastdfs-nginx-module, read into the location, so switching
//! needs no rewriting. Keys the location sets itself win. What the gateway
//! does not carry over is returned as notes for `check-config`.

use super::limits::{self, MAX_STORE_PATHS};
use super::{LocationConfig, Secs, TokenConfig};
use crate::fdfs_conf::{IniFile, MODULE_ONLY, READ};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Reads `path` into `location`; returns notes on what was not carried over.
pub fn apply(path: &Path, location: &mut LocationConfig) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    let ini = IniFile::read(path, &mut notes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let have_group = ini.flag("url_have_group_name").unwrap_or(false);
    let group = ini.get(None, "group_name").map(|e| e.value.clone());
    if location.group.is_none() && !have_group {
        location.group = group;
    }
    if location.store_paths.is_none() {
        let paths = store_paths(&ini)?;
        if !paths.is_empty() {
            location.store_paths = Some(paths);
        }
    }
    if location.token.is_none() && ini.flag("http.anti_steal.check_token") == Some(true) {
        let secret = ini
            .get(None, "http.anti_steal.secret_key")
            .map(|e| e.value.clone())
            .unwrap_or_default();
        let ttl = ini
            .number(None, "http.anti_steal.token_ttl")
            .filter(|t| *t > 0)
            .unwrap_or(900);
        location.token = Some(TokenConfig {
            secret,
            ttl: Secs(Duration::from_secs(ttl)),
        });
        if location.token_check_fail.is_none() {
            location.token_check_fail = ini
                .get(None, "http.anti_steal.token_check_fail")
                .filter(|e| !e.value.is_empty())
                .map(|e| PathBuf::from(&e.value));
        }
    }
    for e in &ini.entries {
        let key = e.key.as_str();
        let note = match key {
            "response_mode" if !e.value.eq_ignore_ascii_case("proxy") => {
                "the gateway always fetches a file missing on this disk from a storage server (proxy mode)"
            }
            "flv_support" if ini.flag(key) == Some(true) => "FLV seeking (?start=) is not supported",
            "http.multi_range.enabled" | "http.multi_range.enabed" if ini.flag(key) == Some(true) => "a request for several ranges gets the whole file (200)",
            "anti_steal_bypass_header_name" if !e.value.is_empty() => "the token bypass header is not supported",
            _ if e.section.is_some() => "[groupN] sections are not read: give each group a location with its own store_paths",
            _ if MODULE_ONLY.contains(&key) || READ.contains(&key) || key.starts_with("store_path") => continue,
            _ => "unknown key, ignored",
        };
        notes.push(format!("{}: `{} = {}`: {note}", e.origin, e.key, e.value));
    }
    Ok(notes)
}

/// `store_path0`, `store_path1`... up to `store_path_count`. `Mxx` in a file
/// ID is the path at index xx, so a gap (a missing key with a later one set)
/// is an error, never later paths moving down onto the wrong `Mxx`; keys
/// missing at the end only leave those paths unserved from disk.
fn store_paths(ini: &IniFile) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    let mut missing = None;
    for i in 0..store_path_count(ini)? {
        let key = format!("store_path{i}");
        match (ini.get(None, &key), &missing) {
            (None, None) => missing = Some(key),
            (None, Some(_)) => {}
            (Some(e), None) => paths.push(PathBuf::from(&e.value)),
            (Some(e), Some(gap)) => {
                return Err(format!(
                    "{}: {key} is set but {gap} is not: store paths are numbered from 0 without gaps (M{i:02X} is {key})",
                    e.origin
                ))
            }
        }
    }
    Ok(paths)
}

/// `store_path_count`, 1 when absent; FastDFS names at most
/// [`MAX_STORE_PATHS`] in its file IDs.
fn store_path_count(ini: &IniFile) -> Result<u64, String> {
    let Some(entry) = ini.get(None, "store_path_count") else {
        return Ok(1);
    };
    let count = ini.number(None, "store_path_count").unwrap_or(1);
    let max = MAX_STORE_PATHS as u64;
    limits::number(count, 0..=max).map_err(|m| {
        let origin = &entry.origin;
        format!("{origin}: store_path_count: {m} (file IDs name store paths M00 to MFF)")
    })?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    //! - group, store paths and token read into a location; location keys win;
    //! - a missing file, a file that includes itself and a store_path_count
    //!   past 256 are errors, returned at once;
    //! - a gap in `store_pathN` is an error naming the missing key, never a
    //!   shift of later paths onto the wrong `Mxx`.
    use super::*;
    use std::time::Instant;

    fn location() -> LocationConfig {
        toml::from_str("prefix = \"/\"\nupstream = \"fdfs\"").unwrap()
    }

    #[test]
    fn reads_group_store_paths_and_token() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("http.conf"),
            "http.anti_steal.check_token = true\nhttp.anti_steal.token_ttl = 600\nhttp.anti_steal.secret_key = FastDFS1234567890\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("mod_fastdfs.conf"),
            "tracker_server = 127.0.0.1:22122\ngroup_name = group1\nurl_have_group_name = false\nstore_path_count = 2\nstore_path0 = /data/a\nstore_path1 = /data/b\nresponse_mode = redirect\nsomething_new = 1\n#include http.conf\n",
        )
        .unwrap();
        let mut l = location();
        let notes = apply(&dir.path().join("mod_fastdfs.conf"), &mut l).unwrap();
        assert_eq!(l.group.as_deref(), Some("group1"));
        assert_eq!(
            l.store_paths,
            Some(vec![PathBuf::from("/data/a"), PathBuf::from("/data/b")])
        );
        let token = l.token.unwrap();
        assert_eq!(token.secret, "FastDFS1234567890");
        assert_eq!(token.ttl, Secs(Duration::from_secs(600)));
        assert!(
            notes.iter().any(|n| n.contains("response_mode")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.contains("something_new")),
            "{notes:?}"
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn location_keys_win_and_missing_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("m.conf"),
            "group_name = group1\nurl_have_group_name = false\n",
        )
        .unwrap();
        let mut l = location();
        l.group = Some("group2".into());
        apply(&dir.path().join("m.conf"), &mut l).unwrap();
        assert_eq!(l.group.as_deref(), Some("group2"));
        assert!(apply(&dir.path().join("missing.conf"), &mut l)
            .unwrap_err()
            .contains("missing.conf"));
    }

    #[test]
    fn huge_counts_and_self_includes_are_errors_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let huge = dir.path().join("huge.conf");
        std::fs::write(
            &huge,
            "store_path_count = 18446744073709551615\nstore_path0 = /a\n",
        )
        .unwrap();
        let e = apply(&huge, &mut location()).unwrap_err();
        assert!(e.contains("huge.conf:1: store_path_count: 18446744073709551615 is out of range: allowed 0 to 256"), "{e}");
        let looped = dir.path().join("self.conf");
        std::fs::write(
            &looped,
            "group_name = g\n#include self.conf\n#include self.conf\n",
        )
        .unwrap();
        let e = apply(&looped, &mut location()).unwrap_err();
        assert!(e.contains("includes itself"), "{e}");
        let ok = dir.path().join("ok.conf");
        std::fs::write(&ok, "store_path_count = 256\nstore_path0 = /z\n").unwrap();
        let mut l = location();
        apply(&ok, &mut l).unwrap();
        assert_eq!(l.store_paths, Some(vec![PathBuf::from("/z")]));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_gap_in_store_paths_is_an_error_not_a_shift() {
        let dir = tempfile::tempdir().unwrap();
        let gap = dir.path().join("gap.conf");
        std::fs::write(
            &gap,
            "store_path_count = 3\nstore_path0 = /a\nstore_path2 = /c\n",
        )
        .unwrap();
        let mut l = location();
        let e = apply(&gap, &mut l).unwrap_err();
        assert!(e.contains("store_path1"), "{e}");
        assert!(e.contains("store_path2"), "{e}");
        assert_eq!(l.store_paths, None, "nothing half-applied");
    }
}
