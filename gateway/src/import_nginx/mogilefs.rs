//! nginx_mogilefs_module locations → MogileFS `[[location]]`s and the
//! `[[upstream]]` of their trackers.
//!
//! Directive meanings are those of the module as built, not as its bundled doc
//! says (see the MogileFS PROTOCOL.md §6.2): the tracker's default port is
//! 6001, the default domain is `default`, the default method is GET, noverify
//! is off unless set, and a key template or variables cannot be carried over.

mod trackers;

use super::emit::{self, Line};
use super::scan::{Found, Scope};
use super::syntax::Directive;
use super::values::{
    has_variables, parse_size, parse_time, regex_literal, through_last_slash, LocationMatch,
};
use super::{not_carried, LocationSpec, UpstreamSpec};
use std::collections::HashMap;
use std::time::Duration;

/// Location directives this converter reads.
const HANDLED: &[&str] = &[
    "mogilefs_tracker",
    "mogilefs_domain",
    "mogilefs_class",
    "mogilefs_methods",
    "mogilefs_noverify",
    "mogilefs_connect_timeout",
    "mogilefs_send_timeout",
    "mogilefs_read_timeout",
    "mogilefs_pass",
    "client_max_body_size",
    "location",
];

/// Directives whose job the gateway does by itself: Content-Type by
/// extension, streaming both ways, replica fallback.
const BUILT_IN: &[&str] = &[
    "types",
    "default_type",
    "proxy_buffering",
    "proxy_request_buffering",
    "client_body_buffer_size",
    "client_body_temp_path",
    "proxy_hide_header",
    "proxy_intercept_errors",
    "proxy_http_version",
];

/// Converts one `mogilefs_pass` location; None (with a warning) when it cannot be.
pub fn convert(
    found: &Found<'_>,
    upstreams: &HashMap<String, &Directive>,
    warnings: &mut Vec<String>,
) -> Option<LocationSpec> {
    let location = found.location;
    let prefix = prefix(location, warnings)?;
    let Some(tracker) = found.scope.get("mogilefs_tracker") else {
        warnings.push(format!(
            "{}: location {prefix}: no mogilefs_tracker in scope; skipped",
            location.origin
        ));
        return None;
    };
    let trackers = trackers::trackers(tracker, upstreams, warnings)?;
    let mut settings = trackers.settings;
    settings.extend(tracker_timeouts(&found.scope, warnings));
    for d in location.children() {
        if d.name == "mogilefs_pass" {
            settings.extend(pass_block(d, warnings));
        } else if !HANDLED.contains(&d.name.as_str())
            && !is_built_in(d)
            && !super::access::DIRECTIVES.contains(&d.name.as_str())
        {
            warnings.push(not_carried(d, "not carried over"));
        }
    }
    let upstream = UpstreamSpec {
        name_hint: trackers.name_hint,
        protocol: "mogilefs",
        trackers: trackers.addrs,
        settings,
        comments: Vec::new(),
    };
    Some(LocationSpec {
        origin: location.origin.clone(),
        summary: format!("location {}", location.args.join(" ")),
        prefix,
        upstream,
        lines: location_lines(&found.scope, warnings),
    })
}

fn is_built_in(d: &Directive) -> bool {
    // `error_page ... = @fallback` with `$mogilefs_path1` is the module's only
    // way to try a second replica; the gateway tries every replica itself.
    let fallback = d.name == "error_page" && d.args.last().is_some_and(|a| a.starts_with('@'));
    fallback || BUILT_IN.contains(&d.name.as_str())
}

/// The gateway prefix for a location's match.
fn prefix(location: &Directive, warnings: &mut Vec<String>) -> Option<String> {
    let here = &location.origin;
    match LocationMatch::from_args(&location.args) {
        Some(LocationMatch::Prefix(p)) if p.starts_with('/') && p.ends_with('/') => Some(p),
        Some(LocationMatch::Prefix(p)) if p.starts_with('/') => {
            let with_slash = format!("{p}/");
            warnings.push(format!(
                "{here}: location {p}: the module's keys began with the text after {p:?} (\"/a.jpg\" for {p}/a.jpg); the gateway uses prefix {with_slash:?}, so keys no longer start with '/'"
            ));
            Some(with_slash)
        }
        Some(LocationMatch::Regex { pattern, caseless }) => {
            regex_prefix(here, &pattern, caseless, warnings)
        }
        _ => {
            let text = location.args.join(" ");
            warnings.push(format!(
                "{here}: location {text}: only prefix and regex locations can be imported; skipped"
            ));
            None
        }
    }
}

fn regex_prefix(
    here: &super::syntax::Origin,
    pattern: &str,
    caseless: bool,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let (literal, anchored) = regex_literal(pattern);
    let Some(guess) = through_last_slash(&literal).filter(|p| p.starts_with('/')) else {
        warnings.push(format!(
            "{here}: location ~ {pattern}: no literal URL prefix to read from the regex; skipped"
        ));
        return None;
    };
    let mut notes = vec![format!(
        "regex location imported as prefix {guess:?}; check the prefix"
    )];
    if !anchored {
        notes.push("the regex was not anchored with '^'".into());
    }
    if caseless {
        notes.push("prefixes are case-sensitive in the gateway".into());
    }
    warnings.push(format!(
        "{here}: location ~{} {pattern}: {}",
        if caseless { "*" } else { "" },
        notes.join("; ")
    ));
    Some(guess)
}

/// `connect_timeout` / `reply_timeout` from the tracker timeouts in scope.
fn tracker_timeouts(scope: &Scope<'_>, warnings: &mut Vec<String>) -> Vec<(String, String)> {
    let connect = time_of(scope.get("mogilefs_connect_timeout"), warnings);
    // The gateway's reply timeout bounds both writing the command and reading the answer.
    let send = time_of(scope.get("mogilefs_send_timeout"), warnings);
    let read = time_of(scope.get("mogilefs_read_timeout"), warnings);
    let mut settings = Vec::new();
    if let Some(t) = connect {
        settings.push(("connect_timeout".to_owned(), emit::duration(t)));
    }
    if let Some(t) = send.max(read) {
        settings.push(("reply_timeout".to_owned(), emit::duration(t)));
    }
    settings
}

fn time_of(d: Option<&Directive>, warnings: &mut Vec<String>) -> Option<Duration> {
    let d = d?;
    let time = d
        .args
        .first()
        .and_then(|a| parse_time(a))
        .filter(|t| !t.is_zero());
    if time.is_none() {
        warnings.push(not_carried(d, "not a usable nginx time"));
    }
    time
}

/// Storage settings from the `mogilefs_pass { ... }` block, which configures
/// the request to the storage node.
fn pass_block(pass: &Directive, warnings: &mut Vec<String>) -> Vec<(String, String)> {
    if let Some(template) = pass.args.first() {
        warnings.push(format!(
            "{}: `mogilefs_pass {template}`: key templates are not supported; the key is always the URL path after the prefix",
            pass.origin
        ));
    }
    let (mut connect, mut stall) = (None, None);
    for d in pass.children() {
        match d.name.as_str() {
            "proxy_pass"
                if d.args
                    .first()
                    .is_some_and(|a| a.starts_with("$mogilefs_path")) => {}
            "proxy_pass" => warnings.push(not_carried(
                d,
                "the gateway always fetches the paths the tracker returns",
            )),
            "proxy_connect_timeout" => connect = time_of(Some(d), warnings),
            "proxy_read_timeout" | "proxy_send_timeout" => {
                stall = stall.max(time_of(Some(d), warnings))
            }
            _ if is_built_in(d) => {}
            _ => warnings.push(not_carried(d, "not carried over")),
        }
    }
    let mut settings = Vec::new();
    if let Some(t) = connect {
        settings.push(("storage_connect_timeout".to_owned(), emit::duration(t)));
    }
    if let Some(t) = stall {
        settings.push(("storage_timeout".to_owned(), emit::duration(t)));
    }
    settings
}

/// `domain`, `class`, `methods`, `noverify`, `max_body_size`.
fn location_lines(scope: &Scope<'_>, warnings: &mut Vec<String>) -> Vec<Line> {
    // The module's domain is a literal string, "default" unless set.
    let domain = scope
        .get("mogilefs_domain")
        .and_then(|d| d.args.first())
        .map_or("default", String::as_str);
    let mut lines = vec![Line::Field("domain".into(), emit::string(domain))];
    if let Some(class) = class(scope, warnings) {
        lines.push(Line::Field("class".into(), emit::string(&class)));
    }
    let methods = methods(scope, warnings);
    let uploads = methods.contains(&"PUT");
    lines.push(Line::Field("methods".into(), emit::strings(&methods)));
    if let Some(d) = scope.get("mogilefs_noverify") {
        if d.args
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case("off"))
        {
            lines.push(Line::Comment(
                "mogilefs_noverify off: the tracker checks the first path before answering".into(),
            ));
            lines.push(Line::Field("noverify".into(), "false".into()));
        }
    }
    if uploads {
        lines.extend(body_limit(scope, warnings));
    }
    lines
}

fn class(scope: &Scope<'_>, warnings: &mut Vec<String>) -> Option<String> {
    let d = scope.get("mogilefs_class")?;
    let first = d.args.first()?;
    if has_variables(first) {
        warnings.push(not_carried(
            d,
            "class templates with variables are not supported; the tracker's default class is used",
        ));
        return None;
    }
    Some(first.clone())
}

fn methods(scope: &Scope<'_>, warnings: &mut Vec<String>) -> Vec<&'static str> {
    let Some(d) = scope.get("mogilefs_methods") else {
        return vec!["GET", "HEAD"];
    };
    let mut methods = Vec::new();
    for m in &d.args {
        let names: &[&'static str] = match m.to_ascii_lowercase().as_str() {
            "get" => &["GET", "HEAD"],
            "put" => &["PUT"],
            "delete" => &["DELETE"],
            _ => {
                let why = format!("method {m:?} is not one the module knows; left out");
                warnings.push(not_carried(d, &why));
                continue;
            }
        };
        for name in names {
            if !methods.contains(name) {
                methods.push(*name);
            }
        }
    }
    if methods.is_empty() {
        methods = vec!["GET", "HEAD"];
    }
    methods
}

fn body_limit(scope: &Scope<'_>, warnings: &mut Vec<String>) -> Vec<Line> {
    let Some(d) = scope.get("client_max_body_size") else {
        let note = "nginx's default client_max_body_size is 1m; the gateway's default max_body_size is 1GiB";
        return vec![Line::Comment(note.into())];
    };
    match d.args.first().and_then(|a| parse_size(a)) {
        Some(0) => {
            warnings.push(not_carried(
                d,
                "unlimited bodies are not supported; the gateway's default limit (1GiB) applies",
            ));
            Vec::new()
        }
        Some(bytes) => vec![Line::Field("max_body_size".into(), emit::size(bytes))],
        None => {
            warnings.push(not_carried(d, "not a usable nginx size"));
            Vec::new()
        }
    }
}
