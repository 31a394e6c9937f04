//! The access-control side of the command line:
//! - `conf/access.toml` (the README's three setups) passes `check-config`;
//! - a bad CIDR or a weak secret fails `check-config`, naming key and line;
//! - `sign` prints a URL whose signature is the documented formula.

use hmac::{Hmac, Mac};
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

fn check(text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, text).unwrap();
    let out = gateway()
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), all)
}

#[test]
fn shipped_access_example_checks_out() {
    let out = gateway()
        .args(["check-config", "--config"])
        .arg(repo("conf/access.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_cidr_and_weak_secret_name_key_and_line() {
    let base = std::fs::read_to_string(repo("conf/access.toml")).unwrap();
    let (ok, out) = check(&base.replace("10.20.0.0/16", "10.20.0.0/40"));
    assert!(!ok);
    let line = base
        .lines()
        .position(|l| l.contains("10.20.0.0/16"))
        .unwrap()
        + 1;
    assert!(
        out.contains(&format!("line {line}")) && out.contains("10.20.0.0/40"),
        "{out}"
    );
    let (ok, out) = check(&base.replace("change-me-to-32-random-bytes....", "short"));
    assert!(!ok);
    let line = base.lines().position(|l| l.contains("change-me")).unwrap() + 1;
    assert!(
        out.contains(&format!("location[1].access.signed (line {line})"))
            && out.contains("too weak"),
        "{out}"
    );
}

#[test]
fn sign_follows_the_documented_formula() {
    let out = gateway()
        .args([
            "sign",
            "--method",
            "put",
            "--path",
            "/direct/a%20b.jpg",
            "--expires",
            "10m",
            "--max-size",
            "1KiB",
        ])
        .args(["--config"])
        .arg(repo("conf/access.toml"))
        .args(["--base-url", "https://files.example.com"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).unwrap();
    let query = url
        .trim()
        .strip_prefix("https://files.example.com/direct/a%20b.jpg?")
        .expect(&url);
    let params: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    assert_eq!(params[0].0, "expires");
    assert_eq!(params[1], ("max_size", "1024"));
    let expires: u64 = params[0].1.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now + 590..=now + 610).contains(&expires),
        "{expires} vs {now}"
    );
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(b"change-me-to-32-random-bytes....").unwrap();
    mac.update(format!("PUT\n/direct/a%20b.jpg\n{expires}\n1024").as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(params[2], ("sig", want.as_str()));
    // A path that is not one is refused.
    let bad = gateway()
        .args([
            "sign",
            "--path",
            "direct/x?y",
            "--secret",
            "0123456789abcdef0",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
