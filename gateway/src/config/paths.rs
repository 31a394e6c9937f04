//! Relative file paths in a config file are read against the directory of
//! that file, not the directory the gateway was started from, so a config
//! and the files beside it (`cert.pem`, `mod_fastdfs.conf`, `htpasswd`)
//! work from anywhere, under systemd as from a shell.
//!
//! The keys: `server.tls.cert`, `server.tls.key`, and per location
//! `fastdfs_conf`, `store_paths`, `token_check_fail`, `access.htpasswd`,
//! `access.token_file`. Paths read from a `mod_fastdfs.conf` are taken as
//! that file writes them.

use super::{Config, LocationConfig};
use std::path::{Path, PathBuf};

/// The directory relative paths of the config file at `file` are read
/// against: its own, made absolute (so a later `chdir` or a SIGHUP reload
/// reads the same files).
pub fn base_dir(file: &Path) -> PathBuf {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned())
}

/// Joins every relative path of `config` onto `base`.
pub fn resolve(config: &mut Config, base: &Path) {
    if let Some(tls) = &mut config.server.tls {
        join(base, &mut tls.cert);
        join(base, &mut tls.key);
    }
    for location in &mut config.locations {
        resolve_location(location.get_mut(), base);
    }
}

fn resolve_location(l: &mut LocationConfig, base: &Path) {
    let singles = [
        l.fastdfs_conf.as_mut(),
        l.token_check_fail.as_mut(),
        l.access.htpasswd.as_mut(),
        l.access.token_file.as_mut(),
    ];
    for path in singles.into_iter().flatten() {
        join(base, path);
    }
    for path in l.store_paths.iter_mut().flatten() {
        join(base, path);
    }
}

fn join(base: &Path, path: &mut PathBuf) {
    if path.is_relative() && !path.as_os_str().is_empty() {
        *path = base.join(&*path);
    }
}
