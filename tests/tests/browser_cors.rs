//! A real browser on another origin: headless Chromium loads a page from
//! one 127.0.0.1 port; its script `fetch()`es an image from the gateway on
//! another port and PUTs a file there with a signed URL.
//! - origin allowed by the location's CORS rules: both succeed, the upload is stored;
//! - origin not allowed: both fail in the browser (CORS error), nothing is stored.
//!
//! Skipped (listed as ignored) where Chromium is not installed; CI installs it.

use dfs_e2e::browser::{chromium, dump_dom, PageServer};
use dfs_e2e::{MogEnv, MogOptions};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "browser-signing-secret-0123456789";

async fn env(allowed_origin: &str) -> MogEnv {
    let extra_tables = format!(
        r#"
[[location]]
prefix = "/pub/"
upstream = "mog"
domain = "imgs"
methods = ["GET", "HEAD"]
[location.access]
cors = {{ origins = ["{allowed_origin}"] }}

[[location]]
prefix = "/in/"
upstream = "mog"
domain = "imgs"
class = "photos"
methods = ["PUT"]
[location.access]
signed = {{ secret = "{SECRET}" }}
cors = {{ origins = ["{allowed_origin}"], headers = ["content-type"] }}
"#
    );
    let options = MogOptions {
        extra_tables,
        ..MogOptions::default()
    };
    MogEnv::start_with(1, &options).await
}

fn page(image_url: &str, put_url: &str) -> String {
    format!(
        r#"<!doctype html><html><body><pre id="out">pending</pre><script>
async function run() {{
  const out = [];
  try {{
    const r = await fetch("{image_url}");
    const b = await r.arrayBuffer();
    out.push("get " + r.status + " " + b.byteLength);
  }} catch (e) {{ out.push("get failed " + e.name); }}
  try {{
    const r = await fetch("{put_url}", {{ method: "PUT", body: "sent by the browser", headers: {{ "Content-Type": "text/plain" }} }});
    out.push("put " + r.status);
  }} catch (e) {{ out.push("put failed " + e.name); }}
  document.getElementById("out").textContent = "done\n" + out.join("\n");
}}
run();
</script></body></html>"#
    )
}

/// Runs the page against a gateway allowing `allowed` (`None`: the page's own origin).
async fn run_page(allowed: Option<&str>) -> (String, MogEnv) {
    let chromium = chromium().expect("chromium on PATH");
    let pages = PageServer::start().await;
    let env = env(allowed.unwrap_or(&pages.origin())).await;
    assert_eq!(env.put("img/dot.png", vec![7u8; 321]).await, 201);
    let expires = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 300;
    let query = dfs_gateway::access::signed::sign(
        SECRET.as_bytes(),
        "PUT",
        "/in/from-browser.txt",
        expires,
        Some(1000),
    );
    let put_url = env.gateway.url(&format!("/in/from-browser.txt?{query}"));
    pages.set_page(&page(&env.gateway.url("/pub/img/dot.png"), &put_url));
    let dom = dump_dom(
        &chromium,
        &format!("{}/index.html", pages.origin()),
        Duration::from_secs(20),
    )
    .await;
    (dom, env)
}

#[tokio::test]
#[cfg_attr(not(has_chromium), ignore = "chromium not installed")]
async fn allowed_origin_reads_and_uploads_with_a_signed_url() {
    let (dom, env) = run_page(None).await;
    assert!(dom.contains("done"), "the script did not finish: {dom}");
    assert!(dom.contains("get 200 321"), "{dom}");
    assert!(dom.contains("put 201"), "{dom}");
    let (status, body) = env.get("from-browser.txt").await;
    assert_eq!(status, 200);
    assert_eq!(&body[..], b"sent by the browser");
}

#[tokio::test]
#[cfg_attr(not(has_chromium), ignore = "chromium not installed")]
async fn other_origin_is_blocked_by_the_browser() {
    let (dom, env) = run_page(Some("http://127.0.0.1:1")).await;
    assert!(dom.contains("done"), "the script did not finish: {dom}");
    assert!(dom.contains("get failed TypeError"), "{dom}");
    assert!(dom.contains("put failed TypeError"), "{dom}");
    assert_eq!(
        env.get("from-browser.txt").await.0,
        404,
        "nothing was uploaded"
    );
}
