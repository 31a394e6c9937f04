//! nginx as the C baseline the gateway is compared with: a plain reverse
//! proxy to the storage node, or a static file server over a FastDFS store.
//!
//! One single-process nginx per CPU, all listening on the same port with
//! `reuseport` — the kernel spreads connections over them exactly as over
//! the workers of one `worker_processes auto; listen ... reuseport;` nginx.
//! Without a master process nothing forks, so killing the children on drop
//! leaves no orphaned worker behind.

use crate::error::{BenchError, IoContext, Result};
use crate::procs;
use std::net::SocketAddr;
use std::path::Path;
use tokio::process::Child;

/// What the nginx processes serve.
#[derive(Debug, Clone)]
pub struct Site {
    /// `http` level directives (an `upstream` block).
    http: String,
    /// The directives of `location /`.
    location: String,
}

impl Site {
    /// A reverse proxy to `storage`.
    pub fn proxy(storage: SocketAddr) -> Self {
        Site {
            http: format!("upstream storage {{ server {storage}; keepalive 64; }}"),
            location: PROXY_LOCATION.into(),
        }
    }

    /// The files under `dir` at `prefix` (`/group1/M00/` → `<store>/data/`).
    pub fn static_files(prefix: &str, dir: &Path) -> Self {
        Site {
            http: String::new(),
            location: format!("location {prefix} {{ alias {}/; }}", dir.display()),
        }
    }
}

/// A proxy as one would deploy it: keepalive to the upstream, no buffering
/// (bytes pass through as they come, like the gateway's). With buffering off
/// nginx relays through `proxy_buffer_size`, one 4 KiB page by default;
/// 64 KiB keeps large bodies from being moved a page at a time, a stronger
/// baseline than the default.
const PROXY_LOCATION: &str = "location / {
      proxy_pass http://storage;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_buffer_size 64k;
      proxy_buffers 4 64k;
      proxy_busy_buffers_size 128k;
    }";

/// Running nginx processes; killed when dropped.
#[derive(Debug)]
pub struct NginxProxy {
    /// Where they listen.
    pub addr: SocketAddr,
    children: Vec<Child>,
}

impl NginxProxy {
    /// Starts `workers` nginx processes serving `site`, keeping their
    /// configs, logs and temp files in `work`.
    pub async fn start(nginx: &Path, site: &Site, work: &Path, workers: usize) -> Result<Self> {
        std::fs::create_dir_all(work.join("temp"))
            .context(|| format!("creating {}", work.display()))?;
        let mut last = BenchError::Failed("nginx did not start".into());
        for _ in 0..3 {
            let addr = procs::free_addr()?;
            match start_all(nginx, site, work, workers, addr).await {
                Ok(children) => return Ok(NginxProxy { addr, children }),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// `http://addr`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Process ids, for CPU accounting.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().filter_map(Child::id).collect()
    }
}

async fn start_all(
    nginx: &Path,
    site: &Site,
    work: &Path,
    workers: usize,
    addr: SocketAddr,
) -> Result<Vec<Child>> {
    let mut children =
        procs::start_nginx(nginx, work, workers, addr, |i| config(addr, site, work, i)).await?;
    // Later instances find the port already answering (the first one's), so
    // a failed bind only shows as an exit: give it a moment to show.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for (i, child) in children.iter_mut().enumerate() {
        if let Some(status) = child.try_wait().context(|| "checking nginx".into())? {
            let log = work.join(format!("error{i}.log"));
            return Err(BenchError::Failed(format!(
                "nginx {i} exited ({status}): {}",
                procs::log_tail(&log)
            )));
        }
    }
    Ok(children)
}

/// A whole nginx.conf for instance `i`, with nginx's default per-request
/// access log (the gateway writes one too).
fn config(addr: SocketAddr, site: &Site, work: &Path, i: usize) -> String {
    let work = work.display();
    format!(
        "daemon off;\n\
         master_process off;\n\
         worker_processes 1;\n\
         pid {work}/nginx{i}.pid;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20 access_log {work}/access{i}.log;\n\
         \x20 client_body_temp_path {work}/temp;\n\
         \x20 proxy_temp_path {work}/temp;\n\
         \x20 fastcgi_temp_path {work}/temp;\n\
         \x20 uwsgi_temp_path {work}/temp;\n\
         \x20 scgi_temp_path {work}/temp;\n\
         \x20 client_max_body_size 0;\n\
         \x20 {http}\n\
         \x20 server {{\n\
         \x20   listen {addr} reuseport;\n\
         \x20   {location}\n\
         \x20 }}\n\
         }}\n",
        http = site.http,
        location = site.location,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_proxies_with_keepalive_and_no_buffering() {
        let site = Site::proxy(([127, 0, 0, 1], 9000).into());
        let text = config(([127, 0, 0, 1], 8000).into(), &site, Path::new("/w"), 1);
        assert!(text.contains("listen 127.0.0.1:8000 reuseport;"));
        assert!(text.contains("server 127.0.0.1:9000;"));
        assert!(text.contains("keepalive 64;"));
        assert!(text.contains("proxy_buffering off;"));
        assert!(text.contains("pid /w/nginx1.pid;"));
    }

    #[test]
    fn static_site_aliases_the_store() {
        let site = Site::static_files("/group1/M00/", Path::new("/s/data"));
        let text = config(([127, 0, 0, 1], 8000).into(), &site, Path::new("/w"), 0);
        assert!(text.contains("location /group1/M00/ { alias /s/data/; }"));
    }
}
