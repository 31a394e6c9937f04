//! `dfs-gateway demo`, started in process as the command starts it:
//! - the samples are uploaded through the gateway, and the URLs its printed
//!   curl lines name answer as the lines say (read, upload, delete, for
//!   both MogileFS and FastDFS); the thumbnail line is a comment;
//! - `GET /` is the landing page, linking to both samples;
//! - with `--public-url` (behind a proxy, in a container) the lines and the
//!   landing page name that URL, never the listening address or a file on
//!   the demo's own disk, and work from a directory that has nothing but
//!   what the lines themselves download;
//! - with `--data-dir`, a key stored before a restart reads back after it.
#![cfg(feature = "demo")]

use dfs_gateway::demo::{sample, Demo};

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The URL in the printed line that starts with `prefix`.
fn url_of(banner: &str, prefix: &str) -> String {
    let line = banner
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{banner}"));
    let url = line
        .split_whitespace()
        .find(|w| w.trim_matches('\'').starts_with("http://"))
        .unwrap();
    url.trim_matches('\'').to_owned()
}

async fn start(dir: Option<std::path::PathBuf>) -> Demo {
    Demo::start("127.0.0.1:0".parse().unwrap(), dir)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_printed_lines_work_and_slash_is_the_landing_page() {
    let demo = start(None).await;
    let banner = demo.banner();
    let png = sample::png();
    assert_eq!(std::fs::read(demo.sample_path()).unwrap(), png);
    let http = http();
    for prefix in ["curl -o sample.png", "curl -o sample-fdfs.png"] {
        let url = url_of(&banner, prefix);
        let got = http.get(&url).send().await.unwrap();
        assert_eq!(got.status(), 200, "{url}");
        assert_eq!(got.headers()["content-type"], "image/png");
        assert_eq!(got.bytes().await.unwrap(), png, "{url}");
    }
    let put = url_of(&banner, "curl -i -X PUT");
    let status = http
        .put(&put)
        .body(png.clone())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 201, "{put}");
    let read = url_of(&banner, "curl -o mine.png");
    assert_eq!(
        http.get(&read).send().await.unwrap().bytes().await.unwrap(),
        png
    );
    let delete = url_of(&banner, "curl -i -X DELETE");
    assert_eq!(http.delete(&delete).send().await.unwrap().status(), 204);
    assert_eq!(http.get(&read).send().await.unwrap().status(), 404);
    let post = url_of(&banner, "curl -s -X POST");
    let answer = http.post(&post).body(png.clone()).send().await.unwrap();
    assert!(answer.status().is_success(), "{post}: {}", answer.status());
    let answer: serde_json::Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert!(
        answer["file_id"].as_str().unwrap().ends_with(".png"),
        "{answer}"
    );
    let stem = demo.file_id().trim_end_matches(".png");
    let thumb = url_of(&banner, "curl -o thumb.png");
    assert!(thumb.ends_with(&format!("{stem}_150x150.png")), "{thumb}");
    let got = http.get(&thumb).send().await.unwrap();
    assert_eq!(got.status(), 200, "{thumb}");
    assert_eq!(got.headers()["content-type"], "image/png");
    assert!(got.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));

    let page = http.get(format!("{}/", demo.base())).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let page = page.text().await.unwrap();
    assert!(page.contains("href=\"/images/sample.png\""), "{page}");
    assert!(
        page.contains(&format!("href=\"/{}\"", demo.file_id())),
        "{page}"
    );
    assert!(page.contains("/upload/"), "{page}");
    let fdfs_delete = url_of(&banner, &format!("curl -i -X DELETE {}/fdfs/", demo.base()));
    assert_eq!(
        http.delete(&fdfs_delete).send().await.unwrap().status(),
        204
    );
    demo.stop().await.unwrap();
}

/// A shell-ish split of one printed line: words, with '...' quoting.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[tokio::test]
async fn with_a_public_url_the_lines_name_it_and_use_only_what_they_download() {
    // The public URL stands for a proxy in front; the test plays the proxy by
    // sending what is addressed to it to where the demo listens.
    let public = "http://demo.example:8088";
    let demo = Demo::start_public(
        "127.0.0.1:0".parse().unwrap(),
        None,
        Some(dfs_gateway::demo::public_url(&format!("{public}/")).unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(demo.public_base(), public);
    let banner = demo.banner();
    let sample_path = demo.sample_path().display().to_string();
    assert!(!banner.contains(&sample_path), "{banner}");
    let commands = demo.commands();
    let curls: Vec<&String> = commands.iter().filter(|c| c.starts_with("curl")).collect();
    assert!(
        curls
            .iter()
            .all(|c| c.contains(public) && !c.contains(demo.base())),
        "{commands:#?}"
    );
    // Each line runs in an empty directory, in order: a file it sends is one an
    // earlier line downloaded (curl -o), never one of the demo's.
    let http = http();
    let mut downloaded: std::collections::HashMap<String, Vec<u8>> = Default::default();
    for line in &curls {
        let args = words(line.split("   #").next().unwrap());
        let url = args
            .iter()
            .find(|a| a.starts_with("http://"))
            .unwrap()
            .replacen(public, demo.base(), 1);
        let flag = |name: &str| {
            let at = args.iter().position(|a| a == name)?;
            Some(args[at + 1].clone())
        };
        let sent = flag("-T").or_else(|| flag("--data-binary").map(|f| f[1..].to_owned()));
        let body = sent.map(|file| {
            downloaded
                .get(&file)
                .unwrap_or_else(|| panic!("{line}: sends {file}, which no earlier line made"))
                .clone()
        });
        let method = flag("-X").unwrap_or_else(|| "GET".into());
        let mut request = http.request(method.parse().unwrap(), &url);
        if let Some(body) = body {
            request = request.body(body);
        }
        if let Some(range) = flag("-H") {
            let (name, value) = range.split_once(": ").unwrap();
            request = request.header(name, value);
        }
        let answer = request.send().await.unwrap();
        assert!(answer.status().is_success(), "{line}: {}", answer.status());
        let bytes = answer.bytes().await.unwrap().to_vec();
        if let Some(file) = flag("-o") {
            downloaded.insert(file, bytes);
        }
    }
    assert_eq!(downloaded["sample.png"], sample::png());
    assert_eq!(downloaded["mine.png"], sample::png());

    let page = http.get(format!("{}/", demo.base())).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains(public), "{page}");
    assert!(!page.contains(&sample_path), "{page}");
    demo.stop().await.unwrap();
}

#[test]
fn a_public_url_is_an_http_url_of_a_host() {
    use dfs_gateway::demo::public_url;
    assert_eq!(
        public_url("http://127.0.0.1:8080/").unwrap(),
        "http://127.0.0.1:8080"
    );
    assert_eq!(
        public_url("https://img.example/demo").unwrap(),
        "https://img.example/demo"
    );
    for bad in [
        "127.0.0.1:8080",
        "ftp://x",
        "http://",
        "http:///x",
        "http://a b",
        "http://a/?q",
    ] {
        assert!(public_url(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_key_stored_before_a_restart_reads_back_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start(Some(dir.path().to_owned())).await;
    let http = http();
    let kept = b"kept across a restart".to_vec();
    let put = format!("{}/upload/kept.txt", demo.base());
    assert_eq!(
        http.put(&put)
            .body(kept.clone())
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    demo.stop().await.unwrap();

    let demo = start(Some(dir.path().to_owned())).await;
    let read = format!("{}/images/kept.txt", demo.base());
    let got = http.get(&read).send().await.unwrap();
    assert_eq!(got.status(), 200, "{read}");
    assert_eq!(got.bytes().await.unwrap(), kept);
    demo.stop().await.unwrap();
}
