//! Sniffing and decoding a source image within the limits.
//!
//! JPEGs go through `jpeg-decoder`, which can run its inverse DCT at 1/2,
//! 1/4 or 1/8 size: a 1600×1200 photo wanted at 150×150 is decoded straight
//! to 200×150, about a sixtieth of the pixel work (libvips and imgproxy call
//! this shrink-on-load). PNG, WebP and GIF (first frame) go through `image`.
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

/// The scaled-IDCT path; `None` for pixel formats it leaves to `image`
/// (CMYK, 16-bit).
fn decode_jpeg(
    bytes: &[u8],
    limits: &Limits,
    want: &dyn Fn(u32, u32, Orientation) -> (u32, u32),
) -> Result<Option<Decoded>, ThumbError> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(|e| corrupt(Kind::Jpeg, e))?;
    let info = decoder
        .info()
        .ok_or_else(|| corrupt(Kind::Jpeg, "no frame header"))?;
    let (full_width, full_height) = (u32::from(info.width), u32::from(info.height));
    check_pixels(full_width, full_height, limits)?;
    let pixel_format = info.pixel_format;
    if !matches!(
        pixel_format,
        jpeg_decoder::PixelFormat::L8 | jpeg_decoder::PixelFormat::RGB24
    ) {
        return Ok(None);
    }
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let (ww, wh) = want(full_width, full_height, orientation);
    let clamp = |v: u32| u16::try_from(v.max(1)).unwrap_or(u16::MAX);
    let (width, height) = decoder
        .scale(clamp(ww), clamp(wh))
        .map_err(|e| corrupt(Kind::Jpeg, e))?;
    decoder.set_max_decoding_buffer_size(alloc_limit(limits));
    let pixels = decoder.decode().map_err(|e| corrupt(Kind::Jpeg, e))?;
    let (width, height) = (u32::from(width), u32::from(height));
    let image = match pixel_format {
        jpeg_decoder::PixelFormat::L8 => {
            image::GrayImage::from_raw(width, height, pixels).map(DynamicImage::ImageLuma8)
        }
        _ => image::RgbImage::from_raw(width, height, pixels).map(DynamicImage::ImageRgb8),
    }
    .ok_or_else(|| corrupt(Kind::Jpeg, "decoder returned a short pixel buffer"))?;
    Ok(Some(Decoded {
        image,
        full_width,
        full_height,
        orientation,
    }))
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
