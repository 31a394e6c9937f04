//! `[location.thumbnails]`: on-the-fly image thumbnails for one location.
//!
//! ```toml
//! [location.thumbnails]
//! sizes = ["150x150", "300x300"]          # WxH allowed in URLs
//! presets.small = { width = 150, height = 150, fit = "cover", format = "auto" }
//! quality = 80
//! store = true                            # write thumbnails back
//! ```
//!
//! The table is checked as it is read (sizes, quality, the free-size key),
//! so a bad one fails the config load with the line of the location.

use super::units::{Bytes, Secs};
use crate::thumbs::{Fit, FormatChoice, Limits, MAX_SIDE};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A validated `[location.thumbnails]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "ThumbnailConfig")]
pub struct Thumbnails(ThumbnailConfig);

impl std::ops::Deref for Thumbnails {
    type Target = ThumbnailConfig;
    fn deref(&self) -> &ThumbnailConfig {
        &self.0
    }
}

impl TryFrom<ThumbnailConfig> for Thumbnails {
    type Error = String;
    fn try_from(config: ThumbnailConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(Thumbnails(config))
    }
}

/// The fields of `[location.thumbnails]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThumbnailConfig {
    /// Serve thumbnails here. Default true (the table's presence enables them).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Box sizes a URL may ask for, as `"WxH"`. Default none (presets only).
    #[serde(default)]
    pub sizes: Vec<Size>,
    /// Read `<name>_<W>x<H>.<ext>` as a thumbnail of `<name>.<ext>` (the
    /// FastDFS slave-file convention) when no such file exists. Default true.
    #[serde(default = "yes")]
    pub slave_names: bool,
    /// The fit of slave-name thumbnails. Default `"contain"`.
    #[serde(default)]
    pub slave_fit: Fit,
    /// Named parameter sets for `?preset=<name>`.
    #[serde(default)]
    pub presets: BTreeMap<String, Preset>,
    /// Allow any size up to 8192×8192 and `q=` when the URL carries a valid
    /// `sig` (HMAC-SHA256 with `key`). Default false.
    #[serde(default)]
    pub free_sizes: bool,
    /// The HMAC key of signed free-size URLs, at least 16 bytes.
    pub key: Option<String>,
    /// JPEG and WebP quality, 1-100. Default 80.
    #[serde(default = "default_quality")]
    pub quality: u8,
    /// Output formats a URL may ask for (`source`, `webp`, `auto`). Default all three.
    #[serde(default = "default_formats")]
    pub formats: Vec<FormatChoice>,
    /// Allow `enlarge=1` (output larger than the source). Default false.
    #[serde(default)]
    pub enlarge: bool,
    /// Largest source thumbnailed; larger ones get 413. Default 20MiB.
    #[serde(default = "default_max_source_bytes")]
    pub max_source_bytes: Bytes,
    /// Largest source in pixels (width × height); larger, or a decompression
    /// bomb declaring more, get 413. Default 50000000.
    #[serde(default = "default_max_pixels")]
    pub max_pixels: u64,
    /// Longest one thumbnail may take, waiting for a worker included;
    /// then 503. Default 10s.
    #[serde(default = "default_time_budget")]
    pub time_budget: Secs,
    /// Transforms run at once by the gateway's pool. Default 0 = one per CPU.
    #[serde(default)]
    pub workers: usize,
    /// Write generated thumbnails back to the store (FastDFS: the slave
    /// file the URL named; MogileFS: a derived key). Default false.
    #[serde(default)]
    pub store: bool,
    /// MogileFS domain of stored thumbnails. Default: the location's.
    pub store_domain: Option<String>,
    /// MogileFS class of stored thumbnails. Default: the tracker's default.
    pub store_class: Option<String>,
}

/// `presets.<name> = { width = 150, height = 150, fit = "cover" }`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// Box width; 0 = follow the height.
    #[serde(default)]
    pub width: u32,
    /// Box height; 0 = follow the width.
    #[serde(default)]
    pub height: u32,
    /// Default `"contain"`.
    #[serde(default)]
    pub fit: Fit,
    /// Default `"source"`.
    #[serde(default)]
    pub format: FormatChoice,
    /// Default: the table's `quality`.
    pub quality: Option<u8>,
}

/// A `"WxH"` box size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Size {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Size::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "thumbnail size {text:?} is not WxH with sides in 1..={MAX_SIDE}"
            ))
        })
    }
}

impl Size {
    fn parse(text: &str) -> Option<Size> {
        let (w, h) = text.split_once('x')?;
        let side = |s: &str| s.parse::<u32>().ok().filter(|v| (1..=MAX_SIDE).contains(v));
        Some(Size {
            width: side(w)?,
            height: side(h)?,
        })
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl ThumbnailConfig {
    /// The engine's limits.
    pub fn limits(&self) -> Limits {
        Limits {
            max_source_bytes: self.max_source_bytes.0,
            max_pixels: self.max_pixels,
            time_budget: self.time_budget.0,
        }
    }

    /// True when `width`×`height` is in `sizes`.
    pub fn allows_size(&self, width: u32, height: u32) -> bool {
        self.sizes.contains(&Size { width, height })
    }

    fn validate(&self) -> Result<(), String> {
        check_quality("quality", self.quality)?;
        for (name, p) in &self.presets {
            if p.width > MAX_SIDE || p.height > MAX_SIDE || (p.width == 0 && p.height == 0) {
                return Err(format!(
                    "thumbnails.presets.{name}: width and height must be in 0..={MAX_SIDE}, not both 0"
                ));
            }
            if let Some(q) = p.quality {
                check_quality(&format!("presets.{name}.quality"), q)?;
            }
            if !self.formats.contains(&p.format) {
                return Err(format!(
                    "thumbnails.presets.{name}: format {:?} is not in thumbnails.formats",
                    p.format.as_str()
                ));
            }
        }
        if self.free_sizes && !matches!(&self.key, Some(k) if k.len() >= 16) {
            return Err("thumbnails.free_sizes needs a thumbnails.key of at least 16 bytes".into());
        }
        if self.formats.is_empty() {
            return Err("thumbnails.formats is empty".into());
        }
        if self.max_pixels == 0 || self.max_source_bytes.0 == 0 {
            return Err("thumbnails.max_pixels and max_source_bytes must be positive".into());
        }
        if !(Duration::from_millis(1)..=Duration::from_secs(300)).contains(&self.time_budget.0) {
            return Err(format!(
                "thumbnails.time_budget {} is not between 1ms and 5m",
                self.time_budget
            ));
        }
        if self.workers > 1024 {
            return Err(format!(
                "thumbnails.workers {} is more than 1024",
                self.workers
            ));
        }
        Ok(())
    }
}

fn check_quality(key: &str, q: u8) -> Result<(), String> {
    if (1..=100).contains(&q) {
        Ok(())
    } else {
        Err(format!("thumbnails.{key} {q} is not between 1 and 100"))
    }
}

fn yes() -> bool {
    true
}
fn default_quality() -> u8 {
    80
}
fn default_formats() -> Vec<FormatChoice> {
    vec![FormatChoice::Source, FormatChoice::Webp, FormatChoice::Auto]
}
fn default_max_source_bytes() -> Bytes {
    Bytes(20 << 20)
}
fn default_max_pixels() -> u64 {
    50_000_000
}
fn default_time_budget() -> Secs {
    Secs(Duration::from_secs(10))
}
