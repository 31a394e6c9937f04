//! Storage nodes served by a real `nginx` (WebDAV PUT/DELETE), the other
//! HTTP server mogstored can run behind (`Mogstored::HTTPServer::Nginx`).
//!
//! One nginx process per node, in the foreground without a master process
//! (so it runs as the current user and writes the test's directories),
//! listening on a 127.0.0.1 port picked here; killed when dropped. Like
//! mogstored's disk-usage child, a `usage` file is written into each device
//! directory so the tracker's monitor sees the device.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::{Child, Command};

/// How long nginx may take to accept connections.
const STARTUP: Duration = Duration::from_secs(5);

/// A running nginx storage node.
#[derive(Debug)]
pub(crate) struct NginxNode {
    addr: SocketAddr,
    // Killed on drop.
    _child: Child,
}

impl NginxNode {
    /// The nginx binary on `PATH` (or in `/usr/sbin`), if any.
    pub fn binary() -> Option<PathBuf> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    }

    /// Serves `root` (with `devN` directories for `devids`) from nginx,
    /// keeping its config, logs and temp files in `work`.
    pub async fn start(
        binary: &Path,
        root: &Path,
        work: PathBuf,
        devids: &[u64],
    ) -> io::Result<NginxNode> {
        for devid in devids {
            let dev = root.join(format!("dev{devid}"));
            std::fs::create_dir_all(&dev)?;
            std::fs::write(dev.join("usage"), usage_file(&dev))?;
        }
        std::fs::create_dir_all(work.join("body"))?;
        let mut last_error = io::Error::other("nginx did not start");
        // The port is free when picked but could be taken before nginx binds it.
        for _ in 0..3 {
            let addr = free_port()?;
            std::fs::write(work.join("nginx.conf"), config(addr, root, &work))?;
            match launch(binary, &work, addr).await {
                Ok(child) => {
                    return Ok(NginxNode {
                        addr,
                        _child: child,
                    })
                }
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn launch(binary: &Path, work: &Path, addr: SocketAddr) -> io::Result<Child> {
    let mut child = Command::new(binary)
        .arg("-p")
        .arg(work)
        .arg("-c")
        .arg(work.join("nginx.conf"))
        .arg("-e")
        .arg(work.join("error.log"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let deadline = tokio::time::Instant::now() + STARTUP;
    while tokio::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(work.join("error.log")).unwrap_or_default();
            return Err(io::Error::other(format!("nginx exited ({status}): {log}")));
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        "nginx did not listen in time",
    ))
}

fn free_port() -> io::Result<SocketAddr> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()
}

/// WebDAV PUT/DELETE with `create_full_put_path`, as mogstored configures nginx;
/// room for a thousand and more downloads at once, and for as many connects in
/// a burst (the bench's slow readers).
fn config(addr: SocketAddr, root: &Path, work: &Path) -> String {
    let (root, work) = (root.display(), work.display());
    format!(
        "daemon off;\n\
         master_process off;\n\
         worker_processes 1;\n\
         worker_rlimit_nofile 8192;\n\
         pid {work}/nginx.pid;\n\
         error_log {work}/error.log warn;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20 access_log off;\n\
         \x20 client_body_temp_path {work}/body;\n\
         \x20 proxy_temp_path {work}/body;\n\
         \x20 fastcgi_temp_path {work}/body;\n\
         \x20 uwsgi_temp_path {work}/body;\n\
         \x20 scgi_temp_path {work}/body;\n\
         \x20 client_max_body_size 0;\n\
         \x20 server {{\n\
         \x20   listen {addr} backlog=4096;\n\
         \x20   root {root};\n\
         \x20   location / {{\n\
         \x20     dav_methods PUT DELETE;\n\
         \x20     create_full_put_path on;\n\
         \x20     dav_access user:rw group:r all:r;\n\
         \x20   }}\n\
         \x20 }}\n\
         }}\n"
    )
}

/// A static copy of what mogstored's disk-usage process writes (nominal figures).
fn usage_file(dev: &Path) -> String {
    let total: u64 = 100 * 1024 * 1024;
    format!(
        "available: {total}\ndevice: devcluster\ndisk: {}\ntime: 0\ntotal: {total}\nuse: 0%\nused: 0\n",
        dev.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_serves_the_root_with_webdav() {
        let text = config(
            ([127, 0, 0, 1], 8080).into(),
            Path::new("/r"),
            Path::new("/w"),
        );
        assert!(text.contains("listen 127.0.0.1:8080 backlog=4096;"));
        assert!(text.contains("root /r;"));
        assert!(text.contains("create_full_put_path on;"));
        assert!(text.contains("client_body_temp_path /w/body;"));
    }
}
