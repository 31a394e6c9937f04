//! Tells devcluster's tests whether an `nginx` binary is installed
//! (`has_nginx`), so the tests that run real nginx storage nodes carry
//! `#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]` and
//! `cargo test` lists them as ignored, with the reason, where it is absent.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PATH");
    println!("cargo:rustc-check-cfg=cfg(has_nginx)");
    let dirs = search_path();
    // Installing nginx changes its directory: look again then.
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    if dirs.iter().any(|d| is_executable(&d.join("nginx"))) {
        println!("cargo:rustc-cfg=has_nginx");
    }
}

/// `PATH`, plus the sbin directories where Debian puts nginx (the same
/// places the nginx storage node looks at run time).
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
