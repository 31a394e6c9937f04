//! The `dfs-gateway` command: parse the command line, set up logging, load the
//! config, bind, and hand over to [`dfs_gateway::run`].

use clap::{Parser, Subcommand};
use dfs_gateway::config::{Config, LogFormat};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

// The system allocator spends a tenth of a small request's CPU time in
// malloc and free (measured with `bench/`); mimalloc's thread-local free
// lists cut most of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Print the gateway TOML equivalent to an nginx config that uses
    /// nginx_mogilefs_module or fastdfs-nginx-module (warnings on stderr).
    ImportNginx {
        /// The nginx config (its `include`s are read relative to its directory).
        file: PathBuf,
        /// The mod_fastdfs.conf its FastDFS locations use.
        #[arg(long, default_value = dfs_gateway::import_nginx::DEFAULT_FASTDFS_CONF)]
        fastdfs_conf: PathBuf,
    },
    /// Print `token=...&ts=...` for a FastDFS file ID (anti-steal token).
    Token {
        /// The file ID, `group1/M00/00/00/...` (the group is not signed).
        file_id: String,
        /// The shared secret; or take it from `--config`.
        #[arg(long, conflicts_with = "config")]
        secret: Option<String>,
        /// A config whose location has `token = {...}`.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Which location's token, by prefix (default: the first with one).
        #[arg(long)]
        location: Option<String>,
        /// Timestamp to sign (default: now).
        #[arg(long)]
        ts: Option<i32>,
    },
    /// Print the cluster status (trackers, hosts and devices, groups and
    /// storages) by asking the trackers of a config's upstreams.
    Status {
        /// Path of the TOML config.
        #[arg(long, short)]
        config: PathBuf,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Decode a FastDFS file ID offline: source, create time, size, crc32, kind.
    FidInfo {
        /// The file ID, `group1/M00/00/00/...`.
        file_id: String,
    },
    /// Print a signed URL (see the README's "Access control" section for the formula).
    Sign {
        /// The method it allows (`GET` also allows `HEAD`).
        #[arg(long, default_value = "GET")]
        method: String,
        /// The path, percent-encoded as the client will send it, e.g. `/upload/a.jpg`.
        #[arg(long)]
        path: String,
        /// How long it stays valid, e.g. `10m`.
        #[arg(long, default_value = "10m")]
        expires: String,
        /// Largest upload it allows, e.g. `5MiB` (bound into the signature).
        #[arg(long)]
        max_size: Option<String>,
        /// The signing secret; or take it from `--config`.
        #[arg(long, conflicts_with = "config")]
        secret: Option<String>,
        /// A config whose location serving `--path` has `signed = {...}`.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Put this in front, e.g. `https://files.example.com`.
        #[arg(long, default_value = "")]
        base_url: String,
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
    // Logs go to stderr (stdout is for what a command prints: the summary of
    // check-config, the demo's curl lines, a token); colours only on a terminal.
    let subscriber = dfs_gateway::routes::access_log::output::subscriber(
        format,
        filter,
        std::io::stderr,
        std::io::stderr().is_terminal(),
    );
    // `init` also forwards the `log` records of dependencies (rustls).
    tracing_subscriber::util::SubscriberInitExt::init(subscriber);
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match Config::load(&config) {
            Ok(c) => {
                println!("ok: {}: {}", config.display(), c.summary());
                for note in &c.notes {
                    println!("note: {note}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {}: {e}", config.display());
                ExitCode::FAILURE
            }
        },
        Command::Token {
            file_id,
            secret,
            config,
            location,
            ts,
        } => match mint_token(&file_id, secret, config, location, ts) {
            Ok(query) => {
                println!("{query}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Sign {
            method,
            path,
            expires,
            max_size,
            secret,
            config,
            base_url,
        } => match sign_url(&method, &path, &expires, max_size, secret, config) {
            Ok(url) => {
                println!("{base_url}{url}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve { config: path } => {
            let config = match Config::load(&path) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            };
            init_logging(config.server.log_format);
            serve(config, path).await
        }
        Command::Status { config, json } => print_result(status(&config, json).await),
        Command::FidInfo { file_id } => print_result(dfs_gateway::fid_info::describe(&file_id)),
        Command::ImportNginx { file, fastdfs_conf } => import_nginx(&file, fastdfs_conf),
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

/// Prints the imported TOML on stdout and each warning on stderr.
/// Prints a command's output, or its error on stderr with exit code 1.
fn print_result(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dfs-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn status(path: &std::path::Path, json: bool) -> Result<String, String> {
    let config = Config::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let sources = dfs_gateway::status::sources_from_config(&config)?;
    let report = dfs_gateway::status::build(&sources).await;
    if json {
        serde_json::to_string_pretty(&report)
            .map(|j| j + "\n")
            .map_err(|e| e.to_string())
    } else {
        Ok(dfs_gateway::status::table::render(&report))
    }
}

fn import_nginx(file: &std::path::Path, fastdfs_conf: PathBuf) -> ExitCode {
    use dfs_gateway::import_nginx::{import_with, ImportOptions};
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let options = ImportOptions {
        source_name: Some(file.display().to_string()),
        fastdfs_conf: Some(fastdfs_conf),
    };
    let base_dir = file.parent().unwrap_or(std::path::Path::new("."));
    match import_with(&text, base_dir, &options) {
        Ok(imported) => {
            print!("{}", imported.toml);
            for warning in &imported.warnings {
                eprintln!("warning: {warning}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The query string that passes the token check for `file_id`.
fn mint_token(
    file_id: &str,
    secret: Option<String>,
    config: Option<PathBuf>,
    prefix: Option<String>,
    ts: Option<i32>,
) -> Result<String, String> {
    let id = dfs_protocol::fastdfs::FileId::parse(file_id.trim_start_matches('/'))
        .map_err(|e| format!("{file_id}: {e}"))?;
    let secret = match (secret, config) {
        (Some(secret), _) => secret,
        (None, Some(path)) => {
            let config = Config::load(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            config
                .locations
                .iter()
                .map(|l| l.get_ref())
                .filter(|l| prefix.as_deref().is_none_or(|p| l.prefix == p))
                .find_map(|l| l.token.as_ref().map(|t| t.secret.clone()))
                .ok_or_else(|| format!("{}: no location with a token", path.display()))?
        }
        (None, None) => return Err("give --secret or --config".into()),
    };
    let ts = ts.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        i32::try_from(now).unwrap_or(i32::MAX)
    });
    let token = dfs_protocol::fastdfs::token::generate(id.remote_name(), secret.as_bytes(), ts);
    Ok(format!("token={token}&ts={ts}"))
}

/// `path?expires=...&sig=...` for `dfs-gateway sign`.
fn sign_url(
    method: &str,
    path: &str,
    expires: &str,
    max_size: Option<String>,
    secret: Option<String>,
    config: Option<PathBuf>,
) -> Result<String, String> {
    if !path.starts_with('/')
        || path.contains(['?', '#'])
        || !path.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(format!(
            "--path {path:?}: give the path alone, starting with '/', percent-encoded"
        ));
    }
    let ttl =
        humantime::parse_duration(expires).map_err(|e| format!("--expires {expires:?}: {e}"))?;
    let max_size = max_size
        .map(|m| dfs_gateway::config::Bytes::parse(&m).map(|b| b.0))
        .transpose()
        .map_err(|e| format!("--max-size: {e}"))?;
    let secret = match (secret, config) {
        (Some(secret), _) => secret,
        (None, Some(file)) => {
            let config = Config::load(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            config
                .locations
                .iter()
                .map(|l| l.get_ref())
                .filter(|l| path.starts_with(&l.prefix))
                .max_by_key(|l| l.prefix.len())
                .and_then(|l| l.access.signed.as_ref().map(|s| s.secret.clone()))
                .ok_or_else(|| {
                    format!(
                        "{}: the location serving {path} has no signed = {{...}}",
                        file.display()
                    )
                })?
        }
        (None, None) => return Err("give --secret or --config".into()),
    };
    let expires_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .saturating_add(ttl)
        .as_secs();
    let method = method.to_ascii_uppercase();
    let query =
        dfs_gateway::access::signed::sign(secret.as_bytes(), &method, path, expires_at, max_size);
    Ok(format!("{path}?{query}"))
}

async fn serve(config: Config, path: PathBuf) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(config.server.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", config.server.listen);
            return ExitCode::FAILURE;
        }
    };
    let gateway = match dfs_gateway::Gateway::new(&config) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("serving: {}", config.summary());
    for note in &config.notes {
        tracing::warn!("{note}");
    }
    tokio::spawn(reload_on_sighup(gateway.clone(), path));
    match gateway
        .serve(listener, &config, dfs_gateway::shutdown_signal())
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Re-reads the config file on each SIGHUP; a bad file is logged and
/// ignored, and the next SIGHUP is served all the same.
#[cfg(unix)]
async fn reload_on_sighup(gateway: dfs_gateway::Gateway, path: PathBuf) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot listen for SIGHUP, so no config reloads: {e}");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        let file = path.clone();
        let load = move || Config::load(&file).map_err(|e| e.to_string());
        match gateway.reload_with(load).await {
            Ok(c) => tracing::info!("reloaded {}: {}", path.display(), c.summary()),
            Err(e) => tracing::error!(
                "reload of {} rejected, keeping the running config: {e}",
                path.display()
            ),
        }
    }
}

#[cfg(not(unix))]
async fn reload_on_sighup(_: dfs_gateway::Gateway, _: PathBuf) {}
