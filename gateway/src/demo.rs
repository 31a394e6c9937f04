//! `dfs-gateway demo`: a MogileFS cluster in this process (one tracker, two
//! storage nodes, domain `imgs` whose classes keep two copies) and a FastDFS
//! cluster (one tracker, group1 with two storage servers), with the gateway in
//! front on `/images/` + `/upload/` and `/group1/M00/...` + `/fdfs/`, plus
//! ready-to-paste curl lines.

use crate::config::Config;
use devcluster::fastdfs::FdfsCluster;
use devcluster::mogilefs::MogCluster;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;

/// The gateway config the demo runs with, for the cluster's tracker addresses.
pub fn config_text(listen: SocketAddr, mog_trackers: &[SocketAddr]) -> String {
    let trackers: Vec<String> = mog_trackers.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        r#"[server]
listen = "{listen}"

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

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(listen: SocketAddr, data_dir: Option<PathBuf>) -> io::Result<()> {
    let mut mog = MogCluster::builder()
        .trackers(1)
        .nodes(2)
        .domain("imgs")
        .class("imgs", "photos", 2);
    let mut fdfs = FdfsCluster::builder().group("group1", 2).trackers(1);
    if let Some(dir) = data_dir {
        std::fs::create_dir_all(dir.join("mogilefs"))?;
        std::fs::create_dir_all(dir.join("fastdfs"))?;
        mog = mog.data_dir(dir.join("mogilefs"));
        fdfs = fdfs.data_dir(dir.join("fastdfs"));
    }
    let cluster = mog.build().await?;
    let fdfs = fdfs.build().await?;
    let text =
        config_text(listen, &cluster.tracker_addrs()) + &fastdfs_config_text(&fdfs.tracker_addrs());
    let config = Config::parse(&text).map_err(io::Error::other)?;
    let listener = TcpListener::bind(listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    print_banner(&base, &cluster, &fdfs);
    crate::run(listener, config, crate::shutdown_signal()).await?;
    cluster.shutdown().await;
    fdfs.shutdown().await;
    println!("demo stopped");
    Ok(())
}

fn print_banner(base: &str, cluster: &MogCluster, fdfs: &FdfsCluster) {
    let nodes: Vec<String> = cluster
        .node_addrs()
        .iter()
        .map(ToString::to_string)
        .collect();
    let trackers: Vec<String> = cluster
        .tracker_addrs()
        .iter()
        .map(ToString::to_string)
        .collect();
    println!(
        "\ndfs-gateway demo is running (Ctrl-C to stop)\n\
         MogileFS tracker: {trackers}; storage nodes: {nodes}; domain imgs, class photos (2 copies)\n\n\
         Try:\n\
         \x20 echo 'hello from dfs-gateway' > f.txt\n\
         \x20 curl -i -X PUT -T f.txt {base}/upload/a.txt\n\
         \x20 curl -i {base}/images/a.txt\n\
         \x20 curl -i -H 'Range: bytes=0-4' {base}/images/a.txt\n\
         \x20 curl -i -X DELETE {base}/upload/a.txt\n\
         \x20 curl -i {base}/images/a.txt     # 404 now\n\n\
         FastDFS tracker: {fdfs_trackers}; group1 with 2 storage servers\n\n\
         Try:\n\
         \x20 curl -s -X POST --data-binary @f.txt '{base}/fdfs/?ext=txt'   # -> {{\"file_id\": \"group1/M00/...\", ...}}\n\
         \x20 curl -i {base}/<file_id>\n\
         \x20 curl -i -X DELETE {base}/fdfs/<file_id>\n",
        trackers = trackers.join(", "),
        fdfs_trackers = fdfs.tracker_addrs().iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        nodes = nodes.join(", ")
    );
}
