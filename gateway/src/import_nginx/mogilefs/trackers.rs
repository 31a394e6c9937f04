//! `mogilefs_tracker` → tracker addresses: a `host[:port]` (the module's
//! default port is 6001) or the name of an `upstream {}` block, whose
//! `server` entries (nginx's default port 80) become the trackers.

use crate::import_nginx::emit;
use crate::import_nginx::not_carried;
use crate::import_nginx::syntax::Directive;
use crate::import_nginx::values::{has_variables, parse_time};
use std::collections::HashMap;

/// The module's default tracker port, used when `mogilefs_tracker` names none.
const MODULE_TRACKER_PORT: u16 = 6001;
/// nginx's default port for a `server` in an `upstream {}` block.
const UPSTREAM_SERVER_PORT: u16 = 80;

/// The trackers a location uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trackers {
    /// `host:port` addresses.
    pub addrs: Vec<String>,
    /// Name to suggest for the `[[upstream]]`: the nginx upstream's, or `mog`.
    pub name_hint: String,
    /// Upstream settings from the `upstream {}` block (`fail_timeout`), rendered.
    pub settings: Vec<(String, String)>,
}

/// Reads `mogilefs_tracker` against the config's `upstream {}` blocks; None
/// (with a warning) when the location cannot be imported.
pub fn trackers(
    d: &Directive,
    upstreams: &HashMap<String, &Directive>,
    warnings: &mut Vec<String>,
) -> Option<Trackers> {
    let skip = |why: &str| not_carried(d, &format!("{why}; location skipped"));
    let [value] = d.args.as_slice() else {
        warnings.push(skip("expected one tracker address or upstream name"));
        return None;
    };
    if has_variables(value) {
        warnings.push(skip(
            "a tracker chosen per request from variables is not supported",
        ));
        return None;
    }
    if let Some(block) = upstreams.get(value.as_str()) {
        let (addrs, settings) = upstream_block(block, warnings);
        if addrs.is_empty() {
            let why = "no usable tracker in this upstream; locations using it skipped";
            warnings.push(not_carried(block, why));
            return None;
        }
        let name_hint = value.clone();
        return Some(Trackers {
            addrs,
            name_hint,
            settings,
        });
    }
    if value.starts_with("unix:") {
        warnings.push(skip("trackers on unix sockets are not supported"));
        return None;
    }
    Some(Trackers {
        addrs: vec![with_port(value, MODULE_TRACKER_PORT)],
        name_hint: "mog".into(),
        settings: Vec::new(),
    })
}

/// The trackers of an `upstream {}` block and its `fail_timeout`.
fn upstream_block(
    block: &Directive,
    warnings: &mut Vec<String>,
) -> (Vec<String>, Vec<(String, String)>) {
    let mut addrs = Vec::new();
    let mut fail_timeout = None;
    for d in block.children() {
        match d.name.as_str() {
            "server" if d.args.iter().any(|a| a == "down") => {
                warnings.push(not_carried(d, "marked down; left out"));
            }
            "server" if !d.args.is_empty() => {
                fail_timeout = fail_timeout.or(server_params(d, warnings));
                addrs.push(server_addr(d, warnings));
            }
            // The gateway keeps its own pool of tracker connections.
            "keepalive" | "keepalive_timeout" | "keepalive_requests" | "keepalive_time" => {}
            _ => warnings.push(not_carried(d, "not carried over")),
        }
    }
    let settings = fail_timeout
        .filter(|t| !t.is_zero())
        .map(|t| ("fail_timeout".to_owned(), emit::duration(t)))
        .into_iter()
        .collect();
    (addrs, settings)
}

/// Warns about the `server` parameters with no equivalent; returns its `fail_timeout`.
fn server_params(d: &Directive, warnings: &mut Vec<String>) -> Option<std::time::Duration> {
    let mut fail_timeout = None;
    for param in &d.args[1..] {
        match param.split_once('=') {
            Some(("fail_timeout", t)) => fail_timeout = parse_time(t),
            _ if param == "backup" => {
                warnings.push(not_carried(d, "a backup tracker is tried like the others"));
            }
            _ => warnings.push(format!(
                "{}: `{param}` of `{}`: not carried over",
                d.origin,
                d.text()
            )),
        }
    }
    fail_timeout
}

fn server_addr(d: &Directive, warnings: &mut Vec<String>) -> String {
    let addr = &d.args[0];
    let with = with_port(addr, UPSTREAM_SERVER_PORT);
    if &with != addr {
        let why = format!(
            "no port given, so nginx used {UPSTREAM_SERVER_PORT}: imported as {with:?}; check it"
        );
        warnings.push(not_carried(d, &why));
    }
    with
}

/// `host[:port]` with `port` added when absent (IPv6 literals too).
fn with_port(addr: &str, port: u16) -> String {
    let colons = addr.matches(':').count();
    match addr.strip_prefix('[') {
        Some(rest) if rest.contains("]:") => addr.to_owned(),
        Some(_) => format!("{addr}:{port}"),
        None if colons == 1 => addr.to_owned(),
        None if colons > 1 => format!("[{addr}]:{port}"),
        None => format!("{addr}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_added_where_missing() {
        assert_eq!(with_port("10.0.0.1", 6001), "10.0.0.1:6001");
        assert_eq!(with_port("10.0.0.1:7001", 6001), "10.0.0.1:7001");
        assert_eq!(with_port("tracker.example", 80), "tracker.example:80");
        assert_eq!(with_port("[::1]:7001", 6001), "[::1]:7001");
        assert_eq!(with_port("[::1]", 6001), "[::1]:6001");
        assert_eq!(with_port("::1", 6001), "[::1]:6001");
    }
}
