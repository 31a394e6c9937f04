//! The range each number and duration of the config may take: what the
//! runtime underneath accepts, so a config that passes `check-config` also
//! starts and serves.
//!
//! The limits, and where they come from:
//!
//! ```text
//! durations     at most 10 years ("10y"). tokio quietly caps every timer at
//!               about 30 years; moka refuses a time-to-live over 1000 × 365
//!               days (so "1000y", 365.25-day years, already panics); hyper
//!               and the gateway add durations to `Instant::now()`, which
//!               panics past the clock's range.
//! time-outs     also at least 1ms: a zero time-out fails every request.
//! max_concurrent_requests
//!               1 to tokio's Semaphore::MAX_PERMITS (2^61 - 1 on 64-bit);
//!               a larger semaphore panics when it is built.
//! store paths   at most 256: a FastDFS file ID names its store path with
//!               two hex digits (M00..MFF).
//! ```
//!
//! Other bounds are sanity, not runtime, limits: they keep a typo from
//! asking for a gigabyte of request head or a million idle sockets.

use super::{line_of, Config, ConfigError, LocationConfig, UpstreamConfig};
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::time::Duration;

/// Longest duration anywhere in the config: ten (365.25-day) years, as
/// `humantime` reads `"10y"`.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 31_557_600);

/// Shortest time-out: tokio's timers tick in milliseconds.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// Time-outs: a wait that must end.
pub const TIMEOUT: RangeInclusive<Duration> = MIN_TIMEOUT..=MAX_DURATION;

/// Durations where zero means "off" or "none".
pub const ZERO_OR_MORE: RangeInclusive<Duration> = Duration::ZERO..=MAX_DURATION;

/// Most requests served at once: the largest semaphore tokio builds.
pub const MAX_CONCURRENT_REQUESTS: usize = tokio::sync::Semaphore::MAX_PERMITS;

/// Largest request head: far above any browser's, small enough that a
/// client cannot make the gateway buffer much before it has a request.
pub const MAX_HEADER_SIZE: u64 = 1 << 20;

/// Most idle connections kept per tracker: each is an open socket.
pub const MAX_IDLE: usize = 65_536;

/// Store paths a FastDFS storage server can have (`M00` to `MFF`).
pub const MAX_STORE_PATHS: usize = 256;

/// `value` inside `range`, or a message giving the allowed range.
pub fn duration(value: Duration, range: &RangeInclusive<Duration>) -> Result<(), String> {
    let show = |d: Duration| humantime::format_duration(d).to_string();
    if range.contains(&value) {
        return Ok(());
    }
    Err(format!(
        "{} is out of range: allowed {} to {}",
        show(value),
        show(*range.start()),
        show(*range.end())
    ))
}

/// `value` inside `range`, or a message giving the allowed range.
pub fn number<T: PartialOrd + Display>(value: T, range: RangeInclusive<T>) -> Result<(), String> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(format!(
        "{value} is out of range: allowed {} to {}",
        range.start(),
        range.end()
    ))
}

/// Checks every number and duration of `config` (`text` is its source, for
/// line numbers).
pub fn check(config: &Config, text: &str) -> Result<(), ConfigError> {
    check_server(config, text)?;
    for (i, spanned) in config.upstreams.iter().enumerate() {
        check_upstream(spanned.get_ref()).map_err(|(field, message)| ConfigError::Invalid {
            key: format!("upstream[{i}].{field}"),
            line: line_of(text, spanned.span(), field),
            message,
        })?;
    }
    for (i, spanned) in config.locations.iter().enumerate() {
        check_location(spanned.get_ref()).map_err(|(field, message)| ConfigError::Invalid {
            key: format!("location[{i}].{field}"),
            line: line_of(
                text,
                spanned.span(),
                field.split('.').next().unwrap_or(field),
            ),
            message,
        })?;
    }
    Ok(())
}

/// A failed check: the field and what is wrong.
type Fault = (&'static str, String);

fn check_server(config: &Config, text: &str) -> Result<(), ConfigError> {
    let s = &config.server;
    let checks: [(&'static str, Result<(), String>); 4] = [
        (
            "shutdown_grace",
            duration(s.shutdown_grace.0, &ZERO_OR_MORE),
        ),
        (
            "header_read_timeout",
            duration(s.header_read_timeout.0, &TIMEOUT),
        ),
        (
            "max_header_size",
            number(s.max_header_size.0, 0..=MAX_HEADER_SIZE),
        ),
        (
            "max_concurrent_requests",
            number(s.max_concurrent_requests, 1..=MAX_CONCURRENT_REQUESTS),
        ),
    ];
    for (field, result) in checks {
        result.map_err(|message| ConfigError::Invalid {
            key: format!("server.{field}"),
            line: line_of(text, server_span(text), field),
            message,
        })?;
    }
    Ok(())
}

fn check_upstream(u: &UpstreamConfig) -> Result<(), Fault> {
    let durations = [
        ("connect_timeout", u.connect_timeout.0, &TIMEOUT),
        ("reply_timeout", u.reply_timeout.0, &TIMEOUT),
        (
            "storage_connect_timeout",
            u.storage_connect_timeout.0,
            &TIMEOUT,
        ),
        ("storage_timeout", u.storage_timeout.0, &TIMEOUT),
        ("fail_timeout", u.fail_timeout.0, &ZERO_OR_MORE),
        ("probe_interval", u.probe_interval.0, &ZERO_OR_MORE),
        ("cache_ttl", u.cache_ttl(), &ZERO_OR_MORE),
    ];
    for (field, value, range) in durations {
        duration(value, range).map_err(|m| (field, m))?;
    }
    number(u.max_idle, 0..=MAX_IDLE).map_err(|m| ("max_idle", m))
}

fn check_location(l: &LocationConfig) -> Result<(), Fault> {
    if let Some(n) = l.pathcount {
        number(n, 1..=u32::MAX).map_err(|m| ("pathcount", m))?;
    }
    if let Some(token) = &l.token {
        // FastDFS tokens count whole seconds.
        duration(token.ttl.0, &(Duration::from_secs(1)..=MAX_DURATION))
            .map_err(|m| ("token.ttl", m))?;
    }
    if let Some(paths) = &l.store_paths {
        number(paths.len(), 0..=MAX_STORE_PATHS)
            .map_err(|m| ("store_paths", format!("{m} paths")))?;
    }
    Ok(())
}

/// The text of the `[server]` table: from its header to the next table.
fn server_span(text: &str) -> std::ops::Range<usize> {
    let mut offset = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let header = line.trim_start().starts_with('[');
        match start {
            None if line.trim() == "[server]" => start = Some(offset),
            Some(s) if header => return s..offset,
            _ => {}
        }
        offset += line.len();
    }
    start.map_or(0..text.len(), |s| s..text.len())
}

#[cfg(test)]
mod tests {
    //! - each duration, `max_concurrent_requests` and store-path count out
    //!   of range fails naming the key, its line and the allowed range;
    //! - the extremes of every range are accepted;
    //! - the range messages and the `[server]` table's span.
    use super::*;

    const BASE: &str = r#"
[server]
listen = "127.0.0.1:8080"

[[upstream]]
name = "mog"
protocol = "mogilefs"
trackers = ["127.0.0.1:7001"]

[[location]]
prefix = "/images/"
upstream = "mog"
domain = "imgs"
"#;

    fn with(table: &str, line: &str) -> String {
        BASE.replacen(&format!("{table}\n"), &format!("{table}\n{line}\n"), 1)
    }

    fn error_of(text: &str) -> String {
        Config::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn durations_beyond_what_the_runtime_takes_are_errors() {
        let cases = [
            (
                "[server]",
                "header_read_timeout = \"300000000000y\"",
                "server.header_read_timeout (line 3)",
            ),
            (
                "[server]",
                "shutdown_grace = \"300000000000y\"",
                "server.shutdown_grace (line 3)",
            ),
            (
                "protocol = \"mogilefs\"",
                "fail_timeout = \"300000000000y\"",
                "upstream[0].fail_timeout (line 8)",
            ),
            (
                "protocol = \"mogilefs\"",
                "storage_timeout = \"300000000000y\"",
                "upstream[0].storage_timeout (line 8)",
            ),
            (
                "protocol = \"mogilefs\"",
                "cache_ttl = \"1001y\"",
                "upstream[0].cache_ttl (line 8)",
            ),
            (
                "protocol = \"mogilefs\"",
                "cache_ttl = \"1000y\"",
                "upstream[0].cache_ttl (line 8)",
            ),
            (
                "protocol = \"mogilefs\"",
                "probe_interval = \"11y\"",
                "upstream[0].probe_interval (line 8)",
            ),
            (
                "protocol = \"mogilefs\"",
                "reply_timeout = \"0s\"",
                "upstream[0].reply_timeout (line 8)",
            ),
            (
                "[server]",
                "header_read_timeout = \"0s\"",
                "server.header_read_timeout (line 3)",
            ),
        ];
        for (table, line, key) in cases {
            let e = error_of(&with(table, line));
            assert!(e.starts_with(key), "{line}: {e}");
            assert!(e.contains("out of range: allowed"), "{line}: {e}");
            assert!(e.ends_with("to 10years"), "{line}: {e}");
        }
    }

    #[test]
    fn numbers_beyond_what_the_runtime_takes_are_errors() {
        let e = error_of(&with(
            "[server]",
            "max_concurrent_requests = 9223372036854775807",
        ));
        assert_eq!(
            e,
            format!("server.max_concurrent_requests (line 3): 9223372036854775807 is out of range: allowed 1 to {MAX_CONCURRENT_REQUESTS}")
        );
        let e = error_of(&with("[server]", "max_concurrent_requests = 0"));
        assert!(e.starts_with("server.max_concurrent_requests"), "{e}");
        let e = error_of(&with("[server]", "max_header_size = \"2MiB\""));
        assert!(e.starts_with("server.max_header_size"), "{e}");
        let e = error_of(&with(
            "protocol = \"mogilefs\"",
            "max_idle = 9223372036854775807",
        ));
        assert!(e.starts_with("upstream[0].max_idle"), "{e}");
        let e = error_of(&with("domain = \"imgs\"", "pathcount = 0"));
        assert!(e.starts_with("location[0].pathcount (line 14)"), "{e}");
    }

    #[test]
    fn the_extremes_of_each_range_are_accepted() {
        let mut text = BASE.to_owned();
        for line in [
            "header_read_timeout = \"10y\"",
            "shutdown_grace = \"10y\"",
            "max_header_size = \"1MiB\"",
            &format!("max_concurrent_requests = {MAX_CONCURRENT_REQUESTS}"),
        ] {
            text = text.replace("[server]\n", &format!("[server]\n{line}\n"));
        }
        for key in [
            "connect_timeout",
            "reply_timeout",
            "fail_timeout",
            "cache_ttl",
            "probe_interval",
            "storage_connect_timeout",
            "storage_timeout",
        ] {
            let line = format!("protocol = \"mogilefs\"\n{key} = \"10y\"");
            text = text.replace("protocol = \"mogilefs\"", &line);
        }
        let c = Config::parse(&text).unwrap();
        assert_eq!(c.server.max_concurrent_requests, MAX_CONCURRENT_REQUESTS);
        assert_eq!(c.upstreams[0].get_ref().cache_ttl(), MAX_DURATION);
    }

    #[test]
    fn messages_give_the_range() {
        let e = duration(Duration::from_secs(1001 * 31_557_600), &ZERO_OR_MORE).unwrap_err();
        assert_eq!(e, "1001years is out of range: allowed 0s to 10years");
        assert!(duration(MAX_DURATION, &TIMEOUT).is_ok());
        assert!(duration(Duration::ZERO, &TIMEOUT).is_err());
        let e = number(usize::MAX, 1..=MAX_CONCURRENT_REQUESTS).unwrap_err();
        assert!(
            e.ends_with(&format!("allowed 1 to {MAX_CONCURRENT_REQUESTS}")),
            "{e}"
        );
    }

    #[test]
    fn server_span_stops_at_the_next_table() {
        let text = "a = 1\n[server]\nx = 1\n[[upstream]]\nx = 2\n";
        assert_eq!(&text[server_span(text)], "[server]\nx = 1\n");
        assert_eq!(server_span("x = 1\n"), 0..6);
    }
}
