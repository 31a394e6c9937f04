//! nginx's tokens: words, quoted strings and comments, and the three
//! punctuation marks `;`, `{`, `}`.
//!
//! As nginx's own reader: `#` opens a comment only at the start of a word,
//! `${var}` does not open a block, quotes may be single or double, a closing
//! quote must be followed by a separator (or the `)` of an `if`), and `\"`,
//! `\'`, `\\`, `\t`, `\r`, `\n` are unescaped while any other backslash is kept
//! (regexes need it).

/// What a token is.
#[derive(Debug, PartialEq)]
pub enum Kind {
    /// A word, unquoted and unescaped.
    Word(String),
    /// `;`
    Semi,
    /// `{`
    Open,
    /// `}`
    Close,
}

/// A token and the line it starts on.
#[derive(Debug)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// 1-based line.
    pub line: usize,
}

/// A syntax error: its line and what is wrong.
pub type TokenError = (usize, String);

/// Splits config text into words and the three punctuation tokens.
pub fn tokenize(text: &str) -> Result<Vec<Token>, TokenError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        let kind = match c {
            '\n' => {
                line += 1;
                i += 1;
                continue;
            }
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            ';' => Kind::Semi,
            '{' => Kind::Open,
            '}' => Kind::Close,
            '"' | '\'' => {
                let start_line = line;
                let word = quoted(&chars, &mut i, &mut line)
                    .ok_or_else(|| (start_line, "unterminated quoted string".to_owned()))?;
                after_quote(&chars, &mut i)
                    .map_err(|c| (line, format!("unexpected \"{c}\" after a quoted string")))?;
                tokens.push(Token {
                    kind: Kind::Word(word),
                    line: start_line,
                });
                continue;
            }
            _ => {
                tokens.push(Token {
                    kind: Kind::Word(bare_word(&chars, &mut i)),
                    line,
                });
                continue;
            }
        };
        tokens.push(Token { kind, line });
        i += 1;
    }
    Ok(tokens)
}

/// Reads a quoted string starting at `chars[*i]` (the quote); None when unterminated.
fn quoted(chars: &[char], i: &mut usize, line: &mut usize) -> Option<String> {
    let quote = chars[*i];
    let start = *i + 1;
    let mut j = start;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '\n' => {
                *line += 1;
                j += 1;
            }
            c if c == quote => {
                *i = j + 1;
                return Some(unescape(&chars[start..j]));
            }
            _ => j += 1,
        }
    }
    None
}

/// After a closing quote nginx wants a separator; `)` (end of an `if`
/// condition) is dropped as nginx drops it.
fn after_quote(chars: &[char], i: &mut usize) -> Result<(), char> {
    match chars.get(*i) {
        None | Some(';' | '{' | '}') => Ok(()),
        Some(c) if c.is_whitespace() => Ok(()),
        Some(')') => {
            *i += 1;
            Ok(())
        }
        Some(&c) => Err(c),
    }
}

/// Reads an unquoted word: up to whitespace, `;`, `{` or `}`, keeping `${...}` whole.
fn bare_word(chars: &[char], i: &mut usize) -> String {
    let start = *i;
    let mut j = start;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '$' if chars.get(j + 1) == Some(&'{') => {
                while j < chars.len() && chars[j] != '}' {
                    j += 1;
                }
                j += 1;
            }
            ';' | '{' | '}' => break,
            c if c.is_whitespace() => break,
            _ => j += 1,
        }
    }
    let end = j.min(chars.len());
    *i = end;
    unescape(&chars[start..end])
}

/// nginx's escapes: `\"`, `\'`, `\\`, `\t`, `\r`, `\n`; other backslashes stay.
fn unescape(chars: &[char]) -> String {
    let mut out = String::with_capacity(chars.len());
    let mut k = 0;
    while k < chars.len() {
        let (c, next) = (chars[k], chars.get(k + 1));
        match (c, next) {
            ('\\', Some(&e @ ('"' | '\'' | '\\'))) => out.push(e),
            ('\\', Some('t')) => out.push('\t'),
            ('\\', Some('r')) => out.push('\r'),
            ('\\', Some('n')) => out.push('\n'),
            _ => {
                out.push(c);
                k += 1;
                continue;
            }
        }
        k += 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let tokens = tokenize(text).unwrap();
        tokens
            .into_iter()
            .filter_map(|t| match t.kind {
                Kind::Word(w) => Some(w),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn punctuation_and_lines() {
        let tokens = tokenize("a {\n b; # c }\n}").unwrap();
        let kinds: Vec<(&Kind, usize)> = tokens.iter().map(|t| (&t.kind, t.line)).collect();
        let word = |w: &str| Kind::Word(w.to_owned());
        let expected = [
            (&word("a"), 1),
            (&Kind::Open, 1),
            (&word("b"), 2),
            (&Kind::Semi, 2),
            (&Kind::Close, 3),
        ];
        assert_eq!(kinds, expected);
    }

    #[test]
    fn words_keep_regex_backslashes_and_variables() {
        assert_eq!(words("~ ^/img/(.+)\\.jpg$;"), ["~", "^/img/(.+)\\.jpg$"]);
        assert_eq!(words("set ${key}x \"a\\\"b\";"), ["set", "${key}x", "a\"b"]);
        assert_eq!(
            words("a#b c;"),
            ["a#b", "c"],
            "# inside a word is not a comment"
        );
        assert_eq!(words("'it\\'s' \"{2}\";"), ["it's", "{2}"]);
    }

    #[test]
    fn if_conditions_with_quotes() {
        assert_eq!(words("if ($uri ~ \"x\") {"), ["if", "($uri", "~", "x"]);
    }

    #[test]
    fn quoting_errors() {
        assert_eq!(
            tokenize("return 'it''s';").unwrap_err().0,
            1,
            "a quote right after a quote"
        );
        assert_eq!(tokenize("a;\nb \"c;\n").unwrap_err().0, 2, "unterminated");
    }
}
