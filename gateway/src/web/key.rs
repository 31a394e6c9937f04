//! Keys from request paths.
//!
//! The key is the raw path after the location prefix, percent-decoded once
//! (`/images/a%20b.jpg` is `a b.jpg`, `%2B` a literal `+`). It is then sent to
//! the tracker escaped, so no byte of it can become a second argument.

use percent_encoding::percent_decode_str;

/// Longest key MogileFS stores (`file.dkey` is `VARCHAR(255)`).
pub const MAX_KEY_LEN: usize = 255;

/// Why a path does not name a valid key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Nothing after the prefix.
    #[error("empty key: the URL must name a key after the location prefix")]
    Empty,
    /// Longer than [`MAX_KEY_LEN`] bytes once decoded.
    #[error("key is {0} bytes long; the limit is {MAX_KEY_LEN}")]
    TooLong(usize),
    /// Decodes to bytes that are not UTF-8.
    #[error("key is not valid UTF-8 once percent-decoded")]
    NotUtf8,
    /// Contains a control character (NUL, CR, LF, ...).
    #[error("key contains a control character (byte 0x{0:02x})")]
    Control(u8),
}

/// Decodes the path remainder `raw` into a key.
pub fn decode_key(raw: &str) -> Result<String, KeyError> {
    let bytes: Vec<u8> = percent_decode_str(raw).collect();
    if bytes.is_empty() {
        return Err(KeyError::Empty);
    }
    if bytes.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong(bytes.len()));
    }
    if let Some(&b) = bytes.iter().find(|b| b.is_ascii_control()) {
        return Err(KeyError::Control(b));
    }
    String::from_utf8(bytes).map_err(|_| KeyError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once() {
        assert_eq!(decode_key("a%20b.jpg").unwrap(), "a b.jpg");
        assert_eq!(decode_key("a+b.jpg").unwrap(), "a+b.jpg");
        assert_eq!(decode_key("a%26b%3Dc.jpg").unwrap(), "a&b=c.jpg");
        assert_eq!(decode_key("p%25q.jpg").unwrap(), "p%q.jpg");
        assert_eq!(decode_key("a%2541.jpg").unwrap(), "a%41.jpg");
        assert_eq!(decode_key("k/%C3%BC.jpg").unwrap(), "k/ü.jpg");
        assert_eq!(decode_key("dir%2Fx").unwrap(), "dir/x");
    }

    #[test]
    fn rejects_bad_keys() {
        assert_eq!(decode_key(""), Err(KeyError::Empty));
        assert_eq!(decode_key("a%0Ab"), Err(KeyError::Control(b'\n')));
        assert_eq!(decode_key("a%00"), Err(KeyError::Control(0)));
        assert_eq!(decode_key("%FF"), Err(KeyError::NotUtf8));
        assert_eq!(decode_key(&"x".repeat(256)), Err(KeyError::TooLong(256)));
        assert!(decode_key(&"x".repeat(255)).is_ok());
    }
}
