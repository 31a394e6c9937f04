//! The source image: a 1600×1200 photo-like JPEG, the same bytes on every
//! run (a seeded generator, no files shipped), near 300 KiB.

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};

/// Width of the sample.
pub const WIDTH: u32 = 1600;
/// Height of the sample.
pub const HEIGHT: u32 = 1200;
/// The size the sample aims at.
const TARGET: usize = 300 * 1024;

/// The sample JPEG: smooth gradients, edges and seeded noise (so it
/// compresses like a photo), at the quality that comes closest to 300 KiB.
pub fn jpeg() -> Vec<u8> {
    let image = pixels();
    let mut best: Option<Vec<u8>> = None;
    for quality in (40..=95).step_by(5) {
        let bytes = encode(&image, quality);
        let closer = best
            .as_ref()
            .is_none_or(|b| b.len().abs_diff(TARGET) > bytes.len().abs_diff(TARGET));
        if closer {
            best = Some(bytes);
        }
    }
    best.expect("at least one quality")
}

fn encode(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(image.as_raw(), WIDTH, HEIGHT, ExtendedColorType::Rgb8)
        .expect("in-memory JPEG encoding");
    out
}

fn pixels() -> RgbImage {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 24) as u8
    };
    RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let n = noise();
        let (fx, fy) = (x as f32 / WIDTH as f32, y as f32 / HEIGHT as f32);
        let disc = ((fx - 0.6).powi(2) + (fy - 0.4).powi(2)).sqrt() < 0.2;
        let stripe = (x / 40) % 2 == 0 && y > 900;
        let base = if disc {
            [220.0, 180.0 * fy, 40.0]
        } else if stripe {
            [30.0, 60.0, 200.0 * fx]
        } else {
            [
                90.0 + 120.0 * fx,
                140.0 * (1.0 - fy) + 40.0,
                100.0 + 60.0 * fy,
            ]
        };
        Rgb(base.map(|c| (c as u8).saturating_add(n)))
    })
}
