//! Shared harness for the end-to-end tests: devcluster and the gateway in this
//! process on ephemeral 127.0.0.1 ports, driven by a real HTTP client.

pub mod browser;
pub mod fastdfs;
pub mod fault_proxy;
pub mod nginx;

use bytes::Bytes;
use devcluster::mogilefs::MogCluster;
use futures_util::stream;
use std::io;
use std::net::SocketAddr;
use std::sync::Once;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Logs to the test output (shown for failing tests), once per process.
pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}

/// A gateway running in this process.
pub struct Gateway {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Gateway {
    /// Starts a gateway with `config` (its `listen` is ignored: a free port is used).
    pub async fn start(config: &str) -> Gateway {
        init_tracing();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = dfs_gateway::config::Config::parse(config).expect("test config is valid");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(dfs_gateway::run(listener, config, async {
            let _ = stopped.await;
        }));
        Gateway {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Starts a gateway with the parsed `config` (a free port is used) and
    /// returns it with its handle, for tests that reload it while it serves.
    pub async fn start_reloadable(
        config: &dfs_gateway::config::Config,
    ) -> (Gateway, dfs_gateway::Gateway) {
        init_tracing();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = dfs_gateway::Gateway::new(config).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = {
            let (handle, config) = (handle.clone(), config.clone());
            tokio::spawn(async move {
                handle
                    .serve(listener, &config, async {
                        let _ = stopped.await;
                    })
                    .await
            })
        };
        let gateway = Gateway {
            addr,
            stop: Some(stop),
            task: Some(task),
        };
        (gateway, handle)
    }

    /// `http://addr` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Signals shutdown and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Signals shutdown and returns how the server ended (within 10 s).
    pub async fn stopped(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self
            .task
            .take()
            .expect("the server task is kept until stopped");
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the server stops within 10 s")
            .expect("the server task does not panic")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Extra settings for [`mog_config`].
#[derive(Debug, Clone, Default)]
pub struct MogOptions {
    /// `[server].max_body_size`, e.g. `"1MiB"`.
    pub max_body_size: Option<String>,
    /// Extra lines for the `[[upstream]]` table.
    pub upstream_extra: String,
    /// Extra tables appended to the config (e.g. more `[[location]]`s).
    pub extra_tables: String,
}

/// A config with `/images/` (GET/HEAD) and `/upload/` (PUT/DELETE) on domain
/// `imgs` of the given trackers, as the demo uses.
pub fn mog_config(trackers: &[SocketAddr], options: &MogOptions) -> String {
    let mut text = dfs_gateway::demo::config_text("127.0.0.1:0".parse().unwrap(), trackers);
    if let Some(max) = &options.max_body_size {
        text = text.replace(
            "[server]\n",
            &format!("[server]\nmax_body_size = \"{max}\"\n"),
        );
    }
    // Short time-outs keep failure tests quick, and the object cache is off;
    // `upstream_extra` overrides either.
    let mut upstream = String::new();
    for default in [
        "connect_timeout = \"300ms\"",
        "reply_timeout = \"3s\"",
        "storage_timeout = \"5s\"",
        // Off unless a test turns it on: most tests count storage reads.
        "object_cache = { size = \"0\" }",
    ] {
        let key = default.split(' ').next().unwrap_or_default();
        if !options.upstream_extra.contains(key) {
            upstream.push_str(default);
            upstream.push('\n');
        }
    }
    upstream.push_str(&options.upstream_extra);
    let text = format!("{text}\n{}", options.extra_tables);
    text.replace(
        "protocol = \"mogilefs\"\n",
        &format!("protocol = \"mogilefs\"\n{upstream}\n"),
    )
}

/// A MogileFS cluster with a gateway in front, and an HTTP client.
pub struct MogEnv {
    /// The cluster (1 tracker, 2 nodes unless configured otherwise).
    pub cluster: MogCluster,
    /// The gateway.
    pub gateway: Gateway,
    /// A plain HTTP client.
    pub http: reqwest::Client,
}

impl MogEnv {
    /// Default cluster: 1 tracker, 2 storage nodes, domain `imgs`, class `photos` (2 copies).
    pub async fn start() -> MogEnv {
        Self::start_with(1, &MogOptions::default()).await
    }

    /// A cluster with `trackers` trackers and the given gateway options.
    pub async fn start_with(trackers: usize, options: &MogOptions) -> MogEnv {
        let cluster = Self::cluster(trackers).await;
        let addrs = cluster.tracker_addrs();
        Self::with_cluster(cluster, &addrs, options).await
    }

    /// The default cluster shape with `trackers` trackers, no gateway yet.
    pub async fn cluster(trackers: usize) -> MogCluster {
        init_tracing();
        MogCluster::builder()
            .trackers(trackers)
            .nodes(2)
            .domain("imgs")
            .class("imgs", "photos", 2)
            .build()
            .await
            .expect("devcluster starts")
    }

    /// A gateway in front of `cluster`, reaching it through `trackers`
    /// (e.g. fault proxies).
    pub async fn with_cluster(
        cluster: MogCluster,
        trackers: &[SocketAddr],
        options: &MogOptions,
    ) -> MogEnv {
        let gateway = Gateway::start(&mog_config(trackers, options)).await;
        MogEnv {
            cluster,
            gateway,
            http: client(),
        }
    }

    /// URL of a key under `/images/`.
    pub fn image(&self, key: &str) -> String {
        self.gateway.url(&format!("/images/{key}"))
    }

    /// URL of a key under `/upload/`.
    pub fn upload(&self, key: &str) -> String {
        self.gateway.url(&format!("/upload/{key}"))
    }

    /// PUTs `data` to `/upload/<key>` and returns the status.
    pub async fn put(&self, key: &str, data: impl Into<reqwest::Body>) -> u16 {
        let response = self
            .http
            .put(self.upload(key))
            .body(data)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }

    /// GETs `/images/<key>`: status and body.
    pub async fn get(&self, key: &str) -> (u16, Bytes) {
        let response = self.http.get(self.image(key)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap_or_default())
    }
}

/// An HTTP client that never uses a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// A `width`×`height` JPEG of a gradient (so it is not trivially
/// compressible), made in code: the thumbnail and access tests' source image.
pub fn gradient_jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([x as u8, y as u8, (x ^ y) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("a JPEG encodes into memory");
    out.into_inner()
}

/// Deterministic test content: byte `i` of object `seed`.
pub fn byte_at(seed: u64, i: u64) -> u8 {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed.wrapping_mul(0xD1B5_4A32_D192_ED03);
    (x >> 29) as u8
}

/// `len` bytes of deterministic content.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| byte_at(seed, i)).collect()
}

/// `len` bytes of [`pattern`] content generated on the fly in 64 KiB chunks,
/// so huge uploads need no memory.
pub fn pattern_stream(seed: u64, len: u64) -> reqwest::Body {
    const CHUNK: u64 = 64 * 1024;
    let chunks = stream::iter((0..len.div_ceil(CHUNK)).map(move |c| {
        let start = c * CHUNK;
        let end = (start + CHUNK).min(len);
        let data: Vec<u8> = (start..end).map(|i| byte_at(seed, i)).collect();
        Ok::<Bytes, io::Error>(Bytes::from(data))
    }));
    reqwest::Body::wrap_stream(chunks)
}

/// Resident set size of this process, in bytes (Linux).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
