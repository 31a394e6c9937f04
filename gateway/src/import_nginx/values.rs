//! Values inside nginx directives: times, sizes, variables and `location`
//! match forms, read as nginx reads them.

use std::time::Duration;

/// True when `text` uses an nginx variable (`$name`, `${name}`, `$1`).
pub fn has_variables(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .windows(2)
        .any(|w| w[0] == b'$' && (w[1].is_ascii_alphanumeric() || w[1] == b'_' || w[1] == b'{'))
}

/// An nginx time (`ngx_parse_time`): `30`, `500ms`, `1m30s`, `1h 5m`; a bare
/// number is seconds.
pub fn parse_time(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit() || c == ' ')
            .unwrap_or(rest.len());
        let secs = |per: u64| number.checked_mul(per).map(Duration::from_secs);
        let part = match &rest[..unit] {
            "ms" => Some(Duration::from_millis(number)),
            "" | "s" => Some(Duration::from_secs(number)),
            "m" => secs(60),
            "h" => secs(3600),
            "d" => secs(86_400),
            "w" => secs(7 * 86_400),
            "M" => secs(30 * 86_400),
            "y" => secs(365 * 86_400),
            _ => return None,
        };
        total = total.checked_add(part?)?;
        rest = rest[unit..].trim_start();
    }
    // Longer than the gateway takes is not a usable time either.
    (total <= crate::config::limits::MAX_DURATION).then_some(total)
}

/// An nginx size (`ngx_parse_offset`): `1024`, `64k`, `256m`, `1g`, binary units.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, factor) = match text.char_indices().last()? {
        (i, 'k' | 'K') => (&text[..i], 1 << 10),
        (i, 'm' | 'M') => (&text[..i], 1 << 20),
        (i, 'g' | 'G') => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

/// How a `location` matches, from its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationMatch {
    /// `location /p/` or `location ^~ /p/`.
    Prefix(String),
    /// `location = /p`.
    Exact(String),
    /// `location ~ re` (`caseless` for `~*`).
    Regex {
        /// The regular expression.
        pattern: String,
        /// True for `~*`.
        caseless: bool,
    },
    /// `location @name`.
    Named(String),
}

impl LocationMatch {
    /// Reads `location` arguments, in both the `= /p` and `=/p` spellings.
    pub fn from_args(args: &[String]) -> Option<LocationMatch> {
        let (modifier, uri) = match args {
            [m, uri] => (m.as_str(), uri.clone()),
            [one] => split_modifier(one),
            _ => return None,
        };
        Some(match modifier {
            "" if uri.starts_with('@') => LocationMatch::Named(uri),
            "" | "^~" => LocationMatch::Prefix(uri),
            "=" => LocationMatch::Exact(uri),
            "~" => LocationMatch::Regex {
                pattern: uri,
                caseless: false,
            },
            "~*" => LocationMatch::Regex {
                pattern: uri,
                caseless: true,
            },
            _ => return None,
        })
    }
}

/// nginx also accepts the modifier glued to the URI (`=/x`, `~^/a`).
fn split_modifier(arg: &str) -> (&str, String) {
    for modifier in ["^~", "~*", "=", "~"] {
        if let Some(rest) = arg.strip_prefix(modifier) {
            return (modifier, rest.to_owned());
        }
    }
    ("", arg.to_owned())
}

/// The literal text a regex requires at the start of the URI, as far as it
/// can be read without interpreting the regex: `^/img/(.*)` gives `/img/`,
/// `/group[0-9]+/M00` gives `/group`. Empty when the regex starts with a
/// metacharacter. The second value is false when the regex is not anchored
/// with `^` (nginx then also matches further into the URI).
pub fn regex_literal(pattern: &str) -> (String, bool) {
    let (anchored, body) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let mut literal = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&e) if "/.-_~".contains(e) => {
                    literal.push(e);
                    chars.next();
                }
                _ => break,
            },
            '?' | '*' | '{' => {
                // The character before a quantifier is optional or repeated.
                literal.pop();
                break;
            }
            // After `+` the last character is still required once: keep it.
            '.' | '[' | ']' | '(' | ')' | '+' | '|' | '$' | '^' => break,
            c => literal.push(c),
        }
    }
    (literal, anchored)
}

/// `text` cut after its last `/` (`/img/x` → `/img/`); None without a `/`.
pub fn through_last_slash(text: &str) -> Option<String> {
    text.rfind('/').map(|i| text[..=i].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_time("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_time("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_time("1h 5m"), Some(Duration::from_secs(3900)));
        assert_eq!(parse_time("5x"), None);
        assert_eq!(parse_time(""), None);
        // Past what the arithmetic or the gateway takes: no time, no panic.
        assert_eq!(parse_time("18446744073709551615y"), None);
        assert_eq!(
            parse_time("18446744073709551615s 18446744073709551615s"),
            None
        );
        assert_eq!(parse_time("11y"), None);
        assert_eq!(
            parse_time("3650d"),
            Some(Duration::from_secs(3650 * 86_400))
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("64k"), Some(64 << 10));
        assert_eq!(parse_size("256M"), Some(256 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn variables() {
        assert!(has_variables("$arg_key"));
        assert!(has_variables("a${b}c"));
        assert!(has_variables("$1"));
        assert!(!has_variables("^/img/(.*)$"));
        assert!(!has_variables("photos"));
    }

    #[test]
    fn location_forms() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            LocationMatch::from_args(&args(&["/images/"])),
            Some(LocationMatch::Prefix("/images/".into()))
        );
        assert_eq!(
            LocationMatch::from_args(&args(&["^~", "/images/"])),
            Some(LocationMatch::Prefix("/images/".into()))
        );
        assert_eq!(
            LocationMatch::from_args(&args(&["=/x"])),
            Some(LocationMatch::Exact("/x".into()))
        );
        assert_eq!(
            LocationMatch::from_args(&args(&["~*", "^/a"])),
            Some(LocationMatch::Regex {
                pattern: "^/a".into(),
                caseless: true
            })
        );
        assert_eq!(
            LocationMatch::from_args(&args(&["@fb"])),
            Some(LocationMatch::Named("@fb".into()))
        );
        assert_eq!(LocationMatch::from_args(&args(&["?", "/a"])), None);
    }

    #[test]
    fn regex_literals() {
        assert_eq!(regex_literal("^/img/(.*)$"), ("/img/".into(), true));
        assert_eq!(regex_literal("/group[0-9]+/M00"), ("/group".into(), false));
        assert_eq!(regex_literal("^/a\\/b\\.c"), ("/a/b.c".into(), true));
        assert_eq!(regex_literal("^/pics?/x"), ("/pic".into(), true));
        assert_eq!(regex_literal("\\.jpg$"), (".jpg".into(), false));
        assert_eq!(regex_literal("(.*)\\.jpg$"), ("".into(), false));
        assert_eq!(through_last_slash("/img/x"), Some("/img/".into()));
        assert_eq!(through_last_slash("abc"), None);
    }
}
