//! The `dfs-gateway` command: parse the command line, set up logging, load the
//! config, bind, and hand over to [`dfs_gateway::run`].

use clap::{Parser, Subcommand};
use dfs_gateway::config::{Config, LogFormat};
use std::path::PathBuf;
use std::process::ExitCode;

/// HTTP gateway for MogileFS and FastDFS clusters.
#[derive(Debug, Parser)]
#[command(name = "dfs-gateway", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP according to a config file.
    Serve {
        /// Path of the TOML config.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check a config file and print a one-line summary.
    CheckConfig {
        /// Path of the TOML config.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Start an in-process demo cluster with the gateway in front of it.
    #[cfg(feature = "demo")]
    Demo {
        /// Address for the gateway.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Where the demo cluster keeps its files (default: a temporary directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match format {
        LogFormat::Text => fmt.init(),
        LogFormat::Json => fmt.json().flatten_event(true).init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match Config::load(&config) {
            Ok(c) => {
                println!("ok: {}: {}", config.display(), c.summary());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {}: {e}", config.display());
                ExitCode::FAILURE
            }
        },
        Command::Serve { config } => {
            let config = match Config::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {}: {e}", config.display());
                    return ExitCode::FAILURE;
                }
            };
            init_logging(config.server.log_format);
            serve(config).await
        }
        #[cfg(feature = "demo")]
        Command::Demo { listen, data_dir } => {
            init_logging(LogFormat::Text);
            match dfs_gateway::demo::run(listen, data_dir).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(config.server.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", config.server.listen);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("serving: {}", config.summary());
    match dfs_gateway::run(listener, config, dfs_gateway::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
