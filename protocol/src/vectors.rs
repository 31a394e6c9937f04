//! Loaders for the exchanges captured from real MogileFS 2.73 and FastDFS
//! 6.16 clusters, kept in the repository under `protocol/tests/vectors/`, so
//! unit tests on both sides can replay them.
//!
//! The captures are part of the source tree: a capture that is missing or
//! does not parse is a test failure (a panic naming the file), never a skip.

use std::path::{Path, PathBuf};

/// The `protocol/tests/vectors` directory.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// The text of `relative` under [`vectors_dir`]; panics naming the file when
/// it cannot be read.
pub fn read_text(relative: impl AsRef<Path>) -> String {
    let path = vectors_dir().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("capture {} cannot be read: {e}", path.display()))
}

/// One captured MogileFS exchange.
#[derive(Debug, Clone)]
pub struct MogExchange {
    /// File stem of the capture, e.g. `07-get_paths`.
    pub scenario: String,
    /// What was exercised.
    pub kind: String,
    /// Exact bytes sent.
    pub request: String,
    /// Exact bytes received.
    pub response: String,
}

impl MogExchange {
    /// True when this is a single tracker command with a single `OK`/`ERR` line
    /// (not mogstored HTTP, side-channel, `!` admin or pipelined traffic).
    pub fn is_tracker_command(&self) -> bool {
        let one_line = |s: &str| s.matches('\n').count() == 1;
        (self.response.starts_with("OK") || self.response.starts_with("ERR "))
            && !self.request.starts_with('!')
            && one_line(&self.request)
            && one_line(&self.response)
    }
}

/// Every exchange of `mogilefs/tracker-vectors.jsonl`; panics when the file is
/// missing, empty or holds a line that is not a JSON object.
pub fn mogilefs_exchanges() -> Vec<MogExchange> {
    let name = "mogilefs/tracker-vectors.jsonl";
    let text = read_text(name);
    let field = |v: &serde_json::Value, name: &str| {
        v.get(name)
            .and_then(|f| f.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let all: Vec<MogExchange> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{name} line {}: {e}", i + 1));
            MogExchange {
                scenario: field(&v, "scenario"),
                kind: field(&v, "kind"),
                request: field(&v, "request"),
                response: field(&v, "response"),
            }
        })
        .collect();
    assert!(!all.is_empty(), "{name} holds no exchange");
    all
}

/// One captured FastDFS exchange (`fastdfs/*.txt`).
#[derive(Debug, Clone)]
pub struct FdfsExchange {
    /// File stem, e.g. `04a-tracker-QUERY_FETCH_ONE`.
    pub name: String,
    /// Exact request bytes (header + body).
    pub request: Vec<u8>,
    /// Exact reply bytes, or `None` when the server sends none (QUIT).
    pub response: Option<Vec<u8>>,
}

/// Every exchange of `fastdfs/`, sorted by name; panics naming the file when
/// one cannot be read or holds no hex dump.
pub fn fastdfs_exchanges() -> Vec<FdfsExchange> {
    let dir = vectors_dir().join("fastdfs");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("captures {} cannot be listed: {e}", dir.display()));
    let mut all = Vec::new();
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.extension().is_some_and(|e| e == "txt") && name != "INDEX" {
            let text = read_text(Path::new("fastdfs").join(path.file_name().expect("a name")));
            let (request, response) = parse_fdfs_capture(&text)
                .unwrap_or_else(|| panic!("capture {} has no valid hex dump", path.display()));
            all.push(FdfsExchange {
                name,
                request,
                response,
            });
        }
    }
    assert!(!all.is_empty(), "{} holds no capture", dir.display());
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

/// Reads the "full hex" dump of each direction of one capture file.
fn parse_fdfs_capture(text: &str) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let mut dumps: Vec<Vec<u8>> = Vec::new();
    let mut in_dump = false;
    for line in text.lines() {
        if line.starts_with("full hex") {
            dumps.push(Vec::new());
            in_dump = true;
            continue;
        }
        // Dump lines look like "    0020: 2f30312f...".
        let row = line.trim_start().split_once(": ").filter(|(off, _)| {
            line.starts_with("    ") && off.len() == 4 && off.bytes().all(|c| c.is_ascii_hexdigit())
        });
        match (in_dump, row) {
            (true, Some((_, hex))) => dumps.last_mut()?.extend(decode_hex(hex.trim())?),
            _ => in_dump = false,
        }
    }
    let mut dumps = dumps.into_iter();
    Some((dumps.next()?, dumps.next()))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}
