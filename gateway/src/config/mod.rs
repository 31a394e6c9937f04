//! The configuration file: one serde tree read from TOML, then [`Config::validate`].
//!
//! Unknown keys are errors (`deny_unknown_fields` everywhere), so a typo never
//! silently falls back to a default. Errors name the key and, where the file
//! gives one, the line.

pub mod access;
pub mod cache;
mod fdfs_conf;
mod health;
pub mod limits;
mod listen;
mod messages;
mod paths;
pub mod thumbnails;
mod units;

pub use units::{Bytes, Secs};

use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The HTTP listener and request limits.
    pub server: ServerConfig,
    /// Clusters the gateway talks to, each through its trackers.
    #[serde(rename = "upstream", default)]
    pub upstreams: Vec<Spanned<UpstreamConfig>>,
    /// URL prefixes and what they map to.
    #[serde(rename = "location", default)]
    pub locations: Vec<Spanned<LocationConfig>>,
    /// `Content-Type` by extension: `"ts" = "video/mp2t"` entries on top of
    /// nginx's and mime_guess's tables.
    #[serde(default)]
    pub mime: crate::mime_types::MimeTypes,
    /// Things in imported files (`fastdfs_conf`) that the gateway does not
    /// carry over, for `check-config` and the start-up log.
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on: `"127.0.0.1:8080"`, `"localhost:8080"`,
    /// `"[::1]:8080"`, `"*:8080"` or a bare port (every IPv4 address).
    #[serde(deserialize_with = "listen::deserialize")]
    pub listen: SocketAddr,
    /// Largest accepted upload body; larger ones get 413. Default 1GiB.
    #[serde(default = "defaults::max_body_size")]
    pub max_body_size: Bytes,
    /// How long in-flight requests may run on after a shutdown signal. Default 30s.
    #[serde(default = "defaults::shutdown_grace")]
    pub shutdown_grace: Secs,
    /// Longest time a client may take to send its request head. Default 10s.
    #[serde(default = "defaults::header_read_timeout")]
    pub header_read_timeout: Secs,
    /// Largest request head accepted. Default 16KiB (at least 8KiB is used).
    #[serde(default = "defaults::max_header_size")]
    pub max_header_size: Bytes,
    /// Requests served at once; more get 503 with Retry-After rather than a
    /// queue. Default 4096.
    #[serde(default = "defaults::max_concurrent_requests")]
    pub max_concurrent_requests: usize,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1) with this certificate and key.
    /// Reloaded on SIGHUP.
    pub tls: Option<crate::tls::TlsConfig>,
    /// Where `/healthz`, `/readyz` and `/metrics` are served; on `listen`
    /// (ahead of the locations) when absent. Same forms as `listen`.
    #[serde(default, deserialize_with = "listen::deserialize_optional")]
    pub admin_listen: Option<SocketAddr>,
    /// Log format: `"text"` or `"json"`. Default text.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Threads serving the main listener, each with its own event loop and
    /// its own storage connections (nginx's `worker_processes`). Default:
    /// one per CPU.
    #[serde(default = "defaults::workers")]
    pub workers: usize,
    /// Path of the cluster status page, served beside `/metrics` (and its
    /// JSON form at the same path plus `.json`). Default `/_status`.
    #[serde(default = "crate::status::default_path")]
    pub status_path: String,
    /// Trusted proxies, the rate limiters' table, the admin side.
    #[serde(default)]
    pub access: access::ServerAccess,
    /// Longest wait between two successive reads of a request body (nginx's
    /// `client_body_timeout`); a stalled upload then fails with 408 and frees
    /// its place. Default 60s.
    #[serde(default = "defaults::client_body_timeout")]
    pub client_body_timeout: Secs,
    /// Client connections open at once (nginx's `worker_connections`, for all
    /// workers together); more are closed as soon as they are accepted.
    /// Default 4096.
    #[serde(default = "defaults::max_connections")]
    pub max_connections: usize,
    /// Accept HTTP/2 without TLS (h2c, prior knowledge) on a plain listener.
    /// Default false: plain listeners speak HTTP/1 only; HTTPS negotiates
    /// HTTP/2 by ALPN either way.
    #[serde(default)]
    pub h2c: bool,
    /// Access log lines: `"gateway"` (fields, as text or JSON per
    /// `log_format`) or `"combined"` (nginx's format, bare). Default gateway.
    #[serde(default)]
    pub access_log_format: crate::routes::access_log::AccessFormat,
    /// A small HTML page on `GET /` listing the locations and these example
    /// links; absent (the default), `/` goes to the locations as usual.
    pub landing_page: Option<crate::landing::LandingConfig>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Which wire protocol an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// MogileFS trackers (text protocol, default port 7001) and HTTP storage nodes.
    Mogilefs,
    /// FastDFS trackers (binary protocol, default port 22122) and storage servers.
    Fastdfs,
}

impl Protocol {
    /// The port a tracker listens on when the address names none.
    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Mogilefs => 7001,
            Protocol::Fastdfs => 22122,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Mogilefs => "mogilefs",
            Protocol::Fastdfs => "fastdfs",
        })
    }
}

/// `[[upstream]]`: one cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Name that locations refer to.
    pub name: String,
    /// `"mogilefs"` or `"fastdfs"`.
    pub protocol: Protocol,
    /// Tracker addresses, `"host:port"` (port defaults to the protocol's).
    pub trackers: Vec<String>,
    /// Time to open a connection to a tracker. Default 1s.
    #[serde(default = "defaults::connect_timeout")]
    pub connect_timeout: Secs,
    /// Time for a tracker to answer a command. Default 10s.
    #[serde(default = "defaults::reply_timeout")]
    pub reply_timeout: Secs,
    /// How long a tracker that failed is skipped before it is tried again. Default 5s.
    #[serde(default = "defaults::fail_timeout")]
    pub fail_timeout: Secs,
    /// Idle connections kept per tracker. Default 16.
    #[serde(default = "defaults::max_idle")]
    pub max_idle: usize,
    /// Idle tracker and storage-server connections older than this are
    /// closed rather than reused; `"0s"` turns reuse off. Default 50s.
    #[serde(default = "health::default_idle_timeout")]
    pub idle_timeout: Secs,
    /// Failures in a row after which a tracker or storage node is skipped
    /// for `fail_timeout`. Default 1.
    #[serde(default = "health::default_consecutive")]
    pub consecutive_failures: u32,
    /// Successes in a row after which a skipped tracker or storage node is
    /// used again before `fail_timeout` is over. Default 1.
    #[serde(default = "health::default_consecutive")]
    pub consecutive_successes: u32,
    /// How long a key's paths (MogileFS) are remembered; `"0s"` turns the
    /// look-up cache off. Default 5s. Uploads and deletes through the gateway
    /// forget the key at once.
    pub cache_ttl: Option<Secs>,
    /// Most look-ups kept in the cache. Default 100000.
    #[serde(default = "defaults::cache_size")]
    pub cache_size: u64,
    /// Interval of the background `noop` probe of each tracker; `"0s"` turns
    /// probing off. Default 2s.
    #[serde(default = "defaults::probe_interval")]
    pub probe_interval: Secs,
    /// Time to connect to a storage node. Default 1s.
    #[serde(default = "defaults::connect_timeout")]
    pub storage_connect_timeout: Secs,
    /// Time for a storage node to start answering (status line and headers). Default 30s.
    #[serde(default = "defaults::storage_timeout")]
    pub storage_timeout: Secs,
    /// The hot-object cache, `{ size = "64MiB", max_object = "1MiB" }` by
    /// default; `size = "0"` turns it off.
    #[serde(default)]
    pub object_cache: cache::ObjectCacheConfig,
    /// Storage addresses as trackers (and FastDFS file IDs) name them →
    /// the addresses dialled: `"ip:port" = "ip:port"`, `"IP" = "IP"` (port
    /// kept), `"CIDR" = "CIDR"` of the same length (host part kept). The
    /// most specific entry wins: exact, then IP, then the longest CIDR.
    #[serde(default)]
    pub storage_map: std::collections::BTreeMap<String, String>,
}

impl UpstreamConfig {
    /// Its `storage_map`, read; `listeners` are the gateway's own addresses
    /// (see [`Config::listeners`]), which no entry may point at.
    pub fn address_map(
        &self,
        listeners: &[SocketAddr],
    ) -> Result<crate::clients::AddressMap, String> {
        crate::clients::AddressMap::parse(&self.storage_map, listeners)
    }

    /// `cache_ttl`, or the protocol's default: a few seconds for MogileFS
    /// (keys are overwritten); five minutes for FastDFS, whose files never
    /// change place once synced.
    pub fn cache_ttl(&self) -> Duration {
        match (self.cache_ttl, self.protocol) {
            (Some(ttl), _) => ttl.0,
            (None, Protocol::Mogilefs) => Duration::from_secs(5),
            (None, Protocol::Fastdfs) => Duration::from_secs(300),
        }
    }
}

/// An HTTP method a location may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Read (implies HEAD).
    Get,
    /// Read headers only.
    Head,
    /// Store under a key (MogileFS).
    Put,
    /// Upload, the server choosing the name (FastDFS).
    Post,
    /// Remove.
    Delete,
}

impl Method {
    /// The method's name as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// `[[location]]`: a URL prefix served from an upstream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationConfig {
    /// URL path prefix, starting and ending with `/`. The rest of the path is the key.
    pub prefix: String,
    /// Name of an `[[upstream]]`.
    pub upstream: String,
    /// Allowed methods; GET implies HEAD. Default `["GET", "HEAD"]`.
    #[serde(default = "defaults::methods")]
    pub methods: Vec<Method>,
    /// MogileFS domain of the keys (required for MogileFS).
    pub domain: Option<String>,
    /// MogileFS class for uploads; the tracker's default class when absent.
    pub class: Option<String>,
    /// MogileFS: ask `get_paths` not to verify the first path. Default true.
    #[serde(default = "defaults::yes")]
    pub noverify: bool,
    /// MogileFS: how many paths to ask `get_paths` for. Default: the tracker's (2).
    pub pathcount: Option<u32>,
    /// Largest upload for this location; `[server].max_body_size` when absent.
    pub max_body_size: Option<Bytes>,
    /// `"proxy"` (default): the gateway streams the bytes. `"accel"`: reads
    /// are answered with `X-Accel-Redirect` to nginx's internal
    /// `accel_location`, which fetches from the storage node itself.
    #[serde(default)]
    pub mode: Mode,
    /// The internal nginx location for accel mode. Default `/_dfs_accel/`.
    #[serde(default = "defaults::accel_location")]
    pub accel_location: String,
    /// FastDFS: the group of URLs that carry none (`/M00/...`), and the group
    /// uploads go to (the tracker chooses when absent).
    pub group: Option<String>,
    /// FastDFS local-disk mode: the storage server's store paths on this
    /// machine (`M00` = the first). Files found there are served from disk;
    /// others are fetched from a storage server.
    pub store_paths: Option<Vec<std::path::PathBuf>>,
    /// Local-disk mode: where file reads run. Default `"pool"`.
    #[serde(default)]
    pub disk_reads: DiskReads,
    /// FastDFS anti-steal token check, as fastdfs-nginx-module does it.
    pub token: Option<TokenConfig>,
    /// Accept `ts=0` (never expires in FastDFS). Default false.
    #[serde(default)]
    pub allow_ts_zero: bool,
    /// A file served (200) instead of 403 when the token check fails.
    pub token_check_fail: Option<std::path::PathBuf>,
    /// FastDFS: read `group_name`, `url_have_group_name`, store paths and the
    /// anti-steal settings from an existing `mod_fastdfs.conf` (and the
    /// `http.conf` it includes). Keys set here in the location win.
    pub fastdfs_conf: Option<std::path::PathBuf>,
    /// Who may do what here: addresses, credentials, signed URLs, CORS,
    /// caching, rate limits.
    #[serde(default)]
    pub access: access::LocationAccess,
    /// On-the-fly image thumbnails (`[location.thumbnails]`); off when absent.
    pub thumbnails: Option<thumbnails::Thumbnails>,
}

/// `token = { secret = "...", ttl = "900s" }`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The shared secret (`http.anti_steal.secret_key`).
    pub secret: String,
    /// How long a token stays valid after its `ts`. Default 900s.
    #[serde(default = "defaults::token_ttl")]
    pub ttl: Secs,
}

/// Where local-disk reads run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskReads {
    /// On the worker thread when the kernel can answer from its caches
    /// (the path looked up before, the bytes in the page cache), otherwise
    /// on tokio's blocking threads: a slow disk delays only its own reads.
    #[default]
    Pool,
    /// Every call on the worker thread itself, as nginx reads files: a read
    /// that waits for the disk holds up every connection of that worker
    /// meanwhile.
    Inline,
}

/// Who moves the bytes of a read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The gateway streams them.
    #[default]
    Proxy,
    /// nginx does, after an `X-Accel-Redirect` from the gateway.
    Accel,
}

impl LocationConfig {
    /// True when `method` is allowed here (GET implies HEAD).
    pub fn allows(&self, method: Method) -> bool {
        self.methods.contains(&method)
            || (method == Method::Head && self.methods.contains(&Method::Get))
    }
}

mod defaults {
    use super::{Bytes, Method, Secs};
    use std::time::Duration;

    pub fn max_body_size() -> Bytes {
        Bytes(1 << 30)
    }
    pub fn shutdown_grace() -> Secs {
        Secs(Duration::from_secs(30))
    }
    pub fn header_read_timeout() -> Secs {
        Secs(Duration::from_secs(10))
    }
    pub fn max_header_size() -> Bytes {
        Bytes(16 << 10)
    }
    pub fn max_concurrent_requests() -> usize {
        4096
    }
    pub fn client_body_timeout() -> Secs {
        Secs(Duration::from_secs(60))
    }
    pub fn max_connections() -> usize {
        4096
    }
    pub fn workers() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
    pub fn connect_timeout() -> Secs {
        Secs(Duration::from_secs(1))
    }
    pub fn reply_timeout() -> Secs {
        Secs(Duration::from_secs(10))
    }
    pub fn fail_timeout() -> Secs {
        Secs(Duration::from_secs(5))
    }
    pub fn storage_timeout() -> Secs {
        Secs(Duration::from_secs(30))
    }
    pub fn cache_size() -> u64 {
        100_000
    }
    pub fn probe_interval() -> Secs {
        Secs(Duration::from_secs(2))
    }
    pub fn max_idle() -> usize {
        16
    }
    pub fn methods() -> Vec<Method> {
        vec![Method::Get, Method::Head]
    }
    pub fn token_ttl() -> Secs {
        Secs(Duration::from_secs(900))
    }
    pub fn accel_location() -> String {
        "/_dfs_accel/".into()
    }
    pub fn yes() -> bool {
        true
    }
}

/// A config that cannot be used, with the key (and line) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path given.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax (toml's message shows the line). Wrong types and
    /// unknown keys are [`ConfigError::Invalid`], naming the key.
    #[error("{0}")]
    Parse(#[from] toml::de::Error),
    /// A value that parses but makes no sense.
    #[error("{key} (line {line}): {message}")]
    Invalid {
        /// Dotted path of the key, e.g. `location[1].upstream`.
        key: String,
        /// Line of the table holding it.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads and validates a config file; its relative paths are read
    /// against the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse_in(&text, Some(&paths::base_dir(path)))
    }

    /// Parses and validates config text; `mod_fastdfs.conf` files named by
    /// `fastdfs_conf` are read into their locations. Relative paths stay
    /// relative to the working directory.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_in(text, None)
    }

    /// [`Config::parse`], reading relative paths against `base_dir`.
    pub fn parse_in(text: &str, base_dir: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| messages::from_toml(text, e))?;
        if let Some(base) = base_dir {
            paths::resolve(&mut config, base);
        }
        for (i, location) in config.locations.iter_mut().enumerate() {
            let span = location.span();
            let l = location.get_mut();
            if let Some(path) = l.fastdfs_conf.clone() {
                let notes = fdfs_conf::apply(&path, l).map_err(|message| ConfigError::Invalid {
                    key: format!("location[{i}].fastdfs_conf"),
                    line: line_of(text, span.clone(), "fastdfs_conf"),
                    message,
                })?;
                config.notes.extend(notes);
            }
        }
        config.validate(text)?;
        Ok(config)
    }

    /// The upstream named `name`.
    pub fn upstream(&self, name: &str) -> Option<&UpstreamConfig> {
        self.upstreams
            .iter()
            .map(|u| u.get_ref())
            .find(|u| u.name == name)
    }

    /// The gateway's own listening addresses (`listen`, `admin_listen`).
    pub fn listeners(&self) -> Vec<SocketAddr> {
        std::iter::once(self.server.listen)
            .chain(self.server.admin_listen)
            .collect()
    }

    /// A one-line summary for `check-config` and the start-up log.
    pub fn summary(&self) -> String {
        let locations: Vec<String> = self
            .locations
            .iter()
            .map(|l| {
                let l = l.get_ref();
                let methods: Vec<&str> = l.methods.iter().map(|m| m.as_str()).collect();
                format!("{} -> {} [{}]", l.prefix, l.upstream, methods.join(","))
            })
            .collect();
        format!(
            "listen {}; {} upstream(s), {} location(s): {}",
            self.server.listen,
            self.upstreams.len(),
            self.locations.len(),
            locations.join("; ")
        )
    }

    /// Checks what serde cannot: references, required per-protocol keys, ranges.
    pub fn validate(&self, text: &str) -> Result<(), ConfigError> {
        if let Some(tls) = &self.server.tls {
            crate::tls::Tls::load(&tls.cert, &tls.key, Duration::from_secs(1)).map_err(
                |message| ConfigError::Invalid {
                    key: "server.tls".into(),
                    line: text
                        .lines()
                        .position(|l| l.contains("tls"))
                        .map_or(1, |i| i + 1),
                    message,
                },
            )?;
        }
        if !(1..=1024).contains(&self.server.workers) {
            return Err(ConfigError::Invalid {
                key: "server.workers".into(),
                line: line_of(text, 0..text.len(), "workers"),
                message: format!("{} is not between 1 and 1024", self.server.workers),
            });
        }
        limits::check(self, text)?;
        if let Err(message) = crate::status::check_path(&self.server.status_path) {
            return Err(ConfigError::Invalid {
                key: "server.status_path".into(),
                line: line_of(text, 0..text.len(), "status_path"),
                message,
            });
        }
        access::validate_server(&self.server.access, text)?;
        self.validate_client_limits(text)?;
        let mut names = HashSet::new();
        for (i, spanned) in self.upstreams.iter().enumerate() {
            let u = spanned.get_ref();
            let invalid = |field: &str, message: String| ConfigError::Invalid {
                key: format!("upstream[{i}].{field}"),
                line: line_of(text, spanned.span(), field),
                message,
            };
            if !names.insert(u.name.as_str()) {
                return Err(invalid(
                    "name",
                    format!("upstream {:?} is defined twice", u.name),
                ));
            }
            if u.trackers.is_empty() {
                return Err(invalid(
                    "trackers",
                    "at least one tracker is required".into(),
                ));
            }
            for t in &u.trackers {
                resolve_tracker(t, u.protocol).map_err(|m| invalid("trackers", m))?;
            }
            health::check(u).map_err(|(field, m)| invalid(field, m))?;
            u.address_map(&self.listeners())
                .map_err(|m| invalid("storage_map", m))?;
        }
        if self.locations.is_empty() {
            return Err(ConfigError::Invalid {
                key: "location".into(),
                line: 1,
                message: "at least one [[location]] is required".into(),
            });
        }
        let mut prefixes = HashSet::new();
        for (i, spanned) in self.locations.iter().enumerate() {
            let l = spanned.get_ref();
            let invalid = |field: &str, message: String| ConfigError::Invalid {
                key: format!("location[{i}].{field}"),
                line: line_of(text, spanned.span(), field),
                message,
            };
            if !l.prefix.starts_with('/') || !l.prefix.ends_with('/') {
                return Err(invalid(
                    "prefix",
                    format!("{:?} must start and end with '/'", l.prefix),
                ));
            }
            if !prefixes.insert(l.prefix.as_str()) {
                return Err(invalid(
                    "prefix",
                    format!("{:?} is used by two locations", l.prefix),
                ));
            }
            let Some(upstream) = self.upstream(&l.upstream) else {
                return Err(invalid(
                    "upstream",
                    format!("no [[upstream]] is named {:?}", l.upstream),
                ));
            };
            if l.methods.is_empty() {
                return Err(invalid("methods", "at least one method is required".into()));
            }
            access::validate_location(i, spanned, text)?;
            if upstream.protocol == Protocol::Fastdfs {
                if l.methods.contains(&Method::Put) {
                    return Err(invalid("methods", "FastDFS uploads use POST (the storage names the file); PUT is for MogileFS".into()));
                }
                if l.token.as_ref().is_some_and(|t| t.secret.is_empty()) {
                    return Err(invalid(
                        "token",
                        "the token secret must not be empty".into(),
                    ));
                }
                if l.mode == Mode::Accel {
                    return Err(invalid("mode", "accel mode is for MogileFS locations (FastDFS storage servers do not speak HTTP)".into()));
                }
                if let Some(file) = &l.token_check_fail {
                    if !file.is_file() {
                        return Err(invalid(
                            "token_check_fail",
                            format!("{} is not a readable file", file.display()),
                        ));
                    }
                }
            } else if l.token.is_some()
                || l.store_paths.is_some()
                || l.group.is_some()
                || l.fastdfs_conf.is_some()
            {
                return Err(invalid("upstream", "group, store_paths, token and fastdfs_conf are FastDFS settings; this upstream is MogileFS".into()));
            }
            if upstream.protocol == Protocol::Mogilefs {
                if l.domain.as_deref().is_none_or(str::is_empty) {
                    return Err(invalid(
                        "domain",
                        "a MogileFS location needs a domain".into(),
                    ));
                }
                if l.mode == Mode::Accel
                    && !(l.accel_location.starts_with('/') && l.accel_location.ends_with('/'))
                {
                    return Err(invalid(
                        "accel_location",
                        format!("{:?} must start and end with '/'", l.accel_location),
                    ));
                }
                if l.methods.contains(&Method::Post) {
                    return Err(invalid(
                        "methods",
                        "POST is for FastDFS uploads; MogileFS stores with PUT".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Config {
    /// Ranges of `client_body_timeout` and `max_connections`.
    fn validate_client_limits(&self, text: &str) -> Result<(), ConfigError> {
        let invalid = |field: &str, message: String| ConfigError::Invalid {
            key: format!("server.{field}"),
            line: line_of(text, 0..text.len(), field),
            message,
        };
        let body = self.server.client_body_timeout;
        if !(MIN_CLIENT_BODY_TIMEOUT..=MAX_CLIENT_BODY_TIMEOUT).contains(&body.0) {
            return Err(invalid(
                "client_body_timeout",
                format!("{body} is not between 1ms and 1day"),
            ));
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.server.max_connections) {
            return Err(invalid(
                "max_connections",
                format!(
                    "{} is not between 1 and {MAX_CONNECTIONS}",
                    self.server.max_connections
                ),
            ));
        }
        Ok(())
    }
}

/// Shortest accepted `server.client_body_timeout`.
const MIN_CLIENT_BODY_TIMEOUT: Duration = Duration::from_millis(1);
/// Longest accepted `server.client_body_timeout`.
const MAX_CLIENT_BODY_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Largest accepted `server.max_connections`.
const MAX_CONNECTIONS: usize = 1 << 20;

/// The line of `field` inside the table at `span`, or of the table itself.
fn line_of(text: &str, span: std::ops::Range<usize>, field: &str) -> usize {
    let start = span.start.min(text.len());
    let end = span.end.clamp(start, text.len());
    let first_line = text[..start].matches('\n').count() + 1;
    let is_field = |line: &str| {
        let rest = line.trim_start().strip_prefix(field);
        rest.is_some_and(|r| r.trim_start().starts_with('='))
    };
    text[start..end]
        .lines()
        .position(is_field)
        .map_or(first_line, |offset| first_line + offset)
}

/// Resolves `"host[:port]"` to socket addresses, applying the protocol's default port.
pub fn resolve_tracker(addr: &str, protocol: Protocol) -> Result<Vec<SocketAddr>, String> {
    let with_port = if addr.parse::<SocketAddr>().is_ok()
        || addr
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.contains(':') && p.parse::<u16>().is_ok())
    {
        addr.to_owned()
    } else {
        format!("{addr}:{}", protocol.default_port())
    };
    let addrs: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve tracker {addr:?}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("tracker {addr:?} resolves to no address"));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod value_tests;
