//! Checking and finding the config from the command line, run as the binary:
//! - `check-config FILE`, `check-config --config FILE` and nginx's
//!   `-t -c FILE` all check the file (exit 0 with the summary; exit 1 naming
//!   the key, line and value at fault, in plain words);
//! - without a file, `serve`, `check-config` and `-t` read
//!   `/etc/dfs-gateway/dfs-gateway.toml` and say so when it is missing;
//!   `--help` and a bare `dfs-gateway` name that default;
//! - relative paths in a config are found beside it, whatever the working
//!   directory;
//! - `import-nginx` of a FastDFS site whose `mod_fastdfs.conf` cannot be read
//!   gives TOML that `check-config` refuses, naming the trackers;
//! - every shipped `conf/**/*.toml` passes `check-config`: the container
//!   config listens on all addresses, the high-availability gateway lists
//!   three trackers per cluster and probes them.

use std::path::Path;
use std::process::{Command, Output};

const DEFAULT: &str = "/etc/dfs-gateway/dfs-gateway.toml";

const CONFIG: &str = r#"
[server]
listen = "localhost:8080"
max_body_size = "1024m"

[[upstream]]
name = "mog"
protocol = "mogilefs"
trackers = ["127.0.0.1:7001"]

[[location]]
prefix = "/images/"
upstream = "mog"
domain = "imgs"
"#;

fn gateway(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dfs-gateway"));
    command.args(args);
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    command.output().expect("the binary runs")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn write_config(dir: &Path, body: &str) -> String {
    let file = dir.join("gateway.toml");
    std::fs::write(&file, body).unwrap();
    file.to_str().unwrap().to_owned()
}

#[test]
fn every_spelling_of_check_config_checks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), CONFIG);
    for args in [
        vec!["check-config", file.as_str()],
        vec!["check-config", "--config", file.as_str()],
        vec!["check-config", "-c", file.as_str()],
        vec!["-t", "-c", file.as_str()],
        vec!["-c", file.as_str(), "-t"],
    ] {
        let out = gateway(&args, None);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.starts_with(&format!("ok: {file}: listen 127.0.0.1:8080;")),
            "{args:?}: {stdout}"
        );
    }
}

#[test]
fn a_bad_value_is_named_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), &CONFIG.replace("\"1024m\"", "-1"));
    for args in [
        vec!["check-config", file.as_str()],
        vec!["-t", "-c", file.as_str()],
    ] {
        let out = gateway(&args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let all = text(&out);
        assert!(
            all.contains("server.max_body_size (line 4): -1: a size cannot be negative"),
            "{args:?}: {all}"
        );
        assert!(
            !all.contains("u64") && !all.contains("invalid type"),
            "{all}"
        );
    }
}

#[test]
fn without_a_file_the_default_path_is_read_and_named() {
    let installed = Path::new(DEFAULT).exists();
    for args in [vec!["check-config"], vec!["-t"]] {
        let out = gateway(&args, None);
        let all = text(&out);
        assert!(all.contains(DEFAULT), "{args:?}: {all}");
        if !installed {
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            assert!(all.contains("no config file was given"), "{all}");
            assert!(all.contains("--config FILE"), "{all}");
        }
    }
    // Only when the default is absent: with one installed, `serve` would
    // start serving it.
    if !installed {
        let out = gateway(&["serve"], None);
        assert_eq!(out.status.code(), Some(1));
        let all = text(&out);
        assert!(
            all.contains(DEFAULT) && all.contains("no config file was given"),
            "{all}"
        );
    }
}

#[test]
fn help_names_the_default_path() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["check-config", "--help"],
    ] {
        let out = gateway(&args, None);
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out).contains(DEFAULT), "{args:?}: {}", text(&out));
    }
    let bare = gateway(&[], None);
    assert_eq!(
        bare.status.code(),
        Some(2),
        "a bare command prints help, serves nothing"
    );
    assert!(text(&bare).contains(DEFAULT), "{}", text(&bare));
    let both = gateway(&["-t", "check-config"], None);
    assert_eq!(
        both.status.code(),
        Some(2),
        "-t with a subcommand is refused"
    );
}

#[test]
fn relative_paths_are_found_beside_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let conf_dir = dir.path().join("conf");
    std::fs::create_dir(&conf_dir).unwrap();
    std::fs::write(conf_dir.join("tokens"), "0123456789abcdef0123\n").unwrap();
    let body = CONFIG.replace(
        "domain = \"imgs\"\n",
        "domain = \"imgs\"\n[location.access]\ntoken_file = \"tokens\"\n",
    );
    let file = write_config(&conf_dir, &body);
    let elsewhere = tempfile::tempdir().unwrap();
    let out = gateway(&["check-config", &file], Some(elsewhere.path()));
    assert!(out.status.success(), "{}", text(&out));
    // Named relative to the working directory, the file still reads its
    // neighbours, not the working directory's.
    let out = gateway(&["check-config", "conf/gateway.toml"], Some(dir.path()));
    assert!(out.status.success(), "{}", text(&out));
    std::fs::remove_file(conf_dir.join("tokens")).unwrap();
    std::fs::write(elsewhere.path().join("tokens"), "0123456789abcdef0123\n").unwrap();
    let out = gateway(&["check-config", &file], Some(elsewhere.path()));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let expected = conf_dir.join("tokens");
    assert!(
        text(&out).contains(&expected.display().to_string()),
        "{}",
        text(&out)
    );
}

#[test]
fn an_import_without_readable_trackers_fails_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = dir.path().join("nginx.conf");
    std::fs::write(
        &nginx,
        "server { listen 80; location ~ /group[0-9]+/M00 { ngx_fastdfs_module; } }\n",
    )
    .unwrap();
    let missing = dir.path().join("missing/mod_fastdfs.conf");
    let out = gateway(
        &[
            "import-nginx",
            nginx.to_str().unwrap(),
            "--fastdfs-conf",
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing/mod_fastdfs.conf"), "{stderr}");
    let file = write_config(dir.path(), &String::from_utf8_lossy(&out.stdout));
    let check = gateway(&["check-config", &file], None);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let all = text(&check);
    assert!(all.contains("upstream[0].trackers"), "{all}");
}

/// The shipped example configs, `conf/` and its subdirectories.
fn shipped_configs(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            shipped_configs(&path, found);
        } else if path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
}

#[test]
fn every_shipped_config_checks() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf");
    let mut configs = Vec::new();
    shipped_configs(&conf, &mut configs);
    let named = |name: &str| configs.iter().any(|p| p.ends_with(name));
    assert!(
        named("container.toml") && named("ha/gateway.toml"),
        "{configs:?}"
    );
    for path in &configs {
        let out = gateway(&["check-config", path.to_str().unwrap()], None);
        assert!(out.status.success(), "{}: {}", path.display(), text(&out));
    }
    let container = gateway(
        &[
            "check-config",
            conf.join("container.toml").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        text(&container).contains("listen 0.0.0.0:8080"),
        "{}",
        text(&container)
    );

    let ha: toml::Table =
        toml::from_str(&std::fs::read_to_string(conf.join("ha/gateway.toml")).unwrap()).unwrap();
    let upstreams = ha["upstream"].as_array().unwrap();
    assert_eq!(upstreams.len(), 2);
    for upstream in upstreams {
        assert_eq!(
            upstream["trackers"].as_array().unwrap().len(),
            3,
            "{upstream}"
        );
        assert!(upstream.get("probe_interval").is_some(), "{upstream}");
    }
}
