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
//!
//! What bounds one decode, whatever the input:
//! - bytes: `max_source_bytes` (checked by the engine before this);
//! - pixels: `max_pixels`, from the header, before any pixel buffer;
//! - memory: `image`'s allocation limit for PNG, WebP and GIF (8 bytes per
//!   allowed pixel plus 16 MiB); for a JPEG, libjpeg holds at most the
//!   coefficients of a progressive image (2 bytes per pixel and component)
//!   and the pixels at the decode scale, both bounded by `max_pixels`;
//! - scans: a JPEG with more than [`MAX_JPEG_SCANS`] scans is refused before
//!   decoding (counted in the bytes, as djpeg's `-maxscans` would stop it);
//! - time: the deadline, checked whenever a decoder asks for more input,
//!   which it gets [`JPEG_READ_CHUNK`] bytes at a time (libjpeg) or
//!   [`READ_CHUNK`] (PNG, WebP, GIF); past it the read fails and the decode
//!   stops. A JPEG scan takes at least ten bytes, so a progressive JPEG
//!   is stopped within about a dozen scans of its deadline; what else runs
//!   between two checks is bounded by `max_pixels` (the pixels one chunk
//!   of input describes, and a progressive JPEG's final output pass, made
//!   at the shrunk decode scale).

use super::error::ThumbError;
use super::Limits;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use std::io::{BufRead, Cursor, Read, Seek, SeekFrom};
use std::time::Instant;

/// Most scans a JPEG may have. Encoders write one (baseline) to about a
/// dozen (progressive, successive approximation included); a file with
/// thousands of scans makes the decoder walk every block thousands of times
/// for a few bytes each, so it is refused (422) before decoding.
pub const MAX_JPEG_SCANS: usize = 1000;

/// Input handed to libjpeg per read, so that the deadline is checked at
/// least this often.
pub const JPEG_READ_CHUNK: usize = 128;

/// Input handed to the PNG, WebP and GIF decoders per read.
pub const READ_CHUNK: usize = 16 << 10;

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
///
/// Past `deadline` the decode stops with [`ThumbError::TimedOut`].
pub fn decode(
    bytes: &[u8],
    kind: Kind,
    limits: &Limits,
    deadline: Instant,
    want: impl Fn(u32, u32, Orientation) -> (u32, u32),
) -> Result<Decoded, ThumbError> {
    if kind == Kind::Jpeg {
        check_jpeg(bytes)?;
        if let Some(decoded) = decode_jpeg(bytes, limits, deadline, &want)? {
            return Ok(decoded);
        }
    }
    decode_generic(bytes, kind, limits, deadline)
}

/// What every JPEG must pass before either decoder sees it: an end-of-image
/// marker (see [`decode_jpeg`]) and at most [`MAX_JPEG_SCANS`] scans.
fn check_jpeg(bytes: &[u8]) -> Result<(), ThumbError> {
    if !has_end_marker(bytes) {
        return Err(corrupt(
            Kind::Jpeg,
            "no end-of-image marker: the file is cut short",
        ));
    }
    let scans = count_scans(bytes);
    if scans > MAX_JPEG_SCANS {
        return Err(ThumbError::TooManyScans {
            scans,
            max: MAX_JPEG_SCANS,
        });
    }
    Ok(())
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
/// [`ThumbError::Corrupt`]. A read refused past the deadline is such an
/// error, and then the answer is [`ThumbError::TimedOut`]. Its warnings are
/// silent, and a file cut short is only a warning (the missing rows come
/// out grey), hence the end-of-image check of [`check_jpeg`].
fn decode_jpeg(
    bytes: &[u8],
    limits: &Limits,
    deadline: Instant,
    want: &dyn Fn(u32, u32, Orientation) -> (u32, u32),
) -> Result<Option<Decoded>, ThumbError> {
    let source = Paced::new(bytes, deadline, JPEG_READ_CHUNK);
    let decode = std::panic::AssertUnwindSafe(|| decode_jpeg_scaled(source, limits, want));
    let late = |e| past(deadline, limits, e);
    match std::panic::catch_unwind(decode) {
        Ok(result) => result.map_err(late),
        Err(_) if Instant::now() > deadline => Err(ThumbError::TimedOut(limits.time_budget)),
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
    source: Paced<'_>,
    limits: &Limits,
    want: &dyn Fn(u32, u32, Orientation) -> (u32, u32),
) -> Result<Option<Decoded>, ThumbError> {
    let io = |e: std::io::Error| corrupt(Kind::Jpeg, e);
    let mut decoder = mozjpeg::Decompress::builder()
        .with_markers(&[mozjpeg::Marker::APP(1)])
        .from_reader(source)
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

/// The number of scans (start-of-scan markers) in a JPEG. The segments
/// between scans are walked by their lengths and each scan's entropy-coded
/// data up to the next marker (a 0xFF there is followed by a stuffed 0x00
/// or is a restart marker), so no byte inside a segment or a scan counts.
pub fn count_scans(bytes: &[u8]) -> usize {
    let mut scans = 0;
    let mut at = 2; // after SOI
    loop {
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return scans;
        };
        match marker {
            0xD9 => return scans,
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => {
                let Some(len) = bytes.get(at + 2..at + 4) else {
                    return scans;
                };
                at += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
                if marker == 0xDA {
                    scans += 1;
                    at = next_marker(bytes, at);
                }
            }
        }
    }
}

/// The first marker at or after `at` in entropy-coded data (the length of
/// `bytes` when there is none).
fn next_marker(bytes: &[u8], mut at: usize) -> usize {
    while let Some(i) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
    {
        at += i;
        match bytes.get(at + 1) {
            Some(0x00 | 0xD0..=0xD7) => at += 2,
            _ => return at,
        }
    }
    bytes.len()
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

/// `e`, or the time-out when it came past `deadline` (whatever a decoder
/// makes of a refused read).
fn past(deadline: Instant, limits: &Limits, e: ThumbError) -> ThumbError {
    if Instant::now() > deadline {
        ThumbError::TimedOut(limits.time_budget)
    } else {
        e
    }
}

/// The source as a decoder reads it: at most `chunk` bytes per read, and
/// nothing once past the deadline.
struct Paced<'a> {
    inner: Cursor<&'a [u8]>,
    deadline: Instant,
    chunk: usize,
}

impl<'a> Paced<'a> {
    fn new(bytes: &'a [u8], deadline: Instant, chunk: usize) -> Self {
        Paced {
            inner: Cursor::new(bytes),
            deadline,
            chunk,
        }
    }

    fn check(&self) -> std::io::Result<()> {
        if Instant::now() > self.deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the thumbnail's time budget ran out",
            ));
        }
        Ok(())
    }
}

impl Read for Paced<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.check()?;
        let n = buf.len().min(self.chunk);
        self.inner.read(&mut buf[..n])
    }
}

impl BufRead for Paced<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.check()?;
        let rest = self.inner.fill_buf()?;
        Ok(&rest[..rest.len().min(self.chunk)])
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

impl Seek for Paced<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

fn decode_generic(
    bytes: &[u8],
    kind: Kind,
    limits: &Limits,
    deadline: Instant,
) -> Result<Decoded, ThumbError> {
    let paced = Paced::new(bytes, deadline, READ_CHUNK);
    let late = |e| past(deadline, limits, e);
    let mut reader = ImageReader::with_format(paced, kind.image_format());
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(alloc_limit(limits) as u64);
    reader.limits(image_limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| match e {
            // The decoder refused the declared size against max_alloc.
            image::ImageError::Limits(_) => ThumbError::TooManyPixels {
                width: 0,
                height: 0,
                max: limits.max_pixels,
            },
            e => corrupt(kind, e),
        })
        .map_err(late)?;
    let (full_width, full_height) = decoder.dimensions();
    check_pixels(full_width, full_height, limits)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder)
        .map_err(|e| match e {
            image::ImageError::Limits(_) => ThumbError::TooManyPixels {
                width: full_width,
                height: full_height,
                max: limits.max_pixels,
            },
            e => corrupt(kind, e),
        })
        .map_err(late)?;
    Ok(Decoded {
        image,
        full_width,
        full_height,
        orientation,
    })
}
