//! From a parsed request to engine [`Params`]: checks against the location's
//! `[location.thumbnails]`, free-size signatures, `Accept` negotiation, and
//! the names a thumbnail is known by (ETag, stored key).

use super::engine::{Output, Params};
use super::geometry::Fit;
use super::params::{FormatChoice, ParamError, SlaveName, ThumbQuery};
use crate::config::thumbnails::ThumbnailConfig;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::time::SystemTime;

/// Bumped whenever the engine's output for the same input changes, so old
/// ETags and stored thumbnails stop matching.
pub const ENGINE_VERSION: u32 = 1;

/// A thumbnail request the location allows, output format still to negotiate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resolved {
    /// Box width (0 = follow the height).
    pub width: u32,
    /// Box height (0 = follow the width).
    pub height: u32,
    /// Fit mode.
    pub fit: Fit,
    /// Output format choice.
    pub format: FormatChoice,
    /// JPEG/WebP quality.
    pub quality: u8,
    /// Output may be larger than the source.
    pub enlarge: bool,
}

/// The output format for one client, and whether the response must carry
/// `Vary: Accept` (it depends on the request's `Accept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// What to encode.
    pub output: Output,
    /// Add `Vary: Accept`.
    pub vary_accept: bool,
}

/// Decides the output format: `auto` is WebP when `accept` lists
/// `image/webp` with a non-zero q (as imgproxy does: `*/*` alone does not
/// promise WebP support), and always varies on `Accept`.
pub fn negotiate(choice: FormatChoice, accept: Option<&str>) -> Negotiated {
    match choice {
        FormatChoice::Source => Negotiated {
            output: Output::Source,
            vary_accept: false,
        },
        FormatChoice::Webp => Negotiated {
            output: Output::Webp,
            vary_accept: false,
        },
        FormatChoice::Auto => Negotiated {
            output: if accept.is_some_and(accepts_webp) {
                Output::Webp
            } else {
                Output::Source
            },
            vary_accept: true,
        },
    }
}

fn accepts_webp(accept: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if !media.eq_ignore_ascii_case("image/webp") {
            return false;
        }
        let q = parts
            .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .next()
            .and_then(|v| v.parse::<f32>().ok())
            .unwrap_or(1.0);
        q > 0.0
    })
}

impl Resolved {
    /// Engine parameters for one negotiated output.
    pub fn params(&self, output: Output) -> Params {
        Params {
            width: self.width,
            height: self.height,
            fit: self.fit,
            output,
            quality: self.quality,
            enlarge: self.enlarge,
        }
    }

    /// The parameters in a fixed order: what a signature covers.
    pub fn canonical(&self) -> String {
        format!(
            "w={}&h={}&fit={}&format={}&q={}&enlarge={}",
            self.width,
            self.height,
            self.fit.as_str(),
            self.format.as_str(),
            self.quality,
            u8::from(self.enlarge)
        )
    }
}

/// Checks a slave-name request (`<name>_<W>x<H>.<ext>`) against the table:
/// the size must be listed in `sizes`.
pub fn resolve_slave(cfg: &ThumbnailConfig, slave: &SlaveName) -> Result<Resolved, ParamError> {
    if !cfg.enabled || !cfg.slave_names {
        return Err(ParamError::Disabled);
    }
    if !cfg.allows_size(slave.width, slave.height) {
        return Err(not_listed(cfg, slave.width, slave.height));
    }
    Ok(Resolved {
        width: slave.width,
        height: slave.height,
        fit: cfg.slave_fit,
        format: FormatChoice::Source,
        quality: cfg.quality,
        enlarge: false,
    })
}

fn not_listed(cfg: &ThumbnailConfig, w: u32, h: u32) -> ParamError {
    let sizes: Vec<String> = cfg.sizes.iter().map(ToString::to_string).collect();
    ParamError::NotAllowed(format!(
        "thumbnail size {w}x{h} is not offered here (sizes: {})",
        if sizes.is_empty() {
            "none".into()
        } else {
            sizes.join(", ")
        }
    ))
}

/// Checks a query-form request for the object at `path` against the table:
/// a preset, or a listed size, or (with `free_sizes`) any size with a valid
/// `thumb_sig` over `path` and the canonical parameters.
pub fn resolve_query(
    cfg: &ThumbnailConfig,
    path: &str,
    q: &ThumbQuery,
) -> Result<Resolved, ParamError> {
    if !cfg.enabled {
        return Err(ParamError::Disabled);
    }
    let resolved = if let Some(name) = &q.preset {
        from_preset(cfg, name, q)?
    } else {
        from_size(cfg, q)?
    };
    if !cfg.formats.contains(&resolved.format) {
        return Err(ParamError::NotAllowed(format!(
            "thumbnail format {:?} is not offered here",
            resolved.format.as_str()
        )));
    }
    let listed = q.preset.is_some() || cfg.allows_size(resolved.width, resolved.height);
    let unlisted_enlarge = q.enlarge && !cfg.enlarge;
    if q.quality.is_some() || !listed || unlisted_enlarge {
        if cfg.free_sizes {
            verify(cfg, path, &resolved, q.sig.as_deref())?;
        } else if !listed {
            return Err(not_listed(cfg, resolved.width, resolved.height));
        } else if unlisted_enlarge {
            return Err(ParamError::NotAllowed("enlarge is not allowed here".into()));
        } else {
            return Err(ParamError::NotAllowed(
                "q needs free_sizes and a signed URL".into(),
            ));
        }
    }
    Ok(resolved)
}

fn from_preset(cfg: &ThumbnailConfig, name: &str, q: &ThumbQuery) -> Result<Resolved, ParamError> {
    if q.width.is_some() || q.height.is_some() || q.fit.is_some() {
        return Err(ParamError::NotAllowed(
            "preset cannot be combined with w, h or fit".into(),
        ));
    }
    let p = cfg
        .presets
        .get(name)
        .ok_or_else(|| ParamError::NotAllowed(format!("unknown thumbnail preset {name:?}")))?;
    Ok(Resolved {
        width: p.width,
        height: p.height,
        fit: p.fit,
        format: q.format.unwrap_or(p.format),
        quality: q.quality.or(p.quality).unwrap_or(cfg.quality),
        enlarge: q.enlarge,
    })
}

fn from_size(cfg: &ThumbnailConfig, q: &ThumbQuery) -> Result<Resolved, ParamError> {
    if q.width.is_none() && q.height.is_none() {
        return Err(ParamError::NotAllowed(
            "a thumbnail needs w and h, or a preset".into(),
        ));
    }
    Ok(Resolved {
        width: q.width.unwrap_or(0),
        height: q.height.unwrap_or(0),
        fit: q.fit.unwrap_or_default(),
        format: q.format.unwrap_or_default(),
        quality: q.quality.unwrap_or(cfg.quality),
        enlarge: q.enlarge,
    })
}

fn mac(key: &[u8], path: &str, resolved: &Resolved) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(path.as_bytes());
    mac.update(b"?");
    mac.update(resolved.canonical().as_bytes());
    mac
}

/// The `thumb_sig` of a free-size URL: URL-safe base64 (no padding) of
/// HMAC-SHA256(`key`, `path` + `?` + [`Resolved::canonical`]). Decoding is
/// strict, so the signature has one spelling: 43 characters, no padding,
/// the unused low bits of the last one zero.
pub fn sign(key: &[u8], path: &str, resolved: &Resolved) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, path, resolved).finalize().into_bytes())
}

fn verify(
    cfg: &ThumbnailConfig,
    path: &str,
    resolved: &Resolved,
    sig: Option<&str>,
) -> Result<(), ParamError> {
    let key = cfg.key.as_deref().ok_or(ParamError::BadSignature)?;
    let given = sig
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
        .ok_or(ParamError::BadSignature)?;
    mac(key.as_bytes(), path, resolved)
        .verify_slice(&given)
        .map_err(|_| ParamError::BadSignature)
}

/// What identifies the version of a source object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceValidators {
    /// The source's ETag, as served.
    pub etag: Option<String>,
    /// Its modification time.
    pub last_modified: Option<SystemTime>,
    /// Its length.
    pub length: Option<u64>,
}

/// The thumbnail's strong ETag: a digest of the source's validators, the
/// engine parameters (after negotiation) and [`ENGINE_VERSION`]. It changes
/// when the source does, so conditional requests revalidate correctly.
pub fn thumb_etag(source: &SourceValidators, params: &Params) -> String {
    let mut h = Sha256::new();
    h.update(ENGINE_VERSION.to_be_bytes());
    h.update(source.etag.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    let mtime = source
        .last_modified
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    h.update(mtime.to_be_bytes());
    h.update(source.length.unwrap_or(u64::MAX).to_be_bytes());
    h.update(params_key(params).as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"t{hex}\"")
}

/// The parameters as a short, filename-safe string, e.g.
/// `150x150-cover-q80-webp`: part of cache keys and stored names.
pub fn params_key(p: &Params) -> String {
    format!(
        "{}x{}-{}-q{}{}-{}",
        p.width,
        p.height,
        p.fit.as_str(),
        p.quality,
        if p.enlarge { "-e" } else { "" },
        match p.output {
            Output::Source => "src",
            Output::Webp => "webp",
        }
    )
}

/// The MogileFS key a stored thumbnail of version `fid` of `key` gets in
/// the thumbnail domain, e.g. `photos/cat.jpg@42-150x150-cover-q80-webp`.
/// The fid makes a new version of the source a new name, so a thumbnail of
/// the old one is never served for it, whoever replaced the source.
pub fn derived_key(key: &str, fid: &str, params: &Params) -> String {
    format!("{key}@{fid}-{}", params_key(params))
}
