//! nginx access directives written inside a module location, carried over
//! as `access.*` keys of the gateway location:
//!
//! - `allow` / `deny` (in order) → `access.clients`;
//! - `auth_basic` + `auth_basic_user_file` → `access.htpasswd`,
//!   `access.realm`, `access.require = "all"` (nginx asks every method);
//! - `limit_req zone=NAME [burst=N]` with its `limit_req_zone` (keyed by the
//!   client address) → `access.rate.reads` and `.writes`.
//!
//! Dotted keys (`access.clients = [...]`) keep them inside the location's
//! own table.

use super::emit::{self, Line};
use super::syntax::Directive;
use std::collections::HashMap;

/// The directives handled here (not to be reported as dropped).
pub const DIRECTIVES: &[&str] = &[
    "allow",
    "deny",
    "auth_basic",
    "auth_basic_user_file",
    "limit_req",
];

/// A `limit_req_zone`'s rate in requests per second (at least 1), by zone name.
pub type Zones = HashMap<String, u32>;

/// Every `limit_req_zone` of the tree keyed by the client address.
pub fn zones(tree: &[Directive], warnings: &mut Vec<String>) -> Zones {
    let mut zones = Zones::new();
    for d in tree {
        if d.name == "limit_req_zone" {
            zone(d, &mut zones, warnings);
        }
        zones.extend(self::zones(d.children(), warnings));
    }
    zones
}

fn zone(d: &Directive, zones: &mut Zones, warnings: &mut Vec<String>) {
    let key = d.args.first().map(String::as_str);
    let name = arg(d, "zone=").and_then(|z| z.split(':').next());
    let rate = arg(d, "rate=").and_then(parse_rate);
    match (key, name, rate) {
        (Some("$binary_remote_addr" | "$remote_addr"), Some(name), Some((per_second, rounded))) => {
            if rounded {
                warnings.push(warn(d, "rates under 1r/s are rounded up to 1 per second"));
            }
            zones.insert(name.to_owned(), per_second);
        }
        (Some(_), Some(_), Some(_)) => warnings.push(warn(
            d,
            "only zones keyed by the client address can be carried over",
        )),
        _ => warnings.push(warn(d, "not a zone=NAME:SIZE rate=Nr/s zone")),
    }
}

/// `10r/s` → (10, false); `30r/m` → (1, true).
fn parse_rate(text: &str) -> Option<(u32, bool)> {
    if let Some(n) = text.strip_suffix("r/s") {
        return n.parse().ok().filter(|n| *n > 0).map(|n| (n, false));
    }
    let per_minute: u32 = text.strip_suffix("r/m")?.parse().ok().filter(|n| *n > 0)?;
    let whole = per_minute / 60;
    Some((whole.max(1), whole * 60 != per_minute))
}

fn arg<'a>(d: &'a Directive, key: &str) -> Option<&'a str> {
    d.args.iter().find_map(|a| a.strip_prefix(key))
}

fn warn(d: &Directive, why: &str) -> String {
    format!("{}: `{}`: {why}", d.origin, d.text())
}

/// The `access.*` lines for the access directives among `location`'s own.
pub fn lines(location: &Directive, zones: &Zones, warnings: &mut Vec<String>) -> Vec<Line> {
    let own = location.children();
    let mut lines = clients(own, warnings);
    lines.extend(basic(own, warnings));
    lines.extend(rate(own, zones, warnings));
    lines
}

fn clients(own: &[Directive], warnings: &mut Vec<String>) -> Vec<Line> {
    let mut rules = Vec::new();
    for d in own.iter().filter(|d| d.name == "allow" || d.name == "deny") {
        let rule = format!("{} {}", d.name, d.args.join(" "));
        match crate::config::access::Rule::try_from(rule.clone()) {
            Ok(_) => rules.push(rule),
            Err(e) => warnings.push(warn(d, &format!("left out: {e}"))),
        }
    }
    if rules.is_empty() {
        return Vec::new();
    }
    vec![Line::Field("access.clients".into(), emit::strings(&rules))]
}

fn basic(own: &[Directive], warnings: &mut Vec<String>) -> Vec<Line> {
    let find = |name: &str| own.iter().find(|d| d.name == name);
    let realm = match find("auth_basic").and_then(|d| d.args.first()) {
        None => return Vec::new(),
        Some(off) if off == "off" => return Vec::new(),
        Some(realm) => realm,
    };
    let Some(file) = find("auth_basic_user_file").and_then(|d| d.args.first()) else {
        warnings
            .extend(find("auth_basic").map(|d| warn(d, "no auth_basic_user_file here; left out")));
        return Vec::new();
    };
    vec![
        Line::Comment("auth_basic: the gateway reads bcrypt (htpasswd -B) and {SHA} (htpasswd -s) entries only".into()),
        Line::Field("access.htpasswd".into(), emit::string(file)),
        Line::Field("access.realm".into(), emit::string(realm)),
        Line::Field("access.require".into(), emit::string("all")),
    ]
}

fn rate(own: &[Directive], zones: &Zones, warnings: &mut Vec<String>) -> Vec<Line> {
    let Some(d) = own.iter().find(|d| d.name == "limit_req") else {
        return Vec::new();
    };
    let Some(&per_second) = arg(d, "zone=").and_then(|z| zones.get(z)) else {
        warnings.push(warn(
            d,
            "its limit_req_zone was not found or not carried over; left out",
        ));
        return Vec::new();
    };
    // nginx queues `burst` requests beyond the one in hand; the gateway's
    // bucket holds them all at once and answers 429 rather than delaying.
    let burst = arg(d, "burst=")
        .and_then(|b| b.parse::<u32>().ok())
        .unwrap_or(0)
        + 1;
    let limit = format!("{{ per_second = {per_second}, burst = {burst} }}");
    vec![
        Line::Comment(
            "limit_req: over the limit the gateway answers 429 at once (no delaying)".into(),
        ),
        Line::Field("access.rate.reads".into(), limit.clone()),
        Line::Field("access.rate.writes".into(), limit),
    ]
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const NGINX: &str = r#"
http {
    limit_req_zone $binary_remote_addr zone=uploads:10m rate=5r/s;
    server {
        listen 80;
        location /upload/ {
            mogilefs_tracker 127.0.0.1:7001;
            mogilefs_domain imgs;
            mogilefs_methods PUT DELETE;
            allow 10.0.0.0/8;
            allow 2001:db8::/32;
            deny all;
            auth_basic "Uploads";
            auth_basic_user_file /etc/nginx/htpasswd;
            limit_req zone=uploads burst=10 nodelay;
            mogilefs_pass { proxy_pass $mogilefs_path; }
        }
    }
}
"#;

    #[test]
    fn allow_deny_auth_basic_and_limit_req_are_carried_over() {
        let dir = tempfile::tempdir().unwrap();
        let imported = super::super::import(NGINX, dir.path()).unwrap();
        let toml = &imported.toml;
        assert!(
            toml.contains(
                r#"access.clients = ["allow 10.0.0.0/8", "allow 2001:db8::/32", "deny all"]"#
            ),
            "{toml}"
        );
        assert!(
            toml.contains(r#"access.htpasswd = "/etc/nginx/htpasswd""#),
            "{toml}"
        );
        assert!(toml.contains(r#"access.realm = "Uploads""#), "{toml}");
        assert!(
            toml.contains("access.rate.writes = { per_second = 5, burst = 11 }"),
            "{toml}"
        );
        let dropped: Vec<_> = imported
            .warnings
            .iter()
            .filter(|w| w.contains("not carried over"))
            .collect();
        assert!(dropped.is_empty(), "{dropped:?}");
        // The result parses; only the htpasswd file is missing on this machine.
        let err = Config::parse(toml).unwrap_err().to_string();
        assert!(
            err.contains("access.htpasswd") && err.contains("/etc/nginx/htpasswd"),
            "{err}"
        );
        let file = dir.path().join("htpasswd");
        std::fs::write(&file, "u:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n").unwrap();
        let fixed = toml.replace("/etc/nginx/htpasswd", &file.display().to_string());
        let config = Config::parse(&fixed).unwrap();
        let access = &config.locations[0].get_ref().access;
        assert_eq!(access.clients.len(), 3);
        assert_eq!(access.rate.reads.unwrap().burst, Some(11));
    }

    #[test]
    fn zones_and_rules_that_cannot_be_carried_are_warned() {
        let text = NGINX
            .replace("$binary_remote_addr", "$server_name")
            .replace("allow 10.0.0.0/8;", "allow unix:;");
        let dir = tempfile::tempdir().unwrap();
        let imported = super::super::import(&text, dir.path()).unwrap();
        let all = imported.warnings.join("\n");
        assert!(all.contains("client address"), "{all}");
        assert!(all.contains("allow unix:"), "{all}");
        assert!(!imported.toml.contains("access.rate"), "{}", imported.toml);
        assert!(super::parse_rate("30r/m") == Some((1, true)));
    }
}
