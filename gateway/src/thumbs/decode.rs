//! Sniffing and decoding a source image within the limits.
//!
//! JPEGs go through libjpeg-turbo (the `mozjpeg` crate's build of it),
//! which can run its inverse DCT at 1/2, 1/4 or 1/8 size: a 1600×1200 photo
//! wanted at 150×150 is decoded straight to 200×150, about a sixtieth of the
//! pixel work (libvips and imgproxy call this shrink-on-load), and its
//! entropy decoding is about three times as fast as `jpeg-decoder`'s.
//! PNG, WebP and GIF (first frame) go through `image`.
//! In both paths the header's dimensions are checked against `max_pixels`
//! before any pixel buffer is allocated.

use super::error::ThumbError;
use super::Limits;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use std::io::Cursor;

/// A format the engine reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// WebP.
    Webp,
    /// GIF (only the first frame is read; one frame is written).
    Gif,
}

impl Kind {
    /// Recognises the format from the first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Kind> {
        match image::guess_format(bytes).ok()? {
            ImageFormat::Jpeg => Some(Kind::Jpeg),
            ImageFormat::Png => Some(Kind::Png),
            ImageFormat::WebP => Some(Kind::Webp),
            ImageFormat::Gif => Some(Kind::Gif),
            _ => None,
        }
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
            Kind::Gif => "image/gif",
        }
    }

    /// A short name, for messages and keys.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
            Kind::Webp => "webp",
            Kind::Gif => "gif",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::Webp => ImageFormat::WebP,
            Kind::Gif => ImageFormat::Gif,
        }
    }
}

/// A decoded source, possibly already shrunk, with its EXIF orientation
/// still to apply.
pub struct Decoded {
    /// The pixels as stored (not yet oriented).
    pub image: DynamicImage,
    /// Full stored width, before any shrink-on-load.
    pub full_width: u32,
    /// Full stored height, before any shrink-on-load.
    pub full_height: u32,
    /// The EXIF orientation.
    pub orientation: Orientation,
}

/// Decodes `bytes` of format `kind`. For JPEG, `want` (stored-space
/// width and height of the part of the image that will be kept, at output
/// scale) lets the decoder shrink on load: the result is never smaller
/// than `want` asks, so no detail the output needs is lost.
pub fn decode(
    bytes: &[u8],
    kind: Kind,
    limits: &Limits,
    want: impl Fn(u32, u32, Orientation) -> (u32, u32),
) -> Result<Decoded, ThumbError> {
    if kind == Kind::Jpeg {
        if let Some(decoded) = decode_jpeg(bytes, limits, &want)? {
            return Ok(decoded);
        }
    }
    decode_generic(bytes, kind, limits)
}

fn corrupt(kind: Kind, e: impl std::fmt::Display) -> ThumbError {
    ThumbError::Corrupt {
        format: kind.name(),
        reason: e.to_string(),
    }
}

fn check_pixels(width: u32, height: u32, limits: &Limits) -> Result<(), ThumbError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels || width == 0 || height == 0 {
        return Err(ThumbError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    Ok(())
}

/// The scaled-IDCT path; `None` for colour spaces it leaves to `image`
/// (CMYK, YCCK).
///
/// libjpeg reports a fatal error by unwinding out of the decoder (the
/// `mozjpeg` crate's error manager); it is caught here and becomes
/// [`ThumbError::Corrupt`]. Its warnings are silent, and a file cut short
/// is only a warning (the missing rows come out grey), so a JPEG without an
/// end-of-image marker after its first scan is refused before decoding.
fn decode_jpeg(
    bytes: &[u8],
    limits: &Limits,
    want: &dyn Fn(u32, u32, Orientation) -> (u32, u32),
) -> Result<Option<Decoded>, ThumbError> {
    if !has_end_marker(bytes) {
        return Err(corrupt(
            Kind::Jpeg,
            "no end-of-image marker: the file is cut short",
        ));
    }
    let decode = std::panic::AssertUnwindSafe(|| decode_jpeg_scaled(bytes, limits, want));
    match std::panic::catch_unwind(decode) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("libjpeg failed");
            Err(corrupt(Kind::Jpeg, message))
        }
    }
}

fn decode_jpeg_scaled(
    bytes: &[u8],
    limits: &Limits,
    want: &dyn Fn(u32, u32, Orientation) -> (u32, u32),
) -> Result<Option<Decoded>, ThumbError> {
    let io = |e: std::io::Error| corrupt(Kind::Jpeg, e);
    let mut decoder = mozjpeg::Decompress::builder()
        .with_markers(&[mozjpeg::Marker::APP(1)])
        .from_mem(bytes)
        .map_err(io)?;
    let (w, h) = decoder.size();
    let full_width = u32::try_from(w).unwrap_or(u32::MAX);
    let full_height = u32::try_from(h).unwrap_or(u32::MAX);
    check_pixels(full_width, full_height, limits)?;
    let gray = match decoder.color_space() {
        mozjpeg::ColorSpace::JCS_GRAYSCALE => true,
        mozjpeg::ColorSpace::JCS_YCbCr | mozjpeg::ColorSpace::JCS_RGB => false,
        _ => return Ok(None),
    };
    let orientation = decoder
        .markers()
        .filter_map(|m| m.data.strip_prefix(b"Exif\0\0"))
        .find_map(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let (ww, wh) = want(full_width, full_height, orientation);
    decoder.scale(scale_eighths(full_width, full_height, ww, wh));
    let mut started = if gray {
        decoder.grayscale()
    } else {
        decoder.rgb()
    }
    .map_err(io)?;
    let (width, height) = (started.width() as u32, started.height() as u32);
    let pixels: Vec<u8> = started.read_scanlines().map_err(io)?;
    started.finish().map_err(io)?;
    let image = if gray {
        image::GrayImage::from_raw(width, height, pixels).map(DynamicImage::ImageLuma8)
    } else {
        image::RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8)
    }
    .ok_or_else(|| corrupt(Kind::Jpeg, "decoder returned a short pixel buffer"))?;
    Ok(Some(Decoded {
        image,
        full_width,
        full_height,
        orientation,
    }))
}

/// The smallest of the scales 1/8, 2/8, 4/8 and 8/8 (the fast inverse
/// DCTs) at which a `width`×`height` JPEG still has at least `ww`×`wh`
/// pixels, as eighths.
pub fn scale_eighths(width: u32, height: u32, ww: u32, wh: u32) -> u8 {
    let scaled = |full: u32, n: u32| (u64::from(full) * u64::from(n)).div_ceil(8);
    [1u8, 2, 4]
        .into_iter()
        .find(|&n| {
            scaled(width, n.into()) >= u64::from(ww) && scaled(height, n.into()) >= u64::from(wh)
        })
        .unwrap_or(8)
}

/// Whether a JPEG has an end-of-image marker after the start of its first
/// scan. The segments before that scan are walked by their lengths, so the
/// markers of an EXIF thumbnail embedded in APP1 do not count; inside
/// entropy-coded data a 0xFF byte is always escaped, so `FF D9` there is
/// the marker itself.
pub fn has_end_marker(bytes: &[u8]) -> bool {
    let mut at = 2; // after SOI
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return false;
        };
        match marker {
            0xDA => return bytes[at..].windows(2).any(|w| w == [0xFF, 0xD9]),
            0xD9 => return false,
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => {
                let Some(len) = bytes.get(at + 2..at + 4) else {
                    return false;
                };
                at += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
            }
        }
    }
}

/// Bytes a decoder may allocate: the pixels at 4 bytes each (16-bit RGBA
/// sources are 8 per pixel, hence the factor 2) and some room.
fn alloc_limit(limits: &Limits) -> usize {
    let bytes = limits.max_pixels.saturating_mul(8).saturating_add(16 << 20);
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

fn decode_generic(bytes: &[u8], kind: Kind, limits: &Limits) -> Result<Decoded, ThumbError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.image_format());
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(alloc_limit(limits) as u64);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        // The decoder refused the declared size against max_alloc.
        image::ImageError::Limits(_) => ThumbError::TooManyPixels {
            width: 0,
            height: 0,
            max: limits.max_pixels,
        },
        e => corrupt(kind, e),
    })?;
    let (full_width, full_height) = decoder.dimensions();
    check_pixels(full_width, full_height, limits)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => ThumbError::TooManyPixels {
            width: full_width,
            height: full_height,
            max: limits.max_pixels,
        },
        e => corrupt(kind, e),
    })?;
    Ok(Decoded {
        image,
        full_width,
        full_height,
        orientation,
    })
}
