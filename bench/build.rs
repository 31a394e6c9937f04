//! Tells the bench's tests whether nginx and wrk are installed (`has_nginx`,
//! `has_wrk`), so the smoke test carries
//! `#[cfg_attr(not(all(has_nginx, has_wrk)), ignore = "...")]` and
//! `cargo test` lists it as ignored, with the reason, where either is absent.
//! It looks where `procs::find_tool` looks at run time: `PATH`, then the
//! sbin directories Debian keeps nginx in.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PATH");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .collect();
    // Installing a tool changes its directory: look again then.
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    for tool in ["nginx", "wrk"] {
        println!("cargo:rustc-check-cfg=cfg(has_{tool})");
        if dirs.iter().any(|d| is_executable(&d.join(tool))) {
            println!("cargo:rustc-cfg=has_{tool}");
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
