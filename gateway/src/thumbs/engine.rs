//! [`transform`]: source bytes in, one thumbnail out. Synchronous and CPU
//! bound: call it through [`super::ThumbPool`], never on the event loop.

use super::decode::{self, Kind};
use super::encode::encode;
use super::error::ThumbError;
use super::geometry::{plan, Crop, Fit};
use bytes::Bytes;
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::DynamicImage;
use std::time::{Duration, Instant};

/// The output format asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Output {
    /// The source's own format.
    #[default]
    Source,
    /// WebP.
    Webp,
}

/// What thumbnail to make.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Params {
    /// Box width; 0 = follow the height's scale.
    pub width: u32,
    /// Box height; 0 = follow the width's scale.
    pub height: u32,
    /// How the image fits the box.
    pub fit: Fit,
    /// The output format.
    pub output: Output,
    /// JPEG and WebP quality, 1-100.
    pub quality: u8,
    /// Allow the output to be larger than the source.
    pub enlarge: bool,
}

/// Bounds on one transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Largest source accepted, in bytes.
    pub max_source_bytes: u64,
    /// Largest source accepted, in pixels (width × height as declared).
    pub max_pixels: u64,
    /// Longest a transform may take, waiting for a worker included.
    pub time_budget: Duration,
}

/// A finished thumbnail.
#[derive(Debug, Clone)]
pub struct Thumb {
    /// The encoded image.
    pub bytes: Bytes,
    /// Its format.
    pub kind: Kind,
    /// Its width.
    pub width: u32,
    /// Its height.
    pub height: u32,
}

impl Thumb {
    /// The `Content-Type` to serve it with.
    pub fn content_type(&self) -> &'static str {
        self.kind.content_type()
    }
}

/// Makes the thumbnail of `source` described by `params`, within `limits`
/// (the time budget counted from now).
pub fn transform(source: Bytes, params: &Params, limits: &Limits) -> Result<Thumb, ThumbError> {
    transform_until(&source, params, limits, Instant::now() + limits.time_budget)
}

/// [`transform`] with an explicit deadline, checked by the decoder as it
/// reads (see [`decode`]) and between the stages.
pub(crate) fn transform_until(
    source: &[u8],
    params: &Params,
    limits: &Limits,
    deadline: Instant,
) -> Result<Thumb, ThumbError> {
    if source.len() as u64 > limits.max_source_bytes {
        return Err(ThumbError::SourceTooLarge {
            bytes: source.len() as u64,
            max: limits.max_source_bytes,
        });
    }
    let kind = Kind::sniff(source).ok_or(ThumbError::UnknownFormat)?;
    let out_kind = match params.output {
        Output::Source => kind,
        Output::Webp => Kind::Webp,
    };
    let want = |w, h, o| decode_size(w, h, o, params);
    let decoded = decode::decode(source, kind, limits, deadline, want)?;
    check(deadline, limits)?;
    let (full_w, full_h) = oriented(decoded.full_width, decoded.full_height, decoded.orientation);
    let mut image = decoded.image;
    image.apply_orientation(decoded.orientation);
    let plan = plan(
        full_w,
        full_h,
        params.width,
        params.height,
        params.fit,
        params.enlarge,
    );
    // The decoded image may be a DCT-scaled version of the full one.
    let shrink = f64::from(image.width()) / f64::from(full_w);
    let crop = Crop {
        left: plan.crop.left * shrink,
        top: plan.crop.top * shrink,
        width: (plan.crop.width * shrink).min(f64::from(image.width())),
        height: (plan.crop.height * shrink).min(f64::from(image.height())),
    };
    let resized = resize(image, plan.width, plan.height, crop, out_kind)?;
    check(deadline, limits)?;
    let bytes = encode(resized, out_kind, params.quality)?;
    Ok(Thumb {
        bytes: Bytes::from(bytes),
        kind: out_kind,
        width: plan.width,
        height: plan.height,
    })
}

fn check(deadline: Instant, limits: &Limits) -> Result<(), ThumbError> {
    if Instant::now() > deadline {
        return Err(ThumbError::TimedOut(limits.time_budget));
    }
    Ok(())
}

/// True when the orientation turns the image a quarter.
fn swaps(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

fn oriented(w: u32, h: u32, o: Orientation) -> (u32, u32) {
    if swaps(o) {
        (h, w)
    } else {
        (w, h)
    }
}

/// The stored-space size the decoder must at least deliver: the whole image
/// at the output's scale.
fn decode_size(w: u32, h: u32, o: Orientation, params: &Params) -> (u32, u32) {
    let (dw, dh) = oriented(w, h, o);
    let p = plan(
        dw,
        dh,
        params.width,
        params.height,
        params.fit,
        params.enlarge,
    );
    let sx = f64::from(p.width) / p.crop.width;
    let sy = f64::from(p.height) / p.crop.height;
    let need = |len: u32, s: f64| ((f64::from(len) * s).ceil() as u32).min(len);
    let (nw, nh) = (need(dw, sx), need(dh, sy));
    oriented(nw, nh, o)
}

/// Resizes `crop` of `image` to `width`×`height` with a Lanczos3
/// convolution (SIMD where the CPU has it).
fn resize(
    image: DynamicImage,
    width: u32,
    height: u32,
    crop: Crop,
    out_kind: Kind,
) -> Result<DynamicImage, ThumbError> {
    let worker = |e: &dyn std::fmt::Display| ThumbError::Worker(format!("resize: {e}"));
    let grey_ok = matches!(out_kind, Kind::Jpeg | Kind::Png);
    let (sw, sh) = (image.width(), image.height());
    let (pixels, pixel_type) = match image {
        DynamicImage::ImageLuma8(g) if grey_ok => (g.into_raw(), PixelType::U8),
        DynamicImage::ImageRgb8(rgb) => (rgb.into_raw(), PixelType::U8x3),
        other if other.color().has_alpha() => (other.into_rgba8().into_raw(), PixelType::U8x4),
        other => (other.into_rgb8().into_raw(), PixelType::U8x3),
    };
    let src = Image::from_vec_u8(sw, sh, pixels, pixel_type).map_err(|e| worker(&e))?;
    let mut dst = Image::new(width, height, pixel_type);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(crop.left, crop.top, crop.width, crop.height);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| worker(&e))?;
    let buf = dst.into_vec();
    let image = match pixel_type {
        PixelType::U8 => {
            image::GrayImage::from_raw(width, height, buf).map(DynamicImage::ImageLuma8)
        }
        PixelType::U8x3 => {
            image::RgbImage::from_raw(width, height, buf).map(DynamicImage::ImageRgb8)
        }
        _ => image::RgbaImage::from_raw(width, height, buf).map(DynamicImage::ImageRgba8),
    };
    image.ok_or_else(|| worker(&"resizer returned a short buffer"))
}
