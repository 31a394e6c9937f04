//! TLS termination with rustls: certificate and key from PEM files, ALPN for
//! HTTP/2 and HTTP/1.1, and a reload (on SIGHUP) that new connections pick up
//! while established ones keep the certificate they started with.
//!
//! HTTP/2 over TLS gets the same limits as HTTP/1 (see [`crate::server`]):
//! the header read time-out bounds the handshake, idle connections close,
//! pings find dead peers, and streams per connection are capped.

use crate::server::Acceptor;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A TLS acceptor whose certificate can be replaced while serving.
#[derive(Debug, Clone)]
pub struct Tls {
    current: Arc<RwLock<Arc<ServerConfig>>>,
    handshake_timeout: Duration,
}

/// Reads a certificate chain and private key and builds a server config.
fn load_config(cert: &Path, key: &Path) -> Result<ServerConfig, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read certificate {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate PEM in {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read private key {}: {e}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not match: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl Tls {
    /// Loads `cert` and `key`; a handshake must finish within `handshake_timeout`.
    pub fn load(cert: &Path, key: &Path, handshake_timeout: Duration) -> Result<Self, String> {
        Ok(Tls {
            current: Arc::new(RwLock::new(Arc::new(load_config(cert, key)?))),
            handshake_timeout,
        })
    }

    /// Reads the files again; on error the old certificate stays in use.
    pub fn reload(&self, cert: &Path, key: &Path) -> Result<(), String> {
        let config = load_config(cert, key)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
        Ok(())
    }
}

impl Acceptor for Tls {
    type Io = TlsStream<TcpStream>;
    const NEGOTIATES_H2: bool = true;

    async fn accept(&self, stream: TcpStream) -> io::Result<Self::Io> {
        let config = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        tokio::time::timeout(
            self.handshake_timeout,
            TlsAcceptor::from(config).accept(stream),
        )
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
    }
}

/// `[server.tls]`: where the PEM files are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, PEM.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1), PEM.
    pub key: PathBuf,
}
