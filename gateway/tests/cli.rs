//! The `fid-info` and `status` commands, run as the binary:
//! - `fid-info` decodes captured file IDs of a real FastDFS 6.16 cluster to
//!   the fields its storage reported for them (QUERY_FILE_INFO), appender and
//!   slave IDs included; a bad ID exits 1 with the ID named;
//! - `status --config` asks devcluster's trackers itself (no gateway running)
//!   and prints hosts, devices, groups and storages; a config it cannot read
//!   exits 1.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dfs-gateway"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn fid_info_decodes_a_captured_id() {
    // The storage answered QUERY_FILE_INFO for it: size=22
    // ctime=1795272372 crc32=0x6549c5b9 source=127.0.0.2.
    let text = stdout(&run(&[
        "fid-info",
        "group1/M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt",
    ]));
    for line in [
        "group name: group1",
        "file type: normal",
        "source ip address: 127.0.0.2",
        "file create timestamp: 2026-11-21 14:46:12 UTC (1795272372)",
        "file size: 22",
        "file crc32: 1699333561 (0x6549c5b9)",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from\n{text}"
        );
    }
}

#[test]
fn fid_info_names_appenders_and_slaves() {
    let appender = stdout(&run(&[
        "fid-info",
        "group2/M00/00/02/fwAABGsBrryEKliPAAAAAGVJxbk009.txt",
    ]));
    assert!(appender.contains("file type: appender"), "{appender}");
    assert!(appender.contains("source ip address: 127.0.0.4"));
    assert!(appender.contains("file size: unknown"));
    let slave = stdout(&run(&[
        "fid-info",
        "group2/M00/00/02/fwAABGsBrsWAd7qBAAAAFmVJxbk796_big.txt",
    ]));
    assert!(slave.contains("file type: slave"), "{slave}");
    let bad = run(&["fid-info", "group1/M00/00/01/short.txt"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("group1/M00/00/01/short.txt"));
}

#[cfg(feature = "demo")]
#[tokio::test(flavor = "multi_thread")]
async fn status_asks_the_trackers_itself() {
    let mog = devcluster::mogilefs::MogCluster::builder()
        .nodes(2)
        .domain("imgs")
        .build()
        .await
        .unwrap();
    let fdfs = devcluster::fastdfs::FdfsCluster::builder()
        .group("group1", 2)
        .build()
        .await
        .unwrap();
    let config = format!(
        "{}{}",
        dfs_gateway::demo::config_text("127.0.0.1:0".parse().unwrap(), &mog.tracker_addrs()),
        dfs_gateway::demo::fastdfs_config_text(&fdfs.tracker_addrs())
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    std::fs::write(&path, config).unwrap();
    let path = path.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || run(&["status", "--config", &path]))
        .await
        .unwrap();
    let text = stdout(&out);
    let node = mog.nodes()[0].addr();
    for wanted in [
        "upstream mog (mogilefs)",
        "upstream fdfs (fastdfs)",
        "DEVICE",
        "dev1",
        "group group1: 2/2 writable",
        "ACTIVE",
    ] {
        assert!(text.contains(wanted), "{wanted:?} missing from\n{text}");
    }
    assert!(text.contains(&node.ip().to_string()), "{text}");
    let missing = run(&["status", "--config", "/nonexistent/gw.toml"]);
    assert_eq!(missing.status.code(), Some(1));
    mog.shutdown().await;
    fdfs.shutdown().await;
}
