//! The baseline: nginx's `image_filter resize 150 150` (libgd, decoding the
//! whole JPEG on every request) over the sample file, one single-process
//! nginx per CPU on one `reuseport` port, as the bench's other nginx rows.

use super::{wrk_row, LoadRow};
use crate::error::{IoContext, Result};
use crate::procs;
use crate::wrk::Load;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::process::Child;

/// Where Debian's `libnginx-mod-http-image-filter` puts the module.
pub const MODULE: &str = "/usr/lib/nginx/modules/ngx_http_image_filter_module.so";

/// URL path of the thumbnail.
pub const PATH: &str = "/thumb/photo.jpg";

/// The nginx.conf of instance `i`, serving `dir` at `/thumb/` through the
/// image filter, JPEG quality 80 (the engine's default).
pub fn config(addr: SocketAddr, dir: &Path, work: &Path, i: usize) -> String {
    let (dir, work) = (dir.display(), work.display());
    format!(
        "load_module {MODULE};\n\
         daemon off;\nmaster_process off;\nworker_processes 1;\n\
         pid {work}/nginx{i}.pid;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20 access_log {work}/access{i}.log;\n\
         \x20 client_body_temp_path {work}/temp;\n\
         \x20 proxy_temp_path {work}/temp;\n\
         \x20 fastcgi_temp_path {work}/temp;\n\
         \x20 uwsgi_temp_path {work}/temp;\n\
         \x20 scgi_temp_path {work}/temp;\n\
         \x20 server {{\n\
         \x20   listen {addr} reuseport;\n\
         \x20   location /thumb/ {{\n\
         \x20     alias {dir}/;\n\
         \x20     image_filter resize 150 150;\n\
         \x20     image_filter_jpeg_quality 80;\n\
         \x20     image_filter_buffer 2M;\n\
         \x20   }}\n\
         \x20 }}\n\
         }}\n"
    )
}

/// Starts `workers` nginx processes; they die with the returned children.
async fn start(
    nginx: &Path,
    dir: &Path,
    work: &Path,
    workers: usize,
) -> Result<(Vec<Child>, SocketAddr)> {
    let addr = procs::free_addr()?;
    std::fs::create_dir_all(work.join("temp")).context(|| "creating nginx temp dir".into())?;
    let children =
        procs::start_nginx(nginx, work, workers, addr, |i| config(addr, dir, work, i)).await?;
    Ok((children, addr))
}

/// Loads nginx's image filter on `source` with wrk; `None` (with a note on
/// stderr) when nginx, wrk or the module is missing.
pub async fn measure(source: &[u8], load: &Load, workers: usize) -> Result<Option<LoadRow>> {
    let (Some(nginx), Some(wrk_bin)) = (procs::find_tool("nginx"), procs::find_tool("wrk")) else {
        eprintln!("nginx or wrk not installed: no nginx image_filter row");
        return Ok(None);
    };
    if !Path::new(MODULE).is_file() {
        eprintln!(
            "{MODULE} missing (apt-get install libnginx-mod-http-image-filter): no nginx row"
        );
        return Ok(None);
    }
    let work = tempfile::tempdir().context(|| "creating a work dir".into())?;
    let dir: PathBuf = work.path().join("files");
    std::fs::create_dir_all(&dir).context(|| "creating the files dir".into())?;
    std::fs::write(dir.join("photo.jpg"), source).context(|| "writing the sample".into())?;
    let (_children, addr) = start(&nginx, &dir, work.path(), workers).await?;
    let base = format!("http://{addr}");
    let row = wrk_row(
        "nginx image_filter",
        &wrk_bin,
        &base,
        PATH,
        work.path(),
        load,
    )
    .await?;
    Ok(Some(row))
}
