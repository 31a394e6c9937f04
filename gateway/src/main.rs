//! The `dfs-gateway` command: parse the command line ([`cli`]), set up
//! logging, load the config, bind, and hand over to the gateway.

mod cli;

use clap::Parser;
use cli::{Cli, Command, ConfigPath};
use dfs_gateway::config::{Config, LogFormat};
use dfs_gateway::routes::access_log::batched::Batched;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

// The system allocator spends a tenth of a small request's CPU time in
// malloc and free (measured with `bench/`); mimalloc's thread-local free
// lists cut most of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Installs the process's subscriber; the returned writer holds the lines
/// not yet written, to be flushed before the process ends.
fn init_logging(format: LogFormat) -> Batched<fn() -> std::io::Stderr> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr (stdout is for what a command prints: the summary of
    // check-config, the demo's curl lines, a token); colours only on a terminal.
    let writer = Batched::new(std::io::stderr as fn() -> std::io::Stderr);
    let subscriber = dfs_gateway::routes::access_log::output::subscriber(
        format,
        filter,
        writer.clone(),
        std::io::stderr().is_terminal(),
    );
    // `init` also forwards the `log` records of dependencies (rustls).
    tracing_subscriber::util::SubscriberInitExt::init(subscriber);
    writer
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().into_command() {
        Command::CheckConfig { file, config } => check_config(&ConfigPath::choose([file, config])),
        Command::Token {
            file_id,
            secret,
            config,
            location,
            ts,
        } => print_line(mint_token(&file_id, secret, config, location, ts)),
        Command::Sign {
            method,
            path,
            expires,
            max_size,
            secret,
            config,
            base_url,
        } => print_line(
            sign_url(&method, &path, &expires, max_size, secret, config)
                .map(|url| format!("{base_url}{url}")),
        ),
        Command::Serve { config } => {
            let path = ConfigPath::choose([config]);
            let config = match path.load() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let log = init_logging(config.server.log_format);
            let code = serve(config, path.path).await;
            log.flush();
            code
        }
        Command::Status { config, json } => {
            print_result(status(&ConfigPath::choose([config]), json).await)
        }
        Command::FidInfo { file_id } => print_result(dfs_gateway::fid_info::describe(&file_id)),
        Command::ImportNginx { file, fastdfs_conf } => import_nginx(&file, fastdfs_conf),
        #[cfg(feature = "demo")]
        Command::Demo {
            listen,
            data_dir,
            public_url,
        } => {
            let log = init_logging(LogFormat::Text);
            let ran = dfs_gateway::demo::run(listen, data_dir, public_url).await;
            log.flush();
            match ran {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `check-config` and `-t`: the summary and notes, or the error.
fn check_config(path: &ConfigPath) -> ExitCode {
    match path.load() {
        Ok(c) => {
            println!("ok: {}: {}", path.path.display(), c.summary());
            for note in &c.notes {
                println!("note: {note}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a one-line result, or its error on stderr with exit code 1.
fn print_line(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

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

async fn status(path: &ConfigPath, json: bool) -> Result<String, String> {
    let config = path.load()?;
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

/// Prints the imported TOML on stdout and each warning on stderr.
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
