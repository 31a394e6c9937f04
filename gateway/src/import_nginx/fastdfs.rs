//! fastdfs-nginx-module locations (`location ~ /group[0-9]+/M00 {
//! ngx_fastdfs_module; }`) → FastDFS `[[location]]`s, with trackers, group,
//! store paths and the anti-steal token taken from `mod_fastdfs.conf` (and
//! the `http.conf` it includes), as the module itself reads them
//! (FastDFS PROTOCOL.md §6.5). Which prefixes and groups a location becomes
//! is [`targets`]'.

use super::emit::{self, Line};
use super::UpstreamSpec;
use crate::fdfs_conf::{Entry, IniFile, MODULE_ONLY, READ};
use std::path::Path;
use std::time::Duration;

mod targets;

/// Settings read once from `mod_fastdfs.conf`, shared by every module location
/// (the module reads one file for the whole nginx).
#[derive(Debug, Clone)]
pub struct FdfsSettings {
    upstream: UpstreamSpec,
    url_have_group_name: bool,
    /// Lines every location gets, before the store paths.
    lines: Vec<Line>,
    /// `store_paths` and its comments: for a location serving every group,
    /// or the local group's.
    store_paths: Vec<Line>,
    /// The group whose files are on this machine's store paths.
    local_group: Option<String>,
    /// Lines every location gets, after the store paths.
    tail: Vec<Line>,
}

/// Location directives the gateway does not need: the module finds files
/// through the store paths, not `root`, and the gateway types by extension.
const BUILT_IN: &[&str] = &[
    "ngx_fastdfs_module",
    "root",
    "alias",
    "types",
    "default_type",
    "location",
];

/// Reads `mod_fastdfs.conf` at `path`; when it cannot be read, the upstream
/// has no tracker (so `check-config` refuses the result until one is
/// written in) and a warning says so.
pub fn settings(path: &Path, warnings: &mut Vec<String>) -> FdfsSettings {
    match IniFile::read(path, warnings) {
        Ok(ini) => from_ini(&ini, warnings),
        Err(e) => {
            warnings.push(format!(
                "{}: {e}: trackers, group, store paths and token settings could not be read (pass the file with --fastdfs-conf); the FastDFS upstream has no tracker, so check-config refuses it until its trackers are filled in",
                path.display()
            ));
            FdfsSettings {
                upstream: trackerless_upstream(path),
                url_have_group_name: true,
                lines: Vec::new(),
                store_paths: Vec::new(),
                local_group: None,
                tail: Vec::new(),
            }
        }
    }
}

/// An upstream with no tracker: a config that must not pass `check-config`
/// as it stands (a made-up tracker would, and fail only at run time).
fn trackerless_upstream(conf: &Path) -> UpstreamSpec {
    UpstreamSpec {
        name_hint: "fdfs".into(),
        protocol: "fastdfs",
        trackers: Vec::new(),
        settings: Vec::new(),
        comments: vec![format!(
            "FIXME: no tracker could be read; put the tracker_server entries of {} in `trackers`",
            conf.display()
        )],
    }
}

/// The settings carried by a readable `mod_fastdfs.conf`.
pub fn from_ini(ini: &IniFile, warnings: &mut Vec<String>) -> FdfsSettings {
    let url_have_group_name = ini.flag("url_have_group_name").unwrap_or(false);
    let section = group_section(ini, warnings);
    let mut lines = vec![
        Line::Comment(format!(
            "from {}; the gateway can also read that file itself:",
            ini.file
        )),
        Line::Comment(format!("fastdfs_conf = {}", emit::string(&ini.file))),
    ];
    if !url_have_group_name {
        match ini.get(section.as_deref(), "group_name") {
            Some(group) => {
                lines.push(Line::Comment("url_have_group_name = false: URLs are /M00/..., in this group".into()));
                lines.push(Line::Field("group".into(), emit::string(&group.value)));
            }
            None => warnings.push(format!("{}: url_have_group_name is false but group_name is not set; add `group` to the location", ini.file)),
        }
    }
    let paths = store_paths(ini, section.as_deref(), warnings);
    let mut path_lines = Vec::new();
    if !paths.is_empty() {
        path_lines.push(Line::Comment(
            "local-disk mode, as the module served from disk: remove store_paths".into(),
        ));
        path_lines.push(Line::Comment(
            "when the gateway does not run on this storage server".into(),
        ));
        path_lines.push(Line::Field("store_paths".into(), emit::strings(&paths)));
    }
    let tail = token(ini, warnings);
    report_unsupported(ini, section.as_deref(), warnings);
    FdfsSettings {
        upstream: upstream(ini, warnings),
        url_have_group_name,
        lines,
        store_paths: path_lines,
        local_group: ini
            .get(section.as_deref(), "group_name")
            .map(|e| e.value.clone()),
        tail,
    }
}

/// With `group_count > 0`, the `[groupN]` sections describe the local groups;
/// one location holds the store paths of one group: the first.
fn group_section(ini: &IniFile, warnings: &mut Vec<String>) -> Option<String> {
    let count = ini.number(None, "group_count").unwrap_or(0);
    if count == 0 {
        return None;
    }
    let e = ini.get(None, "group_count").expect("read above");
    if count > 1 {
        warnings.push(format!(
            "{}: group_count = {count}: only [group1]'s store paths are carried over",
            e.origin
        ));
    }
    Some("group1".into())
}

fn upstream(ini: &IniFile, warnings: &mut Vec<String>) -> UpstreamSpec {
    let trackers: Vec<String> = ini
        .all("tracker_server")
        .iter()
        .map(|e| e.value.clone())
        .collect();
    if trackers.is_empty() {
        warnings.push(format!(
            "{}: no tracker_server; the FastDFS upstream has no tracker, so check-config refuses it until its trackers are filled in",
            ini.file
        ));
        return trackerless_upstream(Path::new(&ini.file));
    }
    let mut settings = Vec::new();
    // The module's client uses these for trackers and storage servers alike.
    for (key, targets) in [
        (
            "connect_timeout",
            ["connect_timeout", "storage_connect_timeout"],
        ),
        ("network_timeout", ["reply_timeout", "storage_timeout"]),
    ] {
        if let Some(secs) = ini.number(None, key).filter(|s| *s > 0) {
            for target in targets {
                settings.push((target.to_owned(), emit::duration(Duration::from_secs(secs))));
            }
        }
    }
    UpstreamSpec {
        name_hint: "fdfs".into(),
        protocol: "fastdfs",
        trackers,
        settings,
        comments: Vec::new(),
    }
}

/// `store_path0..N` (`store_path0` defaults to `base_path`, as in the module).
fn store_paths(ini: &IniFile, section: Option<&str>, warnings: &mut Vec<String>) -> Vec<String> {
    let mut count = ini.number(section, "store_path_count").unwrap_or(1);
    let max = crate::config::limits::MAX_STORE_PATHS as u64;
    if count > max {
        warnings.push(format!("{}: store_path_count is {count}, but file IDs name at most {max} store paths (M00 to MFF); only those are read", ini.file));
        count = max;
    }
    let mut paths = Vec::new();
    for i in 0..count {
        let key = format!("store_path{i}");
        match ini.get(section, &key).or_else(|| (i == 0).then(|| ini.get(None, "base_path")).flatten()) {
            Some(e) => paths.push(e.value.clone()),
            None => warnings.push(format!("{}: store_path_count is {count} but {key} is not set; M{i:02X} is not served from disk", ini.file)),
        }
    }
    paths
}

/// `token = { secret, ttl }` from the `http.anti_steal.*` keys.
fn token(ini: &IniFile, warnings: &mut Vec<String>) -> Vec<Line> {
    if ini.flag("http.anti_steal.check_token") != Some(true) {
        return Vec::new();
    }
    let secret = ini
        .get(None, "http.anti_steal.secret_key")
        .map(|e| e.value.as_str())
        .unwrap_or("");
    if secret.is_empty() {
        let check = ini
            .get(None, "http.anti_steal.check_token")
            .expect("read above");
        warnings.push(unsupported(
            check,
            "secret_key is empty, so the token check is not carried over",
        ));
        return Vec::new();
    }
    let ttl = ini
        .number(None, "http.anti_steal.token_ttl")
        .filter(|t| *t > 0)
        .unwrap_or(600);
    // Seconds, as http.conf wrote them.
    let value = format!(
        "{{ secret = {}, ttl = {} }}",
        emit::string(secret),
        emit::string(&format!("{ttl}s"))
    );
    let mut lines = vec![
        Line::Comment("anti-steal token (http.anti_steal.*)".into()),
        Line::Field("token".into(), value),
    ];
    if let Some(e) = ini
        .get(None, "http.anti_steal.token_check_fail")
        .filter(|e| !e.value.is_empty())
    {
        lines.push(Line::Field(
            "token_check_fail".into(),
            emit::string(&e.value),
        ));
    }
    lines.push(Line::Comment(
        "the module let tokens with ts=0 never expire; the gateway refuses".into(),
    ));
    lines.push(Line::Comment("them unless this is uncommented:".into()));
    lines.push(Line::Comment("allow_ts_zero = true".into()));
    lines
}

fn report_unsupported(ini: &IniFile, section: Option<&str>, warnings: &mut Vec<String>) {
    for e in &ini.entries {
        let key = e.key.as_str();
        let known = if e.section.is_some() {
            e.section.as_deref() != section || is_group_key(key)
        } else {
            READ.contains(&key) || MODULE_ONLY.contains(&key) || key.starts_with("store_path")
        };
        let why = match key {
            _ if !known => "unknown key, not carried over",
            "response_mode" if !e.value.eq_ignore_ascii_case("proxy") => "the gateway always fetches a file missing here from a storage that has it (proxy mode)",
            "flv_support" if ini.flag(key) == Some(true) => "FLV seeking (?start=) is not supported",
            "http.multi_range.enabled" | "http.multi_range.enabed" if ini.flag(key) == Some(true) => "a request for several ranges gets the whole file (200)",
            "use_storage_id" if ini.flag(key) == Some(true) => "storage ids are not read; the gateway asks the tracker where files are",
            "anti_steal_bypass_header_name" if !e.value.is_empty() => "the token bypass header is not supported",
            _ => continue,
        };
        warnings.push(unsupported(e, why));
    }
}

fn is_group_key(key: &str) -> bool {
    matches!(
        key,
        "group_name" | "storage_server_port" | "store_path_count"
    ) || key.starts_with("store_path")
}

fn unsupported(e: &Entry, why: &str) -> String {
    format!("{}: `{} = {}`: {why}", e.origin, e.key, e.value)
}

pub use targets::convert;
