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
    // A comment must not smuggle a newline into the TOML.
    for line in text.lines() {
        out.push_str(&format!("# {line}\n"));
    }
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
    use super::*;

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
