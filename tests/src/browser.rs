//! Headless Chromium for browser tests: a page served from its own
//! 127.0.0.1 origin, loaded once, its DOM returned after its scripts ran.
//!
//! The page is served by a minimal HTTP responder here (any path gets the
//! page), so its origin differs from the gateway's by port. Chromium runs
//! with a fresh profile directory, no network services of its own, and a
//! time-out; `--virtual-time-budget` lets it dump the DOM only once pending
//! fetches have settled.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The Chromium executable, if installed.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// A served page on its own origin.
pub struct PageServer {
    /// Where it listens (`http://addr` is the page's origin).
    pub addr: SocketAddr,
    html: std::sync::Arc<std::sync::Mutex<String>>,
    task: JoinHandle<()>,
}

impl PageServer {
    /// Binds a free port; the page is empty until [`PageServer::set_page`].
    pub async fn start() -> PageServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let html = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let page = html.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let page = page.lock().unwrap().clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    // One read holds a browser's GET head; the page is the same for any path.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        page.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(page.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        PageServer { addr, html, task }
    }

    /// `http://127.0.0.1:port`, the page's origin.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets the page served from now on.
    pub fn set_page(&self, html: &str) {
        *self.html.lock().unwrap() = html.to_owned();
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Loads `url` in headless Chromium and returns the DOM after its scripts
/// ran (at most `budget` of page time; the whole run is bounded too).
pub async fn dump_dom(chromium: &std::path::Path, url: &str, budget: Duration) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--virtual-time-budget={}", budget.as_millis()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let run = async {
        let mut out = String::new();
        let mut err = String::new();
        let (o, e) = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        let _ = (o, e);
        let _ = child.wait().await;
        (out, err)
    };
    match tokio::time::timeout(Duration::from_secs(90), run).await {
        Ok((out, err)) => {
            if out.trim().is_empty() {
                panic!("chromium printed no DOM; its stderr:\n{err}");
            }
            out
        }
        Err(_) => panic!("chromium did not finish within 90s"),
    }
}
