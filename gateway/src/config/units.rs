//! Humane durations (`"3s"`, `"250ms"`, `"1m"`) and sizes (`"256MiB"`, `"10MB"`,
//! `4096`) in the config file.

use serde::{de, Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// A duration read from a string such as `"3s"` or `"1m 30s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Secs(pub Duration);

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map(Secs)
            .map_err(|e| de::Error::custom(format!("invalid duration {text:?}: {e}")))
    }
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// A byte count read from an integer or a string such as `"256MiB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl Bytes {
    /// Parses `"<number>[unit]"`; units are B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB
    /// (decimal for KB/MB/GB/TB, binary otherwise).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let number: u64 = digits
            .parse()
            .map_err(|_| format!("invalid size {text:?}: expected e.g. \"64MiB\""))?;
        let factor: u64 = match unit.trim() {
            "" | "B" => 1,
            "K" | "KiB" => 1 << 10,
            "M" | "MiB" => 1 << 20,
            "G" | "GiB" => 1 << 30,
            "T" | "TiB" => 1 << 40,
            "KB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "TB" => 1_000_000_000_000,
            other => return Err(format!("invalid size unit {other:?} in {text:?}")),
        };
        number
            .checked_mul(factor)
            .map(Bytes)
            .ok_or_else(|| format!("size {text:?} is too large"))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(Bytes(n)),
            Raw::Text(t) => Bytes::parse(&t).map_err(de::Error::custom),
        }
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
    use super::*;

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
}
