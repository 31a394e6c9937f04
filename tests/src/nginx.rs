//! Real nginx for the end-to-end tests: the shipped
//! `nginx/dfs-gateway-proxy.conf`, templated, inside a complete nginx.conf
//! whose pid file, logs and temporary paths all live in a temporary
//! directory; nginx runs in the foreground as a child process of the test,
//! as the current user, on a free 127.0.0.1 port, and is killed on drop.
//!
//! A test that starts nginx carries
//! `#[cfg_attr(not(has_nginx), ignore = "nginx not installed")]`
//! (tests/build.rs), so without nginx it is listed as ignored; one that runs
//! anyway and finds no nginx fails rather than passing without a check.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shipped proxy-mode template.
pub const PROXY_CONF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../nginx/dfs-gateway-proxy.conf"
);

/// How long nginx may take to start accepting.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running nginx.
pub struct Nginx {
    /// Where it listens.
    pub addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
}

/// The nginx binary: `nginx` on PATH, else `/usr/sbin/nginx` (Debian puts it
/// there, outside an ordinary user's PATH).
pub fn find_nginx() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("nginx"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|p| p.is_file())
}

/// Fills the `@NAME@` placeholders (upper case; nginx's own `@name`
/// locations are left alone) of nginx config text. Panics unless `values`
/// names exactly the placeholders used outside comments, so a placeholder
/// added to the shipped file cannot go untested.
pub fn fill_template(template: &str, values: &[(&str, &str)]) -> String {
    let is_name =
        |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    let mut used: Vec<&str> = template
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| {
            let parts: Vec<&str> = l.split('@').collect();
            // A name sits between two '@'s on one line.
            (1..parts.len().saturating_sub(1))
                .map(move |i| parts[i])
                .collect::<Vec<_>>()
        })
        .filter(is_name)
        .collect();
    used.sort_unstable();
    used.dedup();
    let mut given: Vec<&str> = values.iter().map(|(name, _)| *name).collect();
    given.sort_unstable();
    assert_eq!(given, used, "placeholders given vs. used by the template");
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("@{name}@"), value)
        })
}

impl Nginx {
    /// nginx in proxy mode in front of the gateway at `gateway`, with the
    /// shipped config. Panics when nginx is not installed.
    pub async fn proxy(gateway: SocketAddr) -> Nginx {
        let gateway = gateway.to_string();
        let values = [
            ("SERVER_NAME", "localhost"),
            ("GATEWAY", gateway.as_str()),
            ("MAX_BODY_SIZE", "1g"),
        ];
        Nginx::with_site(Path::new(PROXY_CONF), &values).await
    }

    /// nginx with an http-level `template` whose placeholders are `values`
    /// plus `@LISTEN@`, which is filled with a free 127.0.0.1 port. Panics
    /// when nginx is not installed.
    pub async fn with_site(template: &Path, values: &[(&str, &str)]) -> Nginx {
        let binary = find_nginx().expect(
            "nginx is not installed: a test that needs it carries \
             #[cfg_attr(not(has_nginx), ignore = \"nginx not installed\")]",
        );
        let template = std::fs::read_to_string(template)
            .unwrap_or_else(|e| panic!("{}: {e}", template.display()));
        // A port picked and released can be taken again before nginx binds it:
        // retry a few times on that race only.
        for _ in 0..5 {
            let port = free_port();
            let listen = format!("127.0.0.1:{port}");
            let mut all = vec![("LISTEN", listen.as_str())];
            all.extend_from_slice(values);
            let site = fill_template(&template, &all);
            match Nginx::start(&binary, &site, port).await {
                Ok(nginx) => return nginx,
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("nginx did not start:\n{log}"),
            }
        }
        panic!("nginx found no free port");
    }

    /// Starts nginx with `site` (http-level text) on `port`; Err(logs) when it exits.
    async fn start(binary: &Path, site: &str, port: u16) -> Result<Nginx, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::write(root.join("site.conf"), site).expect("write site.conf");
        std::fs::write(root.join("nginx.conf"), main_conf(root)).expect("write nginx.conf");
        let output = std::fs::File::create(root.join("output.log")).expect("create output.log");
        let mut command = Command::new(binary);
        command
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(root.join("nginx.conf"));
        if supports_error_log_flag(binary) {
            // Otherwise nginx first opens its built-in error log (/var/log/...).
            command.arg("-e").arg(root.join("error.log"));
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("dup output.log"))
            .stderr(output)
            .spawn()
            .expect("spawn nginx");
        let mut nginx = Nginx {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            dir,
        };
        nginx.wait_until_accepting().await?;
        Ok(nginx)
    }

    async fn wait_until_accepting(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("nginx exited with {status}\n{}", self.logs()));
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!(
            "nginx did not accept within {START_TIMEOUT:?}\n{}",
            self.logs()
        ))
    }

    /// `http://addr` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// nginx's output and error log so far.
    pub fn logs(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "--- output ---\n{}--- error.log ---\n{}",
            read("output.log"),
            read("error.log")
        )
    }

    /// nginx's warnings that it spooled a request or response body to disk
    /// ("... is buffered to a temporary file"): none while it streams.
    /// (The temporary files themselves are unlinked as soon as they are
    /// opened, so the log is the only trace.)
    pub fn disk_buffering(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("buffered to a temporary file"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nginx -t` of `site` (http-level text) inside the tests' nginx.conf, all
/// its files in a temporary directory: Ok, or Err(nginx's complaint).
/// Nothing listens (`-t` binds no port). Panics when nginx is not installed.
pub fn check_site(site: &str) -> Result<(), String> {
    let binary = find_nginx().expect("nginx is not installed (see Nginx::with_site)");
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::write(root.join("site.conf"), site).expect("write site.conf");
    std::fs::write(root.join("nginx.conf"), main_conf(root)).expect("write nginx.conf");
    let mut command = Command::new(&binary);
    command
        .arg("-t")
        .arg("-p")
        .arg(root)
        .arg("-c")
        .arg(root.join("nginx.conf"));
    if supports_error_log_flag(&binary) {
        command.arg("-e").arg(root.join("error.log"));
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .expect("nginx -t runs");
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() {
        Ok(())
    } else {
        Err(text)
    }
}

/// The complete nginx.conf: one foreground process (no master, no workers to
/// leave behind), everything it writes inside `root`, the site included.
fn main_conf(root: &Path) -> String {
    let path = |name: &str| root.join(name).display().to_string();
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {pid};
error_log {error_log} info;
events {{
    worker_connections 256;
}}
http {{
    access_log {access_log};
    client_body_temp_path {client_body};
    proxy_temp_path {proxy};
    fastcgi_temp_path {fastcgi};
    uwsgi_temp_path {uwsgi};
    scgi_temp_path {scgi};
    include {site};
}}
",
        pid = path("nginx.pid"),
        error_log = path("error.log"),
        access_log = path("access.log"),
        client_body = path("client_body"),
        proxy = path("proxy"),
        fastcgi = path("fastcgi"),
        uwsgi = path("uwsgi"),
        scgi = path("scgi"),
        site = path("site.conf"),
    )
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// `-e` (error log path) exists from nginx 1.19.5 on.
fn supports_error_log_flag(binary: &Path) -> bool {
    let Ok(out) = Command::new(binary).arg("-v").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stderr);
    let version: Vec<u32> = text
        .split("nginx/")
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .map(|v| v.split('.').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    version >= vec![1, 19, 5]
}
