//! serde's messages for a value of the wrong type or range, rewritten for the
//! people who write the file: the dotted key (`location[1].access.rate`) and
//! line of the value, what was found and what is expected, in words.
//!
//! serde words its messages for Rust programmers (`invalid value: integer
//! `-1`, expected usize`, `expected struct ServerConfig`); none of that
//! reaches the user.
//!
//! ```text
//! in:  invalid value: integer `-1`, expected usize        (span of "-1")
//! out: server.workers (line 3): -1 is not allowed here: expected a whole number, 0 or more
//! ```

use super::ConfigError;
use std::collections::HashMap;

/// `err`, raised while reading `text` into the config, as an error naming
/// the key and line; TOML syntax errors keep toml's own report.
pub fn from_toml(text: &str, err: toml::de::Error) -> ConfigError {
    if text.parse::<toml::Table>().is_err() {
        return ConfigError::Parse(err);
    }
    let span = err.span().unwrap_or(0..0);
    let start = span.start.min(text.len());
    let line = text[..start].matches('\n').count() + 1;
    let message = humanize(err.message());
    let field = field_named(err.message());
    ConfigError::Invalid {
        key: key_at(text, start, field),
        line,
        message,
    }
}

/// The field an `unknown field` / `missing field` message is about.
fn field_named(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))?;
    rest.split('`').next()
}

/// The dotted path of the value at byte `at`: the table header above it,
/// the keys still open at `at` in that table (inline tables and lists
/// spanning lines included), and `field` when the message names one.
fn key_at(text: &str, at: usize, field: Option<&str>) -> String {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let mut path = table_path(&text[..line_start], &text[line_start..]);
    if !is_header(&text[line_start..]) {
        path.extend(open_keys(&text[body_start(&text[..line_start])..at]));
    }
    path.extend(field.map(str::to_owned));
    let key = path.join(".");
    if key.is_empty() {
        "config".into()
    } else {
        key
    }
}

fn is_header(line: &str) -> bool {
    let line = line.lines().next().unwrap_or("").trim();
    line.starts_with('[') && line.ends_with(']') && !line.contains('=')
}

/// Where the body of the last table opened in `before` starts.
fn body_start(before: &str) -> usize {
    let mut offset = 0;
    let mut start = 0;
    for line in before.split_inclusive('\n') {
        offset += line.len();
        if is_header(line) {
            start = offset;
        }
    }
    start
}

/// The table the line `here` belongs to, from the headers in `before` (and
/// `here` itself when it is a header): `location[1].access`.
fn table_path(before: &str, here: &str) -> Vec<String> {
    let mut arrays: HashMap<String, usize> = HashMap::new();
    let mut current = Vec::new();
    let this_line = here.lines().next().unwrap_or("");
    for line in before.lines().chain(std::iter::once(this_line)) {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.split("]]").next()) {
            let name = name.trim().to_owned();
            *arrays.entry(name.clone()).or_insert(0) += 1;
            current = indexed(&name, &arrays);
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            current = indexed(name.trim(), &arrays);
        }
    }
    current
}

/// `location.access` as `["location[1]", "access"]`, indexing each prefix
/// that is an array of tables.
fn indexed(name: &str, arrays: &HashMap<String, usize>) -> Vec<String> {
    let parts: Vec<&str> = name.split('.').map(str::trim).collect();
    (0..parts.len())
        .map(|i| {
            let prefix = parts[..=i].join(".");
            match arrays.get(&prefix) {
                Some(n) => format!("{}[{}]", parts[i], n - 1),
                None => parts[i].to_owned(),
            }
        })
        .collect()
}

/// The keys whose values are still open at the end of `prefix` (a line up to
/// the error): `rate = { reads = { per_second = ` gives `rate.reads.per_second`.
fn open_keys(prefix: &str) -> Vec<String> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut token = String::new();
    let mut chars = prefix.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                token.clear();
                for s in chars.by_ref() {
                    if s == c {
                        break;
                    }
                    token.push(s);
                }
            }
            '=' => {
                stack.retain(|(d, _)| *d < depth);
                stack.push((depth, std::mem::take(&mut token)));
            }
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                stack.retain(|(d, _)| *d <= depth);
            }
            ',' => stack.retain(|(d, _)| *d < depth),
            '\n' if depth == 0 => {
                stack.clear();
                token.clear();
            }
            '#' => while chars.next_if(|&n| n != '\n').is_some() {},
            c if c.is_alphanumeric() || "_-.".contains(c) => token.push(c),
            _ if c.is_whitespace() => {}
            _ => token.clear(),
        }
        if c.is_whitespace() && chars.peek().is_some_and(|n| n.is_alphanumeric()) {
            token.clear();
        }
    }
    stack.into_iter().map(|(_, k)| k).collect()
}

/// serde's message in the user's words.
pub fn humanize(message: &str) -> String {
    let message = message.trim();
    if let Some(field) = message.strip_prefix("missing field `") {
        let field = field.trim_end_matches('`');
        return format!("the required key `{field}` is missing");
    }
    if let Some((found, expected)) = split_expected(message, "invalid type: ") {
        return format!("expected {expected}, found {found}");
    }
    if let Some((found, expected)) = split_expected(message, "invalid value: ") {
        return format!("{found} is not allowed here: expected {expected}");
    }
    strip_type_names(message)
}

/// `<prefix><found>, expected <expected>`, both parts in words.
fn split_expected(message: &str, prefix: &str) -> Option<(String, String)> {
    let (found, expected) = message.strip_prefix(prefix)?.split_once(", expected ")?;
    Some((found_words(found), expected_words(expected)))
}

/// What serde's `expected ...` means, in words.
fn expected_words(expected: &str) -> String {
    let words = match expected {
        "usize" | "u64" | "u128" => "a whole number, 0 or more",
        "u32" => "a whole number from 0 to 4294967295",
        "u16" => "a whole number from 0 to 65535",
        "u8" => "a whole number from 0 to 255",
        "isize" | "i64" | "i32" | "i16" | "i8" => "a whole number",
        "f64" | "f32" => "a number",
        "a boolean" => "true or false",
        "a sequence" => "a list such as [\"a\", \"b\"]",
        "a map" => "a table",
        "path string" => "a file path",
        "socket address" => "an address such as \"127.0.0.1:8080\"",
        e if e.starts_with("struct ") => "a table",
        e if e.starts_with("enum ") => "a string",
        e => return strip_type_names(e),
    };
    words.to_owned()
}

/// What serde's `invalid type: ...` found, in words.
fn found_words(found: &str) -> String {
    let quoted = |s: &str| s.trim_matches('`').to_owned();
    if let Some(n) = found
        .strip_prefix("integer ")
        .or_else(|| found.strip_prefix("floating point "))
        .or_else(|| found.strip_prefix("boolean "))
    {
        return quoted(n);
    }
    if let Some(s) = found.strip_prefix("string ") {
        return format!("the string {s}");
    }
    match found {
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        other => strip_type_names(other),
    }
}

/// Any Rust type name left in `text` (`struct X`, `enum X`, `u64`, ...)
/// replaced by what it means.
fn strip_type_names(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut words = text.split(' ').peekable();
    while let Some(word) = words.next() {
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
        match bare {
            "struct" | "enum" if words.peek().is_some() => {
                words.next();
                out.push(
                    if bare == "struct" {
                        "a table"
                    } else {
                        "a value"
                    }
                    .into(),
                );
            }
            "usize" | "u64" | "u32" | "u16" | "u8" | "isize" | "i64" | "i32" | "i16" | "i8" => {
                out.push(word.replace(bare, "a whole number"));
            }
            "f64" | "f32" => out.push(word.replace(bare, "a number")),
            _ => out.push(word.to_owned()),
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    //! - serde's wrong-type and out-of-range messages in words, with no Rust
    //!   type name left;
    //! - the dotted key of a value: table headers (arrays of tables
    //!   indexed), inline tables, multi-line lists, unknown and missing fields.
    use super::*;

    #[test]
    fn messages_in_words() {
        assert_eq!(
            humanize("invalid value: integer `-1`, expected usize"),
            "-1 is not allowed here: expected a whole number, 0 or more"
        );
        assert_eq!(
            humanize("invalid type: string \"4\", expected usize"),
            "expected a whole number, 0 or more, found the string \"4\""
        );
        assert_eq!(
            humanize("invalid type: string \"yes\", expected a boolean"),
            "expected true or false, found the string \"yes\""
        );
        assert_eq!(
            humanize("invalid type: integer `5`, expected struct ServerConfig"),
            "expected a table, found 5"
        );
        assert_eq!(
            humanize("missing field `listen`"),
            "the required key `listen` is missing"
        );
        assert_eq!(
            humanize("something about enum Protocol and u64"),
            "something about a value and a whole number"
        );
    }

    #[test]
    fn keys_of_values() {
        let text = "[server]\nlisten = 1\n[[location]]\na = 1\n[[location]]\nb = 2\n[location.access]\nrate = { reads = { per_second = -1 } }\ntrackers = [\n  \"a\",\n  5,\n]\n";
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(key_at(text, at("1\n[["), None), "server.listen");
        assert_eq!(key_at(text, at("2\n"), None), "location[1].b");
        assert_eq!(
            key_at(text, at("-1"), None),
            "location[1].access.rate.reads.per_second"
        );
        assert_eq!(key_at(text, at("5,"), None), "location[1].access.trackers");
        assert_eq!(
            key_at(text, at("a = 1"), Some("a")),
            "location[0].a",
            "an unknown field: the span is the key itself"
        );
        assert_eq!(key_at(text, 0, Some("listen")), "server.listen");
        assert_eq!(key_at("x = 1", 4, None), "x");
        let text = "[mime]\nts = \"a\"\n";
        assert_eq!(key_at(text, 0, None), "mime", "a table-wide error");
        assert_eq!(key_at(text, 7, None), "mime");
        let text = "a = 1 # b = 2\nc = [ # d =\n  { e = [\n 1, 2 ] } ]\n";
        assert_eq!(key_at(text, text.find('2').unwrap(), None), "a");
        assert_eq!(key_at(text, text.find("1,").unwrap(), None), "c.e");
    }
}
