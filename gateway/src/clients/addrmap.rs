//! The storage address map: what a tracker says a storage's address is
//! (its *registered* address), turned into the address the gateway dials.
//!
//! Storages behind NAT or in containers register an address clients cannot
//! reach (Docker's `172.17.0.x`, a private address, an address from before
//! an IP change, which FastDFS also encodes in every file ID). An upstream's
//! `storage_map` says where to dial instead:
//!
//! ```text
//! "172.17.0.5:23000" = "127.0.0.1:23001"   exact ip:port → ip:port
//! "172.17.0.6"       = "10.8.0.6"          IP → IP, the port kept
//! "172.17.0.0/16"    = "10.8.0.0/16"       CIDR → CIDR of the same length,
//!                                          the host part kept
//! ```
//!
//! The most specific entry wins: an exact `ip:port`, then a bare IP, then
//! the longest CIDR. An address no entry matches is dialled as registered.
//! The map only rewrites addresses a tracker named: it never adds one.
//!
//! Targets the gateway never dials ([`never_dialled`]: unspecified,
//! multicast, broadcast and reserved addresses) are refused when the map is
//! read, and so is an exact target that is one of the gateway's own
//! listeners.

use ipnet::IpNet;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::sync::{Mutex, PoisonError};

/// Distinct mappings logged at most; past that, further ones go unlogged
/// (a CIDR map over a large cluster must not grow a set without end).
const MAX_LOGGED: usize = 4096;

/// One entry of the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Exact(SocketAddr, SocketAddr),
    Ip(IpAddr, IpAddr),
    Net(IpNet, IpNet),
}

/// A per-upstream storage address map (empty: every address is dialled as
/// registered). Cheap to consult; logs each distinct mapping once.
#[derive(Default)]
pub struct AddressMap {
    exact: HashMap<SocketAddr, SocketAddr>,
    ips: HashMap<IpAddr, IpAddr>,
    /// Longest prefix first.
    nets: Vec<(IpNet, IpNet)>,
    logged: Mutex<HashSet<(SocketAddr, SocketAddr)>>,
}

impl fmt::Debug for AddressMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddressMap")
            .field("exact", &self.exact)
            .field("ips", &self.ips)
            .field("nets", &self.nets)
            .finish_non_exhaustive()
    }
}

impl AddressMap {
    /// The map of `entries` (`from` → `to`, as written in the config).
    /// `listeners` are the gateway's own addresses, which no exact target
    /// may name. Errors name the entry at fault.
    pub fn parse(
        entries: &BTreeMap<String, String>,
        listeners: &[SocketAddr],
    ) -> Result<Self, String> {
        let mut map = AddressMap::default();
        for (from, to) in entries {
            let rule = parse_rule(from, to).map_err(|m| format!("{from:?} = {to:?}: {m}"))?;
            check_target(rule, listeners).map_err(|m| format!("{from:?} = {to:?}: {m}"))?;
            if !map.insert(rule) {
                return Err(format!(
                    "{from:?} names an address another entry maps already"
                ));
            }
        }
        map.nets
            .sort_by_key(|(from, _)| std::cmp::Reverse(from.prefix_len()));
        Ok(map)
    }

    /// Adds `rule`; false when its source is mapped already.
    fn insert(&mut self, rule: Rule) -> bool {
        match rule {
            Rule::Exact(from, to) => self.exact.insert(from, to).is_none(),
            Rule::Ip(from, to) => self.ips.insert(from, to).is_none(),
            Rule::Net(from, to) => {
                let taken = self.nets.iter().any(|(f, _)| *f == from);
                if !taken {
                    self.nets.push((from, to));
                }
                !taken
            }
        }
    }

    /// True when it maps nothing.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.ips.is_empty() && self.nets.is_empty()
    }

    /// Where `registered` is dialled, without logging (for reports).
    pub fn lookup(&self, registered: SocketAddr) -> SocketAddr {
        if let Some(to) = self.exact.get(&registered) {
            return *to;
        }
        let ip = registered.ip();
        let mapped = self.ips.get(&ip).copied().or_else(|| {
            self.nets
                .iter()
                .find(|(from, _)| from.contains(&ip))
                .map(|(from, to)| graft(ip, *from, *to))
        });
        mapped.map_or(registered, |ip| SocketAddr::new(ip, registered.port()))
    }

    /// Where `registered` is dialled; the first use of each distinct
    /// mapping is logged.
    pub fn dial(&self, registered: SocketAddr) -> SocketAddr {
        if self.is_empty() {
            return registered;
        }
        let dialled = self.lookup(registered);
        if dialled != registered {
            self.log_once(registered, dialled);
        }
        dialled
    }

    /// [`AddressMap::dial`] for FastDFS's IPv4 addresses (the map's entries
    /// keep the family, so an IPv4 address stays one).
    pub fn dial_v4(&self, registered: SocketAddrV4) -> SocketAddrV4 {
        match self.dial(registered.into()) {
            SocketAddr::V4(v4) => v4,
            SocketAddr::V6(_) => registered,
        }
    }

    /// A MogileFS path URL (`http://<ip>:<port>/dev1/...`) with its address
    /// mapped; a URL naming a host name, or none, is kept as it is.
    pub fn dial_url(&self, url: &str) -> String {
        self.map_url(url).0
    }

    /// [`AddressMap::dial_url`], and the address the URL then names (`None`
    /// for a host name): parsed once, for a caller that also checks it.
    pub fn map_url(&self, url: &str) -> (String, Option<SocketAddr>) {
        let Some((registered, rest)) = url_addr(url) else {
            return (url.to_owned(), None);
        };
        let dialled = self.dial(registered);
        if dialled == registered {
            return (url.to_owned(), Some(dialled));
        }
        (format!("http://{dialled}{rest}"), Some(dialled))
    }

    /// A registered URL's address and, when mapped, the one dialled (for
    /// reports).
    pub fn lookup_url(&self, url: &str) -> Option<(SocketAddr, SocketAddr)> {
        let (registered, _) = url_addr(url)?;
        Some((registered, self.lookup(registered)))
    }

    fn log_once(&self, registered: SocketAddr, dialled: SocketAddr) {
        let mut logged = self.logged.lock().unwrap_or_else(PoisonError::into_inner);
        if logged.len() < MAX_LOGGED && logged.insert((registered, dialled)) {
            tracing::info!(%registered, %dialled, "storage address mapped");
        }
    }
}

/// The address of an `http://` URL whose host is an IP literal, and the
/// rest of the URL after it.
fn url_addr(url: &str) -> Option<(SocketAddr, &str)> {
    let after = url.strip_prefix("http://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    // `http://1.2.3.4/x` dials port 80.
    let addr = authority.parse::<SocketAddr>().ok().or_else(|| {
        let ip = authority.parse::<Ipv4Addr>().ok()?;
        Some(SocketAddr::from((ip, 80)))
    })?;
    Some((addr, rest))
}

/// `ip` in `from` moved into `to`, its host part kept.
fn graft(ip: IpAddr, from: IpNet, to: IpNet) -> IpAddr {
    match (ip, to.network()) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let host = u32::from(ip) & !u32::from(v4_mask(from));
            IpAddr::V4(Ipv4Addr::from(u32::from(net) | host))
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let host = u128::from(ip) & !u128::from(v6_mask(from));
            IpAddr::V6(Ipv6Addr::from(u128::from(net) | host))
        }
        // Parsing keeps both sides of an entry in one family.
        _ => ip,
    }
}

fn v4_mask(net: IpNet) -> Ipv4Addr {
    match net.netmask() {
        IpAddr::V4(m) => m,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}

fn v6_mask(net: IpNet) -> Ipv6Addr {
    match net.netmask() {
        IpAddr::V6(m) => m,
        IpAddr::V4(_) => Ipv6Addr::UNSPECIFIED,
    }
}

/// One `from = to` entry, both sides of the same form and family.
fn parse_rule(from: &str, to: &str) -> Result<Rule, String> {
    let (from, to) = (from.trim(), to.trim());
    let rule = match (Side::parse(from)?, Side::parse(to)?) {
        (Side::Addr(f), Side::Addr(t)) => Rule::Exact(f, t),
        (Side::Ip(f), Side::Ip(t)) => Rule::Ip(f, t),
        (Side::Net(f), Side::Net(t)) if f.prefix_len() == t.prefix_len() => Rule::Net(f, t),
        (Side::Net(f), Side::Net(t)) => {
            return Err(format!(
                "a CIDR maps to a CIDR of the same length (/{} → /{})",
                f.prefix_len(),
                t.prefix_len()
            ))
        }
        _ => {
            return Err(
                "both sides must be of one form: ip:port = ip:port, IP = IP or CIDR = CIDR".into(),
            )
        }
    };
    let families = match rule {
        Rule::Exact(f, t) => (f.is_ipv4(), t.is_ipv4()),
        Rule::Ip(f, t) => (f.is_ipv4(), t.is_ipv4()),
        Rule::Net(f, t) => (f.network().is_ipv4(), t.network().is_ipv4()),
    };
    if families.0 != families.1 {
        return Err("both sides must be IPv4 or both IPv6".into());
    }
    Ok(rule)
}

/// One side of an entry.
enum Side {
    Addr(SocketAddr),
    Ip(IpAddr),
    Net(IpNet),
}

impl Side {
    fn parse(text: &str) -> Result<Side, String> {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            if addr.port() == 0 {
                return Err(format!("{text:?}: port 0 is not a port to dial"));
            }
            return Ok(Side::Addr(addr));
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Side::Ip(ip));
        }
        let net = text.parse::<IpNet>().map_err(|_| {
            format!(
                "{text:?} is not an ip:port, an IP address or a CIDR (a host name is not mapped)"
            )
        })?;
        if net.trunc() != net {
            return Err(format!(
                "{text:?} has bits set after its prefix; the network is {}",
                net.trunc()
            ));
        }
        // A one-address CIDR is that IP: it ranks as an IP entry.
        if net.prefix_len() == net.max_prefix_len() {
            return Ok(Side::Ip(net.network()));
        }
        Ok(Side::Net(net))
    }
}

/// Ranges the gateway never dials as a storage, whoever names them.
const NEVER_DIALLED: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\" (unspecified)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved and broadcast"),
    ("::/128", "unspecified"),
    ("ff00::/8", "multicast"),
];

/// Why the gateway never dials `ip`, if it never does.
pub fn never_dialled(ip: IpAddr) -> Option<&'static str> {
    refused_ranges()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, why)| why)
}

fn refused_ranges() -> impl Iterator<Item = (IpNet, &'static str)> {
    NEVER_DIALLED
        .iter()
        .filter_map(|(net, why)| Some((net.parse::<IpNet>().ok()?, *why)))
}

/// Refuses a target that points where the gateway never dials: into a
/// refused range, or at one of its own listeners.
fn check_target(rule: Rule, listeners: &[SocketAddr]) -> Result<(), String> {
    let target = match rule {
        Rule::Exact(_, to) => IpNet::from(to.ip()),
        Rule::Ip(_, to) => IpNet::from(to),
        Rule::Net(_, to) => to,
    };
    let overlap = refused_ranges()
        .find(|(net, _)| net.contains(&target.network()) || target.contains(&net.network()));
    if let Some((net, why)) = overlap {
        return Err(format!(
            "the target points into {net} ({why}), which the gateway never dials"
        ));
    }
    if let Rule::Exact(_, to) = rule {
        let own = listeners
            .iter()
            .any(|l| l.port() == to.port() && (l.ip() == to.ip() || l.ip().is_unspecified()));
        if own {
            return Err(format!(
                "the target {to} is the gateway's own listener, not a storage"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "addrmap_tests.rs"]
mod tests;
