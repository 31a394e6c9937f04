//! The command line, as scripts use it:
//! - `check-config` prints a one-line summary and exits 0, or names the key and line and exits 1;
//! - the shipped example configs are valid;
//! - `token` prints the query string FastDFS's own generator would;
//! - `--version` and `--help` answer.

use std::path::PathBuf;
use std::process::Command;

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dfs-gateway"))
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

#[test]
fn shipped_configs_check_out() {
    for conf in ["conf/mogilefs.toml", "conf/fastdfs.toml"] {
        let out = gateway()
            .args(["check-config", "--config"])
            .arg(repo(conf))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{conf}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.starts_with("ok: ") && stdout.contains("location(s)"),
            "{stdout}"
        );
    }
}

#[test]
fn bad_configs_name_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:1\"\nlisten_port = 1\n",
    )
    .unwrap();
    let out = gateway()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("listen_port") && stderr.contains("line 3"),
        "{stderr}"
    );

    let out = gateway()
        .args(["check-config", "--config"])
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn token_matches_fastdfs() {
    // The worked example of the FastDFS anti-steal token.
    let out = gateway()
        .args([
            "token",
            "group1/M00/00/00/fwAAAmsBrKmAGkPLAAAnEGDVwFE623.bin",
            "--secret",
            "FastDFS1234567890",
            "--ts",
            "1795271863",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "token=404e80eee38dcb09c5de2cc532ba85a3&ts=1795271863"
    );
    let out = gateway()
        .args(["token", "not/an/id", "--secret", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn version_and_help() {
    let out = gateway().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("dfs-gateway "));
    let out = gateway().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "check-config", "demo", "token"] {
        assert!(help.contains(command), "{help}");
    }
}
