//! `object_cache = { size = "64MiB", max_object = "1MiB" }` in an
//! `[[upstream]]`: the hot-object cache of that cluster.
//!
//! One cache per upstream, because the identities it is keyed by (MogileFS
//! fids, FastDFS file IDs) are unique within a cluster, and every location on
//! that cluster shares them. `size = "0"` (or `max_object = "0"`) turns it off.

use super::units::Bytes;
use serde::Deserialize;

/// Largest `max_object`: the cache weighs entries in `u32` bytes, and an
/// object is held in memory whole.
pub const MAX_OBJECT: u64 = 1 << 30;

/// Largest `size`: a sanity bound, far above any machine's memory.
pub const MAX_SIZE: u64 = 1 << 40;

/// The object cache of one upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Raw")]
pub struct ObjectCacheConfig {
    /// Bytes the cache may hold, objects and their entries' overhead
    /// together. Default 64MiB; `"0"` turns the cache off.
    pub size: Bytes,
    /// Largest object cached; larger ones are streamed as if there were no
    /// cache. Default 1MiB; never more than `size`.
    pub max_object: Bytes,
}

impl ObjectCacheConfig {
    /// Whether anything is ever cached.
    pub fn enabled(&self) -> bool {
        self.size.0 > 0 && self.max_object.0 > 0
    }

    /// The largest object cached: `max_object`, but never more than `size`.
    pub fn object_limit(&self) -> u64 {
        self.max_object.0.min(self.size.0)
    }
}

impl Default for ObjectCacheConfig {
    fn default() -> Self {
        ObjectCacheConfig {
            size: Bytes(64 << 20),
            max_object: Bytes(1 << 20),
        }
    }
}

/// The table as written, before its ranges are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    size: Option<Bytes>,
    max_object: Option<Bytes>,
}

impl TryFrom<Raw> for ObjectCacheConfig {
    type Error = String;

    fn try_from(raw: Raw) -> Result<Self, String> {
        let default = ObjectCacheConfig::default();
        let size = raw.size.unwrap_or(default.size);
        let max_object = raw.max_object.unwrap_or(default.max_object);
        if size.0 > MAX_SIZE {
            return Err(format!(
                "object_cache.size {size} is out of range: allowed 0 to {}",
                Bytes(MAX_SIZE)
            ));
        }
        if max_object.0 > MAX_OBJECT {
            return Err(format!(
                "object_cache.max_object {max_object} is out of range: allowed 0 to {}",
                Bytes(MAX_OBJECT)
            ));
        }
        Ok(ObjectCacheConfig { size, max_object })
    }
}

#[cfg(test)]
mod tests {
    //! Defaults, "0" turning the cache off, the limits, unknown keys.
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(default)]
        object_cache: ObjectCacheConfig,
    }

    fn parse(text: &str) -> Result<ObjectCacheConfig, String> {
        toml::from_str::<Holder>(text)
            .map(|h| h.object_cache)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_64mib_and_1mib() {
        let c = parse("").unwrap();
        assert_eq!((c.size, c.max_object), (Bytes(64 << 20), Bytes(1 << 20)));
        assert!(c.enabled());
        let c = parse("object_cache = { max_object = \"256KiB\" }").unwrap();
        assert_eq!((c.size, c.max_object), (Bytes(64 << 20), Bytes(256 << 10)));
    }

    #[test]
    fn zero_turns_it_off() {
        assert!(!parse("object_cache = { size = \"0\" }").unwrap().enabled());
        assert!(!parse("object_cache = { max_object = 0 }")
            .unwrap()
            .enabled());
    }

    #[test]
    fn max_object_never_exceeds_size() {
        let c = parse("object_cache = { size = \"512KiB\" }").unwrap();
        assert_eq!(c.object_limit(), 512 << 10);
    }

    #[test]
    fn out_of_range_and_unknown_keys_are_named() {
        let e = parse("object_cache = { max_object = \"2GiB\" }").unwrap_err();
        assert!(
            e.contains("object_cache.max_object 2GiB is out of range"),
            "{e}"
        );
        let e = parse("object_cache = { size = \"2TiB\" }").unwrap_err();
        assert!(e.contains("object_cache.size 2TiB is out of range"), "{e}");
        let e = parse("object_cache = { sise = \"1MiB\" }").unwrap_err();
        assert!(e.contains("sise"), "{e}");
    }
}
