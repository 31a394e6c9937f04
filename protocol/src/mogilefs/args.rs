//! URL encoding of tracker arguments.
//!
//! Encoding (the server's `eurl`, the Perl client's `_escape_url_string`): every
//! byte outside `[A-Za-z0-9_,-./\: ]` becomes `%XX` with upper-case hex, then a
//! space becomes `+`. Decoding splits on `&` and `=` *before* unescaping, so an
//! unescaped `&`, `=`, `+` or `%` inside a value would change it; encoding every
//! value here is what keeps a key from injecting a second argument.
//!
//! Decoding rules of the server, kept byte for byte so devcluster agrees with a
//! real tracker: empty pairs are dropped, only the first two `=`-fields of a pair
//! count (`key=a=b` is `a`), a pair without `=` has an empty value, and a repeated
//! name has its values joined with a NUL byte.

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::HashMap;
use std::fmt;

/// Bytes that pass unescaped: `_ , - . / \ :` and space (which becomes `+`).
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b',')
    .remove(b'-')
    .remove(b'.')
    .remove(b'/')
    .remove(b'\\')
    .remove(b':')
    .remove(b' ');

/// Escapes `value` as the tracker expects an argument or error text.
pub fn escape(value: &[u8]) -> String {
    percent_encode(value, ESCAPED).to_string().replace(' ', "+")
}

/// Undoes [`escape`]: `+` is a space, `%XX` a byte. Invalid UTF-8 is replaced,
/// since every field the gateway reads back (paths, numbers) is ASCII.
pub fn unescape(value: &str) -> String {
    let plus_decoded = value.replace('+', " ");
    percent_decode(plus_decoded.as_bytes())
        .decode_utf8_lossy()
        .into_owned()
}

/// An ordered list of `name=value` arguments or reply fields.
///
/// Order is kept for encoding; a real tracker's replies come in random order, so
/// readers look fields up by name. Look-ups go through a hash index, so decoding
/// a line and reading every field of it costs time linear in the line's length
/// however many fields a peer sends.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Args {
    fields: Vec<(String, String)>,
    /// Position in `fields` of the first field of each name.
    index: HashMap<String, usize>,
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.fields).finish()
    }
}

impl Args {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `name=value` (builder style).
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.push(name, value);
        self
    }

    /// Appends `name=value`; a repeated name is kept (and encoded) twice, and
    /// [`Args::get`] returns the first value.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.insert(name.to_owned(), value.into());
    }

    fn insert(&mut self, name: String, value: String) {
        self.index.entry(name.clone()).or_insert(self.fields.len());
        self.fields.push((name, value));
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        let &at = self.index.get(name)?;
        Some(self.fields[at].1.as_str())
    }

    /// The value of `name` when present and non-empty.
    pub fn get_nonempty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Encodes as `a=1&b=x+y`, every name and value escaped.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (name, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(&escape(name.as_bytes()));
            out.push('=');
            out.push_str(&escape(value.as_bytes()));
        }
        out
    }

    /// Decodes an argument string with the tracker's own rules (see the module
    /// docs), in time linear in its length.
    pub fn decode(encoded: &str) -> Self {
        let mut args = Args::new();
        for pair in encoded.split('&').filter(|p| !p.is_empty()) {
            let mut fields = pair.split('=');
            let name = unescape(fields.next().unwrap_or_default());
            let value = unescape(fields.next().unwrap_or_default());
            match args.index.get(&name) {
                Some(&at) => {
                    let existing = &mut args.fields[at].1;
                    existing.push('\0');
                    existing.push_str(&value);
                }
                None => args.insert(name, value),
            }
        }
        args
    }
}

impl FromIterator<(String, String)> for Args {
    fn from_iter<T: IntoIterator<Item = (String, String)>>(iter: T) -> Self {
        let mut args = Args::new();
        for (name, value) in iter {
            args.insert(name, value);
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_tracker() {
        // vectors/tracker/19: key 'vec/a b+c&d=e%f.txt'
        assert_eq!(
            escape("vec/a b+c&d=e%f.txt".as_bytes()),
            "vec/a+b%2Bc%26d%3De%25f.txt"
        );
        assert_eq!(escape("vec/ünï.txt".as_bytes()), "vec/%C3%BCn%C3%AF.txt");
        assert_eq!(escape(b"A-z_0,9.:\\/"), "A-z_0,9.:\\/");
        assert_eq!(escape(b"\r\n\0"), "%0D%0A%00");
    }

    #[test]
    fn unescape_inverts_escape() {
        for s in ["vec/a b+c&d=e%f.txt", "ü/ñ/日本.jpg", "", "%41", "a=b&c"] {
            assert_eq!(unescape(&escape(s.as_bytes())), s);
        }
    }

    #[test]
    fn decode_follows_server_rules() {
        // vectors/tracker/25
        let a = Args::decode("&&domain=imgs&&key=vec/hello.txt&junk");
        assert_eq!(a.get("domain"), Some("imgs"));
        assert_eq!(a.get("key"), Some("vec/hello.txt"));
        assert_eq!(a.get("junk"), Some(""));
        assert_eq!(a.len(), 3);
        let a = Args::decode("domain=imgs&domain=imgs");
        assert_eq!(a.get("domain"), Some("imgs\0imgs"));
        let a = Args::decode("key=vec/hello.txt=zzz");
        assert_eq!(a.get("key"), Some("vec/hello.txt"));
    }

    #[test]
    fn encoded_values_cannot_inject_arguments() {
        let key = "k&noverify=1&domain=other";
        let encoded = Args::new().with("domain", "imgs").with("key", key).encode();
        let decoded = Args::decode(&encoded);
        assert_eq!(decoded.get("key"), Some(key));
        assert_eq!(decoded.get("domain"), Some("imgs"));
        assert_eq!(decoded.get("noverify"), None);
        assert_eq!(decoded.len(), 2);
    }
}
