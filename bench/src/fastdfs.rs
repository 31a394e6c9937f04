//! The FastDFS rows: 4 KiB reads from a devcluster FastDFS storage server's
//! store path, served five ways —
//!
//! ```text
//!   wrk ──▶ dfs-gateway /fdfs-local/<id>  ──▶ the store path on disk    fastdfs-gateway-local
//!   wrk ──▶ dfs-gateway /fdfs-local-nocache/<id> ──▶ the same, no object cache
//!                                                              fastdfs-gateway-local-nocache
//!   wrk ──▶ dfs-gateway /fdfs-inline/<id> ──▶ the same, read inline     fastdfs-gateway-local-inline
//!   wrk ──▶ nginx static /<id>             ──▶ the same files            fastdfs-nginx-static
//!   wrk ──▶ dfs-gateway /fdfs-net/<id>    ──▶ DOWNLOAD_FILE to storage  fastdfs-gateway-network
//! ```
//!
//! `fastdfs-gateway-local` is the default config: the object cache on and
//! `disk_reads = "pool"` (reads on the worker thread while the kernel answers
//! from its caches, on tokio's blocking threads otherwise); `-nocache` is
//! the same upstream with the object cache off; `-inline` reads on the
//! worker thread, as nginx does (object cache on).
//!
//! The gateway here is a process of its own, so a gateway without FastDFS
//! support fails these rows only.

use crate::error::{http, BenchError, IoContext, Result};
use crate::gateway::GatewayProcess;
use crate::measure::{Bench, Target};
use crate::objects::{self, SizeClass};
use crate::proxy::{NginxProxy, Site};
use crate::report::Row;
use devcluster::fastdfs::FdfsCluster;
use futures_util::{stream, StreamExt, TryStreamExt};
use std::net::SocketAddr;
use std::path::Path;

/// Gateway read location in local-disk mode.
const LOCAL: &str = "/fdfs-local/";
/// The same on an upstream without the object cache.
const LOCAL_NOCACHE: &str = "/fdfs-local-nocache/";
/// The same with `disk_reads = "inline"`.
const INLINE: &str = "/fdfs-inline/";
/// Gateway read location over the network.
pub(crate) const NETWORK: &str = "/fdfs-net/";
/// Gateway upload location.
const UPLOAD: &str = "/fdfs-up/";
/// The group of every file.
pub(crate) const GROUP: &str = "group1";

/// Row names.
pub const GATEWAY_LOCAL: &str = "fastdfs-gateway-local";
/// Local-disk mode without the object cache.
pub const GATEWAY_LOCAL_NOCACHE: &str = "fastdfs-gateway-local-nocache";
/// Local-disk mode reading on the worker thread.
pub const GATEWAY_INLINE: &str = "fastdfs-gateway-local-inline";
/// nginx serving the store path.
pub const NGINX_STATIC: &str = "fastdfs-nginx-static";
/// The gateway fetching from the storage server.
pub const GATEWAY_NETWORK: &str = "fastdfs-gateway-network";

/// What the FastDFS rows need from the caller.
pub struct FdfsSetup<'a> {
    /// Measurement settings.
    pub bench: &'a Bench,
    /// The gateway binary.
    pub binary: &'a Path,
    /// The nginx binary.
    pub nginx: &'a Path,
    /// The MogileFS tracker (the gateway config always has its upstream).
    pub mog_tracker: SocketAddr,
}

impl FdfsSetup<'_> {
    /// The FastDFS rows for `class`; every failure becomes a row note.
    pub async fn rows(&self, class: &SizeClass) -> Vec<Row> {
        match self.measure(class).await {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("dfs-bench: FastDFS rows failed: {e}");
                [
                    GATEWAY_LOCAL,
                    GATEWAY_LOCAL_NOCACHE,
                    GATEWAY_INLINE,
                    NGINX_STATIC,
                    GATEWAY_NETWORK,
                ]
                .map(|t| failed_row(t, class, &e))
                .to_vec()
            }
        }
    }

    async fn measure(&self, class: &SizeClass) -> Result<Vec<Row>> {
        let cluster = FdfsCluster::builder()
            .group(GROUP, 1)
            .trackers(1)
            .shared_ip()
            .build()
            .await
            .context(|| "starting the FastDFS cluster".into())?;
        let store = cluster.storage(GROUP, 0).store_path().to_owned();
        let extra = config_tables(cluster.tracker_addrs()[0], &store);
        let work = &self.bench.work;
        let gateway =
            GatewayProcess::start(self.binary, self.mog_tracker, &extra, work, "gateway-fdfs")
                .await?;
        let site = Site::static_files(&format!("/{GROUP}/M00/"), &store.join("data"));
        let nginx =
            NginxProxy::start(self.nginx, &site, &work.join("static"), crate::cpus()).await?;
        let ids = upload(&gateway.base(), class).await?;
        let pid = vec![gateway.pid()?];
        let via = |prefix: &str| ids.iter().map(|id| format!("{prefix}{id}")).collect();
        let targets = [
            Target::new(GATEWAY_LOCAL, &gateway.base(), via(LOCAL), pid.clone()),
            Target::new(
                GATEWAY_LOCAL_NOCACHE,
                &gateway.base(),
                via(LOCAL_NOCACHE),
                pid.clone(),
            ),
            Target::new(GATEWAY_INLINE, &gateway.base(), via(INLINE), pid.clone()),
            Target::new(NGINX_STATIC, &nginx.base(), via("/"), nginx.pids()),
            Target::new(GATEWAY_NETWORK, &gateway.base(), via(NETWORK), pid),
        ];
        let mut rows = Vec::new();
        for t in &targets {
            rows.push(self.bench.row("GET", t, class).await);
        }
        cluster.shutdown().await;
        Ok(rows)
    }
}

/// The FastDFS upstream (default object cache) and its four locations, and
/// one without the object cache and its local-disk location.
pub(crate) fn config_tables(tracker: SocketAddr, store: &Path) -> String {
    let store = store
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        r#"
[[upstream]]
name = "fdfs"
protocol = "fastdfs"
trackers = ["{tracker}"]

[[upstream]]
name = "fdfs-nocache"
protocol = "fastdfs"
trackers = ["{tracker}"]
object_cache = {{ size = "0" }}

[[location]]
prefix = "{LOCAL}"
upstream = "fdfs"
store_paths = ["{store}"]

[[location]]
prefix = "{LOCAL_NOCACHE}"
upstream = "fdfs-nocache"
store_paths = ["{store}"]

[[location]]
prefix = "{INLINE}"
upstream = "fdfs"
store_paths = ["{store}"]
disk_reads = "inline"

[[location]]
prefix = "{NETWORK}"
upstream = "fdfs"

[[location]]
prefix = "{UPLOAD}"
upstream = "fdfs"
group = "{GROUP}"
methods = ["POST"]
"#
    )
}

/// POSTs `class.count` generated files through the gateway; their IDs.
async fn upload(base: &str, class: &SizeClass) -> Result<Vec<String>> {
    let client = crate::client();
    let url = format!("{base}{UPLOAD}?ext=bin");
    stream::iter(0..class.count)
        .map(|_| post(&client, &url, class.size))
        .buffered(8)
        .try_collect()
        .await
}

/// POSTs one generated file of `size` bytes through the gateway; its ID.
pub(crate) async fn upload_one(base: &str, size: u64) -> Result<String> {
    post(&crate::client(), &format!("{base}{UPLOAD}?ext=bin"), size).await
}

async fn post(client: &reqwest::Client, url: &str, size: u64) -> Result<String> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_LENGTH, size)
        .body(reqwest::Body::wrap_stream(objects::body_stream(size)))
        .send()
        .await
        .map_err(http(format!("POST {url}")))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(http(format!("POST {url} (reply)")))?;
    let id = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["file_id"].as_str().map(str::to_owned));
    id.filter(|_| status.is_success())
        .ok_or_else(|| BenchError::Failed(format!("POST {url}: status {status}: {body}")))
}

fn failed_row(target: &str, class: &SizeClass, error: &BenchError) -> Row {
    Row {
        op: "GET",
        target: target.into(),
        size: class.label.into(),
        size_bytes: class.size,
        measured: None,
        note: Some(format!("FAILED: {error}")),
    }
}
