//! Access-control settings: `[location.access]` per location and
//! `[server.access]` for the whole gateway (trusted proxies, the per-address
//! table, the admin side). What they mean at request time is in
//! [`crate::access`]; here are their types and [`validate`].
//!
//! ```text
//! [server.access]
//! trusted_proxies = ["10.0.0.0/8"]      # nginx set_real_ip_from
//! [server.access.admin]
//! clients = ["allow 127.0.0.0/8", "deny all"]
//! tokens = ["..."]                     # bearer for /metrics
//!
//! [[location]] ...
//! [location.access]
//! clients = ["allow 10.1.0.0/16", "deny all"]   # nginx allow/deny, first match wins
//! write_clients = [...]                         # only for PUT/POST/DELETE
//! htpasswd = "/etc/dfs-gateway/htpasswd"
//! signed = { secret = "...", skew = "30s" }
//! cors = { origins = ["https://app.example"] }
//! cache = { max_age = "365d", immutable = true }
//! rate = { reads = { per_second = 100, burst = 200 } }
//! ```

use super::{line_of, ConfigError, Method, Secs};
use ipnet::IpNet;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// Shortest signing secret or bearer token accepted: 16 bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// One `allow`/`deny` line, as nginx writes them: `"allow 10.0.0.0/8"`,
/// `"deny 2001:db8::/32"`, `"deny all"`, `"allow 127.0.0.1"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Rule {
    /// Allow (true) or deny.
    pub allow: bool,
    /// The addresses; `None` is `all`.
    pub net: Option<IpNet>,
}

impl Rule {
    /// True when `addr` falls under the rule (`all` matches every address,
    /// an unknown one too).
    pub fn matches(&self, addr: Option<IpAddr>) -> bool {
        match (&self.net, addr) {
            (None, _) => true,
            (Some(net), Some(addr)) => net.contains(&canonical(addr)),
            (Some(_), None) => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address it is.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

impl TryFrom<String> for Rule {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        let allow = match words.next() {
            Some("allow") => true,
            Some("deny") => false,
            _ => {
                return Err(format!(
                    "{text:?}: a rule is \"allow <cidr>\", \"deny <cidr>\" or \"deny all\""
                ))
            }
        };
        let net = match (words.next(), words.next()) {
            (Some("all"), None) => None,
            (Some(addr), None) => Some(parse_net(addr)?),
            _ => {
                return Err(format!(
                    "{text:?}: expected one address or CIDR after {:?}",
                    if allow { "allow" } else { "deny" }
                ))
            }
        };
        Ok(Rule { allow, net })
    }
}

/// A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is not an IP address or CIDR"))
}

/// A CIDR list entry (`trusted_proxies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Cidr(pub IpNet);

impl TryFrom<String> for Cidr {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        parse_net(text.trim()).map(Cidr)
    }
}

/// `[server.access]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerAccess {
    /// Peers whose `X-Forwarded-For` / `Forwarded` header names the client
    /// (nginx's `set_real_ip_from`). From any other peer the headers are ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<Cidr>,
    /// Which header trusted proxies set: `"x-forwarded-for"` (default) or `"forwarded"`.
    #[serde(default)]
    pub real_ip_header: RealIpHeader,
    /// Most client addresses the rate limiters remember (least used are
    /// forgotten first). Default 100000.
    #[serde(default = "default_rate_table_size")]
    pub rate_table_size: u64,
    /// Who may reach `/healthz`, `/readyz` and `/metrics`.
    #[serde(default)]
    pub admin: AdminAccess,
}

fn default_rate_table_size() -> u64 {
    100_000
}

impl Default for ServerAccess {
    fn default() -> Self {
        ServerAccess {
            trusted_proxies: Vec::new(),
            real_ip_header: RealIpHeader::default(),
            rate_table_size: default_rate_table_size(),
            admin: AdminAccess::default(),
        }
    }
}

/// The header a trusted proxy puts the client address in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RealIpHeader {
    /// `X-Forwarded-For: client, proxy1`
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https`
    Forwarded,
}

/// `[server.access.admin]`. With nothing set, the admin side is open as before.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminAccess {
    /// `allow`/`deny` rules for every admin path.
    #[serde(default)]
    pub clients: Vec<Rule>,
    /// Bearer tokens; when set, admin paths need one of them, except
    /// `/healthz` and `/readyz` while `health_needs_token` is false.
    #[serde(default)]
    pub tokens: Vec<String>,
    /// Whether health checks need a token too. Default false, so a load
    /// balancer that sends none keeps working.
    #[serde(default)]
    pub health_needs_token: bool,
}

/// `[location.access]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationAccess {
    /// `allow`/`deny` rules for every method, first match wins; an address
    /// no rule matches is allowed (as in nginx: end with `"deny all"`).
    #[serde(default)]
    pub clients: Vec<Rule>,
    /// More rules for GET/HEAD, checked after `clients`.
    #[serde(default)]
    pub read_clients: Vec<Rule>,
    /// More rules for PUT/POST/DELETE, checked after `clients`.
    #[serde(default)]
    pub write_clients: Vec<Rule>,
    /// Which methods need credentials (Basic, bearer or a signed URL):
    /// `"writes"` (default when any credential is configured), `"all"`, or `"none"`.
    pub require: Option<Require>,
    /// An htpasswd file (bcrypt and `{SHA}` entries); re-read on SIGHUP.
    pub htpasswd: Option<PathBuf>,
    /// The realm in `WWW-Authenticate`. Default `"dfs-gateway"`.
    pub realm: Option<String>,
    /// Accepted bearer tokens.
    #[serde(default)]
    pub tokens: Vec<String>,
    /// A file of bearer tokens, one per line (`#` comments); re-read on SIGHUP.
    pub token_file: Option<PathBuf>,
    /// Signed URLs (see `dfs-gateway sign`).
    pub signed: Option<SignedConfig>,
    /// CORS for browsers on other origins.
    pub cors: Option<CorsConfig>,
    /// `Cache-Control` on successful reads.
    pub cache: Option<CacheConfig>,
    /// Requests per second per client address.
    #[serde(default)]
    pub rate: RateConfig,
}

/// Which methods need credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Require {
    /// PUT, POST and DELETE.
    Writes,
    /// Every method.
    All,
    /// None (credentials configured but not demanded).
    None,
}

/// `signed = { secret = "...", skew = "30s" }`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedConfig {
    /// The HMAC-SHA256 key, at least 16 bytes.
    pub secret: String,
    /// How long after `expires` a signature is still accepted, for clocks
    /// that disagree. Default 30s.
    #[serde(default = "default_skew")]
    pub skew: Secs,
}

fn default_skew() -> Secs {
    Secs(Duration::from_secs(30))
}

/// `cors = { origins = [...], ... }`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Allowed origins, exactly as browsers send them
    /// (`"https://app.example.com"`, or `"null"` for opaque origins), or
    /// `"*"` (not with `credentials`).
    pub origins: Vec<String>,
    /// Methods a preflight may ask for. Default: the location's methods.
    pub methods: Option<Vec<Method>>,
    /// Request headers a preflight may ask for (case-insensitive).
    /// Default `["content-type"]`.
    #[serde(default = "default_cors_headers")]
    pub headers: Vec<String>,
    /// Response headers scripts may read. Default: `etag`, `content-length`,
    /// `content-range`, `last-modified`, `location`.
    #[serde(default = "default_expose")]
    pub expose_headers: Vec<String>,
    /// How long browsers may cache a preflight answer. Default 10m.
    #[serde(default = "default_cors_max_age")]
    pub max_age: Secs,
    /// Allow cookies and `Authorization` (`Access-Control-Allow-Credentials`)
    /// for the listed origins; `origins = ["*"]` is refused with it.
    #[serde(default)]
    pub credentials: bool,
}

fn default_cors_headers() -> Vec<String> {
    vec!["content-type".into()]
}

fn default_expose() -> Vec<String> {
    [
        "etag",
        "content-length",
        "content-range",
        "last-modified",
        "location",
    ]
    .map(String::from)
    .to_vec()
}

fn default_cors_max_age() -> Secs {
    Secs(Duration::from_secs(600))
}

/// `cache = { max_age = "365d", immutable = true }`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// `Cache-Control: max-age`.
    pub max_age: Secs,
    /// Add `immutable`: browsers do not even revalidate on reload. Only for
    /// keys whose content never changes.
    #[serde(default)]
    pub immutable: bool,
    /// `public` (default) or `private` (only the browser may keep it).
    #[serde(default = "super::defaults::yes")]
    pub public: bool,
}

/// `rate = { reads = {...}, writes = {...} }`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    /// Limit for GET/HEAD per client address.
    pub reads: Option<RateLimit>,
    /// Limit for PUT/POST/DELETE per client address.
    pub writes: Option<RateLimit>,
}

/// `{ per_second = 10, burst = 20 }`
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Requests allowed at once above the sustained rate. Default: `per_second`.
    pub burst: Option<u32>,
}

/// Checks what serde cannot for one location: readable files, strong
/// secrets, sensible numbers. Errors name `location[i].access.<key>`.
pub fn validate_location(
    i: usize,
    location: &Spanned<super::LocationConfig>,
    text: &str,
) -> Result<(), ConfigError> {
    let access = &location.get_ref().access;
    let invalid = |field: &str, message: String| ConfigError::Invalid {
        key: format!("location[{i}].access.{field}"),
        line: line_in_location(text, location.span(), field),
        message,
    };
    if let Some(path) = &access.htpasswd {
        crate::access::auth::Htpasswd::load(path).map_err(|e| invalid("htpasswd", e))?;
    }
    if let Some(path) = &access.token_file {
        let tokens =
            crate::access::auth::read_token_file(path).map_err(|e| invalid("token_file", e))?;
        check_secrets("token_file", &tokens).map_err(|e| invalid("token_file", e))?;
    }
    check_secrets("tokens", &access.tokens).map_err(|e| invalid("tokens", e))?;
    if let Some(signed) = &access.signed {
        check_secrets("signed.secret", std::slice::from_ref(&signed.secret))
            .map_err(|e| invalid("signed", e))?;
    }
    if access.require.is_some_and(|r| r != Require::None) && !has_credentials(access) {
        return Err(invalid(
            "require",
            "credentials are required but none are configured (htpasswd, tokens, token_file or signed)".into(),
        ));
    }
    if let Some(cors) = &access.cors {
        check_cors(cors).map_err(|(field, message)| ConfigError::Invalid {
            key: format!("location[{i}].access.{field}"),
            line: line_in_location(text, location.span(), "cors"),
            message,
        })?;
    }
    for (name, limit) in [("reads", access.rate.reads), ("writes", access.rate.writes)] {
        if limit.is_some_and(|l| l.per_second == 0 || l.burst == Some(0)) {
            return Err(invalid(
                "rate",
                format!("{name}: per_second and burst must be at least 1"),
            ));
        }
    }
    Ok(())
}

/// The origins of a `cors` table: each one an origin, `"null"` or `"*"`,
/// and `"*"` not with `credentials`. Errors name the key under `access`.
fn check_cors(cors: &CorsConfig) -> Result<(), (&'static str, String)> {
    if cors.origins.is_empty() {
        return Err((
            "cors",
            "origins must list at least one origin or \"*\"".into(),
        ));
    }
    if let Some(bad) = cors.origins.iter().find(|o| !valid_origin(o)) {
        return Err(("cors", format!("{bad:?} is not an origin like \"https://app.example.com\" (scheme and host, no path), \"null\" or \"*\"")));
    }
    if cors.credentials && cors.origins.iter().any(|o| o == "*") {
        return Err((
            "cors.origins",
            "\"*\" with credentials = true would let every site, and \"null\" origins, \
             read answers made with the user's cookies or Authorization; list the origins \
             allowed instead (origins = [\"https://app.example.com\"]), or drop credentials"
                .into(),
        ));
    }
    Ok(())
}

/// The line of `field` in a location, its `[location.access]` table
/// included: serde's span of a `[[location]]` ends before its sub-tables, so
/// the search runs to the next `[[...]]` header.
fn line_in_location(text: &str, span: std::ops::Range<usize>, field: &str) -> usize {
    let start = span.start.min(text.len());
    let rest = &text[start..];
    let end = rest
        .get(1..)
        .and_then(|r| r.find("\n[["))
        .map_or(rest.len(), |i| i + 1);
    line_of(text, start..start + end, field)
}

/// Checks `[server.access]`.
pub fn validate_server(access: &ServerAccess, text: &str) -> Result<(), ConfigError> {
    let invalid = |field: &str, message: String| ConfigError::Invalid {
        key: format!("server.access.{field}"),
        line: line_of(text, 0..text.len(), field),
        message,
    };
    check_secrets("tokens", &access.admin.tokens).map_err(|e| invalid("admin.tokens", e))?;
    if access.rate_table_size == 0 {
        return Err(invalid("rate_table_size", "must be at least 1".into()));
    }
    Ok(())
}

/// True when the location has any source of credentials.
pub fn has_credentials(access: &LocationAccess) -> bool {
    access.htpasswd.is_some()
        || !access.tokens.is_empty()
        || access.token_file.is_some()
        || access.signed.is_some()
}

/// Secrets and tokens: never empty, at least [`MIN_SECRET_LEN`] bytes.
fn check_secrets(what: &str, secrets: &[String]) -> Result<(), String> {
    for (n, s) in secrets.iter().enumerate() {
        if s.trim().is_empty() {
            return Err(format!("{what}: entry {} is empty", n + 1));
        }
        if s.len() < MIN_SECRET_LEN {
            return Err(format!(
                "{what}: entry {} is too weak: {} bytes, at least {MIN_SECRET_LEN} are needed",
                n + 1,
                s.len()
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{what}: entry {} contains whitespace", n + 1));
        }
    }
    Ok(())
}

fn valid_origin(origin: &str) -> bool {
    if origin == "*" || origin == "null" {
        return true;
    }
    let Some((scheme, host)) = origin.split_once("://") else {
        return false;
    };
    !scheme.is_empty() && !host.is_empty() && !host.contains('/') && !origin.ends_with('/')
}
