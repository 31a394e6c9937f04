//! Access control where it meets other features, end to end on a MogileFS
//! devcluster:
//! - signed URLs on locations that also make thumbnails: with
//!   `require = "all"`, a `dfs-gateway sign` GET URL reads the object itself
//!   (GET and HEAD), and the same URL with thumbnail parameters added reads
//!   a listed size or a free size signed with `thumb_sig`; without the
//!   access signature both are refused;
//! - a free-size URL of the older form (`sig` for the thumbnail signature,
//!   no access signature) still works where reads need no credentials;
//! - an access signature has one spelling: a pair `0x` respelled `+x`, or
//!   upper case, is refused;
//! - CORS with credentials: `origins = ["*"]` is refused by the config
//!   check, `Origin: null` is echoed only when `"null"` is listed.

use dfs_e2e::fastdfs::bounded;
use dfs_e2e::{mog_config, MogEnv, MogOptions};
use dfs_gateway::thumbs::request::sign as sign_thumbnail;
use dfs_gateway::thumbs::{Fit, FormatChoice, Resolved};
use image::ImageFormat;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const LIMIT: Duration = Duration::from_secs(90);
const SECRET: &str = "e2e-signing-secret-0123456789";
const THUMB_KEY: &str = "e2e-thumbnail-key-0123456789";

/// A GET/HEAD location on domain `imgs` with `tables` (its sub-tables).
fn location(prefix: &str, tables: &str) -> String {
    format!(
        r#"
[[location]]
prefix = "{prefix}"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
{tables}
"#
    )
}

/// `/all/` needs a signed URL for every method, `/reads/` only for writes;
/// both make thumbnails, listed 100x50 or any size signed. `/plain/` needs
/// a signed URL for every method and makes no thumbnails.
fn locations() -> String {
    let signed = format!("signed = {{ secret = \"{SECRET}\" }}");
    let thumbnails = format!(
        "[location.thumbnails]\nsizes = [\"100x50\"]\nfree_sizes = true\nkey = \"{THUMB_KEY}\""
    );
    let all = format!("[location.access]\nrequire = \"all\"\n{signed}\n{thumbnails}");
    let reads = format!("[location.access]\n{signed}\n{thumbnails}");
    let plain = format!("[location.access]\nrequire = \"all\"\n{signed}");
    location("/all/", &all) + &location("/reads/", &reads) + &location("/plain/", &plain)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn access_signed_until(method: &str, path: &str, expires: u64) -> String {
    let query = dfs_gateway::access::signed::sign(SECRET.as_bytes(), method, path, expires, None);
    format!("{path}?{query}")
}

fn access_signed(method: &str, path: &str) -> String {
    access_signed_until(method, path, now() + 300)
}

/// The free size 64x48 `fill` as the location resolves it, and its signature.
fn free_size(path: &str) -> (&'static str, String) {
    let resolved = Resolved {
        width: 64,
        height: 48,
        fit: Fit::Fill,
        format: FormatChoice::Source,
        quality: 80,
        enlarge: false,
    };
    let sig = sign_thumbnail(THUMB_KEY.as_bytes(), path, &resolved);
    ("w=64&h=48&fit=fill", sig)
}

async fn get(env: &MogEnv, url: &str) -> (u16, Vec<u8>) {
    let response = env.http.get(env.gateway.url(url)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory_with_format(bytes, ImageFormat::Jpeg).expect("a JPEG");
    (img.width(), img.height())
}

async fn start() -> MogEnv {
    let options = MogOptions {
        extra_tables: locations(),
        ..MogOptions::default()
    };
    let env = MogEnv::start_with(1, &options).await;
    assert_eq!(
        env.put("cat.jpg", dfs_e2e::gradient_jpeg(400, 300)).await,
        201
    );
    env
}

#[tokio::test]
async fn signed_urls_read_objects_and_thumbnails_where_every_read_needs_one() {
    bounded(LIMIT, async {
        let env = start().await;
        let source = dfs_e2e::gradient_jpeg(400, 300);
        let url = access_signed("GET", "/all/cat.jpg");

        let (status, body) = get(&env, &url).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert!(body == source, "the object itself");
        let head = env.http.head(env.gateway.url(&url)).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()["content-length"],
            source.len().to_string().as_str()
        );

        let (status, body) = get(&env, &format!("{url}&w=100&h=50")).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let (w, h) = dimensions(&body);
        assert!(
            (66..=67).contains(&w) && h == 50,
            "a listed size, contain: {w}x{h}"
        );

        let (size, thumb_sig) = free_size("/all/cat.jpg");
        let free = format!("{url}&{size}&thumb_sig={thumb_sig}");
        let (status, body) = get(&env, &free).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(dimensions(&body), (64, 48), "a free size, fill");
        let (status, _) = get(&env, &format!("{url}&{size}")).await;
        assert_eq!(status, 403, "a free size without its own signature");

        for unsigned in [
            "/all/cat.jpg".to_owned(),
            "/all/cat.jpg?w=100&h=50".to_owned(),
            format!("/all/cat.jpg?{size}&thumb_sig={thumb_sig}"),
        ] {
            assert_eq!(get(&env, &unsigned).await.0, 403, "{unsigned}");
        }
        env.gateway.stop().await;
    })
    .await;
}

#[tokio::test]
async fn older_free_size_urls_keep_working() {
    bounded(LIMIT, async {
        let env = start().await;
        let (size, sig) = free_size("/reads/cat.jpg");
        let (status, body) = get(&env, &format!("/reads/cat.jpg?{size}&sig={sig}")).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(dimensions(&body), (64, 48));
        let (status, _) = get(&env, &format!("/reads/cat.jpg?{size}&sig={sig}x")).await;
        assert_eq!(status, 403, "a wrong one is still refused");
        env.gateway.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_access_signature_has_one_spelling() {
    bounded(LIMIT, async {
        let env = start().await;
        // An expiry whose signature has a hex pair starting with 0 (each
        // one has, with probability 1 - (15/16)^32, about 87 %).
        let (url, at) = (300..400)
            .find_map(|ahead| {
                let url = access_signed_until("GET", "/plain/cat.jpg", now() + ahead);
                let sig = url.split_once("&sig=").unwrap().1.to_owned();
                let at = (0..sig.len())
                    .step_by(2)
                    .find(|&i| sig.as_bytes()[i] == b'0');
                at.map(|at| (url, at))
            })
            .expect("a signature with a pair 0x");
        assert_eq!(get(&env, &url).await.0, 200);
        let (head, sig) = url.split_once("&sig=").unwrap();
        let plus = format!("{head}&sig={}+{}", &sig[..at], &sig[at + 1..]);
        let upper = format!("{head}&sig={}", sig.to_ascii_uppercase());
        assert_ne!(upper, url, "a signature with letters");
        for other in [plus, upper] {
            let (status, body) = get(&env, &other).await;
            assert_eq!(status, 403, "{other}");
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains("malformed"), "{other}: {text}");
        }
        env.gateway.stop().await;
    })
    .await;
}

fn cors_location(prefix: &str, cors: &str) -> String {
    location(prefix, &format!("[location.access]\ncors = {cors}"))
}

#[test]
fn check_config_refuses_any_origin_with_credentials() {
    let options = MogOptions {
        extra_tables: cors_location("/x/", r#"{ origins = ["*"], credentials = true }"#),
        ..MogOptions::default()
    };
    let text = mog_config(&["127.0.0.1:1".parse().unwrap()], &options);
    let err = dfs_gateway::config::Config::parse(&text)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("access.cors.origins") && err.contains("list the origins"),
        "{err}"
    );
}

#[tokio::test]
async fn a_null_origin_is_echoed_only_when_listed() {
    bounded(LIMIT, async {
        let extra_tables =
            cors_location(
                "/listed/",
                r#"{ origins = ["https://app.test"], credentials = true }"#,
            ) + &cors_location("/opaque/", r#"{ origins = ["null"], credentials = true }"#);
        let options = MogOptions {
            extra_tables,
            ..MogOptions::default()
        };
        let env = MogEnv::start_with(1, &options).await;
        assert_eq!(env.put("c.txt", "shared").await, 201);
        let read = |path: &'static str, origin: &'static str| {
            let request = env.http.get(env.gateway.url(path)).header("origin", origin);
            async move { request.send().await.unwrap() }
        };
        let app = read("/listed/c.txt", "https://app.test").await;
        assert_eq!(app.status(), 200);
        assert_eq!(
            app.headers()["access-control-allow-origin"],
            "https://app.test"
        );
        assert_eq!(app.headers()["access-control-allow-credentials"], "true");
        let null = read("/listed/c.txt", "null").await;
        assert_eq!(null.status(), 200);
        assert!(
            !null.headers().contains_key("access-control-allow-origin"),
            "{:?}",
            null.headers()
        );
        let listed = read("/opaque/c.txt", "null").await;
        assert_eq!(listed.headers()["access-control-allow-origin"], "null");
        env.gateway.stop().await;
    })
    .await;
}
