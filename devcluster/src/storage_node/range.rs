//! The `Range` header as mogstored (Perlbal) answers it.
//!
//! ```text
//! bytes=6-13    -> 206, bytes 6-13/len
//! bytes=20-     -> 206, bytes 20-(len-1)/len
//! bytes=-7      -> 206, the last 7 bytes (Perlbal: bytes 0-7, see below)
//! bytes=100-200 -> 416, Content-Range: bytes */len   (start beyond the end)
//! bytes=0-1,4-5 -> 200, the whole file               (multi-range ignored)
//! garbage       -> 200, the whole file
//! ```
//!
//! Perlbal serves a suffix range `bytes=-N` as `bytes 0-N`; [`resolve`] can
//! reproduce that so a gateway's handling of it can be tested.

/// What to send for a request's `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// The whole file, 200.
    Full,
    /// Bytes `start..=end`, 206.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// 416.
    Unsatisfiable,
}

/// Resolves `header` against a file of `len` bytes; `suffix_bug` serves
/// `bytes=-N` as `bytes=0-N`, as Perlbal does.
pub fn resolve(header: Option<&str>, len: u64, suffix_bug: bool) -> RangeAnswer {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAnswer::Full;
    };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    match (number(first), number(last)) {
        (Some(start), end) => span(start, end, len),
        (None, Some(n)) if first.trim().is_empty() && suffix_bug => span(0, Some(n), len),
        (None, Some(n)) if first.trim().is_empty() => suffix(n, len),
        _ => RangeAnswer::Full,
    }
}

fn number(s: &str) -> Option<u64> {
    let s = s.trim();
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn span(start: u64, end: Option<u64>, len: u64) -> RangeAnswer {
    if start >= len {
        return RangeAnswer::Unsatisfiable;
    }
    let end = end.unwrap_or(u64::MAX).min(len - 1);
    if end < start {
        // `bytes=5-3` is syntactically invalid: ignored, like any bad header.
        return RangeAnswer::Full;
    }
    RangeAnswer::Partial { start, end }
}

fn suffix(n: u64, len: u64) -> RangeAnswer {
    if n == 0 || len == 0 {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Partial {
        start: len.saturating_sub(n),
        end: len - 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeAnswer::*;

    const LEN: u64 = 27; // "hello mogilefs test vector\n", vectors/tracker/08

    #[test]
    fn single_ranges_like_the_capture() {
        assert_eq!(
            resolve(Some("bytes=6-13"), LEN, false),
            Partial { start: 6, end: 13 }
        );
        assert_eq!(
            resolve(Some("bytes=20-"), LEN, false),
            Partial { start: 20, end: 26 }
        );
        assert_eq!(resolve(Some("bytes=100-200"), LEN, false), Unsatisfiable);
        assert_eq!(resolve(Some("bytes=0-1,4-5"), LEN, false), Full);
        assert_eq!(
            resolve(Some("bytes=20-1000"), LEN, false),
            Partial { start: 20, end: 26 }
        );
    }

    #[test]
    fn suffix_ranges_correct_or_perlbal() {
        assert_eq!(
            resolve(Some("bytes=-7"), LEN, false),
            Partial { start: 20, end: 26 }
        );
        assert_eq!(
            resolve(Some("bytes=-7"), LEN, true),
            Partial { start: 0, end: 7 }
        );
        assert_eq!(
            resolve(Some("bytes=-100"), LEN, false),
            Partial { start: 0, end: 26 }
        );
        assert_eq!(resolve(Some("bytes=-0"), LEN, false), Unsatisfiable);
    }

    #[test]
    fn garbage_means_whole_file() {
        for h in [
            "",
            "bytes=",
            "bytes=a-b",
            "items=0-1",
            "bytes=5-3",
            "bytes=-",
        ] {
            assert_eq!(resolve(Some(h), LEN, false), Full, "{h}");
        }
        assert_eq!(resolve(None, LEN, false), Full);
    }

    #[test]
    fn empty_file_has_no_satisfiable_range() {
        assert_eq!(resolve(Some("bytes=0-"), 0, false), Unsatisfiable);
        assert_eq!(resolve(Some("bytes=-5"), 0, false), Unsatisfiable);
    }
}
