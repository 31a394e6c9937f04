//! The cluster status page against devcluster (one MogileFS and one FastDFS
//! cluster behind one gateway):
//! - `/_status.json` lists each upstream's trackers (up, latency), the
//!   MogileFS hosts, devices and domains/classes, the FastDFS groups and
//!   storages, and the gateway's own figures;
//! - `/_status` is HTML with those hosts, devices and storages;
//! - a tracker that is down shows as an error on the page (still a 200),
//!   while the cluster view comes from the tracker that answered;
//! - headless Chromium renders the page's hosts and devices (and saves a
//!   screenshot under `target/` for humans).

use devcluster::fastdfs::FdfsCluster;
use devcluster::mogilefs::MogCluster;
use dfs_e2e::fastdfs::{FdfsEnv, FdfsOptions};
use dfs_e2e::{client, Gateway, MogEnv};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

struct Clusters {
    mog: MogCluster,
    fdfs: FdfsCluster,
    gateway: Gateway,
}

/// Both clusters behind one gateway; FastDFS also lists `extra_fdfs` trackers.
async fn start(extra_fdfs: &[SocketAddr]) -> Clusters {
    let mog = MogEnv::cluster(1).await;
    let fdfs = FdfsEnv::cluster(&FdfsOptions::default()).await;
    let fdfs_trackers = [fdfs.tracker_addrs(), extra_fdfs.to_vec()].concat();
    let config = format!(
        "{}{}",
        dfs_gateway::demo::config_text("127.0.0.1:0".parse().unwrap(), &mog.tracker_addrs()),
        dfs_gateway::demo::fastdfs_config_text(&fdfs_trackers)
    )
    .replace(
        "protocol = \"fastdfs\"\n",
        "protocol = \"fastdfs\"\nconnect_timeout = \"300ms\"\nreply_timeout = \"1s\"\n",
    );
    let gateway = Gateway::start(&config).await;
    Clusters { mog, fdfs, gateway }
}

impl Clusters {
    async fn stop(self) {
        self.gateway.stop().await;
        self.mog.shutdown().await;
        self.fdfs.shutdown().await;
    }
}

async fn json(url: &str) -> Value {
    let response = client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

fn bounded<T>(test: impl std::future::Future<Output = T>) -> impl std::future::Future<Output = T> {
    dfs_e2e::fastdfs::bounded(Duration::from_secs(60), test)
}

#[tokio::test]
async fn json_describes_both_clusters() {
    bounded(async {
        let c = start(&[]).await;
        let report = json(&c.gateway.url("/_status.json")).await;
        let mog = &report["upstreams"][0];
        assert_eq!(mog["name"], "mog");
        assert_eq!(mog["trackers"][0]["up"], true);
        assert!(mog["trackers"][0]["latency_ms"].as_f64().unwrap() >= 0.0);
        let view = &mog["cluster"]["mogilefs"];
        assert_eq!(view["hosts"].as_array().unwrap().len(), 2);
        let devices = view["devices"].as_array().unwrap();
        assert!(!devices.is_empty());
        assert!(devices.iter().all(|d| d["status"] == "alive"));
        let imgs = view["domains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "imgs")
            .expect("domain imgs");
        let photos = imgs["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "photos")
            .expect("class photos");
        assert_eq!(photos["mindevcount"], 2);

        let fdfs = &report["upstreams"][1];
        assert_eq!(fdfs["protocol"], "fastdfs");
        let group = &fdfs["cluster"]["fastdfs"]["groups"][0];
        assert_eq!(group["name"], "group1");
        let storages = group["storages"].as_array().unwrap();
        assert_eq!(storages.len(), 2);
        assert!(storages.iter().all(|s| s["status"] == "ACTIVE"));
        assert!(storages
            .iter()
            .all(|s| s["last_heartbeat"].as_i64() > Some(0)));
        let gateway = &report["gateway"];
        assert_eq!(gateway["version"], env!("CARGO_PKG_VERSION"));
        assert!(gateway["in_flight"].as_i64().unwrap() >= 1, "this request");
        assert!(gateway["requests_per_second"].as_f64().is_some());
        c.stop().await;
    })
    .await;
}

#[tokio::test]
async fn html_page_lists_hosts_devices_and_storages() {
    bounded(async {
        let c = start(&[]).await;
        let response = client()
            .get(c.gateway.url("/_status"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let page = response.text().await.unwrap();
        for wanted in [
            "id=\"hosts-mog\"",
            "id=\"devices-mog\"",
            "id=\"domains-mog\"",
            "photos",
        ] {
            assert!(page.contains(wanted), "{wanted} missing");
        }
        for host in c.mog.nodes() {
            assert!(page.contains(&host.addr().ip().to_string()), "host address");
        }
        assert!(page.contains("id=\"storages-fdfs-group1\""));
        assert!(page.contains(&c.fdfs.storage("group1", 1).ip().to_string()));
        assert!(!page.contains("<script"), "no script on the page");
        c.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_dead_tracker_is_an_error_on_the_page() {
    bounded(async {
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let c = start(&[dead]).await;
        let report = json(&c.gateway.url("/_status.json")).await;
        let fdfs = &report["upstreams"][1];
        let trackers = fdfs["trackers"].as_array().unwrap();
        assert_eq!(trackers.len(), 2);
        assert_eq!(trackers[0]["error"], Value::Null);
        assert_eq!(trackers[1]["up"], false);
        assert!(trackers[1]["error"].as_str().unwrap().contains("connect"));
        assert!(
            fdfs["cluster"]["fastdfs"]["groups"][0].is_object(),
            "from the live tracker"
        );
        let page = client()
            .get(c.gateway.url("/_status"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains(&dead.to_string()) && page.contains("connect"));
        c.stop().await;
    })
    .await;
}

/// Runs headless Chromium (`chromium` or `chromium-browser`, whichever
/// build.rs found) with `args`, killed after 60 s.
async fn chromium(args: &[String]) -> std::process::Output {
    let binary = dfs_e2e::browser::chromium().expect("chromium or chromium-browser on PATH");
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(binary);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("chromium finished within 60 s")
        .expect("chromium runs")
}

#[tokio::test]
#[cfg_attr(not(has_chromium), ignore = "chromium not installed")]
async fn chromium_renders_hosts_and_devices() {
    bounded(async {
        let c = start(&[]).await;
        let url = c.gateway.url("/_status");
        let out = chromium(&["--dump-dom".into(), url.clone()]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(dom.contains("<table id=\"hosts-mog\">"), "{dom}");
        assert!(dom.contains("<table id=\"devices-mog\">"));
        let node = c.mog.nodes()[0].addr().ip().to_string();
        assert!(dom.contains(&node), "a host's address is rendered");
        assert!(dom.contains("dev1"), "a device is rendered");
        assert!(dom.contains("<table id=\"storages-fdfs-group1\">"));
        let shot = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/status-page.png");
        let out = chromium(&[
            format!("--screenshot={shot}"),
            "--window-size=1280,1400".into(),
            url,
        ])
        .await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            std::fs::metadata(shot).unwrap().len() > 1000,
            "a screenshot was saved"
        );
        c.stop().await;
    })
    .await;
}
