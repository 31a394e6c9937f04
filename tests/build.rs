//! Finds the external tools some end-to-end tests drive and tells the tests
//! with a cfg each (`has_chromium`, `has_nginx`, `has_wrk`, `has_promtool`,
//! `has_systemd_analyze`, `has_docker`, and `has_pyyaml` for a python3 that can
//! `import yaml`). A test that needs one carries
//! `#[cfg_attr(not(has_chromium), ignore = "chromium not installed")]`, so
//! `cargo test` lists it as ignored, with the reason, where the tool is absent.

use std::path::{Path, PathBuf};

/// cfg name and the executables that provide it.
const TOOLS: &[(&str, &[&str])] = &[
    ("has_chromium", &["chromium", "chromium-browser"]),
    ("has_nginx", &["nginx"]),
    ("has_wrk", &["wrk"]),
    ("has_promtool", &["promtool"]),
    ("has_systemd_analyze", &["systemd-analyze"]),
    // The client only: whether an engine answers is asked at run time.
    ("has_docker", &["docker"]),
];

fn main() {
    println!("cargo:rerun-if-env-changed=PATH");
    let dirs = search_path();
    // Installing a tool changes its directory: look again then.
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    for (cfg, names) in TOOLS {
        println!("cargo:rustc-check-cfg=cfg({cfg})");
        if names
            .iter()
            .any(|n| dirs.iter().any(|d| is_executable(&d.join(n))))
        {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
    // Which python3 runs, and where it finds modules.
    println!("cargo:rerun-if-env-changed=PYTHONPATH");
    println!("cargo:rustc-check-cfg=cfg(has_pyyaml)");
    if python_has_yaml() {
        println!("cargo:rustc-cfg=has_pyyaml");
    }
}

/// True when `python3` runs and can import PyYAML (the compose file check).
/// Installing PyYAML changes no directory on `PATH`, so a `cargo clean -p
/// dfs-e2e` (or touching this file) is what makes it look again.
fn python_has_yaml() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `PATH`, plus the sbin directories where Debian puts nginx.
fn search_path() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in ["/usr/sbin", "/usr/local/sbin"] {
        if !dirs.iter().any(|d| d == Path::new(extra)) {
            dirs.push(PathBuf::from(extra));
        }
    }
    dirs
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
