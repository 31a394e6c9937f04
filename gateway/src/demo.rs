//! `dfs-gateway demo`: a MogileFS cluster in this process (one tracker, two
//! storage nodes, domain `imgs` whose classes keep two copies) with the gateway
//! in front of it on `/images/` and `/upload/`, plus ready-to-paste curl lines.

use crate::config::Config;
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

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(listen: SocketAddr, data_dir: Option<PathBuf>) -> io::Result<()> {
    let mut builder = MogCluster::builder()
        .trackers(1)
        .nodes(2)
        .domain("imgs")
        .class("imgs", "photos", 2);
    if let Some(dir) = data_dir {
        std::fs::create_dir_all(&dir)?;
        builder = builder.data_dir(dir);
    }
    let cluster = builder.build().await?;
    let text = config_text(listen, &cluster.tracker_addrs());
    let config = Config::parse(&text).map_err(io::Error::other)?;
    let listener = TcpListener::bind(listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    print_banner(&base, &cluster);
    crate::run(listener, config, crate::shutdown_signal()).await?;
    cluster.shutdown().await;
    println!("demo stopped");
    Ok(())
}

fn print_banner(base: &str, cluster: &MogCluster) {
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
         \x20 curl -i {base}/images/a.txt     # 404 now\n",
        trackers = trackers.join(", "),
        nodes = nodes.join(", ")
    );
}
