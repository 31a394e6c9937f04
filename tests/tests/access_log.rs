//! Access log lines of requests served by a real cluster (devcluster), read
//! back through the subscriber `dfs-gateway serve` installs:
//! - a MogileFS GET names the tracker that answered `get_paths` and the
//!   storage node that sent the bytes;
//! - a FastDFS upload names the tracker that chose the storage and that
//!   storage; a FastDFS GET the tracker that named the storage and the
//!   storage that sent the bytes.
//!
//! The gateway serves on worker threads of its own, so the capturing
//! subscriber is this test binary's global one, installed before any
//! gateway starts (the harness's `init_tracing` then leaves it in place).
//! Requests are told apart by their request line.

use dfs_e2e::fastdfs::{bounded, FdfsEnv};
use dfs_e2e::{pattern, MogEnv};
use dfs_gateway::config::LogFormat;
use dfs_gateway::routes::access_log::output;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;

const LIMIT: Duration = Duration::from_secs(60);

/// Everything the subscriber wrote.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

impl Capture {
    /// The process's capture: the gateway's subscriber (text, the default
    /// access format) writing here, installed as the global default on the
    /// first call. Call it before starting a gateway.
    fn global() -> &'static Capture {
        static GLOBAL: OnceLock<Capture> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let capture = Capture::default();
            let filter = tracing_subscriber::EnvFilter::new("info");
            let subscriber = output::subscriber(LogFormat::Text, filter, capture.clone(), false);
            tracing::subscriber::set_global_default(subscriber)
                .expect("no subscriber was installed before this one");
            capture
        })
    }

    fn lines(&self) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().map(str::to_owned).collect()
    }

    /// The access line of `request` (`"GET /a HTTP/1.1"`). It is written
    /// when the response body is dropped, which may be just after the client
    /// read the last byte: waits for it a little.
    async fn access_line(&self, request: &str) -> String {
        let wanted = format!("request=\"{request}\"");
        for _ in 0..250 {
            if let Some(line) = self.lines().into_iter().find(|l| l.contains(&wanted)) {
                return line;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no access line for {request}:\n{}", self.lines().join("\n"));
    }
}

/// The value of the quoted field `name` in a gateway-format line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let start = format!(" {name}=\"");
    let at = line
        .find(&start)
        .unwrap_or_else(|| panic!("no {name} field in {line}"));
    let rest = &line[at + start.len()..];
    &rest[..rest.find('"').expect("a closing quote")]
}

#[tokio::test]
async fn a_mogilefs_get_logs_its_tracker_and_storage_node() {
    let capture = Capture::global();
    let env = MogEnv::start().await;
    assert_eq!(env.put("log/a.jpg", pattern(3, 2000)).await, 201);
    let (status, body) = env.get("log/a.jpg").await;
    assert_eq!((status, body.len()), (200, 2000));
    let line = capture.access_line("GET /images/log/a.jpg HTTP/1.1").await;
    assert!(line.contains(" status=200 "), "{line}");
    let tracker = env.cluster.tracker_addrs()[0].to_string();
    assert_eq!(field(&line, "tracker"), tracker, "{line}");
    let node = field(&line, "node");
    let nodes = env.cluster.node_addrs();
    assert!(
        nodes
            .iter()
            .any(|n| node.starts_with(&format!("http://{n}/"))),
        "{node} is on none of the nodes {nodes:?}: {line}"
    );
}

#[tokio::test]
async fn fastdfs_uploads_and_gets_log_their_tracker_and_storage() {
    let capture = Capture::global();
    bounded(LIMIT, async {
        let env = FdfsEnv::start().await;
        let storages: Vec<String> = env
            .cluster
            .storages("group1")
            .iter()
            .map(|s| s.addr().to_string())
            .collect();
        let id = env.upload(pattern(4, 3000), "jpg").await;
        let post = capture.access_line("POST /fdfs/?ext=jpg HTTP/1.1").await;
        let tracker = env.cluster.tracker_addrs()[0].to_string();
        assert_eq!(field(&post, "tracker"), tracker, "{post}");
        assert!(storages.iter().any(|s| s == field(&post, "node")), "{post}");

        assert_eq!(env.get_id(&id).await.0, 200);
        let get = capture.access_line(&format!("GET /{id} HTTP/1.1")).await;
        assert!(get.contains(" status=200 "), "{get}");
        assert_eq!(field(&get, "tracker"), tracker, "{get}");
        assert!(storages.iter().any(|s| s == field(&get, "node")), "{get}");
        env.stop().await;
    })
    .await;
}
