//! `Content-Type` by file extension: the `[mime]` table of the config first,
//! then the types nginx's stock `mime.types` gives the common web formats,
//! then `mime_guess`'s larger table, then `application/octet-stream`
//! (nginx's `default_type` in its stock `nginx.conf`).
//!
//! ```text
//! [mime]
//! ts = "video/mp2t"
//! log = "text/plain; charset=utf-8"
//! ```
//!
//! nginx's own table is the default because the gateway replaces nginx in
//! front of these clusters: an HLS player that got `video/mp2t` segments and
//! an `application/vnd.apple.mpegurl` playlist from nginx gets the same here
//! (`mime_guess` says `video/vnd.dlna.mpeg-tts` and `audio/x-mpegurl`).
//! Extensions match case-insensitively, as in nginx.

use axum::http::HeaderValue;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

/// Where nginx's stock `mime.types` disagrees with `mime_guess`, lacks in
/// it, or matters enough to web and video delivery to pin down, by
/// extension (lowercase). From nginx's `conf/mime.types`; `mjs` and `js`
/// as RFC 9239, `m4s` as registered with IANA for DASH segments.
const NGINX: &[(&str, &str)] = &[
    ("3gp", "video/3gpp"),
    ("3gpp", "video/3gpp"),
    ("avif", "image/avif"),
    ("bmp", "image/x-ms-bmp"),
    ("css", "text/css"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("flv", "video/x-flv"),
    ("gif", "image/gif"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/x-icon"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("m4a", "audio/x-m4a"),
    ("m4s", "video/iso.segment"),
    ("m4v", "video/x-m4v"),
    ("mid", "audio/midi"),
    ("midi", "audio/midi"),
    ("mjs", "text/javascript"),
    ("mov", "video/quicktime"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("mpd", "application/dash+xml"),
    ("mpeg", "video/mpeg"),
    ("mpg", "video/mpeg"),
    ("ogg", "audio/ogg"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("svg", "image/svg+xml"),
    ("svgz", "image/svg+xml"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("ts", "video/mp2t"),
    ("txt", "text/plain"),
    ("wasm", "application/wasm"),
    ("webm", "video/webm"),
    ("webp", "image/webp"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("xml", "text/xml"),
    ("zip", "application/zip"),
];

/// The type of names without a known extension.
const DEFAULT: &str = "application/octet-stream";

/// Extension → `Content-Type`, built once from the config's `[mime]` table;
/// cheap to clone.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(try_from = "BTreeMap<String, String>")]
pub struct MimeTypes {
    /// nginx's types with `[mime]` on top, by lowercase extension: one
    /// look-up per response.
    known: Arc<Table>,
}

type Table = HashMap<String, HeaderValue, foldhash::fast::RandomState>;

/// nginx's types, then `overrides` over them.
fn table(overrides: impl IntoIterator<Item = (String, HeaderValue)>) -> Arc<Table> {
    let nginx = NGINX
        .iter()
        .map(|&(ext, t)| (ext.to_owned(), HeaderValue::from_static(t)));
    let mut known: Table = nginx.collect();
    known.extend(overrides);
    Arc::new(known)
}

impl Default for MimeTypes {
    fn default() -> Self {
        MimeTypes { known: table([]) }
    }
}

impl MimeTypes {
    /// The defaults with `overrides` (`"ts" = "video/mp2t"`) on top. An
    /// extension may be written with or without its leading dot. Errors name
    /// the entry.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut map = Vec::new();
        for (ext, value) in overrides {
            let key = extension_key(ext)?;
            let value = media_type(value).map_err(|e| format!("{ext:?} = {value:?}: {e}"))?;
            map.push((key, value));
        }
        Ok(MimeTypes { known: table(map) })
    }

    /// The `Content-Type` for a file or key named `name`, by its extension.
    pub fn content_type(&self, name: impl AsRef<Path>) -> HeaderValue {
        let Some(ext) = name.as_ref().extension().and_then(|e| e.to_str()) else {
            return HeaderValue::from_static(DEFAULT);
        };
        let ext = if ext.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(ext.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(ext)
        };
        if let Some(value) = self.known.get(ext.as_ref()) {
            return value.clone();
        }
        HeaderValue::from_static(guessed(&ext))
    }
}

/// `mime_guess`'s type for `ext` (lowercase), or the default. Its table is
/// searched with case folding on every call (1.4 % of a 4 KiB GET's
/// user-space time in `bench/`, for `.bin`), so each thread keeps what it
/// found for the extensions it saw last.
fn guessed(ext: &str) -> &'static str {
    /// Extensions a thread remembers before it starts over (they come
    /// from URLs: anyone can make up new ones).
    const REMEMBERED: usize = 256;
    thread_local! {
        static GUESSED: std::cell::RefCell<HashMap<String, &'static str, foldhash::fast::RandomState>> =
            std::cell::RefCell::default();
    }
    GUESSED.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some(&t) = memo.get(ext) {
            return t;
        }
        let t = mime_guess::from_ext(ext).first_raw().unwrap_or(DEFAULT);
        if memo.len() >= REMEMBERED {
            memo.clear();
        }
        memo.insert(ext.to_owned(), t);
        t
    })
}

impl TryFrom<BTreeMap<String, String>> for MimeTypes {
    type Error = String;
    fn try_from(overrides: BTreeMap<String, String>) -> Result<Self, String> {
        MimeTypes::with_overrides(&overrides)
    }
}

/// `ext` (`"ts"` or `".ts"`) as the lowercase key it is looked up by.
fn extension_key(ext: &str) -> Result<String, String> {
    let bare = ext.strip_prefix('.').unwrap_or(ext);
    let valid = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_+~".contains(c));
    if !valid {
        return Err(format!(
            "{ext:?} is not a file extension (letters, digits, - _ + ~; e.g. \"ts\")"
        ));
    }
    Ok(bare.to_ascii_lowercase())
}

/// `value` checked as a media type (`type/subtype`, parameters allowed).
fn media_type(value: &str) -> Result<HeaderValue, String> {
    let parsed: mime_guess::Mime = value
        .trim()
        .parse()
        .map_err(|_| "not a media type such as \"video/mp2t\"".to_owned())?;
    HeaderValue::from_str(parsed.as_ref()).map_err(|_| "not a valid header value".to_owned())
}

#[cfg(test)]
mod tests {
    //! - nginx's types for the web formats where mime_guess differs
    //!   (`.ts`, `.m3u8`, `.woff`) and for `.webp`, `.avif`; mime_guess for
    //!   the rest; octet-stream without an extension;
    //! - case-insensitive extensions; `[mime]` overrides win, with or
    //!   without a dot; bad extensions and types are refused, naming them;
    //! - mime_guess's answers, remembered per thread, stay right however many
    //!   extensions are asked.
    use super::*;

    fn overrides(pairs: &[(&str, &str)]) -> Result<MimeTypes, String> {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        MimeTypes::with_overrides(&map)
    }

    #[test]
    fn nginx_defaults_for_web_and_video_types() {
        let types = MimeTypes::default();
        for (name, expected) in [
            ("seg-001.ts", "video/mp2t"),
            ("live/index.m3u8", "application/vnd.apple.mpegurl"),
            ("a.webp", "image/webp"),
            ("a.avif", "image/avif"),
            ("font.woff", "font/woff"),
            ("font.woff2", "font/woff2"),
            ("x.JPG", "image/jpeg"),
            ("app.js", "text/javascript"),
            ("clip.mp4", "video/mp4"),
            ("doc.rtf", "application/rtf"),
            ("README", "application/octet-stream"),
            (
                "group1/M00/00/00/wKgBAF.unknownext",
                "application/octet-stream",
            ),
        ] {
            assert_eq!(types.content_type(name), expected, "{name}");
        }
    }

    #[test]
    fn guesses_stay_right_past_what_a_thread_remembers() {
        let types = MimeTypes::default();
        for i in 0..600 {
            let made_up = format!("f.x{i}q");
            assert_eq!(types.content_type(&made_up), DEFAULT, "{made_up}");
            // mime_guess's types, asked for again among the made-up ones.
            assert_eq!(types.content_type("doc.RTF"), "application/rtf");
            assert_eq!(types.content_type("a.tar"), "application/x-tar");
        }
    }

    #[test]
    fn the_nginx_table_is_sorted_lowercase_and_valid() {
        for pair in NGINX.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{pair:?}");
        }
        for (ext, t) in NGINX {
            assert_eq!(extension_key(ext).unwrap(), *ext);
            assert!(media_type(t).is_ok(), "{t}");
        }
    }

    #[test]
    fn overrides_win() {
        let types = overrides(&[
            ("ts", "application/octet-stream"),
            (".LOG", "text/plain; charset=utf-8"),
            ("jpg", "image/pjpeg"),
        ])
        .unwrap();
        assert_eq!(types.content_type("a.ts"), "application/octet-stream");
        assert_eq!(types.content_type("x/y.log"), "text/plain; charset=utf-8");
        assert_eq!(types.content_type("p.JPG"), "image/pjpeg");
        assert_eq!(types.content_type("p.png"), "image/png");
    }

    #[test]
    fn bad_entries_are_named() {
        let e = overrides(&[("ts", "video mp2t")]).unwrap_err();
        assert!(e.contains("\"ts\" = \"video mp2t\""), "{e}");
        let e = overrides(&[("a/b", "text/plain")]).unwrap_err();
        assert!(e.contains("\"a/b\" is not a file extension"), "{e}");
        assert!(overrides(&[("", "text/plain")]).is_err());
        assert!(overrides(&[("x", "text/plain\nInjected: 1")]).is_err());
    }
}
