//! `import-nginx`: nginx configuration text (blocks, quotes, comments,
//! includes, both modules' directives) converted to gateway TOML. Includes
//! resolve against an empty directory and `mod_fastdfs.conf` does not exist,
//! so only the text is exercised. Properties: nothing panics or hangs, and
//! whatever is imported is valid TOML.
//!
//! Inputs naming device, proc or sys files, or path globs, are skipped (see
//! `sandbox.rs`).
#![no_main]

use dfs_gateway::import_nginx::{import_with, ImportOptions};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "sandbox.rs"]
mod sandbox;

fn base_dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if !sandbox::safe_paths(text) {
        return;
    }
    let dir = base_dir().path();
    let options = ImportOptions {
        source_name: None,
        fastdfs_conf: Some(dir.join("mod_fastdfs.conf")),
    };
    if let Ok(imported) = import_with(text, dir, &options) {
        if let Err(e) = imported.toml.parse::<toml::Table>() {
            panic!(
                "import-nginx wrote TOML that does not parse: {e}\n{}",
                imported.toml
            );
        }
    }
});
