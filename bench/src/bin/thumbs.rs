//! `dfs-bench-thumbs`: the thumbnail bench (see `dfs_bench::thumbs`):
//! engine throughput, decode timings, peak RSS under 16 transforms, nginx
//! `image_filter` and the gateway under the same wrk load. Prints Markdown,
//! writes JSON.

use bytes::Bytes;
use clap::Parser;
use dfs_bench::thumbs::{engine, gateway, nginx, sample, ThumbReport};
use dfs_bench::wrk::Load;
use dfs_gateway::thumbs::Output;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Thumbnails of a 1600x1200 JPEG to 150x150: the gateway's engine and
/// nginx image_filter.
#[derive(Debug, Parser)]
#[command(name = "dfs-bench-thumbs", version, about)]
struct Options {
    /// 2 s per measurement instead of 10.
    #[arg(long)]
    quick: bool,
    /// wrk connections.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Skip the nginx row.
    #[arg(long)]
    no_nginx: bool,
    /// Skip the gateway rows.
    #[arg(long)]
    no_gateway: bool,
    /// The dfs-gateway binary (default: the one beside this one, rebuilt
    /// first under cargo).
    #[arg(long)]
    gateway: Option<PathBuf>,
    /// Where to write the JSON results.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results/thumbs.json"))]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    let secs = if options.quick { 2 } else { 10 };
    let duration = Duration::from_secs(secs);
    let cpus = dfs_bench::cpus();
    let source = Bytes::from(sample::jpeg());
    eprintln!("sample: {} bytes", source.len());
    let memory = vec![
        engine::peak_rss(&source, 0).await,
        engine::peak_rss(&source, 16).await,
    ];
    let decode = engine::decode_timings(&source, if options.quick { 5 } else { 20 });
    let mut thread_counts = vec![1, cpus];
    thread_counts.dedup();
    let mut rows = Vec::new();
    for output in [Output::Source, Output::Webp] {
        for &threads in &thread_counts {
            rows.push(engine::throughput(&source, output, threads, duration));
        }
    }
    let load = Load {
        threads: options.threads,
        connections: options.connections,
        duration,
        timeout: Duration::from_secs(10),
    };
    let nginx = if options.no_nginx {
        None
    } else {
        match nginx::measure(&source, &load, cpus).await {
            Ok(row) => row,
            Err(e) => {
                eprintln!("dfs-bench-thumbs: nginx: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let gateway = if options.no_gateway {
        None
    } else {
        let measured = async {
            let binary = dfs_bench::gateway::binary(options.gateway.clone())?;
            gateway::measure(&binary, &source, &load).await
        };
        match measured.await {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("dfs-bench-thumbs: gateway: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let report = ThumbReport {
        source_bytes: source.len(),
        cpus,
        engine: rows,
        decode,
        memory,
        nginx,
        gateway,
    };
    println!("{}", report.markdown());
    if let Err(e) = report.write(&options.out) {
        eprintln!("dfs-bench-thumbs: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
