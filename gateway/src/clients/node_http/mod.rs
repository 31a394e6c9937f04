//! A lean pooled HTTP/1 client for storage nodes (mogstored/Perlbal, nginx
//! WebDAV, devcluster), on hyper's `client::conn::http1` used directly.
//!
//! Unlike hyper-util's pooled client, a connection has no task and no
//! request channel of its own: the task making a request drives the
//! connection while it waits for the head and while it reads the body
//! ([`conn`]). Idle connections are plain memory in a per-host list
//! ([`pool`]).
//!
//! ```text
//! request ──► idle connection to host:port (newest first, < idle_for old)
//!             or a new one (connect_timeout)
//!         ──► head ──► NodeBody ──► body read to its end and peer keeps it?
//!                                   yes: back to the pool   no: closed
//! ```
//!
//! Rules kept for Perlbal's sake (see `storage::node`):
//! - a request body must have a known length (a `Content-Length` header or
//!   an exact size): HTTP/1.0 peers cannot frame anything else, and Perlbal
//!   mishandles chunked uploads; such a request is refused unsent;
//! - an HTTP/1.0 reply without `Connection: keep-alive`, or any reply with
//!   `Connection: close`, closes the connection after its body;
//! - idle connections are dropped after 20 s by default, before Perlbal's
//!   30 s keep-alive expiry;
//! - a reused connection that fails before the request left is retried
//!   once on a new connection (the request comes back unsent).

mod conn;
mod get;
mod pool;
#[cfg(test)]
mod tests;

pub use conn::NodeBody;
pub use get::{GetBody, GetClient, GetResponse};

use conn::{keeps_alive, Conn, ReqBody};
use hyper::body::Body as _;
use hyper::header::{HeaderValue, CONTENT_LENGTH, HOST};
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use pool::Pool;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// Settings of a [`NodeHttp`] client.
#[derive(Debug, Clone, Copy)]
pub struct NodeHttpConfig {
    /// Longest wait for a connection to open (name look-up included).
    pub connect_timeout: Duration,
    /// Idle connections kept per `host:port`.
    pub max_idle_per_host: usize,
    /// How long an idle connection is kept.
    pub idle_for: Duration,
    /// Largest read buffer of a connection (at least 8 KiB, hyper's floor):
    /// it bounds what one response holds while its reader is slow.
    pub max_buf_size: usize,
}

impl Default for NodeHttpConfig {
    fn default() -> Self {
        NodeHttpConfig {
            connect_timeout: Duration::from_secs(1),
            max_idle_per_host: 32,
            idle_for: Duration::from_secs(20),
            max_buf_size: 8 * 1024,
        }
    }
}

/// How a request failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeHttpError {
    /// The URL has no `http://host:port` or no usable path.
    #[error("{url}: not an http:// URL with a host")]
    BadUrl {
        /// The URL given.
        url: String,
    },
    /// The body's length is unknown (see the module docs).
    #[error("{url}: a request body must have a Content-Length")]
    UnknownLength {
        /// The URL given.
        url: String,
    },
    /// No connection could be opened.
    #[error("connect to {host}: {source}")]
    Connect {
        /// `host:port`.
        host: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Opening a connection took longer than the limit.
    #[error("connect to {host}: no connection within {timeout:?}")]
    ConnectTimeout {
        /// `host:port`.
        host: String,
        /// The limit.
        timeout: Duration,
    },
    /// The response head did not come in time.
    #[error("{host}: no response head within {timeout:?}")]
    HeadTimeout {
        /// `host:port`.
        host: String,
        /// The limit.
        timeout: Duration,
    },
    /// The connection failed before the response head was in.
    #[error("{host}: {source}")]
    Io {
        /// `host:port`.
        host: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The reply is not one this client reads.
    #[error("{host}: {detail}")]
    BadReply {
        /// `host:port`.
        host: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The connection failed (reset, closed, bad reply).
    #[error("{host}: {source}")]
    Http {
        /// `host:port`.
        host: String,
        /// hyper's account.
        #[source]
        source: hyper::Error,
    },
}

/// A pooled HTTP/1 client; clones share the pool.
#[derive(Clone)]
pub struct NodeHttp {
    pool: Arc<Pool<Conn>>,
    config: NodeHttpConfig,
    builder: hyper::client::conn::http1::Builder,
}

impl std::fmt::Debug for NodeHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHttp")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A response whose body keeps the connection until it is read.
pub type NodeResponse = Response<NodeBody>;

impl NodeHttp {
    /// A client with `config`.
    pub fn new(config: NodeHttpConfig) -> Self {
        let mut builder = hyper::client::conn::http1::Builder::new();
        builder.max_buf_size(config.max_buf_size.max(8 * 1024));
        NodeHttp {
            pool: Arc::new(Pool::new(config.max_idle_per_host, config.idle_for)),
            config,
            builder,
        }
    }

    /// Sends `request` (its URI absolute: `http://host:port/path`) and
    /// returns the response head; the body streams from the connection.
    pub async fn request(&self, request: Request<ReqBody>) -> Result<NodeResponse, NodeHttpError> {
        let (host, request) = origin_form(request)?;
        let mut request = request;
        loop {
            let mut conn = match self.pool.take(&host) {
                Some(conn) => conn,
                None => self.connect(&host).await?,
            };
            if let Err(e) = conn.ready().await {
                if conn.reused {
                    continue;
                }
                return Err(NodeHttpError::Http {
                    host: host.to_string(),
                    source: e,
                });
            }
            match conn.send(request).await {
                Ok(response) => return Ok(self.wrap(response, conn, host)),
                Err(mut e) => match e.take_message() {
                    // Never sent on an idle connection that had died: safe
                    // to send again (ends: idle ones run out, then a new one).
                    Some(unsent) if conn.reused => request = unsent,
                    _ => {
                        let source = e.into_error();
                        return Err(NodeHttpError::Http {
                            host: host.to_string(),
                            source,
                        });
                    }
                },
            }
        }
    }

    /// Idle connections kept to `host` (`host:port`).
    pub fn idle_connections(&self, host: &str) -> usize {
        self.pool.idle(host)
    }

    fn wrap(
        &self,
        response: Response<hyper::body::Incoming>,
        mut conn: Conn,
        host: Arc<str>,
    ) -> NodeResponse {
        let keep = keeps_alive(response.version(), response.headers());
        conn.http10 |= response.version() == hyper::Version::HTTP_10;
        let pool = Arc::clone(&self.pool);
        response.map(|body| NodeBody::new(body, conn, pool, host, keep))
    }

    async fn connect(&self, host: &Arc<str>) -> Result<Conn, NodeHttpError> {
        let stream = connect_stream(host, self.config.connect_timeout).await?;
        // An HTTP/1 handshake sends nothing: no wait to bound.
        match self.builder.handshake(TokioIo::new(stream)).await {
            Ok((sender, conn)) => Ok(Conn::new(sender, conn)),
            Err(e) => Err(NodeHttpError::Connect {
                host: host.to_string(),
                source: io::Error::other(e),
            }),
        }
    }
}

/// A TCP connection to `host:port` (no Nagle) within `timeout`.
async fn connect_stream(host: &str, timeout: Duration) -> Result<TcpStream, NodeHttpError> {
    let open = async {
        let stream = open_stream(host).await?;
        stream.set_nodelay(true)?;
        Ok::<_, io::Error>(stream)
    };
    match tokio::time::timeout(timeout, open).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(source)) => Err(NodeHttpError::Connect {
            host: host.to_owned(),
            source,
        }),
        Err(_) => Err(NodeHttpError::ConnectTimeout {
            host: host.to_owned(),
            timeout,
        }),
    }
}

/// `host:port` of an `http://` URI (port 80 when it names none) and its
/// authority, as the `Host` header gives it.
fn http_host(uri: &Uri) -> Option<(Arc<str>, &str)> {
    if uri.scheme_str() != Some("http") {
        return None;
    }
    let authority = uri.authority()?;
    let host: Arc<str> = match authority.port() {
        Some(_) => authority.as_str().into(),
        None => format!("{}:80", authority.as_str()).into(),
    };
    Some((host, authority.as_str()))
}

/// A TCP connection to `host:port`, trying each address it resolves to.
async fn open_stream(host: &str) -> io::Result<TcpStream> {
    if let Ok(addr) = host.parse::<SocketAddr>() {
        return TcpStream::connect(addr).await;
    }
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in tokio::net::lookup_host(host).await? {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// `host:port` of the absolute URI, and the request rewritten to origin
/// form (`/path?query`) with a `Host` header, as an origin server expects.
/// A body of unknown length is refused here, before anything is sent.
fn origin_form(
    mut request: Request<ReqBody>,
) -> Result<(Arc<str>, Request<ReqBody>), NodeHttpError> {
    let uri = request.uri();
    let bad = || NodeHttpError::BadUrl {
        url: uri.to_string(),
    };
    let (host, authority) = http_host(uri).ok_or_else(bad)?;
    let host_header = HeaderValue::from_str(authority).map_err(|_| bad())?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let origin: Uri = path.parse().map_err(|_| bad())?;
    let body = request.body();
    let known = request.headers().contains_key(CONTENT_LENGTH)
        || body.size_hint().exact().is_some()
        || body.is_end_stream();
    if !known {
        return Err(NodeHttpError::UnknownLength {
            url: uri.to_string(),
        });
    }
    request.headers_mut().entry(HOST).or_insert(host_header);
    *request.uri_mut() = origin;
    Ok((host, request))
}
