//! The command line of the `dfs-gateway` binary (a module of `main.rs`, not
//! of the library): the subcommands, nginx's `-t` / `-c FILE`, and the
//! default config path.
//!
//! ```text
//! dfs-gateway serve [--config FILE]          FILE defaults to /etc/dfs-gateway/dfs-gateway.toml
//! dfs-gateway check-config [FILE | --config FILE]
//! dfs-gateway -t [-c FILE]                   as `nginx -t`: check and exit
//! dfs-gateway -c FILE                        as `nginx -c FILE`: serve
//! ```

use clap::{Parser, Subcommand};
use dfs_gateway::config::{Config, ConfigError};
use std::path::PathBuf;

/// Where `serve`, `check-config`, `status` and `-t` read the config when no
/// file is given.
pub const DEFAULT_CONFIG: &str = "/etc/dfs-gateway/dfs-gateway.toml";

/// HTTP gateway for MogileFS and FastDFS clusters.
#[derive(Debug, Parser)]
#[command(
    name = "dfs-gateway",
    version,
    about,
    args_conflicts_with_subcommands = true,
    arg_required_else_help = true,
    after_help = "Without a file, serve, check-config, status and -t read /etc/dfs-gateway/dfs-gateway.toml."
)]
pub struct Cli {
    /// Check the config and exit, as `nginx -t` (the file of `-c`, or the default one).
    #[arg(short = 't', long = "test-config")]
    pub test: bool,
    /// The config file, as nginx's `-c`: checked with `-t`, else served.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The subcommand, with `-t` / `-c FILE` read as `check-config` / `serve`.
    pub fn into_command(self) -> Command {
        match (self.command, self.test) {
            (Some(command), _) => command,
            (None, true) => Command::CheckConfig {
                file: self.config,
                config: None,
            },
            (None, false) => Command::Serve {
                config: self.config,
            },
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP according to a config file.
    Serve {
        /// Path of the TOML config [default: /etc/dfs-gateway/dfs-gateway.toml].
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Check a config file and print a one-line summary (exit 1 naming the
    /// key and line at fault).
    CheckConfig {
        /// Path of the TOML config [default: /etc/dfs-gateway/dfs-gateway.toml].
        #[arg(value_name = "FILE", conflicts_with = "config")]
        file: Option<PathBuf>,
        /// The same, as an option.
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
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
        /// Path of the TOML config [default: /etc/dfs-gateway/dfs-gateway.toml].
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
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
        /// The URL clients reach the demo on when it is not `--listen`
        /// (behind a proxy, in a container), for its printed lines and landing page.
        #[arg(long, value_parser = dfs_gateway::demo::public_url)]
        public_url: Option<String>,
    },
}

/// A config file named on the command line, or the default one.
#[derive(Debug, Clone)]
pub struct ConfigPath {
    /// The file.
    pub path: PathBuf,
    /// False when it is [`DEFAULT_CONFIG`] because none was given.
    pub given: bool,
}

impl ConfigPath {
    /// The first of `choices` that is set, else [`DEFAULT_CONFIG`].
    pub fn choose(choices: impl IntoIterator<Item = Option<PathBuf>>) -> Self {
        match choices.into_iter().flatten().next() {
            Some(path) => ConfigPath { path, given: true },
            None => ConfigPath {
                path: DEFAULT_CONFIG.into(),
                given: false,
            },
        }
    }

    /// Loads the file; the error names it and, when it is the default one
    /// and cannot be read, says so and how to name another.
    pub fn load(&self) -> Result<Config, String> {
        Config::load(&self.path).map_err(|e| match e {
            ConfigError::Read { .. } if !self.given => format!(
                "{e}\n(no config file was given, so the default {DEFAULT_CONFIG} was tried; name one with --config FILE)"
            ),
            ConfigError::Read { .. } => e.to_string(),
            e => format!("{}: {e}", self.path.display()),
        })
    }
}
