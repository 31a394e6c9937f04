//! Imports of whole nginx configurations:
//! - the module's own example and a typical read/upload pair give TOML that
//!   `Config::parse` accepts, with trackers, domain, class, methods, timeouts
//!   and body limits carried over;
//! - `upstream {}` blocks of trackers, `include`d files, inherited settings;
//! - warnings for key templates, variables, guessed regex prefixes and
//!   directives with no equivalent; errors for bad syntax and no module use;
//! - FastDFS locations with mod_fastdfs.conf and http.conf (trackers, group,
//!   store paths, token, token_check_fail), all accepted by `Config::parse`;
//!   with the file missing (or without tracker_server) the upstream has no
//!   tracker, which `Config::parse` refuses;
//! - a regex or prefix location naming a few groups (`/group[1-3]/M00`,
//!   `/group1/M00`) becomes one location per group, the local store paths in
//!   the local group's; an unbounded one (`[0-9]+`) one location for all;
//! - the stock `http.multi_range.enabed` spelling is known, on import and in
//!   `fastdfs_conf`;
//! - the inputs the fuzzer found (`fuzz/regressions/import_nginx/`) import
//!   to TOML that parses.

use super::*;
use crate::config::{Config, Method, Protocol};
use std::path::PathBuf;
use std::time::Duration;

fn import_ok(conf: &str) -> Imported {
    import(conf, Path::new("/nonexistent")).expect("imports")
}

fn parse(imported: &Imported) -> Config {
    Config::parse(&imported.toml).unwrap_or_else(|e| panic!("{e}\n{}", imported.toml))
}

fn has_warning(imported: &Imported, needle: &str) -> bool {
    imported.warnings.iter().any(|w| w.contains(needle))
}

#[test]
fn the_modules_own_example() {
    let conf = r#"
        error_log  logs/error.log notice;
        http {
            include       mime.types;
            default_type  application/octet-stream;
            server {
                listen       80;
                location /download/ {
                    mogilefs_tracker 192.168.2.2;
                    mogilefs_pass {
                        proxy_pass $mogilefs_path;
                        proxy_hide_header Content-Type;
                        proxy_buffering off;
                    }
                }
            }
        }
    "#;
    let imported = import_ok(conf);
    let config = parse(&imported);
    let location = config.locations[0].get_ref();
    assert_eq!(location.prefix, "/download/");
    assert_eq!(
        location.domain.as_deref(),
        Some("default"),
        "the module's default domain"
    );
    assert_eq!(location.methods, [Method::Get, Method::Head]);
    let upstream = config.upstream(&location.upstream).unwrap();
    assert_eq!(
        upstream.trackers,
        ["192.168.2.2:6001"],
        "the module's default port is 6001"
    );
    assert!(
        imported.toml.contains("listened on 80"),
        "{}",
        imported.toml
    );
    // Only the unreadable `include mime.types` is worth a warning.
    assert_eq!(imported.warnings.len(), 1, "{:?}", imported.warnings);
    assert!(imported.warnings[0].contains("include mime.types"));
}

const TYPICAL: &str = r#"
http {
    upstream trackers {
        server 10.0.0.1:7001 fail_timeout=3s;
        server 10.0.0.2:7001;
        keepalive 8;
    }
    mogilefs_tracker trackers;
    mogilefs_domain imgs;
    client_max_body_size 256m;
    server {
        listen 8080;
        mogilefs_connect_timeout 2s;
        location /images/ {
            mogilefs_noverify on;
            mogilefs_pass {
                proxy_pass $mogilefs_path;
                proxy_read_timeout 20s;
                proxy_intercept_errors on;
                error_page 404 502 504 = @fallback;
            }
        }
        location @fallback { proxy_pass $mogilefs_path1; }
        include conf.d/upload.conf;
        location / { proxy_pass http://app:3000; add_header X-App 1; }
    }
}
"#;

const UPLOAD: &str = r#"
location /upload/ {
    mogilefs_class photos;
    mogilefs_methods PUT DELETE;
    mogilefs_read_timeout 5s;
    mogilefs_pass {
        proxy_pass $mogilefs_path;
    }
}
"#;

#[test]
fn a_typical_site_with_an_upstream_block_and_an_include() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    std::fs::write(dir.path().join("conf.d/upload.conf"), UPLOAD).unwrap();
    let imported = import(TYPICAL, dir.path()).unwrap();
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let config = parse(&imported);
    assert_eq!(
        config.locations.len(),
        2,
        "the plain proxy location is not the module's"
    );
    let images = config.locations[0].get_ref();
    let upload = config.locations[1].get_ref();
    assert_eq!(
        (images.prefix.as_str(), images.domain.as_deref()),
        ("/images/", Some("imgs"))
    );
    assert!(images.noverify);
    assert_eq!(
        images.max_body_size, None,
        "only upload locations carry a body limit"
    );
    assert_eq!(
        (upload.prefix.as_str(), upload.class.as_deref()),
        ("/upload/", Some("photos"))
    );
    assert_eq!(upload.methods, [Method::Put, Method::Delete]);
    assert_eq!(upload.max_body_size.map(|b| b.0), Some(256 << 20));

    // Different tracker timeouts per location make two upstreams of the same trackers.
    let (a, b) = (
        config.upstream(&images.upstream).unwrap(),
        config.upstream(&upload.upstream).unwrap(),
    );
    assert_eq!(images.upstream, "trackers");
    assert_eq!(a.trackers, ["10.0.0.1:7001", "10.0.0.2:7001"]);
    assert_eq!(a.fail_timeout.0, Duration::from_secs(3));
    assert_eq!(a.connect_timeout.0, Duration::from_secs(2));
    assert_eq!(a.storage_timeout.0, Duration::from_secs(20));
    assert_eq!(b.trackers, a.trackers);
    assert_eq!(b.reply_timeout.0, Duration::from_secs(5));
    assert_ne!(images.upstream, upload.upstream);
    assert!(
        imported
            .toml
            .contains("# conf.d/upload.conf:2: location /upload/"),
        "{}",
        imported.toml
    );
}

#[test]
fn what_cannot_be_carried_over_is_warned_about() {
    let conf = r#"
        server {
            mogilefs_tracker 127.0.0.1:7001;
            location /bykey {
                mogilefs_class $arg_class;
                mogilefs_methods get put GET;
                mogilefs_pass $arg_key { proxy_pass $mogilefs_path; proxy_set_header X-A b; }
                add_header X-Served-By nginx;
            }
            location ~ ^/thumbs/(.*)$ { mogilefs_pass { proxy_pass $mogilefs_path; } }
            location = /exact { mogilefs_pass { proxy_pass $mogilefs_path; } }
            location /dyn/ { mogilefs_tracker $tracker; mogilefs_pass { proxy_pass $mogilefs_path; } }
            location /unlimited/ {
                client_max_body_size 0;
                mogilefs_methods put;
                mogilefs_pass { proxy_pass $mogilefs_path; }
            }
        }
    "#;
    let imported = import_ok(conf);
    for needle in [
        ":7: `mogilefs_pass $arg_key`: key templates are not supported",
        ":5: `mogilefs_class $arg_class`: class templates",
        ":7: `proxy_set_header X-A b`: not carried over",
        ":8: `add_header X-Served-By nginx`: not carried over",
        ":4: location /bykey: the module's keys began",
        ":10: location ~ ^/thumbs/(.*)$: regex location imported as prefix \"/thumbs/\"",
        ":11: location = /exact: only prefix and regex locations",
        ":12: `mogilefs_tracker $tracker`: a tracker chosen per request",
        ":14: `client_max_body_size 0`: unlimited bodies",
    ] {
        assert!(
            has_warning(&imported, needle),
            "missing {needle:?} in {:#?}",
            imported.warnings
        );
    }
    assert_eq!(imported.warnings.len(), 9, "{:#?}", imported.warnings);
    let config = parse(&imported);
    let prefixes: Vec<&str> = config
        .locations
        .iter()
        .map(|l| l.get_ref().prefix.as_str())
        .collect();
    assert_eq!(prefixes, ["/bykey/", "/thumbs/", "/unlimited/"]);
    let bykey = config.locations[0].get_ref();
    assert_eq!(bykey.class, None);
    assert_eq!(bykey.methods, [Method::Get, Method::Head, Method::Put]);
    assert!(
        imported.toml.contains("default client_max_body_size is 1m"),
        "{}",
        imported.toml
    );
}

#[test]
fn a_second_location_with_the_same_prefix_is_dropped() {
    let conf = r#"
        server { listen 80; location /a/ { mogilefs_tracker 10.0.0.1:7001; mogilefs_pass { proxy_pass $mogilefs_path; } } }
        server { listen 81; location /a/ { mogilefs_tracker 10.0.0.9:7001; mogilefs_pass { proxy_pass $mogilefs_path; } } }
    "#;
    let imported = import_ok(conf);
    assert!(
        has_warning(
            &imported,
            "prefix \"/a/\" was already imported from nginx.conf:2"
        ),
        "{:?}",
        imported.warnings
    );
    let config = parse(&imported);
    assert_eq!(config.upstreams.len(), 1);
    assert!(imported.toml.contains("listened on 80") && imported.toml.contains("listened on 81"));
}

#[test]
fn bad_input_is_an_error() {
    let err = import(
        "http { server { location /a/ { mogilefs_pass {",
        Path::new("."),
    )
    .unwrap_err();
    assert!(
        matches!(&err, ImportError::Syntax { origin, .. } if origin.line == 1),
        "{err}"
    );
    let err = import(
        "http { server { location / { root /srv; } } }",
        Path::new("."),
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::NothingToImport));
}

const MOD_FASTDFS: &str = "\
connect_timeout=2
network_timeout=30
base_path=/tmp
load_fdfs_parameters_from_tracker=true
tracker_server=10.0.0.5:22122
tracker_server=10.0.0.6:22122
storage_server_port=23000
group_name=group1
url_have_group_name = true
store_path_count=2
store_path0=/data/fastdfs0
store_path1=/data/fastdfs1
log_level=info
response_mode=redirect
#include http.conf
flv_support = false
group_count = 0
";

const HTTP_CONF: &str = "\
http.default_content_type = application/octet-stream
http.mime_types_filename = mime.types
http.anti_steal.check_token = true
http.anti_steal.token_ttl = 900
http.anti_steal.secret_key = FastDFS1234567890
http.anti_steal.token_check_fail = @DIR@/anti-steal.jpg
http.multi_range.enabled = true
";

/// mod_fastdfs.conf, the http.conf it includes and the anti-steal image.
fn fastdfs_dir(mod_fastdfs: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let http_conf = HTTP_CONF.replace("@DIR@", &dir.path().display().to_string());
    std::fs::write(dir.path().join("mod_fastdfs.conf"), mod_fastdfs).unwrap();
    std::fs::write(dir.path().join("http.conf"), http_conf).unwrap();
    std::fs::write(dir.path().join("anti-steal.jpg"), "jpeg").unwrap();
    dir
}

fn import_fastdfs(conf: &str, dir: &Path) -> Imported {
    let options = ImportOptions {
        source_name: Some("site.conf".into()),
        fastdfs_conf: Some(dir.join("mod_fastdfs.conf")),
    };
    import_with(conf, Path::new("/nonexistent"), &options).unwrap()
}

#[test]
fn fastdfs_locations_take_their_settings_from_mod_fastdfs_conf() {
    let dir = fastdfs_dir(MOD_FASTDFS);
    let conf = "server { listen 8888; location ~ /group[0-9]+/M00 { root /data/fastdfs0/data; ngx_fastdfs_module; } }";
    let imported = import_fastdfs(conf, dir.path());
    let config = parse(&imported);
    let location = config.locations[0].get_ref();
    let upstream = config.upstream(&location.upstream).unwrap();
    assert_eq!(upstream.protocol, Protocol::Fastdfs);
    assert_eq!(upstream.trackers, ["10.0.0.5:22122", "10.0.0.6:22122"]);
    assert_eq!(upstream.connect_timeout.0, Duration::from_secs(2));
    assert_eq!(upstream.reply_timeout.0, Duration::from_secs(30));
    assert_eq!(
        (location.prefix.as_str(), location.group.as_deref()),
        ("/", None),
        "URLs carry the group"
    );
    assert_eq!(location.methods, [Method::Get, Method::Head]);
    let paths = location.store_paths.clone().unwrap();
    assert_eq!(
        paths,
        [
            PathBuf::from("/data/fastdfs0"),
            PathBuf::from("/data/fastdfs1")
        ]
    );
    let token = location.token.as_ref().unwrap();
    assert_eq!(
        (token.secret.as_str(), token.ttl.0),
        ("FastDFS1234567890", Duration::from_secs(900))
    );
    assert_eq!(
        location.token_check_fail,
        Some(dir.path().join("anti-steal.jpg"))
    );
    assert!(!location.allow_ts_zero, "offered only as a comment");
    assert!(
        imported.toml.contains("ttl = \"900s\""),
        "seconds, as http.conf had them"
    );
    for needle in [
        "`response_mode = redirect`",
        "`http.multi_range.enabled = true`",
    ] {
        assert!(
            has_warning(&imported, needle),
            "missing {needle:?} in {:#?}",
            imported.warnings
        );
    }
    assert_eq!(imported.warnings.len(), 2, "{:#?}", imported.warnings);
}

#[test]
fn fastdfs_without_group_names_in_urls() {
    let conf = MOD_FASTDFS
        .replace("url_have_group_name = true", "url_have_group_name = false")
        .replace("response_mode=redirect", "");
    let dir = fastdfs_dir(&conf);
    let imported = import_fastdfs("location /M00 { ngx_fastdfs_module; }", dir.path());
    let config = parse(&imported);
    let location = config.locations[0].get_ref();
    assert_eq!(
        (location.prefix.as_str(), location.group.as_deref()),
        ("/", Some("group1"))
    );
}

#[test]
fn fastdfs_without_a_readable_mod_fastdfs_conf() {
    let dir = tempfile::tempdir().unwrap();
    let imported = import_fastdfs(
        "location ~ /group[0-9]+/M00 { ngx_fastdfs_module; }",
        dir.path(),
    );
    assert!(
        has_warning(
            &imported,
            "check-config refuses it until its trackers are filled in"
        ),
        "{:?}",
        imported.warnings
    );
    assert!(
        imported.toml.contains("# FIXME: no tracker could be read"),
        "{}",
        imported.toml
    );
    // No made-up tracker that would pass check-config and fail at run time.
    let e = Config::parse(&imported.toml).unwrap_err().to_string();
    assert!(e.starts_with("upstream[0].trackers"), "{e}");
    assert!(e.contains("at least one tracker is required"), "{e}");
    let no_trackers = fastdfs_dir("group_name=group1\nurl_have_group_name = true\n");
    let imported = import_fastdfs("location /M00 { ngx_fastdfs_module; }", no_trackers.path());
    assert!(
        has_warning(&imported, "no tracker_server"),
        "{:?}",
        imported.warnings
    );
    assert!(Config::parse(&imported.toml).is_err(), "{}", imported.toml);
}

#[test]
fn a_regex_naming_groups_serves_only_those_groups() {
    let dir = fastdfs_dir(MOD_FASTDFS);
    let imported = import_fastdfs(
        "server { location ~ /group[1-3]/M00 { ngx_fastdfs_module; } }",
        dir.path(),
    );
    let config = parse(&imported);
    let locations: Vec<(&str, Option<&str>, bool)> = config
        .locations
        .iter()
        .map(|l| {
            let l = l.get_ref();
            (
                l.prefix.as_str(),
                l.group.as_deref(),
                l.store_paths.is_some(),
            )
        })
        .collect();
    assert_eq!(
        locations,
        [
            ("/group1/", Some("group1"), true),
            ("/group2/", Some("group2"), false),
            ("/group3/", Some("group3"), false),
        ],
        "one location per group, the local store paths only in group1's"
    );
    assert_eq!(config.upstreams.len(), 1, "the groups share one upstream");
    for conf in [
        "location ~ ^/(group1|group2)/M00 { ngx_fastdfs_module; }",
        "location ~ /group(1|2)/M0[0-9] { ngx_fastdfs_module; }",
    ] {
        let config = parse(&import_fastdfs(conf, dir.path()));
        let prefixes: Vec<&str> = config
            .locations
            .iter()
            .map(|l| l.get_ref().prefix.as_str())
            .collect();
        assert_eq!(prefixes, ["/group1/", "/group2/"], "{conf}");
    }
    let unbounded = parse(&import_fastdfs(
        "location ~ /group[0-9]+/M00 { ngx_fastdfs_module; }",
        dir.path(),
    ));
    let only = unbounded.locations[0].get_ref();
    assert_eq!((only.prefix.as_str(), only.group.as_deref()), ("/", None));
}

#[test]
fn the_stock_misspelled_multi_range_key_is_recognised() {
    let dir = fastdfs_dir(MOD_FASTDFS);
    let http_conf = std::fs::read_to_string(dir.path().join("http.conf")).unwrap();
    std::fs::write(
        dir.path().join("http.conf"),
        http_conf.replace("http.multi_range.enabled", "http.multi_range.enabed"),
    )
    .unwrap();
    let imported = import_fastdfs(
        "location ~ /group[0-9]+/M00 { ngx_fastdfs_module; }",
        dir.path(),
    );
    assert!(
        has_warning(
            &imported,
            "`http.multi_range.enabed = true`: a request for several ranges gets the whole file (200)"
        ),
        "{:#?}",
        imported.warnings
    );
    assert!(
        !has_warning(&imported, "unknown key"),
        "{:#?}",
        imported.warnings
    );
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:8080\"\n[[upstream]]\nname = \"f\"\nprotocol = \"fastdfs\"\ntrackers = [\"127.0.0.1\"]\n[[location]]\nprefix = \"/\"\nupstream = \"f\"\nfastdfs_conf = {:?}\n",
        dir.path().join("mod_fastdfs.conf")
    );
    let config = Config::parse(&text).unwrap();
    assert!(
        config
            .notes
            .iter()
            .any(|n| n.contains("http.multi_range.enabed = true`: a request for several ranges")),
        "{:#?}",
        config.notes
    );
    assert!(
        !config.notes.iter().any(|n| n.contains("unknown key")),
        "{:#?}",
        config.notes
    );
}

#[test]
fn mogilefs_and_fastdfs_side_by_side() {
    let dir = fastdfs_dir(MOD_FASTDFS);
    let conf = r#"
        server {
            location /images/ { mogilefs_tracker 10.0.0.1:7001; mogilefs_domain imgs; mogilefs_pass { proxy_pass $mogilefs_path; } }
            location ~ /group[0-9]+/M00 { ngx_fastdfs_module; }
            location /group1/M00 { ngx_fastdfs_module; }
            location /static/group1/M00 { ngx_fastdfs_module; expires 30d; }
        }
    "#;
    let imported = import_fastdfs(conf, dir.path());
    let config = parse(&imported);
    let prefixes: Vec<&str> = config
        .locations
        .iter()
        .map(|l| l.get_ref().prefix.as_str())
        .collect();
    assert_eq!(
        prefixes,
        ["/images/", "/", "/group1/", "/static/group1/"],
        "a location naming its group serves that group only"
    );
    let names: Vec<&str> = config
        .upstreams
        .iter()
        .map(|u| u.get_ref().name.as_str())
        .collect();
    assert_eq!(names, ["mog", "fdfs"]);
    assert!(
        has_warning(&imported, "site.conf:6: `expires 30d`: not carried over"),
        "{:#?}",
        imported.warnings
    );
    assert!(
        !has_warning(&imported, "already imported"),
        "{:#?}",
        imported.warnings
    );
}

#[test]
fn fuzzer_regressions_import_to_toml_that_parses() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/import_nginx");
    let empty = tempfile::tempdir().unwrap();
    let options = ImportOptions {
        source_name: None,
        fastdfs_conf: Some(empty.path().join("mod_fastdfs.conf")),
    };
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("crash-")
        {
            continue;
        }
        seen += 1;
        let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        if let Ok(imported) = import_with(&text, empty.path(), &options) {
            if let Err(e) = imported.toml.parse::<toml::Table>() {
                panic!(
                    "{}: TOML does not parse: {e}\n{}",
                    path.display(),
                    imported.toml
                );
            }
        }
    }
    assert!(seen > 0, "no regression input in {}", dir.display());
}
