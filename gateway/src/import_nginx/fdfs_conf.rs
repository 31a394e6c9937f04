//! `mod_fastdfs.conf` and the `http.conf` it includes, in FastDFS's ini
//! format: `key = value` lines, `#` comments, `#include FILE` (relative to
//! the including file's directory), and `[groupN]` sections for hosts that
//! serve several groups.

use super::syntax::Origin;
use std::io;
use std::path::Path;

/// One `key = value` line.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The `[section]` it is in; None before the first section.
    pub section: Option<String>,
    /// The key, trimmed.
    pub key: String,
    /// The value, trimmed.
    pub value: String,
    /// Where it was written.
    pub origin: Origin,
}

/// A whole file with its includes, entries in file order.
#[derive(Debug, Clone, Default)]
pub struct IniFile {
    /// The main file's name, for messages.
    pub file: String,
    /// Every entry.
    pub entries: Vec<Entry>,
}

/// `#include` nests at most this deep, which stops a file including itself.
const MAX_DEPTH: usize = 8;

impl IniFile {
    /// Reads `path` and what it includes; an include that cannot be read is a
    /// warning (FastDFS itself would refuse to start).
    pub fn read(path: &Path, warnings: &mut Vec<String>) -> io::Result<IniFile> {
        let text = std::fs::read_to_string(path)?;
        let mut ini = IniFile {
            file: path.display().to_string(),
            entries: Vec::new(),
        };
        ini.add(
            &text,
            &path.display().to_string(),
            path.parent().unwrap_or(Path::new(".")),
            0,
            warnings,
        );
        Ok(ini)
    }

    /// Parses ini `text`; includes are read from `dir`.
    #[cfg(test)]
    pub fn parse(text: &str, file: &str, dir: &Path, warnings: &mut Vec<String>) -> IniFile {
        let mut ini = IniFile {
            file: file.to_owned(),
            entries: Vec::new(),
        };
        ini.add(text, file, dir, 0, warnings);
        ini
    }

    fn add(
        &mut self,
        text: &str,
        file: &str,
        dir: &Path,
        depth: usize,
        warnings: &mut Vec<String>,
    ) {
        let mut section = None;
        for (i, raw) in text.lines().enumerate() {
            let origin = Origin {
                file: file.to_owned(),
                line: i + 1,
            };
            let line = raw.trim();
            if let Some(include) = include_target(line) {
                self.include(include, dir, &origin, depth, warnings);
            } else if line.is_empty() || line.starts_with('#') {
                continue;
            } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = Some(name.trim().to_owned());
            } else if let Some((key, value)) = line.split_once('=') {
                self.entries.push(Entry {
                    section: section.clone(),
                    key: key.trim().to_owned(),
                    value: value.trim().to_owned(),
                    origin,
                });
            } else {
                warnings.push(format!(
                    "{origin}: {line:?}: not a key = value line; ignored"
                ));
            }
        }
    }

    fn include(
        &mut self,
        target: &str,
        dir: &Path,
        origin: &Origin,
        depth: usize,
        warnings: &mut Vec<String>,
    ) {
        if depth >= MAX_DEPTH {
            warnings.push(format!(
                "{origin}: #include {target}: includes nest too deep; skipped"
            ));
            return;
        }
        let path = dir.join(target);
        match std::fs::read_to_string(&path) {
            Ok(text) => self.add(
                &text,
                target,
                path.parent().unwrap_or(dir),
                depth + 1,
                warnings,
            ),
            Err(e) => warnings.push(format!("{origin}: #include {target}: {e}; skipped")),
        }
    }

    /// The first entry for `key` in `section` (None: the global part).
    pub fn get(&self, section: Option<&str>, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.section.as_deref() == section && e.key == key)
    }

    /// Every global entry for a repeatable key such as `tracker_server`.
    pub fn all(&self, key: &str) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.section.is_none() && e.key == key)
            .collect()
    }

    /// A global boolean as FastDFS reads it (`true`, `yes`, `on`, `1`).
    pub fn flag(&self, key: &str) -> Option<bool> {
        let value = self.get(None, key)?.value.to_ascii_lowercase();
        Some(matches!(value.as_str(), "true" | "yes" | "on" | "1"))
    }

    /// A global non-negative integer, ignoring values that are not one.
    pub fn number(&self, section: Option<&str>, key: &str) -> Option<u64> {
        self.get(section, key)?.value.parse().ok()
    }
}

/// `#include FILE` (FastDFS's include is written as a comment).
fn include_target(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("#include")?;
    rest.starts_with([' ', '\t'])
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sections_and_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("http.conf"),
            "http.anti_steal.check_token = true\n",
        )
        .unwrap();
        let conf = "# c\ntracker_server=a:22122\ntracker_server = b:22122\n#include http.conf\n# include not.this\n[group2]\ngroup_name=group2\n";
        let mut warnings = Vec::new();
        let ini = IniFile::parse(conf, "mod_fastdfs.conf", dir.path(), &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        let trackers: Vec<&str> = ini
            .all("tracker_server")
            .iter()
            .map(|e| e.value.as_str())
            .collect();
        assert_eq!(trackers, ["a:22122", "b:22122"]);
        assert_eq!(ini.flag("http.anti_steal.check_token"), Some(true));
        assert_eq!(
            ini.get(None, "http.anti_steal.check_token")
                .unwrap()
                .origin
                .to_string(),
            "http.conf:1"
        );
        assert_eq!(
            ini.get(Some("group2"), "group_name").unwrap().value,
            "group2"
        );
        assert!(ini.get(None, "group_name").is_none());
    }

    #[test]
    fn a_missing_include_is_a_warning() {
        let mut warnings = Vec::new();
        IniFile::parse(
            "#include nope.conf\n",
            "m.conf",
            Path::new("/nonexistent"),
            &mut warnings,
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("m.conf:1: #include nope.conf:"),
            "{warnings:?}"
        );
    }
}
