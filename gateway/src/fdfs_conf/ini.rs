//! `mod_fastdfs.conf` and the `http.conf` it includes, in FastDFS's ini
//! format: `key = value` lines, `#` comments, `#include FILE` (relative to
//! the including file's directory), and `[groupN]` sections for hosts that
//! serve several groups.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Where a line was written: file (as named or included) and line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The main file's name, or an `#include` argument.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

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

/// `#include` nests at most this deep.
const MAX_DEPTH: usize = 8;

/// Most files read for one `mod_fastdfs.conf`, itself included: a file
/// included many times from many places would otherwise multiply.
const MAX_FILES: usize = 64;

/// Most bytes read for one `mod_fastdfs.conf` and its includes (the real
/// files are a few KiB).
const MAX_BYTES: u64 = 1 << 20;

/// Why a `mod_fastdfs.conf` cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum IniError {
    /// The main file cannot be opened or read.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// An `#include` names a file that is being read already.
    #[error("{origin}: #include {target}: the file includes itself")]
    Cycle {
        /// Where the include is.
        origin: Origin,
        /// What it names.
        target: String,
    },
    /// Includes nest deeper than [`MAX_DEPTH`].
    #[error("{origin}: #include {target}: includes nest more than {MAX_DEPTH} deep")]
    TooDeep {
        /// Where the include is.
        origin: Origin,
        /// What it names.
        target: String,
    },
    /// More than [`MAX_FILES`] files, or [`MAX_BYTES`] bytes, in all.
    #[error("{origin}: more than {MAX_FILES} files or {MAX_BYTES} bytes with its includes")]
    TooLarge {
        /// The file or include that went over.
        origin: Origin,
    },
}

/// What reading one main file has taken so far, and the files open now.
#[derive(Debug, Default)]
struct Budget {
    files: usize,
    bytes: u64,
    /// Canonical paths of the files being read, outermost first.
    open: Vec<PathBuf>,
}

impl IniFile {
    /// Reads `path` and what it includes; an include that cannot be read is a
    /// warning (FastDFS itself would refuse to start); a file that includes
    /// itself, or includes nested or numbering past the bounds, is an error.
    pub fn read(path: &Path, warnings: &mut Vec<String>) -> Result<IniFile, IniError> {
        let name = path.display().to_string();
        let mut budget = Budget::default();
        let origin = Origin {
            file: name.clone(),
            line: 1,
        };
        let text = read_bounded(path, &mut budget, &origin)?;
        let mut ini = IniFile {
            file: name.clone(),
            entries: Vec::new(),
        };
        budget.open.push(canonical(path));
        let dir = path.parent().unwrap_or(Path::new("."));
        ini.add(&text, &name, dir, &mut budget, warnings)?;
        Ok(ini)
    }

    /// Parses ini `text`; includes are read from `dir`.
    #[cfg(test)]
    pub fn parse(
        text: &str,
        file: &str,
        dir: &Path,
        warnings: &mut Vec<String>,
    ) -> Result<IniFile, IniError> {
        let mut ini = IniFile {
            file: file.to_owned(),
            entries: Vec::new(),
        };
        ini.add(text, file, dir, &mut Budget::default(), warnings)?;
        Ok(ini)
    }

    fn add(
        &mut self,
        text: &str,
        file: &str,
        dir: &Path,
        budget: &mut Budget,
        warnings: &mut Vec<String>,
    ) -> Result<(), IniError> {
        let mut section = None;
        for (i, raw) in text.lines().enumerate() {
            let origin = Origin {
                file: file.to_owned(),
                line: i + 1,
            };
            let line = raw.trim();
            if let Some(include) = include_target(line) {
                self.include(include, dir, &origin, budget, warnings)?;
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
        Ok(())
    }

    fn include(
        &mut self,
        target: &str,
        dir: &Path,
        origin: &Origin,
        budget: &mut Budget,
        warnings: &mut Vec<String>,
    ) -> Result<(), IniError> {
        let path = dir.join(target);
        let at = || (origin.clone(), target.to_owned());
        if budget.open.contains(&canonical(&path)) {
            let (origin, target) = at();
            return Err(IniError::Cycle { origin, target });
        }
        if budget.open.len() > MAX_DEPTH {
            let (origin, target) = at();
            return Err(IniError::TooDeep { origin, target });
        }
        let text = match read_bounded(&path, budget, origin) {
            Ok(text) => text,
            Err(IniError::Io(e)) => {
                warnings.push(format!("{origin}: #include {target}: {e}; skipped"));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        budget.open.push(canonical(&path));
        let result = self.add(
            &text,
            target,
            path.parent().unwrap_or(dir),
            budget,
            warnings,
        );
        budget.open.pop();
        result
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

/// Reads `path` within what `budget` has left.
fn read_bounded(path: &Path, budget: &mut Budget, origin: &Origin) -> Result<String, IniError> {
    let too_large = || IniError::TooLarge {
        origin: origin.clone(),
    };
    budget.files += 1;
    if budget.files > MAX_FILES {
        return Err(too_large());
    }
    let left = MAX_BYTES - budget.bytes;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(left + 1)
        .read_to_string(&mut text)?;
    budget.bytes += text.len() as u64;
    if budget.bytes > MAX_BYTES {
        return Err(too_large());
    }
    Ok(text)
}

/// `path` made absolute with links resolved, so two names of one file
/// compare equal; as given when that fails (it is then not readable anyway).
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
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
    //! - keys, sections and includes; a missing include is a warning;
    //! - a file that includes itself (directly, through another, or many
    //!   times over), nesting too deep, too many files and too many bytes are
    //!   errors, found at once.
    use super::*;
    use std::time::{Duration, Instant};

    fn read_in(dir: &Path, main: &str) -> Result<IniFile, IniError> {
        IniFile::read(&dir.join(main), &mut Vec::new())
    }

    #[test]
    fn a_file_that_includes_itself_is_an_error_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let many = "#include self.conf\n".repeat(50);
        std::fs::write(dir.path().join("self.conf"), format!("a = 1\n{many}")).unwrap();
        std::fs::write(dir.path().join("a.conf"), "#include b.conf\n").unwrap();
        std::fs::write(dir.path().join("b.conf"), "#include ./a.conf\n").unwrap();
        let started = Instant::now();
        let e = read_in(dir.path(), "self.conf").unwrap_err();
        assert!(matches!(e, IniError::Cycle { .. }), "{e}");
        assert!(
            e.to_string()
                .ends_with("self.conf:2: #include self.conf: the file includes itself"),
            "{e}"
        );
        let e = read_in(dir.path(), "a.conf").unwrap_err();
        assert!(
            e.to_string().starts_with("b.conf:1: #include ./a.conf"),
            "{e}"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn nesting_files_and_bytes_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..12 {
            let next = format!("#include d{}.conf\n", i + 1);
            std::fs::write(dir.path().join(format!("d{i}.conf")), next).unwrap();
        }
        let e = read_in(dir.path(), "d0.conf").unwrap_err();
        assert!(matches!(e, IniError::TooDeep { .. }), "{e}");

        std::fs::write(dir.path().join("leaf.conf"), "k = v\n").unwrap();
        let wide = "#include leaf.conf\n".repeat(MAX_FILES + 1);
        std::fs::write(dir.path().join("wide.conf"), wide).unwrap();
        let e = read_in(dir.path(), "wide.conf").unwrap_err();
        assert!(matches!(e, IniError::TooLarge { .. }), "{e}");
        let fine = "#include leaf.conf\n".repeat(MAX_FILES - 1);
        std::fs::write(dir.path().join("fine.conf"), fine).unwrap();
        assert_eq!(
            read_in(dir.path(), "fine.conf").unwrap().entries.len(),
            MAX_FILES - 1
        );

        let big = "# padding\n".repeat((MAX_BYTES / 10 + 1) as usize);
        std::fs::write(dir.path().join("big.conf"), big).unwrap();
        let e = read_in(dir.path(), "big.conf").unwrap_err();
        assert!(matches!(e, IniError::TooLarge { .. }), "{e}");
    }

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
        let ini = IniFile::parse(conf, "mod_fastdfs.conf", dir.path(), &mut warnings).unwrap();
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
        )
        .unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("m.conf:1: #include nope.conf:"),
            "{warnings:?}"
        );
    }
}
