//! Which address a request comes from: the TCP peer, or — when the peer is a
//! trusted proxy — the address the proxy wrote in `X-Forwarded-For` or
//! `Forwarded` (nginx's `real_ip` module with `real_ip_recursive on`).
//!
//! The header is read right to left, skipping addresses that are trusted
//! proxies themselves: the first untrusted one is the client. Everything left
//! of it was written by the client and could be anything, so it is ignored.
//! A header that does not parse leaves the peer as the client.

use crate::config::access::{canonical, Cidr, RealIpHeader};
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// How the client address is found.
#[derive(Debug, Clone, Default)]
pub struct RealIp {
    trusted: Vec<Cidr>,
    header: RealIpHeader,
}

impl RealIp {
    /// From `[server.access]`.
    pub fn new(trusted: &[Cidr], header: RealIpHeader) -> Self {
        RealIp {
            trusted: trusted.to_vec(),
            header,
        }
    }

    fn is_trusted(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.trusted.iter().any(|c| c.0.contains(&addr))
    }

    /// The client address for a request from `peer` with `headers`; `None`
    /// when the peer is unknown (a request not from a socket, in tests).
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?.ip());
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let hops = match self.header {
            RealIpHeader::XForwardedFor => forwarded_for(headers),
            RealIpHeader::Forwarded => forwarded(headers),
        };
        let Some(hops) = hops else {
            return Some(peer);
        };
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = canonical(hop);
            if !self.is_trusted(client) {
                break;
            }
        }
        Some(client)
    }
}

/// Every `X-Forwarded-For` address in order; `None` when absent or when an
/// entry is not an address.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for item in value.to_str().ok()?.split(',') {
            hops.push(parse_hop(item.trim())?);
        }
    }
    (!hops.is_empty()).then_some(hops)
}

/// The `for=` addresses of RFC 7239 `Forwarded` in order.
fn forwarded(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all("forwarded") {
        for element in value.to_str().ok()?.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then(|| value.trim())
            });
            if let Some(node) = node {
                hops.push(parse_hop(node.trim_matches('"'))?);
            }
        }
    }
    (!hops.is_empty()).then_some(hops)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]`, `[2001:db8::1]:80`, `2001:db8::1`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    if let Ok(addr) = text.parse::<IpAddr>() {
        return Some(addr);
    }
    if let Ok(sock) = text.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    let inner = text.strip_prefix('[')?.split(']').next()?;
    inner.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_ip(trusted: &[&str], header: RealIpHeader) -> RealIp {
        let trusted: Vec<Cidr> = trusted
            .iter()
            .map(|t| Cidr::try_from(t.to_string()).unwrap())
            .collect();
        RealIp::new(&trusted, header)
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 40000))
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn untrusted_peers_headers_are_ignored() {
        let r = real_ip(&["10.0.0.0/8"], RealIpHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "10.1.2.3")]);
        assert_eq!(r.client(peer("192.0.2.7"), &h), ip("192.0.2.7"));
    }

    #[test]
    fn trusted_proxy_names_the_client_rightmost_untrusted_wins() {
        let r = real_ip(&["10.0.0.0/8"], RealIpHeader::XForwardedFor);
        // The client wrote "1.1.1.1" itself; the proxies appended the rest.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(r.client(peer("10.0.0.1"), &h), ip("203.0.113.9"));
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "2001:db8::5"),
        ]);
        assert_eq!(r.client(peer("10.0.0.1"), &h), ip("2001:db8::5"));
        // No header, or garbage: the proxy itself.
        assert_eq!(
            r.client(peer("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        let h = headers(&[("x-forwarded-for", "not-an-address")]);
        assert_eq!(r.client(peer("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_header_with_ports_and_brackets() {
        let r = real_ip(&["127.0.0.1/32"], RealIpHeader::Forwarded);
        let h = headers(&[(
            "forwarded",
            "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"",
        )]);
        assert_eq!(r.client(peer("127.0.0.1"), &h), ip("2001:db8:cafe::17"));
        // X-Forwarded-For is not the configured header: ignored.
        let h = headers(&[("x-forwarded-for", "192.0.2.1")]);
        assert_eq!(r.client(peer("127.0.0.1"), &h), ip("127.0.0.1"));
    }

    #[test]
    fn mapped_ipv6_peers_are_ipv4() {
        let r = real_ip(&["127.0.0.0/8"], RealIpHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(r.client(peer("::ffff:127.0.0.1"), &h), ip("198.51.100.1"));
        assert_eq!(r.client(None, &h), None);
    }
}
