//! The baseline: nginx's `image_filter resize 150 150` (libgd, decoding the
//! whole JPEG on every request) over the sample file, one single-process
//! nginx per CPU on one `reuseport` port, as the bench's other nginx rows.

use crate::error::{BenchError, IoContext, Result};
use crate::procs;
use crate::wrk::{self, Load, Script};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::process::Child;

/// Where Debian's `libnginx-mod-http-image-filter` puts the module.
pub const MODULE: &str = "/usr/lib/nginx/modules/ngx_http_image_filter_module.so";

/// URL path of the thumbnail.
pub const PATH: &str = "/thumb/photo.jpg";

/// What wrk measured against nginx.
#[derive(Debug, Clone, Serialize)]
pub struct NginxRow {
    /// wrk connections.
    pub connections: u32,
    /// Responses per second.
    pub per_second: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Errors of any kind (must be 0).
    pub errors: u64,
    /// Size of one thumbnail nginx served, bytes.
    pub thumb_bytes: usize,
}

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
pub async fn measure(source: &[u8], load: &Load, workers: usize) -> Result<Option<NginxRow>> {
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
    let thumb = check(&base).await?;
    let script = work.path().join("thumb.lua");
    let text = wrk::script_text(&Script {
        method: "GET",
        paths: vec![PATH.into()],
        body_size: 0,
    });
    std::fs::write(&script, text).context(|| "writing the wrk script".into())?;
    let s = wrk::run(&wrk_bin, &base, &script, load).await?;
    Ok(Some(NginxRow {
        connections: load.connections,
        per_second: s.requests as f64 / (s.duration_us as f64 / 1e6),
        p50_ms: s.p50_us / 1000.0,
        p99_ms: s.p99_us / 1000.0,
        errors: s.errors(),
        thumb_bytes: thumb,
    }))
}

/// One request by hand: 200, a JPEG that fits 150×150.
async fn check(base: &str) -> Result<usize> {
    let url = format!("{base}{PATH}");
    let response = crate::client()
        .get(&url)
        .send()
        .await
        .map_err(|source| BenchError::Http {
            what: format!("GET {url}"),
            source,
        })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|source| BenchError::Http {
        what: format!("reading {url}"),
        source,
    })?;
    let image = image::load_from_memory(&body).map_err(|e| {
        BenchError::Failed(format!("nginx thumbnail ({status}) does not decode: {e}"))
    })?;
    if !status.is_success() || image.width() > 150 || image.height() > 150 {
        return Err(BenchError::Failed(format!(
            "nginx answered {status} with a {}x{} image",
            image.width(),
            image.height()
        )));
    }
    Ok(body.len())
}
