//! `fastdfs_conf = "mod_fastdfs.conf"` on a location, with the `http.conf`
//! it includes, as a site running fastdfs-nginx-module has them:
//! - group (`url_have_group_name = false`), store paths and the anti-steal
//!   settings are read into the location; knobs the gateway does not carry
//!   over are reported as notes; a missing file is an error naming the key;
//! - a GET then works as the module's would: group-less URL, served from the
//!   local store path, token checked (403 without);
//! - with `url_have_group_name = true` URLs keep the group, and
//!   `http.anti_steal.token_check_fail` serves its file on a bad token.

use dfs_e2e::fastdfs::{
    bounded, fdfs_config, now_ts, token_query, toml_path, FdfsEnv, FdfsOptions,
};
use dfs_e2e::pattern;
use dfs_gateway::config::Config;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);
const SECRET: &str = "FastDFS1234567890";

/// Writes `mod_fastdfs.conf` (first lines `head`) and the `http.conf` it
/// includes (extra lines `http_extra`) into `dir`; returns the former's path.
fn write_conf(dir: &Path, head: &str, store: &Path, http_extra: &str) -> PathBuf {
    let module = format!(
        "# mod_fastdfs.conf as fastdfs-nginx-module ships it, trimmed\n\
         connect_timeout=2\nnetwork_timeout=30\nbase_path=/tmp\n\
         load_fdfs_parameters_from_tracker=true\nstorage_sync_file_max_delay = 86400\n\
         use_storage_id = false\ntracker_server=127.0.0.1:22122\nstorage_server_port=23000\n\
         {head}\nstore_path0={}\nlog_level=info\nlog_filename=\nresponse_mode=proxy\n\
         if_alias_prefix=\nflv_support = true\nflv_extension = flv\n\
         #include http.conf\n",
        store.display()
    );
    let http = format!(
        "http.default_content_type = application/octet-stream\n\
         http.mime_types_filename = mime.types\n\
         http.anti_steal.check_token = true\nhttp.anti_steal.token_ttl = 900\n\
         http.anti_steal.secret_key = {SECRET}\n{http_extra}\n"
    );
    std::fs::write(dir.join("http.conf"), http).unwrap();
    let path = dir.join("mod_fastdfs.conf");
    std::fs::write(&path, module).unwrap();
    path
}

/// The gateway config with `fastdfs_conf = <path>` on the `/` location.
fn options(conf: &Path) -> FdfsOptions {
    FdfsOptions {
        read_extra: format!("fastdfs_conf = {}", toml_path(conf)),
        ..Default::default()
    }
}

#[tokio::test]
async fn settings_come_from_mod_fastdfs_conf() {
    bounded(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let cluster = FdfsEnv::cluster(&FdfsOptions::default()).await;
        let store = cluster.storage("group1", 0).store_path().to_owned();
        let conf = write_conf(
            dir.path(),
            "group_name=group1\nurl_have_group_name = false\nstore_path_count=1",
            &store,
            "",
        );
        let options = options(&conf);
        let text = fdfs_config(&cluster.tracker_addrs(), &options);
        let config = Config::parse(&text).expect("the config with fastdfs_conf parses");
        let location = config
            .locations
            .iter()
            .map(|l| l.get_ref())
            .find(|l| l.prefix == "/")
            .unwrap();
        assert_eq!(location.group.as_deref(), Some("group1"));
        assert_eq!(location.store_paths, Some(vec![store.clone()]));
        let token = location.token.as_ref().expect("the token settings");
        assert_eq!(token.secret, SECRET);
        assert_eq!(token.ttl.0, Duration::from_secs(900));
        assert!(location.token_check_fail.is_none());
        assert!(
            config.notes.iter().any(|n| n.contains("flv_support")),
            "{:?}",
            config.notes
        );
        assert!(
            !config.notes.iter().any(|n| n.contains("tracker_server")),
            "{:?}",
            config.notes
        );

        let env = FdfsEnv::with_cluster(cluster, &options).await;
        let data = pattern(91, 6000);
        let id = env.upload(data.clone(), "jpg").await;
        let remote = id.remote_name();
        let before: u64 = env.storage_requests("group1").iter().sum();
        let query = token_query(&id, SECRET, now_ts());
        let (status, body) = env.get(&format!("/{remote}?{query}")).await;
        assert_eq!(status, 200);
        assert!(body == data);
        let after: u64 = env.storage_requests("group1").iter().sum();
        assert_eq!(after, before, "not served from the store path");
        assert_eq!(env.get(&format!("/{remote}")).await.0, 403);
        env.stop().await;
    })
    .await;
}

#[tokio::test]
async fn group_in_urls_and_token_check_fail_from_http_conf() {
    bounded(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let denied = dir.path().join("denied.jpg");
        std::fs::write(&denied, b"denied").unwrap();
        let cluster = FdfsEnv::cluster(&FdfsOptions::default()).await;
        let store = cluster.storage("group1", 0).store_path().to_owned();
        let conf = write_conf(
            dir.path(),
            "group_name=group1\nurl_have_group_name = true\nstore_path_count=1",
            &store,
            &format!("http.anti_steal.token_check_fail = {}", denied.display()),
        );
        let env = FdfsEnv::with_cluster(cluster, &options(&conf)).await;
        let data = pattern(92, 6000);
        let id = env.upload(data.clone(), "jpg").await;
        let query = token_query(&id, SECRET, now_ts());
        let (status, body) = env.get(&format!("/{id}?{query}")).await;
        assert_eq!(status, 200);
        assert!(body == data);
        let (status, body) = env.get(&format!("/{id}")).await;
        assert_eq!((status, &body[..]), (200, &b"denied"[..]));
        env.stop().await;
    })
    .await;
}

#[test]
fn a_missing_mod_fastdfs_conf_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.conf");
    let addr = "127.0.0.1:22122".parse().unwrap();
    let text = fdfs_config(&[addr], &options(&missing));
    let error = Config::parse(&text).unwrap_err().to_string();
    assert!(error.contains("fastdfs_conf"), "{error}");
    assert!(error.contains("missing.conf"), "{error}");
}
