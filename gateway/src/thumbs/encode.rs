//! Encoding the resized pixels, once, into the output format. Only pixels
//! are written: EXIF, ICC and other metadata of the source never reach the
//! thumbnail.

use super::decode::Kind;
use super::error::ThumbError;
use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ExtendedColorType, ImageEncoder};

/// Encodes `image` as `kind` at `quality` (1-100; JPEG and WebP only).
pub fn encode(image: DynamicImage, kind: Kind, quality: u8) -> Result<Vec<u8>, ThumbError> {
    let fail = |e: &dyn std::fmt::Display| ThumbError::Encode {
        format: kind.name(),
        reason: e.to_string(),
    };
    let (width, height) = (image.width(), image.height());
    let mut out = Vec::with_capacity(16 * 1024);
    match kind {
        Kind::Jpeg => {
            // JPEG has no alpha: flatten whatever else came in to RGB or grey.
            let image = match image {
                DynamicImage::ImageLuma8(_) => image,
                other => DynamicImage::ImageRgb8(other.into_rgb8()),
            };
            JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
                .encode(image.as_bytes(), width, height, image.color().into())
                .map_err(|e| fail(&e))?;
        }
        Kind::Png => {
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
                .write_image(image.as_bytes(), width, height, image.color().into())
                .map_err(|e| fail(&e))?;
        }
        Kind::Gif => {
            let rgba = image.into_rgba8();
            GifEncoder::new_with_speed(&mut out, 10)
                .encode(rgba.as_raw(), width, height, ExtendedColorType::Rgba8)
                .map_err(|e| fail(&e))?;
        }
        Kind::Webp => {
            let memory = if image.color().has_alpha() {
                let rgba = image.into_rgba8();
                webp::Encoder::from_rgba(rgba.as_raw(), width, height).encode(f32::from(quality))
            } else {
                let rgb = image.into_rgb8();
                webp::Encoder::from_rgb(rgb.as_raw(), width, height).encode(f32::from(quality))
            };
            out.extend_from_slice(&memory);
        }
    }
    Ok(out)
}
