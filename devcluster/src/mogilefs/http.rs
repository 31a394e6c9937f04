//! The tracker's HTTP client for storage nodes: size checks, digests,
//! replication copies, deletes and monitor probes.
//!
//! Every request carries [`TRACKER_USER_AGENT`], which storage nodes use to
//! keep injected faults for the clients under test. URLs outside 127.0.0.0/8
//! are refused outright: devcluster never talks to another machine.
//!
//! A node that registered an address other than the one it listens on
//! ([`super::MogClusterBuilder::advertise_ip`]) is reached at the one it
//! listens on: the trackers are on the cluster's own network, where a
//! container's registered address answers.

use super::topology::Usage;
use crate::storage_node::TRACKER_USER_AGENT;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use reqwest::header::CONTENT_LENGTH;
use reqwest::{Client, StatusCode};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// How long a size check may take (mogilefsd's `node_timeout` is 2 s).
const NODE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a request to a storage node failed, as text for logs and ERR details.
pub(crate) type Failure = String;

/// HTTP client shared by everything the tracker sends to storage nodes.
#[derive(Debug, Clone)]
pub(crate) struct NodeClient {
    client: Client,
    /// Registered address → where that node listens.
    inside: Vec<(SocketAddr, SocketAddr)>,
}

impl NodeClient {
    pub fn new(inside: Vec<(SocketAddr, SocketAddr)>) -> Self {
        let client = Client::builder()
            // A proxy from the environment must never see loopback traffic.
            .no_proxy()
            .user_agent(TRACKER_USER_AGENT)
            .connect_timeout(Duration::from_secs(1))
            .read_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        NodeClient { client, inside }
    }

    /// `url` checked to be a loopback one, then routed as the cluster's
    /// own network would route it.
    fn reach(&self, url: &str) -> Result<String, Failure> {
        let mut parsed = loopback(url)?;
        let at = parsed
            .host_str()
            .and_then(|h| h.parse::<Ipv4Addr>().ok())
            .zip(parsed.port_or_known_default())
            .map(SocketAddr::from);
        let route = self
            .inside
            .iter()
            .find(|(registered, _)| Some(*registered) == at);
        if let Some((_, listening)) = route {
            // Both are IPv4 loopback addresses: setting them cannot fail.
            let _ = parsed.set_ip_host(listening.ip());
            let _ = parsed.set_port(Some(listening.port()));
        }
        Ok(parsed.into())
    }

    /// HEAD: `Ok(Some(size))`, `Ok(None)` when the file is missing (404),
    /// `Err` when the node cannot be reached or answers oddly.
    pub async fn size(&self, url: &str) -> Result<Option<u64>, Failure> {
        let url = &self.reach(url)?;
        let response = self
            .client
            .head(url)
            .timeout(NODE_TIMEOUT)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            // Read the header: a HEAD response's body length says nothing.
            StatusCode::OK => length_header(response.headers()).map(Some),
            status => Err(format!("HEAD {url}: {status}")),
        }
    }

    /// GETs the file and hashes it.
    pub async fn md5(&self, url: &str) -> Result<[u8; 16], Failure> {
        let url = &self.reach(url)?;
        let response = self.ok_get(url).await?;
        let mut hasher = Md5::new();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            hasher.update(chunk.map_err(|e| e.to_string())?);
        }
        Ok(hasher.finalize().into())
    }

    /// DELETE; a missing file counts as deleted.
    pub async fn delete(&self, url: &str) -> Result<(), Failure> {
        let url = &self.reach(url)?;
        let response = self
            .client
            .delete(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match response.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            status => Err(format!("DELETE {url}: {status}")),
        }
    }

    /// Streams `src` into a PUT to `dst`, then checks the copy's size.
    pub async fn copy(&self, src: &str, dst: &str, length: u64) -> Result<(), Failure> {
        let (src, dst) = (&self.reach(src)?, &self.reach(dst)?);
        let source = self.ok_get(src).await?;
        let body = reqwest::Body::wrap_stream(source.bytes_stream());
        let put = self
            .client
            .put(dst)
            .header(CONTENT_LENGTH, length)
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !put.status().is_success() {
            return Err(format!("PUT {dst}: {}", put.status()));
        }
        match self.size(dst).await? {
            Some(n) if n == length => Ok(()),
            other => Err(format!("copy {dst}: size {other:?}, expected {length}")),
        }
    }

    /// GETs a device's `usage` file.
    pub async fn usage(&self, url: &str) -> Result<Usage, Failure> {
        let url = &self.reach(url)?;
        let response = self.client.get(url).timeout(NODE_TIMEOUT).send().await;
        let response = response.map_err(|e| e.to_string())?;
        if response.status() != StatusCode::OK {
            return Err(format!("GET {url}: {}", response.status()));
        }
        let text = response.text().await.map_err(|e| e.to_string())?;
        Ok(parse_usage(&text))
    }

    async fn ok_get(&self, url: &str) -> Result<reqwest::Response, Failure> {
        let response = self.client.get(url).send().await;
        let response = response.map_err(|e| e.to_string())?;
        match response.status() {
            StatusCode::OK => Ok(response),
            status => Err(format!("GET {url}: {status}")),
        }
    }
}

fn length_header(headers: &reqwest::header::HeaderMap) -> Result<u64, Failure> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "no Content-Length".to_owned())
}

/// Refuses any URL whose host is not a 127.x address.
fn loopback(url: &str) -> Result<reqwest::Url, Failure> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let host = parsed.host_str().and_then(|h| h.parse::<Ipv4Addr>().ok());
    match host {
        Some(ip) if ip.is_loopback() => Ok(parsed),
        _ => Err(format!("{url}: not a loopback address")),
    }
}

/// `total:` and `used:` lines (KiB) of a mogstored usage file.
fn parse_usage(text: &str) -> Usage {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Usage {
        total_mb: field("total:") / 1024,
        used_mb: field("used:") / 1024,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_file_of_the_capture_parses() {
        // vectors/wire/06
        let text = "available: 81432468\ndevice: /dev/vda        \ndisk: /var/mogilefs/store/data/host2/dev4\ntime: 1795273336\ntotal: 95285888\nuse: 15%\nused: 13853420\n";
        let usage = parse_usage(text);
        assert_eq!(usage.total_mb, 93052);
        assert_eq!(usage.used_mb, 13528);
    }

    #[test]
    fn registered_addresses_are_reached_where_the_node_listens() {
        let inside = vec![(
            SocketAddr::from(([127, 0, 77, 1], 7500)),
            SocketAddr::from(([127, 0, 0, 1], 7600)),
        )];
        let client = NodeClient::new(inside);
        let reached = client.reach("http://127.0.77.1:7500/dev1/usage").unwrap();
        assert_eq!(reached, "http://127.0.0.1:7600/dev1/usage");
        let other = client.reach("http://127.0.77.2:7500/dev1/usage").unwrap();
        assert_eq!(other, "http://127.0.77.2:7500/dev1/usage");
        assert!(client.reach("http://10.0.0.1:7500/dev1/usage").is_err());
    }

    #[test]
    fn only_loopback_urls_pass() {
        assert!(loopback("http://127.0.0.1:7500/dev1/usage").is_ok());
        assert!(loopback("http://127.0.0.3:7500/dev1/usage").is_ok());
        assert!(loopback("http://10.0.0.1:7500/dev1/usage").is_err());
        assert!(loopback("http://example.com/dev1/usage").is_err());
    }
}
