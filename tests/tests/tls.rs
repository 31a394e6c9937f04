//! TLS termination without nginx in front:
//! - HTTPS with HTTP/2 (ALPN `h2`) and HTTP/1.1;
//! - a reload puts a new certificate in force for new connections;
//! - a reload with broken certificate files is rejected and the old one kept.

use dfs_gateway::config::Config;
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;

struct Cert {
    pem: String,
    key: String,
    der: rustls::pki_types::CertificateDer<'static>,
}

fn new_cert() -> Cert {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    Cert {
        pem: c.cert.pem(),
        key: c.signing_key.serialize_pem(),
        der: c.cert.der().clone(),
    }
}

fn write(dir: &Path, cert: &Cert) {
    std::fs::write(dir.join("cert.pem"), &cert.pem).unwrap();
    std::fs::write(dir.join("key.pem"), &cert.key).unwrap();
}

fn config(dir: &Path) -> Config {
    let text = format!(
        r#"[server]
listen = "127.0.0.1:0"
tls = {{ cert = "{cert}", key = "{key}" }}

[[upstream]]
name = "mog"
protocol = "mogilefs"
trackers = ["127.0.0.1:1"]

[[location]]
prefix = "/images/"
upstream = "mog"
domain = "imgs"
"#,
        cert = dir.join("cert.pem").display(),
        key = dir.join("key.pem").display()
    );
    Config::parse(&text).unwrap()
}

/// A client that trusts only `cert`, offering h2 and http/1.1 (or `h1_only`).
fn client(cert: &Cert, addr: std::net::SocketAddr, h1_only: bool) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = if h1_only {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    let builder = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .resolve("localhost", addr)
        .no_proxy();
    let builder = if h1_only {
        builder.http1_only()
    } else {
        builder
    };
    builder.build().unwrap()
}

#[tokio::test]
async fn https_with_http2_and_certificate_reload() {
    dfs_e2e::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let first = new_cert();
    write(dir.path(), &first);
    let config = config(dir.path());
    let gateway = dfs_gateway::Gateway::new(&config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let gateway = gateway.clone();
        tokio::spawn(async move {
            gateway
                .serve(listener, &config, async {
                    let _ = stopped.await;
                })
                .await
        })
    };
    let url = format!("https://localhost:{}/healthz", addr.port());

    let r = client(&first, addr, false).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    let r = client(&first, addr, true).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_11);

    // Broken files: rejected, the first certificate stays.
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    assert!(gateway.reload(&config_unchecked(dir.path())).is_err());
    assert_eq!(
        client(&first, addr, false)
            .get(&url)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A new certificate: new connections get it.
    let second = new_cert();
    write(dir.path(), &second);
    gateway.reload(&config_unchecked(dir.path())).unwrap();
    assert_eq!(
        client(&second, addr, false)
            .get(&url)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(
        client(&first, addr, false).get(&url).send().await.is_err(),
        "the old certificate is still served"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// The same config without validating the files (the reload must do that).
fn config_unchecked(dir: &Path) -> Config {
    let mut config = config_with_valid_placeholder(dir);
    config.server.tls = Some(dfs_gateway::tls::TlsConfig {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    });
    config
}

fn config_with_valid_placeholder(dir: &Path) -> Config {
    let placeholder = tempfile::tempdir().unwrap();
    write(placeholder.path(), &new_cert());
    let mut config = config(placeholder.path());
    config.server.tls = None;
    let _ = dir;
    config
}
