//! Thumbnail requests as URLs carry them, before any check against the
//! configuration: the FastDFS slave-name form and the query form.
//!
//! ```text
//! /group1/M00/00/00/<name>_150x150.jpg     slave name: master <name>.jpg, box 150×150
//! /photos/cat.jpg?w=150&h=150&fit=cover&format=webp
//! /photos/cat.jpg?preset=small
//! /photos/cat.jpg?w=640&h=480&thumb_sig=...   a free size, signed
//! ```
//!
//! The query form has its own parameter names; the access layer's signed
//! URLs (`expires`, `max_size`, `sig`) are another namespace, so the two can
//! share one URL. The thumbnail signature is `thumb_sig`. URLs made before
//! it had that name spell it `sig`, which is read as the thumbnail's only
//! when the query carries no `expires` (every access signature carries
//! one), and `sig` alone never makes a request a thumbnail request.

use super::geometry::Fit;
use axum::http::StatusCode;
use serde::Deserialize;

/// Largest width or height any request may name.
pub const MAX_SIDE: u32 = 8192;

/// Output format as a request names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatChoice {
    /// The source's format.
    #[default]
    Source,
    /// Always WebP.
    Webp,
    /// WebP when the client's `Accept` allows it, else the source's format.
    Auto,
}

impl FormatChoice {
    /// The query-string spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FormatChoice::Source => "source",
            FormatChoice::Webp => "webp",
            FormatChoice::Auto => "auto",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "source" => Some(FormatChoice::Source),
            "webp" => Some(FormatChoice::Webp),
            "auto" => Some(FormatChoice::Auto),
            _ => None,
        }
    }
}

/// A thumbnail request that the configuration refuses or that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A parameter with a bad value, or given twice.
    #[error("thumbnail parameter {name:?}: {message}")]
    Invalid {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A size, preset or format the location does not offer.
    #[error("{0}")]
    NotAllowed(String),
    /// A free size whose signature is missing or wrong.
    #[error("thumbnail signature missing or invalid")]
    BadSignature,
    /// Thumbnails are not enabled here.
    #[error("thumbnails are not enabled for this location")]
    Disabled,
}

impl ParamError {
    /// 403 for a bad signature, 400 for the rest.
    pub fn status(&self) -> StatusCode {
        match self {
            ParamError::BadSignature => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// A FastDFS slave name that follows the `_<W>x<H>` thumbnail convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaveName {
    /// The master's path: the same path without the `_<W>x<H>`.
    pub master: String,
    /// The slave prefix, e.g. `_150x150`.
    pub prefix: String,
    /// Box width.
    pub width: u32,
    /// Box height.
    pub height: u32,
}

/// Splits `path` (a key or file ID; only its last segment is looked at) into
/// master and size when its file name ends in `_<W>x<H>` before the
/// extension. Other underscores (`my_photo.jpg`, `a_b_150x150.jpg` → master
/// `a_b.jpg`) are left alone; sizes are 1..=[`MAX_SIDE`] without leading zeros.
pub fn parse_slave_name(path: &str) -> Option<SlaveName> {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    let name = &path[name_start..];
    let stem_len = name.rfind('.').unwrap_or(name.len());
    let stem = &name[..stem_len];
    let underscore = stem.rfind('_')?;
    let (w, h) = stem[underscore + 1..].split_once('x')?;
    let (width, height) = (side(w)?, side(h)?);
    if underscore == 0 {
        return None;
    }
    let cut = name_start + underscore;
    let master = format!("{}{}", &path[..cut], &path[name_start + stem_len..]);
    Some(SlaveName {
        master,
        prefix: stem[underscore..].to_string(),
        width,
        height,
    })
}

/// A side length: decimal digits, no sign, no leading zero, 1..=MAX_SIDE.
fn side(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 4 || text.starts_with('0') {
        return None;
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&v| (1..=MAX_SIDE).contains(&v))
}

/// The thumbnail parameters of a query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThumbQuery {
    /// `w`
    pub width: Option<u32>,
    /// `h`
    pub height: Option<u32>,
    /// `fit`
    pub fit: Option<Fit>,
    /// `format`
    pub format: Option<FormatChoice>,
    /// `preset`
    pub preset: Option<String>,
    /// `q`, 1-100
    pub quality: Option<u8>,
    /// `enlarge=1`
    pub enlarge: bool,
    /// `thumb_sig` (or, in older URLs, `sig`), for free sizes
    pub sig: Option<String>,
}

/// Reads the thumbnail keys (`w h fit format preset q enlarge thumb_sig`)
/// of a raw query string; `None` when it has none but the signature, so the
/// request is a plain read. Other keys (tokens, access signatures) are
/// ignored, except a `sig` taken as the thumbnail signature of an older URL
/// (see the module documentation).
pub fn parse_query(query: &str) -> Result<Option<ThumbQuery>, ParamError> {
    let mut q = ThumbQuery::default();
    let mut any = false;
    let mut seen = Vec::new();
    let (mut legacy_sig, mut sig_count, mut access_signed) = (None, 0, false);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name: &'static str = match key {
            "w" => "w",
            "h" => "h",
            "fit" => "fit",
            "format" => "format",
            "preset" => "preset",
            "q" => "q",
            "enlarge" => "enlarge",
            "thumb_sig" => "thumb_sig",
            "sig" => {
                (legacy_sig, sig_count) = (Some(value), sig_count + 1);
                continue;
            }
            "expires" => {
                access_signed = true;
                continue;
            }
            _ => continue,
        };
        if seen.contains(&name) {
            return Err(invalid(name, "given more than once"));
        }
        seen.push(name);
        // A signature alone asks for no thumbnail.
        any |= name != "thumb_sig";
        set(&mut q, name, value)?;
    }
    if !any {
        return Ok(None);
    }
    if q.sig.is_none() && !access_signed {
        if sig_count > 1 {
            return Err(invalid("sig", "given more than once"));
        }
        q.sig = legacy_sig.map(str::to_owned);
    }
    Ok(Some(q))
}

fn invalid(name: &'static str, message: impl Into<String>) -> ParamError {
    ParamError::Invalid {
        name,
        message: message.into(),
    }
}

fn set(q: &mut ThumbQuery, name: &'static str, value: &str) -> Result<(), ParamError> {
    match name {
        "w" | "h" => {
            let v = side(value).ok_or_else(|| {
                invalid(name, format!("{value:?} is not a size in 1..={MAX_SIDE}"))
            })?;
            *(if name == "w" {
                &mut q.width
            } else {
                &mut q.height
            }) = Some(v);
        }
        "fit" => {
            q.fit =
                Some(Fit::parse(value).ok_or_else(|| {
                    invalid(name, format!("{value:?} is not contain, cover or fill"))
                })?)
        }
        "format" => {
            q.format =
                Some(FormatChoice::parse(value).ok_or_else(|| {
                    invalid(name, format!("{value:?} is not source, webp or auto"))
                })?)
        }
        "preset" => {
            if value.is_empty() || value.len() > 64 {
                return Err(invalid(name, "empty or longer than 64 bytes"));
            }
            q.preset = Some(value.to_string());
        }
        "q" => {
            q.quality = Some(
                value
                    .parse()
                    .ok()
                    .filter(|v| (1..=100).contains(v))
                    .ok_or_else(|| invalid(name, format!("{value:?} is not in 1..=100")))?,
            )
        }
        "enlarge" => {
            q.enlarge = match value {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => return Err(invalid(name, format!("{value:?} is not 0 or 1"))),
            }
        }
        _ => q.sig = Some(value.to_string()),
    }
    Ok(())
}
