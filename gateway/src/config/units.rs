//! Humane durations and sizes in the config file, in the forms nginx users
//! write them too.
//!
//! ```text
//! durations  "3s", "250ms", "1m 30s", "1m30s", "2h", a bare number of
//!            seconds (30 or "30", as nginx reads "30")
//! sizes      4096 (bytes), "512k", "1024m", "1g" (nginx: binary),
//!            "64KiB", "256MiB", "1GiB", "1TiB" (binary),
//!            "10KB", "10MB", "10GB", "10TB" (decimal)
//! ```
//!
//! A negative or fractional value is refused with a message giving the value
//! and the forms accepted; no Rust type name ever reaches the user.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// A duration read from a string such as `"3s"` or `"1m 30s"`, or a whole
/// number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Secs(pub Duration);

impl Secs {
    /// Parses `"3s"`, `"1m 30s"`, `"250ms"` or `"30"` (seconds).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with('-') {
            return Err(format!("{text:?}: a duration cannot be negative"));
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse()
                .map(|s| Secs(Duration::from_secs(s)))
                .map_err(|_| format!("{text:?} seconds is too long"));
        }
        humantime::parse_duration(text).map(Secs).map_err(|e| {
            format!("{text:?} is not a duration ({e}); write e.g. \"30s\", \"250ms\", \"1m 30s\"")
        })
    }
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SecsVisitor)
    }
}

struct SecsVisitor;

impl Visitor<'_> for SecsVisitor {
    type Value = Secs;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"30s\", \"250ms\" or \"1m 30s\"")
    }

    fn visit_u64<E: de::Error>(self, secs: u64) -> Result<Secs, E> {
        Ok(Secs(Duration::from_secs(secs)))
    }

    fn visit_i64<E: de::Error>(self, secs: i64) -> Result<Secs, E> {
        u64::try_from(secs)
            .map(|s| Secs(Duration::from_secs(s)))
            .map_err(|_| E::custom(format!("{secs}: a duration cannot be negative")))
    }

    fn visit_f64<E: de::Error>(self, secs: f64) -> Result<Secs, E> {
        Err(E::custom(format!(
            "{secs}: write a fraction of a second with a unit, e.g. \"1500ms\""
        )))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Secs, E> {
        Secs::parse(text).map_err(E::custom)
    }
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// A byte count read from an integer or a string such as `"256MiB"` or `"1g"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

/// The accepted units, for messages.
const UNITS: &str = "k, m, g (nginx), KiB, MiB, GiB, TiB, KB, MB, GB, TB";

impl Bytes {
    /// Parses `"<number>[unit]"`: `B`; `k`/`K`/`KiB`, `m`/`M`/`MiB`,
    /// `g`/`G`/`GiB`, `T`/`TiB` (binary, as nginx's `k`, `m`, `g`);
    /// `KB`, `MB`, `GB`, `TB` (decimal).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with('-') {
            return Err(format!("{text:?}: a size cannot be negative"));
        }
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        if digits.is_empty() || unit.starts_with(['.', ',']) {
            return Err(format!(
                "{text:?} is not a size: write a whole number, optionally with a unit ({UNITS}), e.g. \"64MiB\" or \"1g\""
            ));
        }
        let factor: u64 = match unit.trim() {
            "" | "B" | "b" => 1,
            "k" | "K" | "KiB" => 1 << 10,
            "m" | "M" | "MiB" => 1 << 20,
            "g" | "G" | "GiB" => 1 << 30,
            "t" | "T" | "TiB" => 1 << 40,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "TB" => 1_000_000_000_000,
            other => {
                return Err(format!(
                    "{text:?}: unknown size unit {other:?} (use {UNITS})"
                ))
            }
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor))
            .map(Bytes)
            .ok_or_else(|| format!("size {text:?} is too large"))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BytesVisitor)
    }
}

struct BytesVisitor;

impl Visitor<'_> for BytesVisitor {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a size such as 4096, \"512k\", \"1g\" or \"256MiB\"")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Bytes, E> {
        Ok(Bytes(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Bytes, E> {
        u64::try_from(n)
            .map(Bytes)
            .map_err(|_| E::custom(format!("{n}: a size cannot be negative")))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Bytes, E> {
        Err(E::custom(format!(
            "{n}: a size is a whole number of bytes, or a string with a unit such as \"1536k\""
        )))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Bytes, E> {
        Bytes::parse(text).map_err(E::custom)
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 4] = [
            (1 << 40, "TiB"),
            (1 << 30, "GiB"),
            (1 << 20, "MiB"),
            (1 << 10, "KiB"),
        ];
        for (size, unit) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

#[cfg(test)]
mod tests {
    //! - sizes in the gateway's units and nginx's (`512k`, `1024m`, `1g`),
    //!   bare bytes; negative, fractional, unitless-garbage and overflowing
    //!   sizes refused with the value in the message;
    //! - durations as humantime strings, nginx's `1m30s`, bare seconds;
    //!   negative and fractional ones refused.
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        size: Option<Bytes>,
        time: Option<Secs>,
    }

    fn doc(line: &str) -> Result<Doc, String> {
        toml::from_str::<Doc>(line).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn sizes() {
        assert_eq!(Bytes::parse("4096").unwrap(), Bytes(4096));
        assert_eq!(Bytes::parse("256MiB").unwrap(), Bytes(256 << 20));
        assert_eq!(Bytes::parse("10MB").unwrap(), Bytes(10_000_000));
        assert_eq!(Bytes::parse("1G").unwrap(), Bytes(1 << 30));
        assert!(Bytes::parse("ten").is_err());
        assert!(Bytes::parse("10XB").is_err());
        assert!(Bytes::parse("99999999999TiB").is_err());
        assert_eq!(Bytes(256 << 20).to_string(), "256MiB");
    }

    #[test]
    fn nginx_sizes() {
        assert_eq!(Bytes::parse("512k").unwrap(), Bytes(512 << 10));
        assert_eq!(Bytes::parse("1024m").unwrap(), Bytes(1 << 30));
        assert_eq!(Bytes::parse("1g").unwrap(), Bytes(1 << 30));
        assert_eq!(Bytes::parse("64K").unwrap(), Bytes(64 << 10));
        assert_eq!(Bytes::parse("0").unwrap(), Bytes(0));
        assert_eq!(doc("size = \"1024m\"").unwrap().size, Some(Bytes(1 << 30)));
        assert_eq!(doc("size = 1048576").unwrap().size, Some(Bytes(1 << 20)));
    }

    #[test]
    fn bad_sizes_name_the_value() {
        for (line, needle) in [
            ("size = -1", "-1: a size cannot be negative"),
            ("size = \"-5m\"", "\"-5m\": a size cannot be negative"),
            ("size = 1.5", "1.5: a size is a whole number"),
            ("size = \"1.5g\"", "\"1.5g\" is not a size"),
            ("size = \"lots\"", "\"lots\" is not a size"),
            ("size = \"10 parsecs\"", "unknown size unit \"parsecs\""),
            ("size = \"99999999999TiB\"", "too large"),
        ] {
            let e = doc(line).unwrap_err();
            assert!(e.contains(needle), "{line}: {e}");
            assert!(!e.contains("u64") && !e.contains("Bytes"), "{line}: {e}");
        }
        let e = doc("size = true").unwrap_err();
        assert!(e.contains("a size such as 4096"), "{e}");
    }

    #[test]
    fn durations() {
        let secs = |line: &str| doc(line).unwrap().time.unwrap().0;
        assert_eq!(secs("time = \"3s\""), Duration::from_secs(3));
        assert_eq!(secs("time = \"250ms\""), Duration::from_millis(250));
        assert_eq!(secs("time = \"1m 30s\""), Duration::from_secs(90));
        assert_eq!(secs("time = \"1m30s\""), Duration::from_secs(90));
        assert_eq!(secs("time = 30"), Duration::from_secs(30));
        assert_eq!(secs("time = \"30\""), Duration::from_secs(30));
    }

    #[test]
    fn bad_durations_name_the_value() {
        for (line, needle) in [
            ("time = -5", "-5: a duration cannot be negative"),
            ("time = \"-5s\"", "\"-5s\": a duration cannot be negative"),
            (
                "time = 1.5",
                "1.5: write a fraction of a second with a unit",
            ),
            ("time = \"soon\"", "\"soon\" is not a duration"),
        ] {
            let e = doc(line).unwrap_err();
            assert!(e.contains(needle), "{line}: {e}");
            assert!(
                !e.contains("Secs") && !e.contains("invalid type"),
                "{line}: {e}"
            );
        }
        let e = doc("time = [1]").unwrap_err();
        assert!(e.contains("a duration such as"), "{e}");
    }
}
