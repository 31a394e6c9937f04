//! `dfs-gateway demo`: a MogileFS cluster in this process (one tracker, two
//! storage nodes, domain `imgs` whose classes keep two copies) and a FastDFS
//! cluster (one tracker, group1 with two storage servers), with the gateway in
//! front on `/images/` + `/upload/` and `/group1/M00/...` + `/fdfs/`.
//!
//! At start it uploads a sample image through the gateway to each cluster,
//! then prints curl lines naming the real key and file ID, ready to paste,
//! and serves a landing page on `GET /` listing them. Behind a proxy or in a
//! container, `--public-url` names the address those lines use, and they
//! upload a copy of the sample they download first rather than the file the
//! demo wrote on its own disk.
//!
//! - [`sample`]: the sample PNG, made in code.

pub mod sample;

use crate::config::Config;
use crate::landing::LandingConfig;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use devcluster::fastdfs::FdfsCluster;
use devcluster::mogilefs::MogCluster;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The gateway config the demo runs with, for the cluster's tracker addresses.
pub fn config_text(listen: SocketAddr, mog_trackers: &[SocketAddr]) -> String {
    format!("[server]\nlisten = \"{listen}\"\n") + &mogilefs_config_text(mog_trackers)
}

/// The MogileFS part of the demo config: reads on `/images/`, uploads and
/// deletes on `/upload/`.
fn mogilefs_config_text(mog_trackers: &[SocketAddr]) -> String {
    let trackers: Vec<String> = mog_trackers.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        r#"
[[upstream]]
name = "mog"
protocol = "mogilefs"
trackers = [{trackers}]

[[location]]
prefix = "/images/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]

[[location]]
prefix = "/upload/"
upstream = "mog"
domain = "imgs"
class = "photos"
methods = ["PUT", "DELETE"]
"#,
        trackers = trackers.join(", ")
    )
}

/// The FastDFS part of the demo config: `/<group>/M00/...` reads on `/`, and
/// uploads (POST) and deletes on `/fdfs/`.
pub fn fastdfs_config_text(fdfs_trackers: &[SocketAddr]) -> String {
    let trackers: Vec<String> = fdfs_trackers.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        r#"
[[upstream]]
name = "fdfs"
protocol = "fastdfs"
trackers = [{trackers}]

[[location]]
prefix = "/"
upstream = "fdfs"
methods = ["GET", "HEAD"]

[[location]]
prefix = "/fdfs/"
upstream = "fdfs"
methods = ["POST", "DELETE"]
"#,
        trackers = trackers.join(", ")
    )
}

/// The key of the MogileFS sample and the name of the sample file.
pub const SAMPLE_NAME: &str = "sample.png";

/// How long the start-up uploads may take.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// A running demo: both clusters, the gateway in front, the samples.
pub struct Demo {
    base: String,
    public: Option<String>,
    file_id: String,
    sample_path: PathBuf,
    mog: MogCluster,
    fdfs: FdfsCluster,
    stop: Option<oneshot::Sender<()>>,
    serving: JoinHandle<io::Result<()>>,
    _work: Option<tempfile::TempDir>,
}

impl Demo {
    /// Starts the clusters (keeping their files and metadata under
    /// `data_dir` when given), the gateway on `listen`, and uploads the
    /// samples through it.
    pub async fn start(listen: SocketAddr, data_dir: Option<PathBuf>) -> io::Result<Demo> {
        Demo::start_public(listen, data_dir, None).await
    }

    /// [`Demo::start`], with the printed lines and the landing page naming
    /// `public_url` (checked by [`public_url`]) instead of `listen`.
    pub async fn start_public(
        listen: SocketAddr,
        data_dir: Option<PathBuf>,
        public_url: Option<String>,
    ) -> io::Result<Demo> {
        let (work, dir) = match data_dir {
            Some(dir) => (None, dir),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("dfs-gateway-demo-")
                    .tempdir()?;
                let dir = temp.path().to_owned();
                (Some(temp), dir)
            }
        };
        let (mog, fdfs) = clusters(&dir).await?;
        let sample_path = dir.join(SAMPLE_NAME);
        std::fs::write(&sample_path, sample::png())?;
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (mog_trackers, fdfs_trackers) = (mog.tracker_addrs(), fdfs.tracker_addrs());
        let text =
            |landing: &LandingConfig| demo_config(addr, &mog_trackers, &fdfs_trackers, landing);
        let config = Config::parse(&text(&LandingConfig::default())).map_err(io::Error::other)?;
        let gateway = crate::Gateway::new(&config)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = {
            let gateway = gateway.clone();
            tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.await;
                };
                gateway.serve(listener, &config, shutdown).await
            })
        };
        let base = format!("http://{addr}");
        let file_id = upload_samples(addr).await?;
        let demo = Demo {
            base,
            public: public_url,
            file_id,
            sample_path,
            mog,
            fdfs,
            stop: Some(stop),
            serving,
            _work: work,
        };
        let landing = LandingConfig {
            links: demo.links(),
            commands: demo.commands(),
        };
        let config = Config::parse(&text(&landing)).map_err(io::Error::other)?;
        gateway.reload(&config).map_err(io::Error::other)?;
        Ok(demo)
    }

    /// `http://127.0.0.1:PORT`, where the gateway listens.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The base URL the printed lines use: `--public-url`, else [`Demo::base`].
    pub fn public_base(&self) -> &str {
        self.public.as_deref().unwrap_or(&self.base)
    }

    /// The FastDFS sample's file ID, `group1/M00/...png`.
    pub fn file_id(&self) -> &str {
        &self.file_id
    }

    /// Where the sample image was written, for the upload lines.
    pub fn sample_path(&self) -> &Path {
        &self.sample_path
    }

    /// The sample images' paths on the gateway.
    fn links(&self) -> Vec<String> {
        vec![
            format!("/images/{SAMPLE_NAME}"),
            format!("/{}", self.file_id),
        ]
    }

    /// The curl lines to paste. With a public URL the sample is the copy
    /// the first line downloads, not the file on the demo's own disk.
    pub fn commands(&self) -> Vec<String> {
        let (base, id) = (self.public_base(), &self.file_id);
        let sample = match self.public {
            Some(_) => SAMPLE_NAME.to_owned(),
            None => self.sample_path.display().to_string(),
        };
        let stem = id.strip_suffix(".png").unwrap_or(id);
        vec![
            "# MogileFS (domain imgs, class photos: 2 copies)".into(),
            format!("curl -o sample.png {base}/images/{SAMPLE_NAME}"),
            format!("curl -i -X PUT -T '{sample}' {base}/upload/mine.png"),
            format!("curl -o mine.png {base}/images/mine.png"),
            format!("curl -i -H 'Range: bytes=0-7' {base}/images/{SAMPLE_NAME}"),
            format!("curl -i -X DELETE {base}/upload/mine.png"),
            "# FastDFS (group1, 2 storage servers)".into(),
            format!("curl -s -X POST --data-binary @'{sample}' '{base}/fdfs/?ext=png'"),
            format!("curl -o sample-fdfs.png {base}/{id}"),
            "# a thumbnail, made on the first request and stored back as that slave file".into(),
            format!("curl -o thumb.png {base}/{stem}_150x150.png"),
            format!("curl -i -X DELETE {base}/fdfs/{id}   # removes the sample"),
        ]
    }

    /// What the demo prints at start.
    pub fn banner(&self) -> String {
        let list = |addrs: Vec<SocketAddr>| {
            let text: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            text.join(", ")
        };
        let listening = match &self.public {
            Some(_) => format!("{}, reached as {}", self.base, self.public_base()),
            None => self.base.clone(),
        };
        let mut out = format!(
            "\ndfs-gateway demo is running on {listening} (Ctrl-C to stop); open {base}/ in a browser\n\
             MogileFS tracker {}, storage nodes {}; FastDFS tracker {}\n\
             Samples: {base}/images/{SAMPLE_NAME} and {base}/{}\n\nTry:\n",
            list(self.mog.tracker_addrs()),
            list(self.mog.node_addrs()),
            list(self.fdfs.tracker_addrs()),
            self.file_id,
            base = self.public_base(),
        );
        for line in self.commands() {
            out.push_str("  ");
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// Stops the gateway (letting requests finish) and both clusters.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = (&mut self.serving).await.map_err(io::Error::other)?;
        self.mog.shutdown().await;
        self.fdfs.shutdown().await;
        served
    }
}

/// Checks `--public-url`: an `http://` or `https://` URL of a host (and
/// port, and path prefix); the trailing `/` is dropped.
pub fn public_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{url:?}: not an http:// or https:// URL"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || url.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(format!("{url:?}: not a URL of a host"));
    }
    if url.contains(['?', '#', '\'', '"']) {
        return Err(format!(
            "{url:?}: a base URL has no query, fragment or quotes"
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(
    listen: SocketAddr,
    data_dir: Option<PathBuf>,
    public_url: Option<String>,
) -> io::Result<()> {
    let demo = Demo::start_public(listen, data_dir, public_url).await?;
    println!("{}", demo.banner());
    crate::shutdown_signal().await;
    demo.stop().await?;
    println!("demo stopped");
    Ok(())
}

async fn clusters(dir: &Path) -> io::Result<(MogCluster, FdfsCluster)> {
    std::fs::create_dir_all(dir.join("mogilefs"))?;
    std::fs::create_dir_all(dir.join("fastdfs"))?;
    let mog = MogCluster::builder()
        .trackers(1)
        .nodes(2)
        .domain("imgs")
        .class("imgs", "photos", 2)
        .data_dir(dir.join("mogilefs"))
        .build()
        .await?;
    let fdfs = FdfsCluster::builder()
        .group("group1", 2)
        .trackers(1)
        .data_dir(dir.join("fastdfs"))
        .build()
        .await?;
    Ok((mog, fdfs))
}

/// The whole demo config, with the landing page on.
fn demo_config(
    listen: SocketAddr,
    mog: &[SocketAddr],
    fdfs: &[SocketAddr],
    landing: &LandingConfig,
) -> String {
    let strings = |items: &[String]| {
        let quoted: Vec<String> = items
            .iter()
            .map(|s| toml::Value::String(s.clone()).to_string())
            .collect();
        quoted.join(", ")
    };
    format!(
        "[server]\nlisten = \"{listen}\"\nlanding_page = {{ links = [{}], commands = [{}] }}\n",
        strings(&landing.links),
        strings(&landing.commands)
    ) + &mogilefs_config_text(mog)
        + &fastdfs_config_text(fdfs).replacen(READS, &format!("{READS}{THUMBNAILS}"), 1)
}

/// The line that ends the FastDFS read location's keys in the demo config.
const READS: &str = "methods = [\"GET\", \"HEAD\"]\n";

/// The demo's FastDFS reads also answer `<file ID stem>_150x150.<ext>` with a
/// thumbnail, stored back as that slave file.
const THUMBNAILS: &str = "thumbnails = { sizes = [\"150x150\"], store = true }\n";

/// PUTs the sample to MogileFS and POSTs it to FastDFS through the gateway
/// at `addr`; returns the FastDFS file ID.
async fn upload_samples(addr: SocketAddr) -> io::Result<String> {
    let png = sample::png();
    let path = format!("/upload/{SAMPLE_NAME}");
    let (status, body) = call(addr, Method::PUT, &path, png.clone()).await?;
    if !status.is_success() {
        let body = String::from_utf8_lossy(&body);
        return Err(io::Error::other(format!(
            "sample PUT {path}: {status}: {body}"
        )));
    }
    let (status, body) = call(addr, Method::POST, "/fdfs/?ext=png", png).await?;
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    match answer["file_id"].as_str() {
        Some(id) if status.is_success() => Ok(id.to_owned()),
        _ => {
            let body = String::from_utf8_lossy(&body);
            Err(io::Error::other(format!(
                "sample POST /fdfs/: {status}: {body}"
            )))
        }
    }
}

/// One request to the gateway at `addr`; the status and body.
async fn call(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Vec<u8>,
) -> io::Result<(StatusCode, Vec<u8>)> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Body>();
    let request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(Body::from(body))
        .map_err(io::Error::other)?;
    let exchange = async {
        let response = client.request(request).await.map_err(io::Error::other)?;
        let status = response.status();
        let body = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20)
            .await
            .map_err(io::Error::other)?;
        Ok::<_, io::Error>((status, body.to_vec()))
    };
    tokio::time::timeout(UPLOAD_TIMEOUT, exchange)
        .await
        .map_err(|_| io::Error::other(format!("{path}: no answer in {UPLOAD_TIMEOUT:?}")))?
}
