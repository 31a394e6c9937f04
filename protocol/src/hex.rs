//! Lower-case hexadecimal, the one spelling of the digests that travel in
//! URLs: FastDFS anti-steal tokens and the gateway's signed URLs.
//!
//! [`decode`] accepts exactly `2 * N` characters of `[0-9a-f]`: no sign, no
//! upper case, no whitespace, no prefix. Parsing pairs with
//! `u8::from_str_radix` would also take `+a` for `0a` and `A` for `a`, so one
//! signature would have several spellings, which caches, logs and replay
//! checks keyed on the URL would each see as a different request.

/// `bytes` as lower-case hex, two characters per byte.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The `N` bytes spelled by `text`, when it is exactly `2 * N` characters
/// of `[0-9a-f]`; `None` for any other text.
pub fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let text = encode(&all);
        assert_eq!(&text[..8], "00010203");
        assert_eq!(&text[text.len() - 4..], "feff");
        let back: [u8; 256] = decode(&text).expect("own spelling");
        assert_eq!(back.to_vec(), all);
    }

    #[test]
    fn only_the_lower_case_spelling_of_the_right_length() {
        assert_eq!(decode::<2>("0aff"), Some([0x0a, 0xff]));
        for other in [
            "+aff", // from_str_radix reads "+a" as 0x0a
            "0aFF", "0AfF", " aff", "0af ", "0a-f", "0x0a", "0aff00", "0af", "", "0aç",
        ] {
            assert_eq!(decode::<2>(other), None, "{other:?}");
        }
        // Non-ASCII whose UTF-8 bytes sit at pair boundaries.
        assert_eq!(decode::<2>("é0a"), None);
        assert_eq!(decode::<0>(""), Some([]));
    }
}
