//! `process_*` metrics in the names every Prometheus client library uses,
//! read from `/proc/self` at scrape time (Linux; elsewhere nothing is
//! exported).
//!
//! ```text
//! process_cpu_seconds_total          utime + stime of /proc/self/stat
//! process_resident_memory_bytes      VmRSS of /proc/self/status
//! process_virtual_memory_bytes       VmSize of /proc/self/status
//! process_open_fds                   entries of /proc/self/fd
//! process_max_fds                    "Max open files" of /proc/self/limits
//! process_start_time_seconds         btime of /proc/stat + starttime
//! ```

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::fs;

/// Clock ticks per second of `/proc/<pid>/stat` times: the kernel reports
/// them in USER_HZ, fixed at 100 on Linux's user-space ABI.
const TICKS_PER_SECOND: f64 = 100.0;

/// Reads the figures on every scrape.
#[derive(Debug)]
pub struct ProcessCollector;

/// One reading of the process's figures; absent ones are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessFigures {
    /// User + system CPU time, seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident memory, bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory, bytes.
    pub virtual_bytes: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// Limit of open file descriptors.
    pub max_fds: Option<u64>,
    /// Start time, Unix seconds.
    pub start_time: Option<f64>,
}

/// The fields of `/proc/self/stat` after the command name (which may hold
/// spaces and parentheses, so the split starts after the last `)`).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

/// A `Key:   1234 kB` line of `/proc/self/status`, in bytes.
fn status_kb(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn boot_time(stat: &str) -> Option<f64> {
    let line = stat.lines().find(|l| l.starts_with("btime "))?;
    line[6..].trim().parse().ok()
}

impl ProcessFigures {
    /// Reads `/proc` now.
    pub fn read() -> Self {
        let read = |p: &str| fs::read_to_string(p).unwrap_or_default();
        let stat = read("/proc/self/stat");
        let fields = stat_fields(&stat);
        // After the name: state is field 0, utime 11, stime 12, starttime 19.
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
        let status = read("/proc/self/status");
        ProcessFigures {
            cpu_seconds: ticks(11)
                .zip(ticks(12))
                .map(|(user, system)| (user + system) / TICKS_PER_SECOND),
            resident_bytes: status_kb(&status, "VmRSS:"),
            virtual_bytes: status_kb(&status, "VmSize:"),
            open_fds: fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as u64),
            max_fds: max_open_files(&read("/proc/self/limits")),
            start_time: boot_time(&read("/proc/stat"))
                .zip(ticks(19))
                .map(|(boot, start)| boot + start / TICKS_PER_SECOND),
        }
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: Option<f64>,
) -> Result<(), std::fmt::Error> {
    let Some(value) = value else { return Ok(()) };
    let g = ConstGauge::new(value);
    g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let f = ProcessFigures::read();
        if let Some(cpu) = f.cpu_seconds {
            let c = ConstCounter::new(cpu);
            let help = "User and system CPU time spent, seconds";
            c.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                help,
                None,
                c.metric_type(),
            )?)?;
        }
        let bytes = |v: Option<u64>| v.map(|v| v as f64);
        let e = &mut encoder;
        gauge(
            e,
            "process_resident_memory_bytes",
            "Resident memory size, bytes",
            bytes(f.resident_bytes),
        )?;
        gauge(
            e,
            "process_virtual_memory_bytes",
            "Virtual memory size, bytes",
            bytes(f.virtual_bytes),
        )?;
        gauge(
            e,
            "process_open_fds",
            "Open file descriptors",
            bytes(f.open_fds),
        )?;
        gauge(
            e,
            "process_max_fds",
            "Limit of open file descriptors",
            bytes(f.max_fds),
        )?;
        let start = "Start time of the process since the Unix epoch, seconds";
        gauge(e, "process_start_time_seconds", start, f.start_time)
    }
}

#[cfg(test)]
mod tests {
    //! The /proc parsers, on sample text and on this process.
    use super::*;

    #[test]
    fn parses_proc_text() {
        let stat = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 1000 0";
        let f = stat_fields(stat);
        assert_eq!((f[0], f[11], f[12], f[19]), ("S", "250", "50", "1000"));
        assert_eq!(
            status_kb("Name: x\nVmRSS:\t  2048 kB\n", "VmRSS:"),
            Some(2048 * 1024)
        );
        let limits = "Limit Soft Hard Units\nMax open files            1024                 4096                 files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(
            boot_time("cpu 1 2\nbtime 1700000000\n"),
            Some(1_700_000_000.0)
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let f = ProcessFigures::read();
        assert!(f.resident_bytes.unwrap() > 0);
        assert!(f.open_fds.unwrap() >= 3);
        assert!(f.cpu_seconds.is_some() && f.max_fds.is_some());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = f.start_time.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 86_400.0 * 365.0,
            "{start}"
        );
    }
}
