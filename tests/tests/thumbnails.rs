//! Thumbnails through the gateway, on devcluster:
//! - FastDFS slave name `<name>_150x150.jpg` with no such slave file → a
//!   JPEG thumbnail of the master, 150 px on its long side (decoded);
//! - If-None-Match with the thumbnail's ETag → 304, no body;
//! - a slave size not in `sizes` → 400 naming the size; a non-image master
//!   → 415; the master itself is still a plain read;
//! - MogileFS query form `?w=&h=&fit=` with contain, cover and fill (output
//!   dimensions decoded), an unlisted size → 400, a bad `fit` → 400;
//! - `?preset=` with `format = "auto"`: WebP for `Accept: image/webp`, the
//!   source's JPEG otherwise, both with `Vary: Accept`;
//! - store-back: a FastDFS slave file, a MogileFS derived key (read back
//!   with the object cache off, a new name for a new source version);
//! - EXIF orientation applied; a truncated JPEG → 422, a PNG bomb header or
//!   a source over `max_pixels` → 413, text → 415;
//! - a progressive JPEG of a thousand scans (generated here): 503 at the
//!   time budget, the one worker free again at once for the next thumbnail,
//!   and asking again (any size) answers the same 503 without decoding it.

use devcluster::mogilefs::MogCluster;
use dfs_e2e::fastdfs::{bounded, FdfsEnv, FdfsOptions};
use dfs_e2e::{MogEnv, MogOptions};
use image::{ImageFormat, RgbImage};
use reqwest::header;
use std::io::Cursor;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

/// Decodes `bytes` as `format`: its width and height.
fn dimensions(bytes: &[u8], format: ImageFormat) -> (u32, u32) {
    let img = image::load_from_memory_with_format(bytes, format).expect("thumbnail decodes");
    (img.width(), img.height())
}

fn slave_url(env: &FdfsEnv, id: &impl std::fmt::Display, prefix: &str) -> String {
    let id = id.to_string();
    let dot = id.rfind('.').unwrap();
    env.url(&format!("/{}{prefix}{}", &id[..dot], &id[dot..]))
}

fn fdfs_options() -> FdfsOptions {
    FdfsOptions {
        read_extra: "thumbnails = { sizes = [\"150x150\"] }".into(),
        ..FdfsOptions::default()
    }
}

#[tokio::test]
async fn fastdfs_slave_names_are_made_from_the_master() {
    bounded(LIMIT, async {
        let env = FdfsEnv::start_with(&fdfs_options()).await;
        let source = dfs_e2e::gradient_jpeg(400, 300);
        let id = env.upload(source.clone(), "jpg").await;

        let url = slave_url(&env, &id, "_150x150");
        let response = env.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/jpeg");
        let etag = response.headers()[header::ETAG].clone();
        let body = response.bytes().await.unwrap();
        let (w, h) = dimensions(&body, ImageFormat::Jpeg);
        assert_eq!(w, 150, "contain: the long side fills the box");
        assert!((112..=113).contains(&h), "aspect kept: {w}x{h}");

        let again = env
            .http
            .get(&url)
            .header(header::IF_NONE_MATCH, etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
        assert_eq!(again.headers()[header::ETAG], etag);
        assert!(again.bytes().await.unwrap().is_empty());

        let (status, body) = env.get_id(&id).await;
        assert_eq!(status, 200);
        assert!(body == source, "the master is a plain read");

        let refused = env
            .http
            .get(slave_url(&env, &id, "_151x151"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
        let text = refused.text().await.unwrap();
        assert!(text.contains("151x151"), "{text}");

        let text_id = env.upload("not an image at all", "jpg").await;
        let refused = env
            .http
            .get(slave_url(&env, &text_id, "_150x150"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 415);
        env.stop().await;
    })
    .await;
}

const MOG_THUMBS: &str = r#"
[[location]]
prefix = "/thumbs/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]

[location.thumbnails]
sizes = ["100x50"]
presets.small = { width = 64, height = 64, fit = "cover", format = "auto" }
"#;

#[tokio::test]
async fn mogilefs_query_form_fits_and_negotiates() {
    bounded(LIMIT, async {
        let options = MogOptions {
            extra_tables: MOG_THUMBS.into(),
            ..MogOptions::default()
        };
        let env = MogEnv::start_with(1, &options).await;
        assert_eq!(
            env.put("cat.jpg", dfs_e2e::gradient_jpeg(400, 300)).await,
            201
        );
        let url = |q: &str| env.gateway.url(&format!("/thumbs/cat.jpg?{q}"));
        for (fit, want_w) in [
            ("contain", 66..=67),
            ("cover", 100..=100),
            ("fill", 100..=100),
        ] {
            let response = env
                .http
                .get(url(&format!("w=100&h=50&fit={fit}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{fit}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], "image/jpeg");
            assert!(response.headers().get(header::VARY).is_none(), "{fit}");
            let (w, h) = dimensions(&response.bytes().await.unwrap(), ImageFormat::Jpeg);
            assert!(want_w.contains(&w) && h == 50, "{fit}: {w}x{h}");
        }
        for bad in ["w=150&h=150", "w=100&h=50&fit=squash"] {
            let response = env.http.get(url(bad)).send().await.unwrap();
            assert_eq!(response.status(), 400, "{bad}");
        }

        let webp = env
            .http
            .get(url("preset=small"))
            .header(header::ACCEPT, "image/webp,*/*")
            .send()
            .await
            .unwrap();
        assert_eq!(webp.status(), 200);
        assert_eq!(webp.headers()[header::CONTENT_TYPE], "image/webp");
        assert_eq!(webp.headers()[header::VARY], "Accept");
        let (w, h) = dimensions(&webp.bytes().await.unwrap(), ImageFormat::WebP);
        assert_eq!((w, h), (64, 64), "cover fills the box");

        let jpeg = env.http.get(url("preset=small")).send().await.unwrap();
        assert_eq!(jpeg.status(), 200);
        assert_eq!(jpeg.headers()[header::CONTENT_TYPE], "image/jpeg");
        assert_eq!(jpeg.headers()[header::VARY], "Accept");
        assert_eq!(
            dimensions(&jpeg.bytes().await.unwrap(), ImageFormat::Jpeg),
            (64, 64)
        );
        env.gateway.stop().await;
    })
    .await;
}

/// `dfs_gateway_thumbnails_made_total` for `location`, from `/metrics`.
async fn made(env: &MogEnv, location: &str) -> u64 {
    made_at(&env.http, &env.gateway.url("/metrics"), location).await
}

/// The same, from the `/metrics` at `metrics`.
async fn made_at(http: &reqwest::Client, metrics: &str, location: &str) -> u64 {
    counter_at(http, metrics, "dfs_gateway_thumbnails_made_total", location).await
}

/// The counter `name` for `location`, from the `/metrics` at `metrics`.
async fn counter_at(http: &reqwest::Client, metrics: &str, name: &str, location: &str) -> u64 {
    let metrics = http.get(metrics).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    let label = format!("location=\"{location}\"");
    text.lines()
        .find(|l| l.starts_with(name) && l.contains(&label))
        .map_or(0, |l| l.rsplit(' ').next().unwrap().parse().unwrap())
}

#[tokio::test]
async fn a_thumbnail_is_made_once_then_served_from_the_cache_until_its_source_changes() {
    bounded(LIMIT, async {
        let options = MogOptions {
            upstream_extra: "object_cache = { size = \"8MiB\", max_object = \"1MiB\" }\n".into(),
            // A location of its own: the metrics are shared by this file's tests.
            extra_tables: MOG_THUMBS.replace("/thumbs/", "/cached/"),
            ..MogOptions::default()
        };
        let env = MogEnv::start_with(1, &options).await;
        assert_eq!(
            env.put("cat.jpg", dfs_e2e::gradient_jpeg(400, 300)).await,
            201
        );
        let url = env.gateway.url("/cached/cat.jpg?w=100&h=50&fit=cover");

        // Eight at once for a thumbnail nobody made yet: one is made.
        let requests = (0..8).map(|_| async {
            let response = env.http.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap()
        });
        let bodies = futures_util::future::join_all(requests).await;
        assert!(bodies.iter().all(|b| b == &bodies[0]));
        assert_eq!(made(&env, "/cached/").await, 1);
        for _ in 0..3 {
            let response = env.http.get(&url).send().await.unwrap();
            assert_eq!(response.headers()[header::CONTENT_TYPE], "image/jpeg");
            assert_eq!(response.bytes().await.unwrap(), bodies[0]);
        }
        assert_eq!(made(&env, "/cached/").await, 1);

        // A new source through the gateway: a new thumbnail.
        let other = RgbImage::from_fn(300, 300, |x, _| image::Rgb([255, x as u8, 0]));
        let mut bytes = Cursor::new(Vec::new());
        other.write_to(&mut bytes, ImageFormat::Jpeg).unwrap();
        assert_eq!(env.put("cat.jpg", bytes.into_inner()).await, 201);
        let response = env.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_ne!(response.bytes().await.unwrap(), bodies[0]);
        assert_eq!(made(&env, "/cached/").await, 2);
        env.gateway.stop().await;
    })
    .await;
}

const STORED: &str = r#"
[[location]]
prefix = "/stored/"
upstream = "fdfs"
methods = ["GET", "HEAD"]
thumbnails = { sizes = ["150x150"], store = true }
"#;

#[tokio::test]
async fn with_store_a_fastdfs_thumbnail_is_written_back_as_the_slave_file() {
    bounded(LIMIT, async {
        // A location of its own: the metrics are shared by this file's tests.
        let options = FdfsOptions {
            extra_tables: STORED.into(),
            ..FdfsOptions::default()
        };
        let env = FdfsEnv::start_with(&options).await;
        let id = env.upload(dfs_e2e::gradient_jpeg(400, 300), "jpg").await;
        let name = id.to_string();
        let url = env.url(&format!("/stored/{}", name.replace(".jpg", "_150x150.jpg")));
        let metrics = env.url("/metrics");
        let first = env.http.get(&url).send().await.unwrap();
        assert_eq!(first.status(), 200);
        let thumb = first.bytes().await.unwrap();
        assert_eq!(made_at(&env.http, &metrics, "/stored/").await, 1);

        // Stored in the background, as the ID the URL named.
        let slave = id.slave("_150x150", Some("jpg")).unwrap();
        let stored = async {
            while !env
                .cluster
                .storages("group1")
                .iter()
                .any(|s| s.has_file(&slave))
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), stored)
            .await
            .expect("the slave file is stored");
        // Now a plain read of that file: nothing is made again.
        let again = env.http.get(&url).send().await.unwrap();
        assert_eq!(again.status(), 200);
        assert_eq!(again.bytes().await.unwrap(), thumb);
        assert_eq!(env.get_id(&slave).await, (200, thumb));
        assert_eq!(made_at(&env.http, &metrics, "/stored/").await, 1);
        env.stop().await;
    })
    .await;
}

const MOG_STORED: &str = r#"
[[location]]
prefix = "/mstored/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
thumbnails = { sizes = ["100x50"], store = true, store_domain = "thumbs", store_class = "thumb" }
"#;

#[tokio::test]
async fn with_store_a_mogilefs_thumbnail_is_kept_under_a_derived_key_and_read_back() {
    bounded(LIMIT, async {
        let cluster = MogCluster::builder()
            .nodes(2)
            .domain("imgs")
            .class("imgs", "photos", 2)
            .domain("thumbs")
            .class("thumbs", "thumb", 1)
            .build()
            .await
            .expect("devcluster starts");
        let addrs = cluster.tracker_addrs();
        let options = MogOptions {
            extra_tables: MOG_STORED.into(),
            ..MogOptions::default()
        };
        let env = MogEnv::with_cluster(cluster, &addrs, &options).await;
        let url = env.gateway.url("/mstored/cat.jpg?w=100&h=50&fit=cover");
        // The stored thumbnail of the current version of cat.jpg, once the
        // background write committed it.
        let stored = |thumb_len: usize| {
            let fid = env.cluster.file("imgs", "cat.jpg").expect("source").fid;
            let key = format!("cat.jpg@{fid}-100x50-cover-q80-src");
            let env = &env;
            async move {
                let wait = async {
                    loop {
                        if let Some(file) = env.cluster.file("thumbs", &key) {
                            return file;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                let file = tokio::time::timeout(Duration::from_secs(10), wait)
                    .await
                    .expect("the thumbnail is stored under its derived key");
                assert_eq!(file.class, "thumb");
                assert_eq!(file.length, thumb_len as u64);
            }
        };

        assert_eq!(
            env.put("cat.jpg", dfs_e2e::gradient_jpeg(400, 300)).await,
            201
        );
        let first = env.http.get(&url).send().await.unwrap();
        assert_eq!(first.status(), 200);
        let etag = first.headers()[header::ETAG].clone();
        let thumb = first.bytes().await.unwrap();
        assert_eq!(dimensions(&thumb, ImageFormat::Jpeg), (100, 50));
        assert_eq!(made(&env, "/mstored/").await, 1);
        stored(thumb.len()).await;

        // No object cache here: the second answer is the stored one.
        let again = env.http.get(&url).send().await.unwrap();
        assert_eq!(again.status(), 200);
        assert_eq!(again.headers()[header::CONTENT_TYPE], "image/jpeg");
        assert_eq!(again.headers()[header::ETAG], etag);
        assert_eq!(again.bytes().await.unwrap(), thumb);
        assert_eq!(made(&env, "/mstored/").await, 1);

        // A new version of the source has a new fid, so a new name: its
        // thumbnail is made, never the old one served.
        let other = RgbImage::from_fn(300, 300, |x, _| image::Rgb([255, x as u8, 0]));
        let mut bytes = Cursor::new(Vec::new());
        other.write_to(&mut bytes, ImageFormat::Jpeg).unwrap();
        assert_eq!(env.put("cat.jpg", bytes.into_inner()).await, 201);
        let replaced = env.http.get(&url).send().await.unwrap();
        assert_eq!(replaced.status(), 200);
        assert_ne!(replaced.headers()[header::ETAG], etag);
        let new_thumb = replaced.bytes().await.unwrap();
        assert_ne!(new_thumb, thumb);
        assert_eq!(made(&env, "/mstored/").await, 2);
        stored(new_thumb.len()).await;
        env.gateway.stop().await;
    })
    .await;
}

/// `jpeg` with an EXIF APP1 segment right after SOI whose one IFD entry is
/// the orientation tag.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut ifd = b"Exif\0\0II*\0".to_vec();
    ifd.extend_from_slice(&8u32.to_le_bytes());
    // One entry: tag 0x0112, type SHORT, count 1, the value; no next IFD.
    for field in [
        &1u16.to_le_bytes()[..],
        &0x0112u16.to_le_bytes(),
        &3u16.to_le_bytes(),
    ] {
        ifd.extend_from_slice(field);
    }
    ifd.extend_from_slice(&1u32.to_le_bytes());
    ifd.extend_from_slice(&orientation.to_le_bytes());
    ifd.extend_from_slice(&[0; 6]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((ifd.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&ifd);
    out.extend_from_slice(&jpeg[2..]);
    out
}

const MOG_LIMITS: &str = r#"
[[location]]
prefix = "/edges/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
thumbnails = { sizes = ["100x50"] }

[[location]]
prefix = "/small/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
thumbnails = { sizes = ["100x50"], max_pixels = 100000, max_source_bytes = "1MiB" }
"#;

#[tokio::test]
async fn exif_orientation_is_applied_and_bad_sources_are_refused_end_to_end() {
    bounded(LIMIT, async {
        let options = MogOptions {
            extra_tables: MOG_LIMITS.into(),
            ..MogOptions::default()
        };
        let env = MogEnv::start_with(1, &options).await;
        let get = |path: &str| {
            let url = env.gateway.url(path);
            let http = env.http.clone();
            async move { http.get(url).send().await.unwrap() }
        };
        let source = dfs_e2e::gradient_jpeg(400, 300);

        // Orientation 6: the 400x300 pixels are shown turned, 300x400.
        let turned = with_exif_orientation(&source, 6);
        assert_eq!(env.put("turned.jpg", turned).await, 201);
        let response = get("/edges/turned.jpg?w=100&h=50").await;
        assert_eq!(response.status(), 200);
        let (w, h) = dimensions(&response.bytes().await.unwrap(), ImageFormat::Jpeg);
        assert!(h == 50 && (37..=38).contains(&w), "rotated: {w}x{h}");

        // Cut in the middle of its entropy-coded data.
        assert_eq!(
            env.put("cut.jpg", source[..source.len() / 2].to_vec())
                .await,
            201
        );
        let response = get("/edges/cut.jpg?w=100&h=50").await;
        assert_eq!(response.status(), 422);
        assert!(response.text().await.unwrap().contains("cut.jpg"));

        assert_eq!(env.put("notes.jpg", "plain text, not pixels").await, 201);
        assert_eq!(get("/edges/notes.jpg?w=100&h=50").await.status(), 415);

        // A PNG whose header declares 100000x100000 pixels, and no pixels.
        let mut bomb = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bomb.extend_from_slice(&100_000u32.to_be_bytes());
        bomb.extend_from_slice(&100_000u32.to_be_bytes());
        bomb.extend_from_slice(&[8, 2, 0, 0, 0]);
        let crc = crc32fast::hash(&bomb[12..]);
        bomb.extend_from_slice(&crc.to_be_bytes());
        // An empty IDAT, so that the decoder has read the whole header.
        bomb.extend_from_slice(&0u32.to_be_bytes());
        bomb.extend_from_slice(b"IDAT");
        bomb.extend_from_slice(&crc32fast::hash(b"IDAT").to_be_bytes());
        assert_eq!(env.put("bomb.png", bomb).await, 201);
        assert_eq!(get("/edges/bomb.png?w=100&h=50").await.status(), 413);

        // 400x300 is over this location's 100000 pixels.
        assert_eq!(env.put("cat.jpg", source).await, 201);
        let response = get("/small/cat.jpg?w=100&h=50").await;
        assert_eq!(response.status(), 413);
        assert_eq!(get("/edges/cat.jpg?w=100&h=50").await.status(), 200);
        env.gateway.stop().await;
    })
    .await;
}

/// A grey progressive JPEG written marker by marker: `width`×`height`, one
/// component, a DC scan and then `ac_scans` identical AC scans (spectral
/// band 1-63, no successive approximation), each of them only end-of-band
/// runs over every block. Valid, tiny per scan, and every scan makes
/// libjpeg walk all the image's blocks once.
fn progressive_jpeg(width: u16, height: u16, ac_scans: usize) -> Vec<u8> {
    fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(body);
    }
    /// Entropy-coded bits, most significant first, with 0xFF stuffed.
    #[derive(Default)]
    struct Bits {
        bytes: Vec<u8>,
        acc: u32,
        used: u32,
    }
    impl Bits {
        fn put(&mut self, value: u32, count: u32) {
            for i in (0..count).rev() {
                self.acc = (self.acc << 1) | ((value >> i) & 1);
                self.used += 1;
                if self.used == 8 {
                    self.byte();
                }
            }
        }
        fn byte(&mut self) {
            let b = self.acc as u8;
            self.bytes.push(b);
            if b == 0xFF {
                self.bytes.push(0);
            }
            (self.acc, self.used) = (0, 0);
        }
        fn finish(mut self) -> Vec<u8> {
            while self.used != 0 {
                self.put(1, 1); // padding is 1-bits
            }
            self.bytes
        }
    }
    let blocks = u32::from(width.div_ceil(8)) * u32::from(height.div_ceil(8));
    let mut out = vec![0xFF, 0xD8];
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1; 64]);
    segment(&mut out, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    sof.extend_from_slice(&[1, 1, 0x11, 0]);
    segment(&mut out, 0xC2, &sof);
    // DC table 0: one symbol, category 0, code `0`.
    let mut dht = vec![0x00, 1];
    dht.extend_from_slice(&[0; 15]);
    dht.push(0x00);
    // AC table 0: EOB0..EOB14 (symbols 0x00, 0x10, .. 0xE0), 4-bit codes
    // 0..14 in that order.
    dht.push(0x10);
    dht.extend_from_slice(&[0, 0, 0, 15]);
    dht.extend_from_slice(&[0; 12]);
    dht.extend((0..15u8).map(|r| r << 4));
    segment(&mut out, 0xC4, &dht);
    // DC scan: every block's difference is category 0.
    segment(&mut out, 0xDA, &[1, 1, 0x00, 0, 0, 0x00]);
    let mut dc = Bits::default();
    for _ in 0..blocks {
        dc.put(0, 1);
    }
    out.extend_from_slice(&dc.finish());
    // An AC scan: runs of empty blocks, EOBr covering 2^r + r extra bits.
    let mut ac = Bits::default();
    let mut left = blocks;
    while left > 0 {
        let run = left.min(32767);
        let r = 31 - run.leading_zeros();
        ac.put(r, 4);
        ac.put(run - (1 << r), r);
        left -= run;
    }
    let ac = ac.finish();
    for _ in 0..ac_scans {
        segment(&mut out, 0xDA, &[1, 1, 0x00, 1, 63, 0x00]);
        out.extend_from_slice(&ac);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

const MOG_SLOW: &str = r#"
[[location]]
prefix = "/slow/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
thumbnails = { sizes = ["100x50", "50x50"], workers = 1, time_budget = "1s" }
"#;

#[tokio::test]
async fn a_jpeg_of_many_scans_stops_at_the_budget_frees_the_worker_and_is_remembered() {
    bounded(LIMIT, async {
        let options = MogOptions {
            extra_tables: MOG_SLOW.into(),
            ..MogOptions::default()
        };
        let env = MogEnv::start_with(1, &options).await;
        let get = |path: &str| {
            let url = env.gateway.url(path);
            let http = env.http.clone();
            async move { http.get(url).send().await.unwrap() }
        };
        let metrics = env.gateway.url("/metrics");
        let transforms = || {
            let (http, metrics) = (&env.http, &metrics);
            counter_at(
                http,
                metrics,
                "dfs_gateway_thumbnail_transforms_total",
                "/slow/",
            )
        };
        // 16 Mpx (under max_pixels), a DC scan and 999 AC scans: 1000
        // scans, the most a JPEG may have, in about 70 KB. Decoded to the
        // end, each scan walks all 250000 blocks: seconds of work.
        let bomb = progressive_jpeg(4000, 4000, 999);
        assert_eq!(env.put("scans.jpg", bomb).await, 201);
        assert_eq!(
            env.put("cat.jpg", dfs_e2e::gradient_jpeg(400, 300)).await,
            201
        );

        let first = get("/slow/scans.jpg?w=100&h=50").await;
        assert_eq!(first.status(), 503);
        let refusal = first.text().await.unwrap();
        assert!(refusal.contains("time budget"), "{refusal}");
        // The pool's only worker took the decode; it stopped at the
        // budget, so a thumbnail asked for now gets that worker within its
        // own one-second budget (a decode left running holds it for
        // seconds more, and this would be 503 too).
        let next = get("/slow/cat.jpg?w=100&h=50").await;
        assert_eq!(next.status(), 200);
        let (w, h) = dimensions(&next.bytes().await.unwrap(), ImageFormat::Jpeg);
        assert!((66..=67).contains(&w) && h == 50, "{w}x{h}");
        assert_eq!(transforms().await, 2);

        // The failure is remembered: the same answer, for any size, and
        // nothing is decoded again.
        for path in ["/slow/scans.jpg?w=100&h=50", "/slow/scans.jpg?w=50&h=50"] {
            let again = get(path).await;
            assert_eq!(again.status(), 503, "{path}");
            assert_eq!(again.text().await.unwrap(), refusal, "{path}");
        }
        assert_eq!(transforms().await, 2);
        env.gateway.stop().await;
    })
    .await;
}
