//! `server.listen` and `server.admin_listen`: the addresses nginx's `listen`
//! takes, read into one socket address.
//!
//! ```text
//! "127.0.0.1:8080"   "[::1]:8080"      an address and port
//! "localhost:8080"                     127.0.0.1 (loopback, whatever the resolver says)
//! "files.internal:8080"                a host name, resolved once at load (IPv4 first)
//! "*:8080"  "8080"  8080               every IPv4 address (nginx's `listen 8080`)
//! ```

use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

/// Reads an address in any of the forms above.
pub fn parse(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port));
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!(
            "{text:?} has no port: write e.g. \"127.0.0.1:8080\", \"localhost:8080\" or \"[::1]:8080\""
        ));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{text:?}: {port:?} is not a port (0 to 65535)"))?;
    match host {
        "*" => Ok(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port)),
        _ if host.eq_ignore_ascii_case("localhost") => {
            Ok(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port))
        }
        _ if host.contains(':') && !host.starts_with('[') => Err(format!(
            "{text:?}: an IPv6 address needs brackets, e.g. \"[::1]:{port}\""
        )),
        _ if host.is_empty() || host.starts_with('[') => {
            Err(format!("{text:?} is not an address and port"))
        }
        _ => resolve(host, port),
    }
}

/// The first address `host` resolves to, IPv4 preferred.
fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve host {host:?}: {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| matches!(a.ip(), IpAddr::V4(_)))
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("host {host:?} resolves to no address"))
}

/// serde: `listen = "..."` or `listen = 8080`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    d.deserialize_any(ListenVisitor)
}

/// serde: an optional address (`admin_listen`).
pub fn deserialize_optional<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<SocketAddr>, D::Error> {
    d.deserialize_any(ListenVisitor).map(Some)
}

struct ListenVisitor;

impl Visitor<'_> for ListenVisitor {
    type Value = SocketAddr;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an address such as \"127.0.0.1:8080\", \"localhost:8080\" or \"[::1]:8080\"")
    }

    fn visit_i64<E: de::Error>(self, port: i64) -> Result<SocketAddr, E> {
        u16::try_from(port)
            .map(|p| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), p))
            .map_err(|_| E::custom(format!("{port} is not a port (0 to 65535)")))
    }

    fn visit_u64<E: de::Error>(self, port: u64) -> Result<SocketAddr, E> {
        self.visit_i64(i64::try_from(port).unwrap_or(-1))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<SocketAddr, E> {
        parse(text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    //! - addresses, bracketed IPv6, `localhost` (always loopback), bare
    //!   ports and `*:port` read as nginx reads them;
    //! - a missing or bad port and an unbracketed IPv6 address are refused
    //!   with the text in the message.
    use super::*;

    #[test]
    fn nginx_forms() {
        let v4 = |a: [u8; 4], p| SocketAddr::new(Ipv4Addr::from(a).into(), p);
        assert_eq!(parse("127.0.0.1:8080").unwrap(), v4([127, 0, 0, 1], 8080));
        assert_eq!(parse("localhost:8080").unwrap(), v4([127, 0, 0, 1], 8080));
        assert_eq!(parse("LocalHost:81").unwrap(), v4([127, 0, 0, 1], 81));
        assert_eq!(parse("[::1]:8080").unwrap(), "[::1]:8080".parse().unwrap());
        assert_eq!(parse("8080").unwrap(), v4([0, 0, 0, 0], 8080));
        assert_eq!(parse("*:8080").unwrap(), v4([0, 0, 0, 0], 8080));
    }

    #[test]
    fn bad_addresses_are_explained() {
        for (text, needle) in [
            ("localhost", "has no port"),
            ("localhost:http", "\"http\" is not a port"),
            ("127.0.0.1:70000", "\"70000\" is not a port"),
            ("::1:8080", "needs brackets"),
            (":8080", "is not an address and port"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
