//! The `dfs-bench` command: options → [`dfs_bench::Plan`], run, print the
//! Markdown report, write the JSON one.

use clap::Parser;
use dfs_bench::error::BenchError;
use dfs_bench::objects::{SizeClass, OBJECT_SET};
use dfs_bench::{wrk, Plan};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Measures dfs-gateway against nginx on 127.0.0.1: reads per object size
/// (storage direct, nginx proxy, gateway with and without its look-up
/// cache), writes, and the gateway's memory while streaming.
#[derive(Debug, Parser)]
#[command(name = "dfs-bench", version, about)]
struct Options {
    /// A ~1 minute smoke run: 2 s per target, 64 MiB streams instead of 1 GiB.
    #[arg(long)]
    quick: bool,
    /// Seconds of measured load per target (default 10; 2 with --quick).
    #[arg(long)]
    duration: Option<u64>,
    /// Connections wrk keeps open, the same for every target.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// The dfs-gateway binary to measure (default: the one built next to
    /// dfs-bench, rebuilt first when run by cargo).
    #[arg(long)]
    gateway: Option<PathBuf>,
    /// Only these size classes, e.g. `--sizes 4KiB,64MiB` (default: all).
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<String>,
    /// Skip the PUT rows.
    #[arg(long)]
    no_put: bool,
    /// Skip the streaming memory test.
    #[arg(long)]
    no_stream: bool,
    /// Slow readers per protocol in the slow-reader memory test (default
    /// 1000; 200 with --quick; 0 skips it).
    #[arg(long)]
    slow_readers: Option<usize>,
    /// Where to write the JSON results.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results/latest.json"))]
    out: PathBuf,
}

impl Options {
    fn plan(&self) -> Plan {
        let duration = self.duration.unwrap_or(if self.quick { 2 } else { 10 });
        Plan {
            quick: self.quick,
            load: wrk::Load {
                threads: self.threads.max(1),
                connections: self.connections.max(self.threads.max(1)),
                duration: Duration::from_secs(duration.max(1)),
                timeout: Duration::from_secs(60),
            },
            warmup: Duration::from_secs(if self.quick { 1 } else { 2 }),
            read_sizes: self.chosen(&OBJECT_SET),
            write_sizes: if self.no_put {
                vec![]
            } else {
                self.chosen(&[OBJECT_SET[0], OBJECT_SET[2]])
            },
            stream_clients: if self.no_stream { 0 } else { 4 },
            stream_bytes: if self.quick { 64 << 20 } else { 1 << 30 },
            fill_cache: true,
            slow: dfs_bench::slow::SlowPlan {
                readers: self
                    .slow_readers
                    .unwrap_or(if self.quick { 200 } else { 1000 }),
                object_bytes: 100_000_000,
                hold: Duration::from_secs(if self.quick { 5 } else { 10 }),
            },
            gateway: self.gateway.clone(),
        }
    }
}

impl Options {
    /// The classes of `all` that `--sizes` names (all without it).
    fn chosen(&self, all: &[SizeClass]) -> Vec<SizeClass> {
        let wanted = |c: &&SizeClass| {
            self.sizes.is_empty() || self.sizes.iter().any(|s| s.eq_ignore_ascii_case(c.label))
        };
        all.iter().filter(wanted).copied().collect()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    // devcluster's warnings (a storage node failing, say) belong in the output.
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    if cfg!(debug_assertions) {
        eprintln!(
            "dfs-bench: WARNING: a debug build; use --release for figures that mean anything"
        );
    }
    let plan = options.plan();
    // Leaving through Ctrl-C drops the run, and with it every child process.
    let result = tokio::select! {
        r = dfs_bench::run(&plan) => r,
        _ = tokio::signal::ctrl_c() => Err(BenchError::Interrupted),
    };
    match result.and_then(|report| write(&report, &options.out).map(|()| report)) {
        Ok(report) => {
            println!("{}", report.markdown());
            println!("JSON: {}", options.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dfs-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(report: &dfs_bench::report::Report, out: &std::path::Path) -> Result<(), BenchError> {
    let json = serde_json::to_string_pretty(report).expect("the report serializes");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|source| BenchError::Io {
            what: format!("creating {}", dir.display()),
            source,
        })?;
    }
    std::fs::write(out, json + "\n").map_err(|source| BenchError::Io {
        what: format!("writing {}", out.display()),
        source,
    })
}
