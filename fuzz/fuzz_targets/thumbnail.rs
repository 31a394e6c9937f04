//! Image sources through the thumbnail engine's entry point (`transform`):
//! sniffing, then the JPEG (libjpeg, or `image` for CMYK), PNG, GIF and
//! WebP decoders, resize and encode. The first input byte picks the box
//! size, fit mode and output format; the rest is the image. Limits are
//! small (1 MiB, 4 Mpx, a 2 s budget) so that one input stays well inside
//! the fuzzer's `-timeout`. Properties: nothing panics; a refusal is one of
//! the engine's typed errors with a 4xx/5xx status; a thumbnail is in the
//! format it claims (WebP when asked) and, for `contain` without enlarging,
//! inside its box.
#![no_main]

use bytes::Bytes;
use dfs_gateway::thumbs::{transform, Fit, Kind, Limits, Output, Params};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, image)) = data.split_first() else {
        return;
    };
    let side = [1, 16, 64, 150][usize::from(choice & 3)];
    let fit = [Fit::Contain, Fit::Cover, Fit::Fill][usize::from((choice >> 2) & 3) % 3];
    let output = if choice & 0x10 != 0 {
        Output::Webp
    } else {
        Output::Source
    };
    let params = Params {
        width: side,
        height: if choice & 0x20 != 0 { 0 } else { side },
        fit,
        output,
        quality: 75,
        enlarge: choice & 0x40 != 0,
    };
    let limits = Limits {
        max_source_bytes: 1 << 20,
        max_pixels: 4_000_000,
        time_budget: Duration::from_secs(2),
    };
    match transform(Bytes::copy_from_slice(image), &params, &limits) {
        Ok(thumb) => {
            assert_eq!(Kind::sniff(&thumb.bytes), Some(thumb.kind));
            assert!(thumb.width >= 1 && thumb.height >= 1);
            if fit == Fit::Contain && !params.enlarge {
                assert!(thumb.width <= side);
                assert!(params.height == 0 || thumb.height <= side);
            }
            if output == Output::Webp {
                assert_eq!(thumb.kind, Kind::Webp);
            }
        }
        Err(e) => assert!(e.status().is_client_error() || e.status().is_server_error()),
    }
});
