//! Values as operators write them, through the whole config:
//! - negative, fractional and wrong-type values fail naming the dotted key,
//!   its line and the value, and never a Rust type name or serde's wording;
//! - nginx sizes (`1024m`) and listen forms (`localhost:8080`, `[::1]:8080`);
//! - relative paths (TLS files, `fastdfs_conf`, store paths, htpasswd,
//!   token files, `token_check_fail`) read against the config file's
//!   directory when loaded from a file, from any working directory;
//! - the `[mime]` table: overrides parsed, bad entries named.

use super::*;
use std::path::PathBuf;

const BASE: &str = r#"
[server]
listen = "127.0.0.1:8080"

[[upstream]]
name = "mog"
protocol = "mogilefs"
trackers = ["127.0.0.1:7001"]

[[upstream]]
name = "fdfs"
protocol = "fastdfs"
trackers = ["127.0.0.1:22122"]

[[location]]
prefix = "/images/"
upstream = "mog"
domain = "imgs"

[[location]]
prefix = "/f/"
upstream = "fdfs"
"#;

/// `BASE` with `line` added after the first line equal to `after`.
fn with(after: &str, line: &str) -> String {
    BASE.replacen(&format!("{after}\n"), &format!("{after}\n{line}\n"), 1)
}

fn error_of(text: &str) -> String {
    match Config::parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// Words that only a Rust programmer would understand.
const LEAKS: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "usize",
    "i64",
    "f64",
    "Secs",
    "Bytes",
    "Raw",
    "struct ",
    "enum ",
    "invalid type",
    "invalid value",
    "untagged",
    "SocketAddr",
    "PathBuf",
    "sequence",
    "a map",
];

#[test]
fn bad_values_name_key_line_and_value_in_plain_words() {
    let cases = [
        (
            "[server]",
            "max_body_size = -1",
            "server.max_body_size (line 3)",
            "-1",
        ),
        (
            "[server]",
            "max_body_size = 1.5",
            "server.max_body_size (line 3)",
            "1.5",
        ),
        (
            "[server]",
            "max_body_size = \"-5m\"",
            "server.max_body_size (line 3)",
            "-5m",
        ),
        (
            "[server]",
            "max_body_size = true",
            "server.max_body_size (line 3)",
            "true",
        ),
        ("[server]", "workers = -1", "server.workers (line 3)", "-1"),
        (
            "[server]",
            "workers = \"4\"",
            "server.workers (line 3)",
            "\"4\"",
        ),
        (
            "[server]",
            "max_connections = 1.5",
            "server.max_connections (line 3)",
            "1.5",
        ),
        (
            "[server]",
            "shutdown_grace = \"-5s\"",
            "server.shutdown_grace (line 3)",
            "-5s",
        ),
        (
            "[server]",
            "shutdown_grace = -5",
            "server.shutdown_grace (line 3)",
            "-5",
        ),
        (
            "[server]",
            "h2c = \"yes\"",
            "server.h2c (line 3)",
            "\"yes\"",
        ),
        (
            "[server]",
            "listen_port = 1",
            "server.listen_port (line 3)",
            "listen_port",
        ),
        (
            "[server]",
            "admin_listen = \"nonsense\"",
            "server.admin_listen (line 3)",
            "nonsense",
        ),
        (
            "[server]",
            "admin_listen = 70000",
            "server.admin_listen (line 3)",
            "70000",
        ),
        (
            "protocol = \"mogilefs\"",
            "cache_size = -3",
            "upstream[0].cache_size (line 8)",
            "-3",
        ),
        (
            "protocol = \"fastdfs\"",
            "max_idle = -3",
            "upstream[1].max_idle (line 13)",
            "-3",
        ),
        (
            "protocol = \"fastdfs\"",
            "reply_timeout = 2.5",
            "upstream[1].reply_timeout (line 13)",
            "2.5",
        ),
        (
            "domain = \"imgs\"",
            "pathcount = -1",
            "location[0].pathcount (line 19)",
            "-1",
        ),
        (
            "domain = \"imgs\"",
            "noverify = 1",
            "location[0].noverify (line 19)",
            "1",
        ),
        (
            "domain = \"imgs\"",
            "methods = \"GET\"",
            "location[0].methods (line 19)",
            "\"GET\"",
        ),
        (
            "domain = \"imgs\"",
            "max_body_size = \"1.5g\"",
            "location[0].max_body_size (line 19)",
            "1.5g",
        ),
        (
            "domain = \"imgs\"",
            "access = { rate = { reads = { per_second = -1 } } }",
            "location[0].access.rate.reads.per_second (line 19)",
            "-1",
        ),
        (
            "upstream = \"fdfs\"",
            "store_paths = \"/a\"",
            "location[1].store_paths (line 23)",
            "\"/a\"",
        ),
        (
            "upstream = \"fdfs\"",
            "token = { secret = \"0123456789abcdef\", ttl = -1 }",
            "location[1].token.ttl (line 23)",
            "-1",
        ),
    ];
    for (after, line, key, value) in cases {
        let e = error_of(&with(after, line));
        assert!(e.starts_with(key), "{line}: {e}");
        assert!(e.contains(value), "{line}: the value is missing: {e}");
        for leak in LEAKS {
            assert!(!e.contains(leak), "{line}: {leak:?} in {e}");
        }
    }
}

#[test]
fn a_missing_required_key_is_named() {
    let e = error_of(&BASE.replace("listen = \"127.0.0.1:8080\"\n", ""));
    assert!(e.starts_with("server.listen"), "{e}");
    assert!(e.contains("required"), "{e}");
}

#[test]
fn nginx_sizes_and_listen_forms() {
    let c = Config::parse(&with("[server]", "max_body_size = \"1024m\"")).unwrap();
    assert_eq!(c.server.max_body_size, Bytes(1 << 30));
    let c = Config::parse(&with("domain = \"imgs\"", "max_body_size = \"512k\"")).unwrap();
    assert_eq!(
        c.locations[0].get_ref().max_body_size,
        Some(Bytes(512 << 10))
    );
    for (listen, expected) in [
        ("\"localhost:8080\"", "127.0.0.1:8080"),
        ("\"[::1]:8080\"", "[::1]:8080"),
        ("8080", "0.0.0.0:8080"),
        ("\"*:9000\"", "0.0.0.0:9000"),
    ] {
        let text = BASE.replace("\"127.0.0.1:8080\"", listen);
        let c = Config::parse(&text).unwrap();
        assert_eq!(c.server.listen.to_string(), expected, "{listen}");
    }
    let c = Config::parse(&with("[server]", "admin_listen = \"localhost:9100\"")).unwrap();
    assert_eq!(
        c.server.admin_listen,
        Some("127.0.0.1:9100".parse().unwrap())
    );
    assert_eq!(Config::parse(BASE).unwrap().server.admin_listen, None);
}

#[test]
fn relative_paths_are_read_against_the_config_files_directory() {
    let dir = tempfile::tempdir().unwrap();
    let conf_dir = dir.path().join("etc");
    std::fs::create_dir(&conf_dir).unwrap();
    let secret = "0123456789abcdef0123";
    std::fs::write(conf_dir.join("tokens.txt"), format!("{secret}\n")).unwrap();
    std::fs::write(conf_dir.join("denied.jpg"), "jpeg").unwrap();
    std::fs::write(
        conf_dir.join("mod_fastdfs.conf"),
        "tracker_server = 127.0.0.1:22122\ngroup_name = group1\nurl_have_group_name = true\n",
    )
    .unwrap();
    let text = BASE
        .replacen(
            "domain = \"imgs\"\n",
            "domain = \"imgs\"\naccess = { token_file = \"tokens.txt\" }\n",
            1,
        )
        .replacen(
            "upstream = \"fdfs\"\n",
            "upstream = \"fdfs\"\nfastdfs_conf = \"mod_fastdfs.conf\"\nstore_paths = [\"data/m00\", \"/abs/m01\"]\ntoken = { secret = \"0123456789abcdef\" }\ntoken_check_fail = \"./denied.jpg\"\n",
            1,
        );
    let file = conf_dir.join("gateway.toml");
    std::fs::write(&file, &text).unwrap();
    // The working directory has none of these files: only the config's
    // directory does.
    let elsewhere = tempfile::tempdir().unwrap();
    assert!(!elsewhere.path().join("tokens.txt").exists());
    assert!(
        Config::parse(&text).is_err(),
        "relative to the working directory, nothing is found"
    );
    let c = Config::load(&file).unwrap();
    let base = std::path::absolute(&conf_dir).unwrap();
    let mog = c.locations[0].get_ref();
    assert_eq!(mog.access.token_file, Some(base.join("tokens.txt")));
    let fdfs = c.locations[1].get_ref();
    assert_eq!(fdfs.fastdfs_conf, Some(base.join("mod_fastdfs.conf")));
    assert_eq!(
        fdfs.store_paths,
        Some(vec![base.join("data/m00"), PathBuf::from("/abs/m01")])
    );
    assert_eq!(fdfs.token_check_fail, Some(base.join("./denied.jpg")));
}

#[test]
fn relative_tls_files_are_read_against_the_config_files_directory() {
    let dir = tempfile::tempdir().unwrap();
    let text = with(
        "[server]",
        "tls = { cert = \"certs/c.pem\", key = \"certs/k.pem\" }",
    );
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, &text).unwrap();
    let e = Config::load(&file).unwrap_err().to_string();
    let expected = std::path::absolute(dir.path()).unwrap().join("certs/c.pem");
    assert!(e.contains(&expected.display().to_string()), "{e}");
}

#[test]
fn the_mime_table() {
    let c = Config::parse(&format!(
        "{BASE}\n[mime]\nts = \"video/mp2t\"\nlog = \"text/plain; charset=utf-8\"\n"
    ))
    .unwrap();
    assert_eq!(c.mime.content_type("a.log"), "text/plain; charset=utf-8");
    assert_eq!(c.mime.content_type("a.ts"), "video/mp2t");
    assert_eq!(
        Config::parse(BASE).unwrap().mime.content_type("a.m3u8"),
        "application/vnd.apple.mpegurl"
    );
    let e = error_of(&format!("{BASE}\n[mime]\nts = \"video mp2t\"\n"));
    assert!(e.starts_with("mime"), "{e}");
    assert!(e.contains("\"ts\" = \"video mp2t\""), "{e}");
    let e = error_of(&format!("{BASE}\n[mime]\nts = 5\n"));
    assert!(e.contains("mime"), "{e}");
}
