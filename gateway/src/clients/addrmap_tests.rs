//! - exact, IP and CIDR entries map as documented, the host part and the
//!   port kept where the entry does not name them;
//! - the most specific entry wins: exact, then IP, then the longest CIDR;
//! - unmapped addresses, host-name URLs and an empty map pass unchanged;
//! - malformed entries, mixed forms or families, unequal prefixes, host
//!   bits, duplicates and targets the gateway never dials are refused with
//!   the entry named.

use super::*;

fn map(entries: &[(&str, &str)]) -> AddressMap {
    try_map(entries).unwrap()
}

fn try_map(entries: &[(&str, &str)]) -> Result<AddressMap, String> {
    let entries: BTreeMap<String, String> = entries
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    AddressMap::parse(&entries, &["127.0.0.1:8080".parse().unwrap()])
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn each_form_maps_and_keeps_what_it_does_not_name() {
    let m = map(&[
        ("172.17.0.5:23000", "127.0.0.1:23001"),
        ("172.17.0.6", "10.8.0.6"),
        ("172.17.0.0/16", "10.9.0.0/16"),
        ("fd00::/64", "fd01::/64"),
    ]);
    assert_eq!(m.dial(addr("172.17.0.5:23000")), addr("127.0.0.1:23001"));
    assert_eq!(m.dial(addr("172.17.0.6:7500")), addr("10.8.0.6:7500"));
    assert_eq!(m.dial(addr("172.17.3.4:23000")), addr("10.9.3.4:23000"));
    assert_eq!(m.dial(addr("[fd00::7]:80")), addr("[fd01::7]:80"));
    assert_eq!(
        m.dial_v4("172.17.200.1:23000".parse().unwrap()),
        "10.9.200.1:23000".parse::<SocketAddrV4>().unwrap()
    );
}

#[test]
fn the_most_specific_entry_wins() {
    let m = map(&[
        ("10.0.0.0/8", "11.0.0.0/8"),
        ("10.1.0.0/16", "12.1.0.0/16"),
        ("10.1.2.3", "13.0.0.1"),
        ("10.1.2.3:7500", "14.0.0.1:7600"),
        ("10.1.2.4/32", "15.0.0.1"),
    ]);
    assert_eq!(m.dial(addr("10.1.2.3:7500")), addr("14.0.0.1:7600"));
    assert_eq!(m.dial(addr("10.1.2.3:7501")), addr("13.0.0.1:7501"));
    assert_eq!(m.dial(addr("10.1.9.9:1")), addr("12.1.9.9:1"));
    assert_eq!(m.dial(addr("10.2.9.9:1")), addr("11.2.9.9:1"));
    assert_eq!(m.dial(addr("10.1.2.4:1")), addr("15.0.0.1:1"));
}

#[test]
fn unmapped_addresses_and_host_names_pass_unchanged() {
    let m = map(&[("172.17.0.0/16", "127.0.0.0/16")]);
    assert_eq!(m.dial(addr("172.18.0.1:80")), addr("172.18.0.1:80"));
    assert_eq!(
        m.dial_url("http://172.17.0.2:7500/dev1/0/000/000/0000000001.fid"),
        "http://127.0.0.2:7500/dev1/0/000/000/0000000001.fid"
    );
    assert_eq!(
        m.dial_url("http://172.17.0.2/dev1/x"),
        "http://127.0.0.2:80/dev1/x"
    );
    for kept in [
        "http://storage1:7500/dev1/x",
        "http://172.18.0.2:7500/dev1/x",
        "https://172.17.0.2:7500/dev1/x",
        "not a url",
    ] {
        assert_eq!(m.dial_url(kept), kept);
    }
    let empty = AddressMap::default();
    assert!(empty.is_empty());
    assert_eq!(empty.dial(addr("172.17.0.2:1")), addr("172.17.0.2:1"));
    assert_eq!(
        m.lookup_url("http://172.17.0.9:7500/dev2/x"),
        Some((addr("172.17.0.9:7500"), addr("127.0.0.9:7500")))
    );
}

#[test]
fn malformed_entries_are_refused_naming_them() {
    let cases: &[(&str, &str, &str)] = &[
        ("storage1", "127.0.0.1", "is not an ip:port"),
        ("172.17.0.5", "127.0.0.1:80", "of one form"),
        ("172.17.0.0/16", "127.0.0.0/24", "same length"),
        ("172.17.0.5/16", "127.0.0.0/16", "bits set after its prefix"),
        ("172.17.0.5", "::1", "IPv4 or both IPv6"),
        ("172.17.0.5:23000", "127.0.0.1:0", "port 0"),
        ("172.17.0.5", "0.0.0.0", "never dials"),
        ("172.17.0.0/16", "224.1.0.0/16", "multicast"),
        ("10.0.0.0/8", "0.0.0.0/8", "never dials"),
        ("172.17.0.5:23000", "255.255.255.255:23000", "never dials"),
        ("172.17.0.5:23000", "127.0.0.1:8080", "own listener"),
    ];
    for (from, to, want) in cases {
        let e = try_map(&[(from, to)]).unwrap_err();
        assert!(e.contains(from) && e.contains(want), "{from} = {to}: {e}");
    }
    let e = try_map(&[("10.0.0.1", "127.0.0.1"), ("10.0.0.1/32", "127.0.0.2")]).unwrap_err();
    assert!(e.contains("another entry"), "{e}");
}

#[test]
fn never_dialled_names_the_refused_ranges() {
    assert!(never_dialled("0.0.0.0".parse().unwrap()).is_some());
    assert!(never_dialled("239.1.1.1".parse().unwrap()).is_some());
    assert!(never_dialled("ff02::1".parse().unwrap()).is_some());
    assert!(never_dialled("127.0.0.1".parse().unwrap()).is_none());
    assert!(never_dialled("172.17.0.2".parse().unwrap()).is_none());
}
