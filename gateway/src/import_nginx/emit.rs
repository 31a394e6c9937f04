//! Writing the gateway TOML: tables of `key = value` lines and comments.
//!
//! Values are rendered through the `toml` crate so any string (a secret with
//! quotes, a Windows path) comes out correctly escaped.

use crate::config::Bytes;
use std::time::Duration;

/// One line inside a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `key = value`, the value already rendered as TOML.
    Field(String, String),
    /// `# text`.
    Comment(String),
}

/// A `[server]`, `[[upstream]]` or `[[location]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// `[server]`, `[[upstream]]`, ...
    pub header: &'static str,
    /// Comment lines above the header.
    pub comments: Vec<String>,
    /// The table's lines.
    pub lines: Vec<Line>,
}

impl Table {
    /// An empty table.
    pub fn new(header: &'static str) -> Table {
        Table {
            header,
            comments: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Adds `key = value` (value already rendered).
    pub fn field(&mut self, key: &str, value: String) {
        self.lines.push(Line::Field(key.to_owned(), value));
    }

    /// Adds a `# text` line inside the table.
    pub fn comment(&mut self, text: impl Into<String>) {
        self.lines.push(Line::Comment(text.into()));
    }
}

/// The whole file: `preamble` comment lines, then the tables.
pub fn render(preamble: &[String], tables: &[Table]) -> String {
    let mut out = String::new();
    for line in preamble {
        push_comment(&mut out, line);
    }
    for table in tables {
        out.push('\n');
        for line in &table.comments {
            push_comment(&mut out, line);
        }
        out.push_str(table.header);
        out.push('\n');
        for line in &table.lines {
            match line {
                Line::Field(key, value) => out.push_str(&format!("{key} = {value}\n")),
                Line::Comment(text) => push_comment(&mut out, text),
            }
        }
    }
    out
}

fn push_comment(out: &mut String, text: &str) {
    // A comment must not smuggle a newline into the TOML, and TOML allows no
    // other control character in one either (a CR from the nginx file would
    // make the whole output unreadable).
    for line in text.lines() {
        out.push_str(&format!("# {}\n", escape_controls(line)));
    }
}

/// `text` with every control character written as its Rust escape (`\r`,
/// `\u{0}`, `\u{7f}`); all else, non-ASCII letters included, as it is.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A TOML string.
pub fn string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A TOML array of strings.
pub fn strings<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<String> = items.iter().map(|s| string(s.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// A duration as the config reads it (`"3s"`, `"1m 30s"`, `"500ms"`).
pub fn duration(d: Duration) -> String {
    string(&humantime::format_duration(d).to_string())
}

/// A size as the config reads it (`"256MiB"`).
pub fn size(bytes: u64) -> String {
    string(&Bytes(bytes).to_string())
}

#[cfg(test)]
mod tests {
    //! - values, comments and whole imports are valid TOML whatever control
    //!   characters the nginx text carried;
    //! - tables render in order.
    use super::*;

    #[test]
    fn control_characters_from_nginx_become_escapes() {
        let conf = "http { server {\n\
            location \"/dl\\r\x7f/\" {\n\
              mogilefs_tracker 127.0.0.1;\n\
              mogilefs_domain \"im\rg\x1bs\";\n\
              mogilefs_class \"\x01\\t\";\n\
              mogilefs_pass { proxy_pass $mogilefs_path; }\n\
            }\n} }\n";
        let imported =
            crate::import_nginx::import(conf, std::path::Path::new("/nonexistent")).unwrap();
        let text = &imported.toml;
        let doc: toml::Value = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let location = &doc["location"][0];
        assert_eq!(location["prefix"].as_str(), Some("/dl\r\u{7f}/"));
        assert_eq!(location["domain"].as_str(), Some("im\rg\u{1b}s"));
        assert!(
            text.contains("# nginx.conf:2: location /dl\\r\\u{7f}/"),
            "{text}"
        );
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        crate::config::Config::parse(text).unwrap_or_else(|e| panic!("check-config: {e}\n{text}"));
    }

    #[test]
    fn comments_escape_every_control_character() {
        let mut out = String::new();
        push_comment(&mut out, "a\rb\x00c\x7fd\te\r\nf");
        assert_eq!(out, "# a\\rb\\u{0}c\\u{7f}d\\te\n# f\n");
        toml::from_str::<toml::Value>(&out).unwrap();
    }

    #[test]
    fn values_are_valid_toml() {
        for text in ["plain", "a\"b\\c", "it's", "line\nbreak"] {
            let doc: toml::Value = toml::from_str(&format!("k = {}", string(text))).unwrap();
            assert_eq!(doc["k"].as_str(), Some(text));
        }
        assert_eq!(strings(&["a", "b"]), r#"["a", "b"]"#);
        assert_eq!(duration(Duration::from_millis(1500)), r#""1s 500ms""#);
        assert_eq!(size(256 << 20), r#""256MiB""#);
        assert_eq!(size(1000), r#""1000B""#);
    }

    #[test]
    fn tables_render_in_order() {
        let mut t = Table::new("[[location]]");
        t.comments.push("from nginx.conf:3".into());
        t.field("prefix", string("/a/"));
        t.comment("two\nlines");
        let text = render(&["head".into()], &[t]);
        assert_eq!(
            text,
            "# head\n\n# from nginx.conf:3\n[[location]]\nprefix = \"/a/\"\n# two\n# lines\n"
        );
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(parsed["location"][0]["prefix"].as_str(), Some("/a/"));
    }
}
