//! What one access log line says, and its two spellings: the gateway's own
//! (structured fields, `key=value` or JSON) and nginx's `combined`.
//!
//! ```text
//! combined: $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
//!           203.0.113.9 - - [01/Dec/2026:14:23:18 +0000] "GET /images/a.jpg?w=1 HTTP/1.1" 200 5120 "-" "curl/8.5.0"
//! ```
//!
//! Credentials never reach a line: no request header is logged but
//! `Referer` and `User-Agent`; query parameters that carry secrets
//! (signed-URL `sig`, FastDFS `token`, `password`...) keep their name with
//! the value replaced by `***`, in the request and in the referer; a
//! referer's `user:password@` is dropped.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

/// Query parameters whose values are secrets (compared case-insensitively).
const SECRET_PARAMS: &[&str] = &[
    "sig",
    "thumb_sig",
    "signature",
    "token",
    "access_token",
    "auth",
    "password",
    "passwd",
    "secret",
    "api_key",
    "apikey",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
];

/// What a request-line parameter's value becomes when it is a secret.
pub const REDACTED: &str = "***";

/// `/path?query` with the values of secret parameters replaced.
pub fn redact_target(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_owned();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let mut out = format!("{path}?{}", redact_query(query));
    if let Some(fragment) = fragment {
        let _ = write!(out, "#{fragment}");
    }
    out
}

fn redact_query(query: &str) -> String {
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect();
    pairs.join("&")
}

fn is_secret(name: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
    SECRET_PARAMS
        .iter()
        .any(|s| s.eq_ignore_ascii_case(decoded.trim()))
}

/// A referer with its `user:password@` removed and its secret parameters
/// redacted.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let target = redact_target(target);
    match scheme {
        Some(scheme) => format!("{scheme}://{host}{target}"),
        None => format!("{host}{target}"),
    }
}

/// Seconds with millisecond precision, as nginx's `$request_time`: `0.012`.
pub fn seconds(elapsed: Duration) -> String {
    let ms = elapsed.as_millis();
    let mut out = String::with_capacity(8);
    out.push_str(itoa::Buffer::new().format(ms / 1000));
    out.push('.');
    // Writing to a `String` cannot fail.
    let _ = write_padded(&mut out, (ms % 1000) as u32, 3);
    out
}

/// `value` in decimal, zero-padded to `width` digits.
pub fn write_padded(out: &mut impl std::fmt::Write, value: u32, width: usize) -> std::fmt::Result {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(value);
    for _ in digits.len()..width {
        out.write_char('0')?;
    }
    out.write_str(digits)
}

// An access line writes two or three addresses and a request id; through
// `fmt`, they were 2 % of a cached 4 KiB GET's CPU (perf), so they are
// spelled by hand, digit for digit as `Display` and `{:x}` spell them.

/// `ip` as its `Display` spells it.
pub fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(digits.format(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// `addr` as its `Display` spells it: `127.0.0.1:7001`, `[::1]:7001`.
pub fn addr_string(addr: SocketAddr) -> String {
    let mut out = String::with_capacity(21);
    match addr {
        SocketAddr::V4(v4) => {
            push_ip(&mut out, IpAddr::V4(*v4.ip()));
            out.push(':');
            out.push_str(itoa::Buffer::new().format(v4.port()));
        }
        SocketAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
    out
}

/// `value` in lower-case hexadecimal, zero-padded to `width` digits.
pub fn push_hex(out: &mut String, value: u64, width: usize) {
    let digits = (64 - value.leading_zeros() as usize).div_ceil(4).max(1);
    for _ in digits..width {
        out.push('0');
    }
    for i in (0..digits).rev() {
        let nibble = (value >> (4 * i)) & 0xf;
        out.push(char::from(b"0123456789abcdef"[nibble as usize]));
    }
}

/// nginx's `$time_local` in UTC: `01/Dec/2026:14:23:18 +0000`.
pub fn time_local(at: SystemTime) -> String {
    // "2026-12-01T14:23:18Z"
    let rfc = humantime::format_rfc3339_seconds(at).to_string();
    let month = rfc
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("Jan");
    match (rfc.get(0..4), rfc.get(8..10), rfc.get(11..19)) {
        (Some(year), Some(day), Some(time)) => format!("{day}/{month}/{year}:{time} +0000"),
        _ => "01/Jan/1970:00:00:00 +0000".into(),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// nginx's escaping of a logged variable: `"`, `\` and bytes outside
/// printable ASCII become `\xHH`, so a value can neither end its quotes nor
/// start a new line.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// One finished request, as logged.
#[derive(Debug, Clone)]
pub struct Line {
    /// The client address, or `-`.
    pub client: String,
    /// `GET /images/a.jpg?w=1 HTTP/1.1`, secrets redacted.
    pub request: String,
    /// Response status.
    pub status: u16,
    /// Response body bytes sent.
    pub bytes: u64,
    /// The `Referer` header (redacted), or `-`.
    pub referer: String,
    /// The `User-Agent` header, or `-`.
    pub user_agent: String,
    /// When the request ended.
    pub at: SystemTime,
}

impl Line {
    /// The line in nginx's `combined` format.
    pub fn combined(&self) -> String {
        format!(
            "{} - - [{}] \"{}\" {} {} \"{}\" \"{}\"",
            escape(&self.client),
            time_local(self.at),
            escape(&self.request),
            self.status,
            self.bytes,
            escape(&self.referer),
            escape(&self.user_agent),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_parameters_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_target("/a.jpg?expires=17&sig=abcdef&w=100"),
            "/a.jpg?expires=17&sig=***&w=100"
        );
        assert_eq!(
            redact_target("/g/M00/x.jpg?TOKEN=t0k&ts=5#frag"),
            "/g/M00/x.jpg?TOKEN=***&ts=5#frag"
        );
        assert_eq!(redact_target("/x?%73ig=1"), "/x?%73ig=***");
        assert_eq!(redact_target("/plain"), "/plain");
        assert_eq!(redact_target("/x?flag&password="), "/x?flag&password=***");
    }

    #[test]
    fn referers_lose_user_info_and_secrets() {
        assert_eq!(
            redact_url("https://bob:hunter2@example.com/p?token=zz&q=1"),
            "https://example.com/p?token=***&q=1"
        );
        assert_eq!(redact_url("http://example.com/"), "http://example.com/");
    }

    #[test]
    fn addresses_and_ids_are_spelled_as_display_and_hex_spell_them() {
        let addrs: [SocketAddr; 5] = [
            "127.0.0.1:7001".parse().unwrap(),
            "0.0.0.0:0".parse().unwrap(),
            "255.255.255.255:65535".parse().unwrap(),
            "[::1]:80".parse().unwrap(),
            "[::ffff:10.0.0.1]:6001".parse().unwrap(),
        ];
        for addr in addrs {
            assert_eq!(addr_string(addr), addr.to_string());
            let mut ip = String::new();
            push_ip(&mut ip, addr.ip());
            assert_eq!(ip, addr.ip().to_string());
        }
        for value in [0, 1, 0xf, 0x10, 0xdead_beef, u64::from(u32::MAX), u64::MAX] {
            for width in [0, 1, 8] {
                let mut hex = String::new();
                push_hex(&mut hex, value, width);
                assert_eq!(hex, format!("{value:0width$x}"));
            }
        }
        for value in [0, 7, 42, 999, 123_456] {
            let mut padded = String::new();
            write_padded(&mut padded, value, 6).unwrap();
            assert_eq!(padded, format!("{value:06}"));
        }
    }

    #[test]
    fn seconds_have_three_decimals_and_no_float_noise() {
        assert_eq!(seconds(Duration::from_micros(12_345)), "0.012");
        assert_eq!(seconds(Duration::from_millis(1_100)), "1.100");
        assert_eq!(seconds(Duration::ZERO), "0.000");
        assert_eq!(seconds(Duration::from_secs(61)), "61.000");
    }

    #[test]
    fn time_local_is_nginx_shaped() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_134_998);
        assert_eq!(time_local(at), "01/Dec/2026:14:23:18 +0000");
    }

    #[test]
    fn combined_escapes_quotes_and_newlines() {
        let line = Line {
            client: "203.0.113.9".into(),
            request: "GET /a.jpg HTTP/1.1".into(),
            status: 200,
            bytes: 5,
            referer: "-".into(),
            user_agent: "evil\"\n203.0.113.1 - - fake".into(),
            at: SystemTime::UNIX_EPOCH,
        };
        assert_eq!(
            line.combined(),
            "203.0.113.9 - - [01/Jan/1970:00:00:00 +0000] \"GET /a.jpg HTTP/1.1\" 200 5 \"-\" \
             \"evil\\x22\\x0A203.0.113.1 - - fake\""
        );
    }
}
