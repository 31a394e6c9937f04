//! Child processes and what Linux tells about them: free ports, waiting for a
//! listener, tools on `PATH`, memory high-water marks and CPU time.
//!
//! Every child is spawned with `kill_on_drop`, so whatever path the bench
//! leaves by (error, panic, Ctrl-C) takes its children with it.

use crate::error::{BenchError, IoContext, Result};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// How long a started server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(15);

/// A 127.0.0.1 address with a port free when asked. Another process could
/// take it before the caller binds it, hence the callers' retries.
pub fn free_addr() -> Result<SocketAddr> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .context(|| "picking a free 127.0.0.1 port".into())
}

/// `name` on `PATH`, else in the sbin directories Debian keeps out of an
/// ordinary user's `PATH` (where nginx lives).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Waits until `addr` accepts connections; fails early if `child` exits,
/// quoting the end of `log`.
pub async fn wait_listening(child: &mut Child, addr: SocketAddr, log: &Path) -> Result<()> {
    let deadline = tokio::time::Instant::now() + STARTUP;
    while tokio::time::Instant::now() < deadline {
        let exited = child.try_wait().context(|| "checking a child".into())?;
        if let Some(status) = exited {
            return Err(BenchError::Failed(format!(
                "{} exited ({status}) before listening on {addr}: {}",
                log.display(),
                log_tail(log)
            )));
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(BenchError::Failed(format!(
        "nothing listened on {addr} within {STARTUP:?}: {}",
        log_tail(log)
    )))
}

/// The last lines of a log file, for error messages.
pub fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// A field of `/proc/<pid>/status` given in kB (`VmHWM`, `VmRSS`), in bytes.
pub fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on
/// every Linux architecture the bench runs on).
const USER_HZ: u64 = 100;

/// CPU time `pid` has used, all its threads together (including threads
/// already gone), in nanoseconds; 10 ms resolution.
pub fn cpu_ns(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces: count fields after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 1_000_000_000 / USER_HZ)
}

/// CPU time of several processes together.
pub fn cpu_ns_all(pids: &[u32]) -> Option<u64> {
    pids.iter().map(|p| cpu_ns(*p)).sum()
}

/// Starts `workers` (at least one) nginx instances from `work`, instance
/// `i` with the text `config(i)` as its config file and its own error log,
/// each waited for until `addr` answers; they die with the returned children.
pub async fn start_nginx(
    nginx: &Path,
    work: &Path,
    workers: usize,
    addr: SocketAddr,
    config: impl Fn(usize) -> String,
) -> Result<Vec<Child>> {
    let mut children = Vec::new();
    for i in 0..workers.max(1) {
        let conf = work.join(format!("nginx{i}.conf"));
        std::fs::write(&conf, config(i)).context(|| format!("writing {}", conf.display()))?;
        let log = work.join(format!("error{i}.log"));
        let mut child = Command::new(nginx)
            .arg("-p")
            .arg(work)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context(|| format!("starting {}", nginx.display()))?;
        wait_listening(&mut child, addr, &log).await?;
        children.push(child);
    }
    Ok(children)
}
