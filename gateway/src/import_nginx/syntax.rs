//! nginx configuration structure: `;`-terminated directives and `{}`
//! blocks over the [`tokens`](super::tokens), with `include` spliced in where
//! it appears.

use super::tokens::{tokenize, Kind, Token};
use super::ImportError;
use std::path::{Path, PathBuf};

/// Where a directive was written: file (as named in the config, or an
/// `include` argument) and the line of its first word. The same type as
/// the `mod_fastdfs.conf` reader's.
pub use crate::fdfs_conf::Origin;

/// One directive: `name args...;` or `name args... { block }`.
#[derive(Debug, Clone)]
pub struct Directive {
    /// The first word.
    pub name: String,
    /// The other words, unquoted and unescaped.
    pub args: Vec<String>,
    /// The block's directives, when the directive has one.
    pub block: Option<Vec<Directive>>,
    /// Where it was written.
    pub origin: Origin,
}

impl Directive {
    /// The directive as written (without its block), for messages.
    pub fn text(&self) -> String {
        let mut text = self.name.clone();
        for arg in &self.args {
            text.push(' ');
            if arg.is_empty() || arg.contains(char::is_whitespace) {
                text.push_str(&format!("{arg:?}"));
            } else {
                text.push_str(arg);
            }
        }
        text
    }

    /// The block's directives (empty when there is no block).
    pub fn children(&self) -> &[Directive] {
        self.block.as_deref().unwrap_or(&[])
    }
}

/// Reads a whole config: `text` is the main file, named `file` in messages;
/// relative `include` paths are resolved against `base_dir`, as nginx resolves
/// them against its configuration prefix. Includes that cannot be read become
/// warnings, since a copied config often lacks files such as `mime.types`.
pub fn parse_config(
    text: &str,
    file: &str,
    base_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<Directive>, ImportError> {
    let mut reader = Reader {
        base_dir,
        warnings,
        open: Vec::new(),
        files: 0,
        bytes: 0,
    };
    reader.parse_file(text, file)
}

/// Includes nest at most this deep.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Most files read through `include`, counting each time a file is read
/// (`include proxy_params;` in every location is common); bounds a fan-out of
/// files that include others several times each.
const MAX_INCLUDED_FILES: usize = 4096;

/// Most bytes read through `include`, all files together.
const MAX_INCLUDED_BYTES: u64 = 64 << 20;

struct Reader<'a> {
    base_dir: &'a Path,
    warnings: &'a mut Vec<String>,
    /// Canonical paths of the included files being read, outermost first.
    open: Vec<PathBuf>,
    files: usize,
    bytes: u64,
}

impl Reader<'_> {
    fn parse_file(&mut self, text: &str, file: &str) -> Result<Vec<Directive>, ImportError> {
        let tokens = tokenize(text).map_err(|(line, message)| syntax(file, line, &message))?;
        let mut pos = 0;
        let directives = self.parse_block(&tokens, &mut pos, file, None)?;
        Ok(directives)
    }

    /// Parses directives until the end of input (`open` is None) or the `}`
    /// closing the block opened at `open`.
    fn parse_block(
        &mut self,
        tokens: &[Token],
        pos: &mut usize,
        file: &str,
        open: Option<usize>,
    ) -> Result<Vec<Directive>, ImportError> {
        let mut directives = Vec::new();
        loop {
            let Some(token) = tokens.get(*pos) else {
                return match open {
                    None => Ok(directives),
                    Some(line) => Err(syntax(
                        file,
                        line,
                        "unexpected end of file: this \"{\" is never closed",
                    )),
                };
            };
            *pos += 1;
            match &token.kind {
                Kind::Close if open.is_some() => return Ok(directives),
                Kind::Close => return Err(syntax(file, token.line, "unexpected \"}\"")),
                Kind::Semi | Kind::Open => {
                    return Err(syntax(
                        file,
                        token.line,
                        "a directive must start with a name",
                    ))
                }
                Kind::Word(name) => {
                    let directive = self.parse_directive(name, token.line, tokens, pos, file)?;
                    self.push(directive, &mut directives)?;
                }
            }
        }
    }

    fn parse_directive(
        &mut self,
        name: &str,
        line: usize,
        tokens: &[Token],
        pos: &mut usize,
        file: &str,
    ) -> Result<Directive, ImportError> {
        let mut args = Vec::new();
        loop {
            let Some(token) = tokens.get(*pos) else {
                return Err(syntax(
                    file,
                    line,
                    &format!("directive \"{name}\" is not terminated by \";\""),
                ));
            };
            *pos += 1;
            match &token.kind {
                Kind::Word(word) => args.push(word.clone()),
                Kind::Semi => return Ok(directive(name, args, None, file, line)),
                Kind::Open => {
                    let block = self.parse_block(tokens, pos, file, Some(token.line))?;
                    return Ok(directive(name, args, Some(block), file, line));
                }
                Kind::Close => {
                    return Err(syntax(
                        file,
                        token.line,
                        &format!("directive \"{name}\" is not terminated by \";\""),
                    ))
                }
            }
        }
    }

    /// Adds `directive` to `into`, replacing an `include` by what it includes.
    fn push(&mut self, directive: Directive, into: &mut Vec<Directive>) -> Result<(), ImportError> {
        if directive.name != "include" || directive.block.is_some() || directive.args.len() != 1 {
            into.push(directive);
            return Ok(());
        }
        let origin = &directive.origin;
        let fail = |message: String| syntax(&origin.file, origin.line, &message);
        if self.open.len() >= MAX_INCLUDE_DEPTH {
            return Err(fail(format!(
                "includes nest more than {MAX_INCLUDE_DEPTH} deep"
            )));
        }
        let pattern = &directive.args[0];
        for (name, path) in self.expand(pattern, origin) {
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if self.open.contains(&canonical) {
                return Err(fail(format!("include {name}: the file includes itself")));
            }
            match self.read_included(&path) {
                Ok(text) => {
                    self.open.push(canonical);
                    let included = self.parse_file(&text, &name);
                    self.open.pop();
                    into.extend(included?);
                }
                Err(Some(e)) => self
                    .warnings
                    .push(format!("{origin}: include {name}: {e}; skipped")),
                Err(None) => {
                    return Err(fail(format!(
                        "include {name}: more than {MAX_INCLUDED_FILES} files or {MAX_INCLUDED_BYTES} bytes included in all"
                    )))
                }
            }
        }
        Ok(())
    }

    /// An included file's text; `Err(None)` when the bounds on included
    /// files are used up, `Err(Some(e))` when it cannot be read.
    fn read_included(&mut self, path: &Path) -> Result<String, Option<std::io::Error>> {
        use std::io::Read;
        self.files += 1;
        if self.files > MAX_INCLUDED_FILES {
            return Err(None);
        }
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(Some)?
            .take(MAX_INCLUDED_BYTES - self.bytes + 1)
            .read_to_string(&mut text)
            .map_err(Some)?;
        self.bytes += text.len() as u64;
        if self.bytes > MAX_INCLUDED_BYTES {
            return Err(None);
        }
        Ok(text)
    }

    /// The files an `include` argument names: itself, or a sorted glob
    /// expansion when its last component has `*` or `?` (as nginx's glob()).
    fn expand(&mut self, pattern: &str, origin: &Origin) -> Vec<(String, PathBuf)> {
        let path = self.base_dir.join(pattern);
        let (dir, file_pattern) = match (path.parent(), path.file_name().and_then(|f| f.to_str())) {
            (Some(dir), Some(f)) if f.contains(['*', '?']) => (dir.to_path_buf(), f.to_owned()),
            _ => return vec![(pattern.to_owned(), path)],
        };
        if dir.to_string_lossy().contains(['*', '?', '[']) {
            self.warnings.push(format!(
                "{origin}: include {pattern}: wildcards are only read in the file name; skipped"
            ));
            return Vec::new();
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        names.retain(|n| !n.starts_with('.') && glob_match(&file_pattern, n));
        names.sort();
        let shown_dir = Path::new(pattern).parent().unwrap_or(Path::new(""));
        names
            .into_iter()
            .map(|n| (shown_dir.join(&n).display().to_string(), dir.join(n)))
            .collect()
    }
}

fn directive(
    name: &str,
    args: Vec<String>,
    block: Option<Vec<Directive>>,
    file: &str,
    line: usize,
) -> Directive {
    Directive {
        name: name.to_owned(),
        args,
        block,
        origin: Origin {
            file: file.to_owned(),
            line,
        },
    }
}

fn syntax(file: &str, line: usize, message: &str) -> ImportError {
    ImportError::Syntax {
        origin: Origin {
            file: file.to_owned(),
            line,
        },
        message: message.to_owned(),
    }
}

/// `*` and `?` wildcards over a file name. Greedy with one backtrack
/// point (the last `*`), so a pattern of many stars stays linear-ish rather
/// than trying every split.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    pi = sp + 1;
                    ni = sn + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Directive> {
        parse_config(
            text,
            "nginx.conf",
            Path::new("/nonexistent"),
            &mut Vec::new(),
        )
        .unwrap()
    }

    #[test]
    fn blocks_quotes_comments_and_lines() {
        let conf = "# top\nhttp {\n  server { listen 80; # c\n    location ~ \"^/a{2}/\" { return 200 'it\\'s'; }\n  }\n}\n";
        let d = parse(conf);
        assert_eq!(d.len(), 1);
        let server = &d[0].children()[0];
        assert_eq!(server.children()[0].text(), "listen 80");
        let location = &server.children()[1];
        assert_eq!(location.args, ["~", "^/a{2}/"]);
        assert_eq!(location.origin.line, 4);
        assert_eq!(location.children()[0].args, ["200", "it's"]);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        for (conf, line) in [
            ("a {\n b;\n", 1),
            ("a;\n}\n", 2),
            ("a b\n", 1),
            ("a \"b;\n\n", 1),
            ("{ a; }", 1),
        ] {
            match parse_config(conf, "x.conf", Path::new("."), &mut Vec::new()) {
                Err(ImportError::Syntax { origin, .. }) => {
                    assert_eq!(origin.line, line, "{conf:?}")
                }
                other => panic!("{conf:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn includes_are_spliced_and_globbed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::fs::write(dir.path().join("conf.d/b.conf"), "b 2;").unwrap();
        std::fs::write(
            dir.path().join("conf.d/a.conf"),
            "a 1;\ninclude conf.d/nested.inc;",
        )
        .unwrap();
        std::fs::write(dir.path().join("conf.d/nested.inc"), "n 3;").unwrap();
        let mut warnings = Vec::new();
        let conf = "http { include conf.d/*.conf; include mime.types; }";
        let d = parse_config(conf, "nginx.conf", dir.path(), &mut warnings).unwrap();
        let names: Vec<&str> = d[0].children().iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a", "n", "b"]);
        assert_eq!(d[0].children()[1].origin.to_string(), "conf.d/nested.inc:1");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("nginx.conf:1: include mime.types:"),
            "{warnings:?}"
        );
    }

    #[test]
    fn an_include_cycle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("self.conf"), "include self.conf;").unwrap();
        let result = parse_config(
            "include self.conf;",
            "nginx.conf",
            dir.path(),
            &mut Vec::new(),
        );
        assert!(matches!(result, Err(ImportError::Syntax { .. })));
    }

    #[test]
    fn a_file_included_many_times_over_is_an_error_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let thrice = "include self.conf;\n".repeat(3);
        std::fs::write(dir.path().join("self.conf"), &thrice).unwrap();
        let e = parse_config(&thrice, "nginx.conf", dir.path(), &mut Vec::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "self.conf:1: include self.conf: the file includes itself"
        );
        // A fan-out without a cycle: each level includes the next 8 times.
        for level in 0..8 {
            let text = format!("include f{}.conf;\n", level + 1).repeat(8);
            std::fs::write(dir.path().join(format!("f{level}.conf")), text).unwrap();
        }
        std::fs::write(dir.path().join("f8.conf"), "a 1;\n").unwrap();
        let e = parse_config(
            "include f0.conf;",
            "nginx.conf",
            dir.path(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("more than 4096 files"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.conf", "a.conf"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("*.conf", "a.conf.bak"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("a*b*c", "aXbYbZ"));
        assert!(glob_match("*.c*f", "x.conf"));
        let name = "a".repeat(255);
        let started = std::time::Instant::now();
        assert!(!glob_match(&format!("{}b", "*a".repeat(40)), &name));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
