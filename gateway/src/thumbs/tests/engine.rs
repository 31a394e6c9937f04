//! The engine on generated images:
//! - each fit mode gives the planned size (checked by decoding the output);
//! - no upscaling unless asked; one side 0 follows the other's scale;
//! - JPEG shrink-on-load gives the same size as a full decode would;
//! - WebP output, PNG alpha kept, GIF first frame, WebP input;
//! - EXIF orientation applied and the EXIF segment not copied;
//! - limits: too many bytes, a decompression-bomb header (JPEG and PNG),
//!   truncated and non-image input, the time budget — all typed errors;
//! - the pool never runs more transforms than its size at once;
//! - a JPEG of more scans than allowed is refused unread; every decoder
//!   stops at its deadline; a wait for a worker is `Busy`, not the source's
//!   fault; failures are remembered per source and limits.

use super::{jpeg, pattern, with_exif_orientation};
use crate::cache::ObjectId;
use crate::thumbs::decode::{self, count_scans, has_end_marker, scale_eighths, MAX_JPEG_SCANS};
use crate::thumbs::geometry::plan;
use crate::thumbs::{
    transform, Failures, Fit, Kind, Limits, Output, Params, ThumbError, ThumbPool,
};
use axum::http::StatusCode;
use bytes::Bytes;
use image::{DynamicImage, GenericImageView, Rgba, RgbaImage};
use std::time::{Duration, Instant};

fn limits() -> Limits {
    Limits {
        max_source_bytes: 20 << 20,
        max_pixels: 50_000_000,
        time_budget: Duration::from_secs(30),
    }
}

fn params(w: u32, h: u32, fit: Fit) -> Params {
    Params {
        width: w,
        height: h,
        fit,
        output: Output::Source,
        quality: 80,
        enlarge: false,
    }
}

fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).expect("thumbnail decodes")
}

fn photo() -> Bytes {
    Bytes::from(jpeg(&pattern(1600, 1200)))
}

#[test]
fn fit_modes_give_the_planned_sizes() {
    let src = photo();
    for (fit, want) in [
        (Fit::Contain, (150, 113)),
        (Fit::Cover, (150, 150)),
        (Fit::Fill, (150, 150)),
    ] {
        let thumb = transform(src.clone(), &params(150, 150, fit), &limits()).unwrap();
        assert_eq!((thumb.width, thumb.height), want, "{fit:?}");
        assert_eq!(thumb.kind, Kind::Jpeg);
        assert_eq!(thumb.content_type(), "image/jpeg");
        assert_eq!(decode(&thumb.bytes).dimensions(), want, "{fit:?}");
    }
}

#[test]
fn cover_crops_the_centre_and_fill_stretches() {
    let p = plan(1600, 1200, 150, 150, Fit::Cover, false);
    assert_eq!((p.crop.left, p.crop.top), (200.0, 0.0));
    assert_eq!((p.crop.width, p.crop.height), (1200.0, 1200.0));
    let p = plan(1600, 1200, 150, 150, Fit::Fill, false);
    assert_eq!((p.crop.width, p.crop.height), (1600.0, 1200.0));
    let p = plan(1600, 1200, 300, 0, Fit::Cover, false);
    assert_eq!((p.width, p.height), (300, 225));
}

#[test]
fn never_upscales_unless_asked() {
    let src = Bytes::from(jpeg(&pattern(100, 80)));
    let thumb = transform(src.clone(), &params(150, 150, Fit::Contain), &limits()).unwrap();
    assert_eq!(decode(&thumb.bytes).dimensions(), (100, 80));
    let thumb = transform(src.clone(), &params(150, 150, Fit::Cover), &limits()).unwrap();
    assert_eq!(decode(&thumb.bytes).dimensions(), (100, 80));
    let mut p = params(150, 150, Fit::Contain);
    p.enlarge = true;
    let thumb = transform(src, &p, &limits()).unwrap();
    assert_eq!(decode(&thumb.bytes).dimensions(), (150, 120));
}

#[test]
fn shrink_on_load_keeps_the_output_size_and_colours() {
    // 1600x1200 to 150 decodes at 1/8 (200x150); the result must still be
    // 150x113 and look like the source (red rises left to right).
    let thumb = transform(photo(), &params(150, 0, Fit::Contain), &limits()).unwrap();
    let img = decode(&thumb.bytes).to_rgb8();
    assert_eq!(img.dimensions(), (150, 113));
    let (left, right) = (img.get_pixel(5, 56)[0], img.get_pixel(144, 56)[0]);
    assert!(right > left + 150, "red {left} -> {right}");
}

#[test]
fn webp_output_png_alpha_gif_and_webp_input() {
    let mut p = params(150, 150, Fit::Contain);
    p.output = Output::Webp;
    let thumb = transform(photo(), &p, &limits()).unwrap();
    assert_eq!(thumb.content_type(), "image/webp");
    assert_eq!(&thumb.bytes[..4], b"RIFF");
    assert_eq!(&thumb.bytes[8..12], b"WEBP");
    assert_eq!(decode(&thumb.bytes).dimensions(), (150, 113));

    let rgba = RgbaImage::from_fn(400, 200, |x, _| {
        Rgba([200, 10, 10, if x < 200 { 0 } else { 255 }])
    });
    let png = encoded(
        &DynamicImage::ImageRgba8(rgba.clone()),
        image::ImageFormat::Png,
    );
    let thumb = transform(png, &params(100, 100, Fit::Contain), &limits()).unwrap();
    assert_eq!(thumb.kind, Kind::Png);
    let out = decode(&thumb.bytes).to_rgba8();
    assert_eq!(out.dimensions(), (100, 50));
    assert_eq!(
        out.get_pixel(5, 25)[3],
        0,
        "transparent half stays transparent"
    );
    assert_eq!(out.get_pixel(95, 25)[3], 255);

    let gif = encoded(
        &DynamicImage::ImageRgba8(rgba.clone()),
        image::ImageFormat::Gif,
    );
    let thumb = transform(gif, &params(100, 100, Fit::Cover), &limits()).unwrap();
    assert_eq!((thumb.kind, &thumb.bytes[..3]), (Kind::Gif, &b"GIF"[..]));
    assert_eq!(decode(&thumb.bytes).dimensions(), (100, 100));

    let webp = encoded(&DynamicImage::ImageRgba8(rgba), image::ImageFormat::WebP);
    let thumb = transform(webp, &params(100, 100, Fit::Fill), &limits()).unwrap();
    assert_eq!(thumb.kind, Kind::Webp);
    assert_eq!(decode(&thumb.bytes).dimensions(), (100, 100));
}

fn encoded(image: &DynamicImage, format: image::ImageFormat) -> Bytes {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    Bytes::from(out.into_inner())
}

#[test]
fn exif_orientation_is_applied_and_not_copied() {
    // Stored landscape: left half red, right half blue. Orientation 6 means
    // "rotate 90° clockwise to display": red ends up on top.
    let stored = image::RgbImage::from_fn(300, 200, |x, _| {
        if x < 150 {
            image::Rgb([230, 20, 20])
        } else {
            image::Rgb([20, 20, 230])
        }
    });
    let src = Bytes::from(with_exif_orientation(&jpeg(&stored), 6));
    assert!(src.windows(6).any(|w| w == b"Exif\0\0"));
    let thumb = transform(src, &params(100, 100, Fit::Contain), &limits()).unwrap();
    assert!(
        !thumb.bytes.windows(4).any(|w| w == b"Exif"),
        "metadata stripped"
    );
    let img = decode(&thumb.bytes).to_rgb8();
    assert_eq!(img.dimensions(), (67, 100));
    let (top, bottom) = (img.get_pixel(33, 5), img.get_pixel(33, 94));
    assert!(top[0] > 150 && top[2] < 100, "top {top:?}");
    assert!(bottom[2] > 150 && bottom[0] < 100, "bottom {bottom:?}");
}

#[test]
fn too_many_bytes_and_non_images_are_refused() {
    let mut small = limits();
    small.max_source_bytes = 1000;
    let err = transform(photo(), &params(150, 150, Fit::Contain), &small).unwrap_err();
    assert!(
        matches!(err, ThumbError::SourceTooLarge { max: 1000, .. }),
        "{err}"
    );
    assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let err = transform(
        Bytes::from_static(b"hello, not an image"),
        &params(1, 1, Fit::Fill),
        &limits(),
    )
    .unwrap_err();
    assert!(matches!(err, ThumbError::UnknownFormat), "{err}");
    assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let err = transform(Bytes::new(), &params(1, 1, Fit::Fill), &limits()).unwrap_err();
    assert!(matches!(err, ThumbError::UnknownFormat), "{err}");
}

#[test]
fn truncated_images_are_corrupt() {
    let full = photo();
    let err = transform(
        full.slice(..200),
        &params(150, 150, Fit::Contain),
        &limits(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ThumbError::Corrupt { format: "jpeg", .. }),
        "{err}"
    );
    assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let png = encoded(
        &DynamicImage::ImageRgb8(pattern(300, 300)),
        image::ImageFormat::Png,
    );
    let err = transform(
        png.slice(..png.len() / 2),
        &params(50, 50, Fit::Contain),
        &limits(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ThumbError::Corrupt { format: "png", .. }),
        "{err}"
    );
}

/// Rewrites the size in a JPEG's SOF0 segment.
fn jpeg_claiming(width: u16, height: u16) -> Bytes {
    let mut bytes = jpeg(&pattern(64, 64));
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("baseline SOF0");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    Bytes::from(bytes)
}

/// A PNG header (valid CRCs) declaring `width`×`height`, and no pixel data.
fn png_claiming(width: u32, height: u32) -> Bytes {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32fast::hash(&ihdr).to_be_bytes());
    // An empty IDAT, so the decoder has read the whole header.
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(b"IDAT");
    out.extend_from_slice(&crc32fast::hash(b"IDAT").to_be_bytes());
    Bytes::from(out)
}

#[test]
fn decompression_bombs_are_refused_before_decoding() {
    for bomb in [
        jpeg_claiming(60_000, 60_000),
        png_claiming(100_000, 100_000),
    ] {
        let err = transform(bomb, &params(150, 150, Fit::Contain), &limits()).unwrap_err();
        assert!(matches!(err, ThumbError::TooManyPixels { .. }), "{err}");
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}

#[test]
fn the_time_budget_is_enforced() {
    let mut tight = limits();
    tight.time_budget = Duration::ZERO;
    let mut p = params(150, 150, Fit::Contain);
    p.output = Output::Webp;
    let err = transform(photo(), &p, &tight).unwrap_err();
    assert!(matches!(err, ThumbError::TimedOut(_)), "{err}");
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_bounds_concurrent_transforms() {
    let pool = ThumbPool::new(2);
    let src = photo();
    let jobs: Vec<_> = (0..8)
        .map(|_| {
            let (pool, src) = (pool.clone(), src.clone());
            tokio::spawn(async move { pool.run(src, params(150, 150, Fit::Cover), limits()).await })
        })
        .collect();
    let mut most = 0;
    while !jobs.iter().all(|j| j.is_finished()) {
        most = most.max(pool.busy());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for job in jobs {
        assert_eq!(job.await.unwrap().unwrap().width, 150);
    }
    assert!(most <= 2, "{most} transforms ran at once");
    assert!(most >= 1);
    assert_eq!(pool.busy(), 0);
}

#[tokio::test]
async fn the_pool_times_out_waiting_for_a_worker() {
    let pool = ThumbPool::new(1);
    let mut slow = limits();
    slow.max_pixels = u64::MAX;
    let big = Bytes::from(jpeg(&pattern(3000, 3000)));
    let busy = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.run(big, params(2999, 2999, Fit::Fill), slow).await })
    };
    while pool.busy() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut quick = limits();
    quick.time_budget = Duration::from_millis(1);
    let err = pool
        .run(photo(), params(150, 150, Fit::Cover), quick)
        .await
        .unwrap_err();
    assert!(matches!(err, ThumbError::Busy(_)), "{err}");
    assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!err.is_the_sources());
    busy.await.unwrap().unwrap();
}

/// `jpeg` with its one scan (SOS to EOI) repeated until it has `scans`.
fn with_scans(jpeg: &[u8], scans: usize) -> Vec<u8> {
    let sos = jpeg.windows(2).position(|w| w == [0xff, 0xda]).unwrap();
    let eoi = jpeg.len() - 2;
    let mut out = jpeg[..eoi].to_vec();
    for _ in 1..scans {
        out.extend_from_slice(&jpeg[sos..eoi]);
    }
    out.extend_from_slice(&jpeg[eoi..]);
    out
}

#[test]
fn a_jpeg_of_too_many_scans_is_refused_before_decoding() {
    let small = jpeg(&pattern(64, 48));
    assert_eq!(count_scans(&small), 1);
    // Marker-like bytes inside a segment are not scans.
    let mut app = small[..2].to_vec();
    app.extend_from_slice(&[0xff, 0xe2, 0, 6, 0xff, 0xda, 0xff, 0xda]);
    app.extend_from_slice(&small[2..]);
    assert_eq!(count_scans(&app), 1);
    assert_eq!(count_scans(&with_scans(&small, 40)), 40);

    let many = with_scans(&small, MAX_JPEG_SCANS + 1);
    assert_eq!(count_scans(&many), MAX_JPEG_SCANS + 1);
    let err = transform(Bytes::from(many), &params(32, 32, Fit::Contain), &limits()).unwrap_err();
    assert!(
        matches!(err, ThumbError::TooManyScans { scans, max } if scans == MAX_JPEG_SCANS + 1 && max == MAX_JPEG_SCANS),
        "{err}"
    );
    assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(err.is_the_sources());
}

#[test]
fn every_decoder_stops_at_its_deadline() {
    let image = DynamicImage::ImageRgb8(pattern(64, 48));
    let sources = [
        (Kind::Jpeg, Bytes::from(jpeg(&pattern(64, 48)))),
        (Kind::Png, encoded(&image, image::ImageFormat::Png)),
        (Kind::Gif, encoded(&image, image::ImageFormat::Gif)),
        (Kind::Webp, encoded(&image, image::ImageFormat::WebP)),
    ];
    let passed = Instant::now();
    std::thread::sleep(Duration::from_millis(2));
    for (kind, bytes) in sources {
        let want = |w, h, _| (w, h);
        let later = Instant::now() + Duration::from_secs(60);
        let decoded = decode::decode(&bytes, kind, &limits(), later, want);
        assert!(decoded.is_ok(), "{kind:?} decodes before its deadline");
        let err = match decode::decode(&bytes, kind, &limits(), passed, want) {
            Ok(_) => panic!("{kind:?} decoded past its deadline"),
            Err(e) => e,
        };
        assert!(matches!(err, ThumbError::TimedOut(_)), "{kind:?}: {err}");
    }
}

#[test]
fn failures_are_remembered_per_source_and_limits_and_only_the_sources() {
    let failures = Failures::new(Duration::from_secs(60));
    let source = ObjectId::Mogilefs { fid: 7, size: 100 };
    let corrupt = ThumbError::Corrupt {
        format: "jpeg",
        reason: "bad".into(),
    };
    failures.record(source.clone(), limits(), &corrupt);
    let remembered = failures.get(&source, &limits()).expect("remembered");
    assert_eq!(remembered.to_string(), corrupt.to_string());
    assert_eq!(remembered.status(), corrupt.status());
    // Another version of the source, or other limits: not judged yet.
    assert!(failures
        .get(&ObjectId::Mogilefs { fid: 8, size: 100 }, &limits())
        .is_none());
    let mut other = limits();
    other.max_pixels += 1;
    assert!(failures.get(&source, &other).is_none());
    // The gateway's own troubles are not the source's.
    let fresh = ObjectId::fastdfs("group1/M00/00/00/x.jpg");
    for e in [
        ThumbError::Busy(Duration::from_secs(1)),
        ThumbError::Worker("panic".into()),
    ] {
        failures.record(fresh.clone(), limits(), &e);
        assert!(failures.get(&fresh, &limits()).is_none(), "{e}");
    }
    failures.record(
        fresh.clone(),
        limits(),
        &ThumbError::TimedOut(Duration::from_secs(1)),
    );
    assert!(failures.get(&fresh, &limits()).is_some());
}

#[test]
fn a_jpeg_cut_inside_its_scan_is_corrupt_not_grey() {
    // libjpeg only warns about a premature end and fills the rest grey; the
    // engine refuses a JPEG without its end-of-image marker.
    let full = photo();
    let cut = full.slice(..full.len() * 3 / 5);
    let err = transform(cut, &params(150, 150, Fit::Contain), &limits()).unwrap_err();
    assert!(
        matches!(err, ThumbError::Corrupt { format: "jpeg", .. }),
        "{err}"
    );
    assert!(has_end_marker(&full));
    assert!(!has_end_marker(&full[..full.len() - 2]));
}

#[test]
fn an_embedded_thumbnail_s_end_marker_does_not_hide_a_cut() {
    // An APP1 segment holding a whole small JPEG (as EXIF thumbnails do),
    // then the main image.
    let small = jpeg(&pattern(16, 16));
    let main = photo();
    let mut bytes = main[..2].to_vec();
    bytes.extend_from_slice(&[0xff, 0xe1]);
    bytes.extend_from_slice(&((small.len() + 2) as u16).to_be_bytes());
    bytes.extend_from_slice(&small);
    bytes.extend_from_slice(&main[2..]);
    assert!(has_end_marker(&bytes));
    let whole = transform(
        Bytes::from(bytes.clone()),
        &params(150, 150, Fit::Contain),
        &limits(),
    );
    assert_eq!(whole.expect("the whole file decodes").width, 150);
    let cut = &bytes[..bytes.len() - main.len() / 3];
    assert!(!has_end_marker(cut));
}

#[test]
fn a_fatal_libjpeg_error_is_corrupt_not_a_panic() {
    // 12-bit samples: libjpeg's 8-bit build stops with a fatal error.
    let mut bytes = jpeg(&pattern(64, 64));
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("baseline SOF0");
    bytes[sof + 4] = 12;
    let err = transform(Bytes::from(bytes), &params(32, 32, Fit::Contain), &limits()).unwrap_err();
    assert!(
        matches!(err, ThumbError::Corrupt { format: "jpeg", .. }),
        "{err}"
    );
}

#[test]
fn the_decode_scale_is_the_smallest_that_keeps_the_wanted_size() {
    for (full, want, eighths) in [
        ((1600, 1200), (200, 150), 1),
        ((1600, 1200), (201, 150), 2),
        ((1600, 1200), (150, 151), 2),
        ((1600, 1200), (400, 300), 2),
        ((1600, 1200), (800, 1), 4),
        ((1600, 1200), (801, 1), 8),
        ((1601, 1201), (201, 151), 1),
        ((10, 10), (20, 20), 8),
    ] {
        let got = scale_eighths(full.0, full.1, want.0, want.1);
        assert_eq!(got, eighths, "{full:?} wanted at {want:?}");
    }
}
