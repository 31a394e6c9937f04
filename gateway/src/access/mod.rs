//! Access control: who may do what on a location, decided before the
//! request reaches a protocol handler.
//!
//! A [`Policy`] is built once per location from `[location.access]` (and
//! again on each reload: htpasswd and token files are re-read then).
//! [`Policy::check`] runs in this order, the first refusal answering:
//!
//! 1. the client address ([`client_addr`]): the peer, or what a trusted proxy says;
//! 2. `clients`, then `read_clients` / `write_clients` (first match wins in
//!    each; a request must pass both) → 403;
//! 3. the rate limit of the method class ([`rate`]) → 429 with `Retry-After`;
//! 4. a CORS preflight is answered here ([`cors`]);
//! 5. credentials, where `require` asks for them: a signed URL
//!    ([`signed`]) when the query carries `expires` and `sig`, else Basic or
//!    bearer ([`auth`]) → 401 with `WWW-Authenticate` when none is given,
//!    403 when wrong.
//!
//! [`Policy::finish`] then adds CORS and `Cache-Control` headers to the
//! handler's response. [`admin`] guards `/healthz`, `/readyz`, `/metrics`.

pub mod admin;
pub mod auth;
pub mod client_addr;
pub mod cors;
pub mod rate;
pub mod signed;

use crate::config::access::{has_credentials, LocationAccess, Require, Rule, ServerAccess};
use crate::config::LocationConfig;
use crate::error::error_response;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

/// The client address a request was judged by, for the access log.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The TCP peer of a request (set by the accept loop), if any.
pub fn peer_of<B>(request: &axum::http::Request<B>) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// The parts of a request access control looks at.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The method.
    pub method: &'a axum::http::Method,
    /// The URI as received.
    pub uri: &'a Uri,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The TCP peer.
    pub peer: Option<SocketAddr>,
}

impl<'a> RequestInfo<'a> {
    /// Borrows what is needed from `request` (not the body, which is not `Sync`).
    pub fn of(request: &'a Request) -> Self {
        RequestInfo {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
            peer: peer_of(request),
        }
    }

    fn is_write(&self) -> bool {
        use axum::http::Method as M;
        let asked = self.headers.get(header::ACCESS_CONTROL_REQUEST_METHOD);
        match *self.method {
            M::PUT | M::POST | M::DELETE => true,
            // A preflight counts as what it asks for.
            M::OPTIONS => asked.is_some_and(|m| !matches!(m.as_bytes(), b"GET" | b"HEAD")),
            _ => false,
        }
    }
}

/// What a passed check hands to [`Policy::finish`].
#[derive(Debug, Clone)]
pub struct Granted {
    client: Option<IpAddr>,
    origin: Option<HeaderValue>,
    is_read: bool,
}

/// One location's access rules.
#[derive(Debug)]
pub struct Policy {
    real_ip: client_addr::RealIp,
    clients: Vec<Rule>,
    read_clients: Vec<Rule>,
    write_clients: Vec<Rule>,
    require: Require,
    auth: auth::Authenticator,
    signed: Option<(Vec<u8>, Duration)>,
    cors: Option<cors::Cors>,
    cache: Option<HeaderValue>,
    reads: Option<rate::Limiter>,
    writes: Option<rate::Limiter>,
}

impl Policy {
    /// Builds the policy of `location` (reading its htpasswd and token files).
    pub fn new(location: &LocationConfig, server: &ServerAccess) -> Result<Self, String> {
        let a: &LocationAccess = &location.access;
        let realm = a.realm.as_deref().unwrap_or("dfs-gateway");
        let auth =
            auth::Authenticator::new(a.htpasswd.as_ref(), &a.tokens, a.token_file.as_ref(), realm)
                .map_err(|e| format!("location {}: {e}", location.prefix))?;
        let default_require = if has_credentials(a) {
            Require::Writes
        } else {
            Require::None
        };
        let limiter = |l: &Option<_>| l.map(|l| rate::Limiter::new(l, server.rate_table_size));
        Ok(Policy {
            real_ip: client_addr::RealIp::new(&server.trusted_proxies, server.real_ip_header),
            clients: a.clients.clone(),
            read_clients: a.read_clients.clone(),
            write_clients: a.write_clients.clone(),
            require: a.require.unwrap_or(default_require),
            auth,
            signed: a
                .signed
                .as_ref()
                .map(|s| (s.secret.clone().into_bytes(), s.skew.0)),
            cors: a
                .cors
                .as_ref()
                .map(|c| cors::Cors::new(c, &location.methods)),
            cache: a.cache.as_ref().and_then(cache_control),
            reads: limiter(&a.rate.reads),
            writes: limiter(&a.rate.writes),
        })
    }

    /// Decides a request: `Ok` to go on to the handler, or the answer to
    /// send instead (a refusal, or a preflight's 204).
    pub async fn check(&self, request: RequestInfo<'_>) -> Result<Granted, Response> {
        let client = self.real_ip.client(request.peer, request.headers);
        let granted = Granted {
            client,
            origin: request.headers.get(header::ORIGIN).cloned(),
            is_read: !request.is_write(),
        };
        let refused = |r: Refusal| self.finish(&granted, r.into_response());
        let class_rules = if granted.is_read {
            &self.read_clients
        } else {
            &self.write_clients
        };
        if !permits(&self.clients, client) || !permits(class_rules, client) {
            return Err(refused(Refusal::Address));
        }
        let limiter = if granted.is_read {
            &self.reads
        } else {
            &self.writes
        };
        if let Some(wait) = limiter.as_ref().and_then(|l| l.check(client).err()) {
            return Err(refused(Refusal::Rate(rate::retry_after_secs(wait))));
        }
        if let Some(answer) = self
            .cors
            .as_ref()
            .and_then(|c| c.preflight(request.method, request.headers))
        {
            return Err(with_client(answer, client));
        }
        let needed = match self.require {
            Require::All => true,
            Require::Writes => !granted.is_read,
            Require::None => false,
        };
        if needed {
            self.credentials(request).await.map_err(refused)?;
        }
        Ok(granted)
    }

    async fn credentials(&self, request: RequestInfo<'_>) -> Result<(), Refusal> {
        let query = signed::find(request.uri.query());
        if let (Some((secret, skew)), Some(query)) = (&self.signed, query) {
            let facts = signed::Signed {
                method: request.method.as_str(),
                path: request.uri.path(),
                content_length: content_length(request.headers),
                is_write: request.is_write(),
            };
            return signed::verify(secret, &query, facts, SystemTime::now(), *skew)
                .map_err(Refusal::Signature);
        }
        if !self.auth.is_configured() {
            return Err(Refusal::NeedsSignature);
        }
        match self.auth.check(request.headers).await {
            auth::Outcome::Granted => Ok(()),
            auth::Outcome::Refused => Err(Refusal::BadCredentials),
            auth::Outcome::Missing => Err(Refusal::Unauthorized(self.auth.challenges())),
        }
    }

    /// Adds CORS and `Cache-Control` headers and the client address to a response.
    pub fn finish(&self, granted: &Granted, mut response: Response) -> Response {
        let status = response.status();
        let h = response.headers_mut();
        if let Some(cors) = &self.cors {
            cors.apply(granted.origin.as_ref(), h);
        }
        let cacheable = matches!(status.as_u16(), 200 | 206 | 304);
        if let Some(value) = self.cache.as_ref().filter(|_| granted.is_read && cacheable) {
            h.entry(header::CACHE_CONTROL)
                .or_insert_with(|| value.clone());
        }
        with_client(response, granted.client)
    }
}

fn with_client(mut response: Response, client: Option<IpAddr>) -> Response {
    response.extensions_mut().insert(ClientAddr(client));
    response
}

/// nginx order: the first rule that matches decides; none matching allows.
pub fn permits(rules: &[Rule], client: Option<IpAddr>) -> bool {
    rules
        .iter()
        .find(|r| r.matches(client))
        .is_none_or(|r| r.allow)
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn cache_control(c: &crate::config::access::CacheConfig) -> Option<HeaderValue> {
    let scope = if c.public { "public" } else { "private" };
    let immutable = if c.immutable { ", immutable" } else { "" };
    HeaderValue::from_str(&format!(
        "{scope}, max-age={}{immutable}",
        c.max_age.0.as_secs()
    ))
    .ok()
}

/// Why access was refused. Messages never hold credentials or signatures.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    /// The client address is denied.
    #[error("this client address may not use this location")]
    Address,
    /// Over the rate limit; retry after this many seconds.
    #[error("too many requests from this address")]
    Rate(u64),
    /// A signed URL was given and is not good.
    #[error("{0}")]
    Signature(signed::SignatureError),
    /// Only signed URLs are accepted and none was given.
    #[error("a signed URL is required")]
    NeedsSignature,
    /// No credentials given.
    #[error("credentials are required")]
    Unauthorized(Vec<HeaderValue>),
    /// Credentials given and refused.
    #[error("credentials refused")]
    BadCredentials,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = match &self {
            Refusal::Rate(_) => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Refusal::Signature(signed::SignatureError::NoLength) => StatusCode::LENGTH_REQUIRED,
            _ => StatusCode::FORBIDDEN,
        };
        let mut response = error_response(status, self.to_string(), format!("access: {self}"));
        let h = response.headers_mut();
        match &self {
            Refusal::Rate(secs) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            Refusal::Unauthorized(challenges) => {
                for c in challenges {
                    h.append(header::WWW_AUTHENTICATE, c.clone());
                }
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests;
