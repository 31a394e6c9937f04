//! Server-side replay of every captured tracker exchange
//! (`protocol/tests/vectors/mogilefs/tracker-vectors.jsonl`).
//!
//! One cluster with the capture's layout (2 hosts, dev1+dev2 on the first,
//! dev3+dev4 on the second; domain `imgs`, classes `default` and `normal`)
//! walks through the captures in order. Before the captures, the keys they
//! imply exist (`vec/big.bin`, `bench/...`) are stored. Captured PUTs are
//! sent to our nodes. Fids and hosts differ from the capture, so
//! `create_close` lines and PUT paths are translated to the fid and device
//! our tracker handed out for the same `create_open`.
//!
//! Each reply must agree with the captured one: OK vs ERR, the ERR code, the
//! ERR text (URLs and numbers masked), and the OK field names.

use super::cluster::MogCluster;
use super::commands::answer;
use super::topology::DeviceState;
use dfs_protocol::mogilefs::cmd::{CreateOpen, OpenFile};
use dfs_protocol::mogilefs::fid::fid_of_path;
use dfs_protocol::mogilefs::{Args, Command, Reply, Request};
use dfs_protocol::vectors::{mogilefs_exchanges, MogExchange};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

/// Commands of the captures that devcluster does not implement.
const UNSUPPORTED: &[&str] = &["update_host", "file_debug", "list_fids", "server_settings"];

/// Keys the captures show as existing before they start.
const PRESENT: &[(&str, &[u8])] = &[
    ("vec/big.bin", &[7; 3000]),
    ("vec/empty.bin", b""),
    ("bench/4k/1", &[1; 4096]),
    ("bench/1m/1", b"1"),
    ("bench/1m/10", b"10"),
    ("1.jpg", b"jpeg"),
];

const WAIT: Duration = Duration::from_secs(10);

/// The capture's fid and devices of one `create_open`, and ours.
struct Opened {
    fid: u64,
    theirs: Vec<u64>,
    ours: Vec<u64>,
}

struct Replay {
    cluster: MogCluster,
    http: reqwest::Client,
    /// Keyed by the capture's fid.
    opened: HashMap<u64, Opened>,
    /// Our fids that received data.
    written: HashSet<u64>,
}

impl Replay {
    async fn start() -> Replay {
        let cluster = MogCluster::builder()
            .nodes(2)
            .devices_per_node(2)
            .domain("imgs")
            .class("imgs", "normal", 2)
            .build()
            .await
            .unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut replay = Replay {
            cluster,
            http,
            opened: HashMap::new(),
            written: HashSet::new(),
        };
        for (key, data) in PRESENT {
            replay.store(key, data).await;
        }
        replay
    }

    async fn line(&self, line: &str) -> String {
        answer(self.cluster.shared(), line).await.expect("a reply")
    }

    async fn store(&mut self, key: &str, data: &[u8]) {
        let open = self.line("create_open domain=imgs&fid=0").await;
        let Reply::Ok(fields) = Reply::parse(&open).unwrap() else {
            panic!("{open}")
        };
        let open = CreateOpen::parse_reply(&fields).unwrap();
        let dest = &open.destinations[0];
        self.put(&dest.path, data.to_vec()).await;
        let close = Args::new()
            .with("domain", "imgs")
            .with("key", key)
            .with("fid", open.fid.to_string())
            .with("devid", dest.devid.to_string())
            .with("path", &*dest.path)
            .with("size", data.len().to_string());
        let reply = self
            .line(&Request::new("create_close", close).encode())
            .await;
        assert!(reply.starts_with("OK"), "seeding {key}: {reply}");
    }

    async fn put(&mut self, url: &str, data: Vec<u8>) {
        let response = self.http.put(url).body(data).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "PUT {url}: {}",
            response.status()
        );
        self.written.extend(fid_of_path(url));
    }

    /// Our URL for a captured one: same fid and device translated.
    fn url(&self, captured: &str) -> String {
        let fid = fid_of_path(captured).unwrap();
        let devid: u64 = captured
            .split("/dev")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|d| d.parse().ok())
            .unwrap();
        let (fid, devid) = self.translate(fid, devid);
        self.cluster
            .shared()
            .meta()
            .topology
            .url(devid, fid)
            .unwrap()
    }

    /// Our fid and device for the capture's; unknown fids stay as they are.
    fn translate(&self, fid: u64, devid: u64) -> (u64, u64) {
        let Some(opened) = self.opened.get(&fid) else {
            return (fid, devid);
        };
        let position = opened.theirs.iter().position(|d| *d == devid);
        (opened.fid, position.map_or(devid, |p| opened.ours[p]))
    }

    /// Replays one exchange; false when it was skipped.
    async fn exchange(&mut self, ex: &MogExchange) -> bool {
        if ex.request.starts_with("PUT ") {
            return self.captured_put(ex).await;
        }
        if !ex.is_tracker_command() {
            return false;
        }
        let request = Request::parse(&ex.request).unwrap();
        if UNSUPPORTED.contains(&request.command.as_str()) {
            return false;
        }
        let line = self.prepare(ex, &request).await;
        let ours = self.line(&line).await;
        self.settle(ex, &request);
        compare(ex, &request, &ours);
        self.remember(ex, &request, &ours);
        true
    }

    /// Sends the PUT of an upload the replay opened; the other captured PUTs
    /// exercise mogstored alone (storage node tests cover them).
    async fn captured_put(&mut self, ex: &MogExchange) -> bool {
        let (head, body) = ex.request.split_once("\r\n\r\n").unwrap();
        let path = head.split(' ').nth(1).unwrap();
        if !fid_of_path(path).is_some_and(|fid| self.opened.contains_key(&fid)) {
            return false;
        }
        let url = self.url(&format!("http://capture{path}"));
        self.put(&url, body.as_bytes().to_vec()).await;
        true
    }

    /// Builds the state the capture implies, and translates the line.
    async fn prepare(&mut self, ex: &MogExchange, request: &Request) -> String {
        if ex.kind.contains("all devices readonly") {
            self.set_states(DeviceState::ReadOnly);
        }
        if ex.scenario.starts_with("23-") && request.command == "create_close" {
            // The capture's get_paths shows one copy: replication had not run yet.
            self.cluster.pause_replication(true);
        }
        if request.command == "get_paths" {
            self.wait_for_paths(ex, request).await;
        }
        if request.command != "create_close" {
            return ex.request.clone();
        }
        let line = self.translate_close(request);
        self.fill_if_unwritten(ex, &line).await;
        line
    }

    fn settle(&self, ex: &MogExchange, request: &Request) {
        if ex.kind.contains("all devices readonly") {
            self.set_states(DeviceState::Alive);
        }
        if ex.scenario.starts_with("23-") && request.command == "get_paths" {
            self.cluster.pause_replication(false);
        }
    }

    fn set_states(&self, state: DeviceState) {
        for devid in 1..=4 {
            self.cluster.set_device_state(devid, state);
        }
    }

    async fn wait_for_paths(&self, ex: &MogExchange, request: &Request) {
        if let Ok(Reply::Ok(fields)) = Reply::parse(&ex.response) {
            let n = fields
                .get("paths")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let key = request.args.get("key").unwrap_or_default();
            assert!(
                self.cluster.wait_devcount("imgs", key, n, WAIT).await,
                "{}",
                ex.kind
            );
        }
    }

    fn translate_close(&self, request: &Request) -> String {
        let args = &request.args;
        let num = |name: &str| args.get(name).and_then(|v| v.parse::<u64>().ok());
        let (Some(fid), Some(devid), Some(path)) = (num("fid"), num("devid"), args.get("path"))
        else {
            return request.encode();
        };
        let (our_fid, our_devid) = self.translate(fid, devid);
        let translated: Args = args
            .iter()
            .map(|(name, value)| {
                let value = match name {
                    "fid" => our_fid.to_string(),
                    "devid" => our_devid.to_string(),
                    "path" => self.url(path),
                    _ => value.to_owned(),
                };
                (name.to_owned(), value)
            })
            .collect();
        Request::new("create_close", translated).encode()
    }

    /// Some captures omit the PUT before a successful close: write filler.
    async fn fill_if_unwritten(&mut self, ex: &MogExchange, line: &str) {
        let request = Request::parse(line).unwrap();
        let args = &request.args;
        let size: usize = args.get("size").and_then(|s| s.parse().ok()).unwrap_or(0);
        let fid = args.get("fid").and_then(|f| f.parse().ok()).unwrap_or(0);
        let closes = ex.response.starts_with("OK") && args.get_nonempty("key").is_some();
        if closes && size > 0 && !self.written.contains(&fid) {
            self.put(args.get("path").unwrap(), vec![b'x'; size]).await;
        }
    }

    /// Records the fid mapping of a `create_open`.
    fn remember(&mut self, ex: &MogExchange, request: &Request, ours: &str) {
        if request.command != "create_open" {
            return;
        }
        let (Ok(theirs), Ok(ours)) = (open_reply(&ex.response), open_reply(ours)) else {
            return;
        };
        let devids = |o: &OpenFile| o.destinations.iter().map(|d| d.devid).collect();
        let opened = Opened {
            fid: ours.fid,
            theirs: devids(&theirs),
            ours: devids(&ours),
        };
        self.opened.insert(theirs.fid, opened);
    }
}

fn open_reply(line: &str) -> Result<OpenFile, ()> {
    match Reply::parse(line) {
        Ok(Reply::Ok(fields)) => CreateOpen::parse_reply(&fields).map_err(|_| ()),
        _ => Err(()),
    }
}

fn compare(ex: &MogExchange, request: &Request, ours: &str) {
    let what = format!("{}: {}: ours {ours:?}", ex.scenario, ex.kind);
    assert!(ours.ends_with("\r\n"), "{what}");
    match (
        Reply::parse(&ex.response).unwrap(),
        Reply::parse(ours).unwrap(),
    ) {
        (Reply::Ok(theirs), Reply::Ok(mine)) => {
            let multi = request.command == "create_open";
            assert_eq!(names(&mine, multi), names(&theirs, multi), "{what}");
        }
        (Reply::Err { code: c1, text: t1 }, Reply::Err { code: c2, text: t2 }) => {
            assert_eq!(c2, c1, "{what}");
            assert_eq!(mask(&t2), mask(&t1), "{what}");
            if let Some(id) = request.args.get("callid") {
                assert!(ours.trim_end().ends_with(&format!(" {id}")), "{what}");
            }
        }
        _ => panic!("OK/ERR differ: {what}, captured {:?}", ex.response),
    }
}

/// Field names; with `multi`, `devid_N`/`path_N` count as one name each,
/// since the number of destinations depends on device states the capture
/// does not show (scenario 23 got one destination with `multi_dest=1`).
fn names(fields: &Args, multi: bool) -> BTreeSet<String> {
    fields
        .iter()
        .map(|(name, _)| match name.split_once('_') {
            Some((base @ ("devid" | "path"), n)) if multi && n.parse::<u32>().is_ok() => {
                format!("{base}_N")
            }
            _ => name.to_owned(),
        })
        .collect()
}

/// An ERR text with URLs and numbers masked, up to a trailing `; error: ...`
/// (whatever the tracker's last error happened to be).
fn mask(text: &str) -> String {
    let text = text.split("; error:").next().unwrap_or_default();
    let words: Vec<String> = text
        .split(' ')
        .map(|w| {
            if w.starts_with("http://") {
                "<url>".to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect();
    let mut masked = String::new();
    for c in words.join(" ").chars() {
        if !c.is_ascii_digit() {
            masked.push(c);
        } else if !masked.ends_with('#') {
            masked.push('#');
        }
    }
    masked
}

#[tokio::test]
async fn every_supported_capture_gets_the_same_reply() {
    let all = mogilefs_exchanges();
    let mut replay = Replay::start().await;
    let mut replayed = 0;
    let mut skipped = Vec::new();
    for ex in &all {
        if replay.exchange(ex).await {
            replayed += 1;
        } else {
            skipped.push(format!("{}: {}", ex.scenario, ex.kind));
        }
    }
    eprintln!("replayed {replayed} exchanges; skipped {skipped:#?}");
    assert!(replayed >= 80, "only {replayed} replayed");
}

#[test]
fn masking_hides_urls_and_numbers() {
    let captured =
        "Expected: 28; actual: 27; path: http://127.0.0.2:7500/dev1/0/000/000/0000000474.fid";
    assert_eq!(mask(captured), "Expected: #; actual: #; path: <url>");
    assert_eq!(mask("a; error: anything"), "a");
}
