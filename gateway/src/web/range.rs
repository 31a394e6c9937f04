//! The `Range` request header.
//!
//! Only single byte ranges are honoured; anything else (several ranges, other
//! units, bad syntax) is ignored and the whole representation is served, as
//! RFC 9110 §14.2 allows.

/// One requested byte range, before the size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=first-` or `bytes=first-last`.
    From {
        /// First byte.
        first: u64,
        /// Last byte, inclusive.
        last: Option<u64>,
    },
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

/// A range resolved against a size: `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub first: u64,
    /// Last byte, inclusive.
    pub last: u64,
}

impl ByteRange {
    /// Number of bytes.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never true: a range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `Content-Range` value for a representation of `total` bytes.
    pub fn content_range(&self, total: u64) -> String {
        format!("bytes {}-{}/{total}", self.first, self.last)
    }

    /// `Range` request value asking for exactly this range.
    pub fn header_value(&self) -> String {
        format!("bytes={}-{}", self.first, self.last)
    }
}

impl RangeSpec {
    /// Parses a `Range` header value; `None` means "ignore it".
    pub fn parse(value: &str) -> Option<Self> {
        let spec = value.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (first, last) = spec.split_once('-')?;
        let (first, last) = (first.trim(), last.trim());
        let number = |s: &str| -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        if first.is_empty() {
            return number(last).map(RangeSpec::Suffix);
        }
        let first = number(first)?;
        let last = if last.is_empty() {
            None
        } else {
            Some(number(last)?)
        };
        if last.is_some_and(|l| l < first) {
            return None;
        }
        Some(RangeSpec::From { first, last })
    }

    /// The bytes this asks for in a representation of `total` bytes, or `None`
    /// when it is unsatisfiable (answer 416).
    pub fn resolve(&self, total: u64) -> Option<ByteRange> {
        match *self {
            RangeSpec::From { first, .. } if first >= total => None,
            RangeSpec::From { first, last } => Some(ByteRange {
                first,
                last: last.map_or(total - 1, |l| l.min(total - 1)),
            }),
            RangeSpec::Suffix(0) => None,
            RangeSpec::Suffix(_) if total == 0 => None,
            RangeSpec::Suffix(n) => Some(ByteRange {
                first: total.saturating_sub(n),
                last: total - 1,
            }),
        }
    }

    /// The `Range` header value to forward.
    pub fn header_value(&self) -> String {
        match self {
            RangeSpec::From {
                first,
                last: Some(last),
            } => format!("bytes={first}-{last}"),
            RangeSpec::From { first, last: None } => format!("bytes={first}-"),
            RangeSpec::Suffix(n) => format!("bytes=-{n}"),
        }
    }
}

/// Parses a `Content-Range` response value: `Ok((first, last, total))` for
/// `bytes a-b/total`, `Err(Some(total))` for `bytes */total`.
pub fn parse_content_range(value: &str) -> Result<(u64, u64, u64), Option<u64>> {
    let rest = value.trim().strip_prefix("bytes ").ok_or(None)?;
    let (range, total) = rest.split_once('/').ok_or(None)?;
    let total: Option<u64> = total.trim().parse().ok();
    if range.trim() == "*" {
        return Err(total);
    }
    let (a, b) = range.split_once('-').ok_or(None)?;
    match (a.trim().parse(), b.trim().parse(), total) {
        (Ok(a), Ok(b), Some(t)) if a <= b && b < t => Ok((a, b, t)),
        _ => Err(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(first: u64, last: u64) -> Option<ByteRange> {
        Some(ByteRange { first, last })
    }

    #[test]
    fn parses_single_ranges() {
        assert_eq!(
            RangeSpec::parse("bytes=0-0"),
            Some(RangeSpec::From {
                first: 0,
                last: Some(0)
            })
        );
        assert_eq!(
            RangeSpec::parse("bytes=10-"),
            Some(RangeSpec::From {
                first: 10,
                last: None
            })
        );
        assert_eq!(RangeSpec::parse("bytes=-7"), Some(RangeSpec::Suffix(7)));
        for ignored in [
            "bytes=0-1,4-5",
            "items=0-1",
            "bytes=5-1",
            "bytes=a-",
            "bytes=-",
            "0-1",
            "bytes=+1-2",
        ] {
            assert_eq!(RangeSpec::parse(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn resolves_against_the_size() {
        let p = |s| RangeSpec::parse(s).unwrap();
        assert_eq!(p("bytes=0-0").resolve(27), r(0, 0));
        assert_eq!(p("bytes=6-13").resolve(27), r(6, 13));
        assert_eq!(p("bytes=20-").resolve(27), r(20, 26));
        assert_eq!(p("bytes=20-1000").resolve(27), r(20, 26));
        // The suffix form Perlbal gets wrong: the last 7 bytes, not the first 8.
        assert_eq!(p("bytes=-7").resolve(27), r(20, 26));
        assert_eq!(p("bytes=-100").resolve(27), r(0, 26));
        assert_eq!(p("bytes=100-200").resolve(27), None);
        assert_eq!(p("bytes=27-").resolve(27), None);
        assert_eq!(p("bytes=-0").resolve(27), None);
        assert_eq!(p("bytes=0-").resolve(0), None);
        assert_eq!(p("bytes=-5").resolve(0), None);
    }

    #[test]
    fn content_range_round_trip() {
        let b = ByteRange { first: 6, last: 13 };
        assert_eq!(b.len(), 8);
        assert_eq!(parse_content_range(&b.content_range(27)), Ok((6, 13, 27)));
        assert_eq!(parse_content_range("bytes */27"), Err(Some(27)));
        assert_eq!(parse_content_range("bytes 5-1/27"), Err(None));
        assert_eq!(parse_content_range("bytes 0-30/27"), Err(None));
    }
}
