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

/// `pattern` cut at each `/` outside `[...]` and `(...)`.
pub fn regex_segments(pattern: &str) -> Vec<String> {
    let mut segments = vec![String::new()];
    let (mut depth, mut class, mut escaped) = (0usize, false, false);
    for c in pattern.chars() {
        let top = depth == 0 && !class && !escaped;
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !class => class = true,
            ']' if class => class = false,
            '(' if !class => depth += 1,
            ')' if !class => depth = depth.saturating_sub(1),
            '/' if top => {
                segments.push(String::new());
                continue;
            }
            _ => {}
        }
        segments.last_mut().expect("never empty").push(c);
    }
    segments
}

/// Every string a small regex matches as a whole, when there are at most
/// `max`: literals, `\d`, classes such as `[1-3]` or `[12a]`, and
/// alternations such as `(group1|group2)` or `group(1|2)`, nested. None for
/// anything that matches more (`+`, `*`, `?`, `{n}`, `.`, `[^...]`, anchors).
pub fn expand_regex(pattern: &str, max: usize) -> Option<Vec<String>> {
    let mut chars = pattern.chars().peekable();
    let all = alternatives(&mut chars, max)?;
    chars.next().is_none().then_some(all)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// `a|b|c` up to an unmatched `)` or the end.
fn alternatives(chars: &mut Chars<'_>, max: usize) -> Option<Vec<String>> {
    let mut all = sequence(chars, max)?;
    while chars.next_if_eq(&'|').is_some() {
        all.extend(sequence(chars, max)?);
        if all.len() > max {
            return None;
        }
    }
    Some(all)
}

/// Atoms one after the other: every combination.
fn sequence(chars: &mut Chars<'_>, max: usize) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    while let Some(&c) = chars.peek() {
        if c == '|' || c == ')' {
            break;
        }
        chars.next();
        let choices: Vec<String> = match c {
            '\\' => match chars.next()? {
                'd' => ('0'..='9').map(String::from).collect(),
                e if "/.-_~".contains(e) => vec![e.to_string()],
                _ => return None,
            },
            '[' => class(chars)?.into_iter().map(String::from).collect(),
            '(' => {
                if chars.next_if_eq(&'?').is_some() && chars.next() != Some(':') {
                    return None;
                }
                let inner = alternatives(chars, max)?;
                chars.next_if_eq(&')')?;
                inner
            }
            c if c.is_alphanumeric() || "-_~/".contains(c) => vec![c.to_string()],
            _ => return None,
        };
        if chars.peek().is_some_and(|q| "*+?{".contains(*q)) {
            return None;
        }
        if out.len() * choices.len() > max {
            return None;
        }
        out = out
            .iter()
            .flat_map(|head| choices.iter().map(move |tail| format!("{head}{tail}")))
            .collect();
    }
    Some(out)
}

/// The characters of `[...]` (the `[` already read): single characters,
/// ranges of letters or digits, `\d`.
fn class(chars: &mut Chars<'_>) -> Option<Vec<char>> {
    let mut set = Vec::new();
    loop {
        let c = chars.next()?;
        match c {
            ']' if !set.is_empty() => break,
            '^' if set.is_empty() => return None,
            '\\' if chars.next_if_eq(&'d').is_some() => set.extend('0'..='9'),
            '\\' => set.push(chars.next()?),
            c if chars.peek() == Some(&'-') => {
                chars.next();
                match chars.next()? {
                    ']' => {
                        set.extend([c, '-']);
                        break;
                    }
                    end if c.is_ascii_alphanumeric() && end.is_ascii_alphanumeric() && c <= end => {
                        set.extend(c..=end)
                    }
                    _ => return None,
                }
            }
            c => set.push(c),
        }
    }
    set.dedup();
    Some(set)
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

    #[test]
    fn regex_segments_cut_outside_classes_and_groups() {
        assert_eq!(regex_segments("/group[1-3]/M00"), ["", "group[1-3]", "M00"]);
        assert_eq!(regex_segments("/(a/b|c)/x\\/y"), ["", "(a/b|c)", "x\\/y"]);
        assert_eq!(regex_segments("[/]/z"), ["[/]", "z"]);
    }

    #[test]
    fn small_regexes_expand_to_what_they_match() {
        let expand = |p: &str| expand_regex(p, 16);
        let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            expand("group[1-3]"),
            strings(&["group1", "group2", "group3"])
        );
        assert_eq!(expand("group[12]"), strings(&["group1", "group2"]));
        assert_eq!(expand("(group1|group2)"), strings(&["group1", "group2"]));
        assert_eq!(expand("group(1|2)"), strings(&["group1", "group2"]));
        assert_eq!(expand("(?:img|doc)"), strings(&["img", "doc"]));
        assert_eq!(
            expand("g[a-b]([1-2])"),
            strings(&["ga1", "ga2", "gb1", "gb2"])
        );
        assert_eq!(expand("group1"), strings(&["group1"]));
        assert_eq!(expand("group\\d").map(|v| v.len()), Some(10));
        for unbounded in [
            "group[0-9]+",
            "group[0-9]*",
            "group1?",
            "group[0-9]{2}",
            "group.",
            "group[^0]",
            "(group1",
            "group[1-3",
            "^group1",
            "group1$",
            "group[3-1]",
        ] {
            assert_eq!(expand(unbounded), None, "{unbounded}");
        }
        assert_eq!(
            expand_regex("[0-9][0-9]", 16),
            None,
            "100 strings is more than 16"
        );
    }
}
