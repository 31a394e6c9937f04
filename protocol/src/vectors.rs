//! Loaders for the exchanges captured from real clusters (`shared/protocol/`
//! beside the repository), so unit tests on both sides can replay them.
//!
//! The directory is `$DFS_SHARED_DIR` when set, else `../shared` next to the
//! workspace. When it is absent the loaders return `None` and the caller prints
//! a loud skip message: the replay tests then prove nothing on that machine.

use std::path::PathBuf;

/// The `shared/protocol` directory, if present.
pub fn protocol_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("DFS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("protocol");
    dir.is_dir().then_some(dir)
}

/// Prints the standard loud message for a replay test that cannot run.
pub fn skip(what: &str) {
    eprintln!("\n*** SKIPPED: {what}: shared/protocol not found (set DFS_SHARED_DIR) ***\n");
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

/// Every exchange of `mogilefs/vectors/tracker-vectors.jsonl`.
pub fn mogilefs_exchanges() -> Option<Vec<MogExchange>> {
    let path = protocol_dir()?.join("mogilefs/vectors/tracker-vectors.jsonl");
    let text = std::fs::read_to_string(path).ok()?;
    let field = |v: &serde_json::Value, name: &str| {
        v.get(name)
            .and_then(|f| f.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| MogExchange {
                scenario: field(&v, "scenario"),
                kind: field(&v, "kind"),
                request: field(&v, "request"),
                response: field(&v, "response"),
            })
            .collect(),
    )
}

/// One captured FastDFS exchange (`fastdfs/vectors/*.txt`).
#[derive(Debug, Clone)]
pub struct FdfsExchange {
    /// File stem, e.g. `04a-tracker-QUERY_FETCH_ONE`.
    pub name: String,
    /// Exact request bytes (header + body).
    pub request: Vec<u8>,
    /// Exact reply bytes, or `None` when the server sends none (QUIT).
    pub response: Option<Vec<u8>>,
}

/// Every exchange of `fastdfs/vectors/`, sorted by name.
pub fn fastdfs_exchanges() -> Option<Vec<FdfsExchange>> {
    let dir = protocol_dir()?.join("fastdfs/vectors");
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        let name = path.file_stem()?.to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "txt") && name != "INDEX" {
            let text = std::fs::read_to_string(&path).ok()?;
            let (request, response) = parse_fdfs_capture(&text)?;
            all.push(FdfsExchange {
                name,
                request,
                response,
            });
        }
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Some(all)
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
