//! Access log lines as written, read back from a captured writer through the
//! same subscriber `dfs-gateway serve` installs:
//! - the gateway format carries client, request line with query, status,
//!   bytes, referer, user agent, request time `N.NNN`, tracker, node, cache;
//! - the client is the address a trusted proxy names, the peer otherwise;
//! - `combined` is nginx's line, bare, with nginx's escaping;
//! - a cache status set on the response is logged;
//! - no credential (Authorization, basic-auth password, signed-URL `sig`,
//!   FastDFS `token`, a referer's password) appears in either format;
//! - tracker state flips are debug lines, not info;
//! - access lines written the short way are the bytes the default text
//!   format writes.

use super::*;
use crate::config::{Config, LogFormat};
use crate::routes::{app, Live};
use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use tower::ServiceExt;
use tracing_subscriber::fmt::MakeWriter;

/// Everything the subscriber wrote.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

impl Capture {
    fn lines(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }
}

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
{server}

[server.access]
trusted_proxies = ["10.0.0.0/8"]

[[upstream]]
name = "mog"
protocol = "mogilefs"
trackers = ["127.0.0.1:1"]
connect_timeout = "200ms"

[[location]]
prefix = "/images/"
upstream = "mog"
domain = "imgs"
"#;

fn live(server: &str) -> Arc<Live> {
    let config = Config::parse(&CONFIG.replace("{server}", server)).unwrap();
    Arc::new(Live::new(crate::app::build(&config).unwrap()))
}

/// Sends one request through `router` (draining the body) and returns the
/// lines logged at `level` and above.
async fn logged(router: Router, request: Request, level: &str) -> Vec<String> {
    let capture = Capture::default();
    let subscriber = output::subscriber(
        LogFormat::Text,
        tracing_subscriber::EnvFilter::new(level),
        capture.clone(),
        false,
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    let response = router.oneshot(request).await.unwrap();
    axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    capture.lines()
}

fn request(uri: &str, peer: &str, headers: &[(&str, &str)]) -> Request {
    let mut builder = axum::http::Request::builder().uri(uri).header("host", "gw");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn access_line(lines: &[String]) -> &str {
    let found: Vec<&String> = lines.iter().filter(|l| l.contains(" status=")).collect();
    assert_eq!(found.len(), 1, "{lines:#?}");
    found[0]
}

/// The value after `rt=`, checked to be seconds with three decimals.
fn request_time(line: &str) -> &str {
    let rt = line
        .split(" rt=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let (secs, ms) = rt.split_once('.').unwrap();
    assert!(
        secs.bytes().all(|b| b.is_ascii_digit()) && !secs.is_empty(),
        "{rt}"
    );
    assert!(
        ms.len() == 3 && ms.bytes().all(|b| b.is_ascii_digit()),
        "{rt}"
    );
    rt
}

#[tokio::test]
async fn gateway_lines_carry_what_nginx_users_grep_for() {
    let headers = [
        ("referer", "http://ref.example/page?q=1"),
        ("user-agent", "curl/8.5.0"),
    ];
    let r = request("/images/a.jpg?w=100&h=50", "192.0.2.7:4000", &headers);
    let lines = logged(app(live(""), true), r, "info").await;
    let line = access_line(&lines);
    for field in [
        "client=192.0.2.7 ",
        "request=\"GET /images/a.jpg?w=100&h=50 HTTP/1.1\" ",
        "status=503 ",
        "referer=\"http://ref.example/page?q=1\" ",
        "user_agent=\"curl/8.5.0\" ",
        "tracker=\"-\" ",
        "node=\"-\" ",
        "cache=\"-\" ",
    ] {
        assert!(line.contains(field), "{field} missing: {line}");
    }
    assert!(line.contains(" bytes="), "{line}");
    request_time(line);
    assert!(!line.contains(" ms="), "no float milliseconds: {line}");
}

#[tokio::test]
async fn the_client_is_the_one_a_trusted_proxy_names() {
    let xff = [("x-forwarded-for", "203.0.113.9, 10.0.0.2")];
    let r = request("/images/a.jpg", "10.0.0.1:4000", &xff);
    let lines = logged(app(live(""), true), r, "info").await;
    assert!(
        access_line(&lines).contains("client=203.0.113.9 "),
        "{lines:?}"
    );
    // The same header from an untrusted peer is not believed.
    let r = request("/images/a.jpg", "192.0.2.7:4000", &xff);
    let lines = logged(app(live(""), true), r, "info").await;
    assert!(
        access_line(&lines).contains("client=192.0.2.7 "),
        "{lines:?}"
    );
}

#[tokio::test]
async fn combined_is_nginx_s_line_bare() {
    let headers = [("user-agent", "Mozilla/5.0 \"quoted\"")];
    let r = request("/images/a.jpg?w=1", "192.0.2.7:4000", &headers);
    let server = r#"access_log_format = "combined""#;
    let lines = logged(app(live(server), true), r, "info").await;
    let line = lines
        .iter()
        .find(|l| l.starts_with("192.0.2.7 - - ["))
        .unwrap_or_else(|| panic!("no combined line: {lines:#?}"));
    // 192.0.2.7 - - [01/Dec/2026:14:23:18 +0000] "GET ..." 503 N "-" "..."
    let (stamp, rest) = line["192.0.2.7 - - [".len()..].split_once("] ").unwrap();
    assert_eq!(stamp.len(), "01/Dec/2026:14:23:18 +0000".len(), "{stamp}");
    assert!(stamp.ends_with(" +0000") && &stamp[2..3] == "/", "{stamp}");
    let rest = rest
        .strip_prefix("\"GET /images/a.jpg?w=1 HTTP/1.1\" 503 ")
        .unwrap();
    let (bytes, rest) = rest.split_once(' ').unwrap();
    assert!(bytes.parse::<u64>().unwrap() > 0, "{line}");
    assert_eq!(rest, "\"-\" \"Mozilla/5.0 \\x22quoted\\x22\"");
    assert!(
        !lines.iter().any(|l| l.contains(" status=")),
        "one line only: {lines:#?}"
    );
}

#[tokio::test]
async fn a_cache_status_set_on_the_response_is_logged() {
    let live = live("");
    let router = Router::new()
        .route(
            "/cached",
            get(|| async {
                let mut response = "hit\n".into_response();
                response.extensions_mut().insert(CacheStatus::Hit);
                response
            }),
        )
        .layer(axum::middleware::from_fn_with_state(live.clone(), edge))
        .with_state(live);
    let lines = logged(router, request("/cached", "192.0.2.7:1", &[]), "info").await;
    let line = access_line(&lines);
    assert!(
        line.contains("cache=\"hit\" ") && line.contains("bytes=4 "),
        "{line}"
    );
}

#[tokio::test]
async fn credentials_never_reach_a_line() {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("bob:hunter2");
    let authorization = format!("Basic {basic}");
    let headers = [
        ("authorization", authorization.as_str()),
        (
            "referer",
            "https://carol:pa55word@ref.example/p?token=reftok1&x=2",
        ),
        ("x-api-key", "headerkey9"),
        ("cookie", "session=cookie7"),
    ];
    let uri = "/images/a.jpg?expires=99&sig=5ec7e7516&token=t0ken42&Password=pw88&w=1";
    for format in ["gateway", "combined"] {
        let server = format!("access_log_format = \"{format}\"");
        let r = request(uri, "192.0.2.7:4000", &headers);
        let lines = logged(app(live(&server), true), r, "trace").await;
        let all = lines.join("\n");
        assert!(
            all.contains("/images/a.jpg?expires=99&sig=***&token=***&Password=***&w=1"),
            "{all}"
        );
        assert!(all.contains("https://ref.example/p?token=***&x=2"), "{all}");
        for secret in [
            basic.as_str(),
            "hunter2",
            "5ec7e7516",
            "t0ken42",
            "pw88",
            "pa55word",
            "carol",
            "reftok1",
            "headerkey9",
            "cookie7",
        ] {
            assert!(!all.contains(secret), "{format}: {secret} logged:\n{all}");
        }
    }
}

#[tokio::test]
async fn tracker_flips_are_debug_not_info() {
    let flip = || {
        let set = crate::clients::TrackerSet::new(
            vec!["127.0.0.1:1".parse().unwrap()],
            std::time::Duration::from_secs(5),
        );
        set.mark_failed(0);
        set.mark_ok(0);
    };
    for (level, expected) in [("info", false), ("debug", true)] {
        let capture = Capture::default();
        let subscriber = output::subscriber(
            LogFormat::Text,
            tracing_subscriber::EnvFilter::new(level),
            capture.clone(),
            false,
        );
        tracing::subscriber::with_default(subscriber, flip);
        let lines = capture.lines();
        let seen = lines.iter().any(|l| l.contains("answering again"));
        assert_eq!(seen, expected, "at {level}: {lines:#?}");
    }
}

/// The lines `emit` logs through the text subscriber, with (`fast`) or
/// without the access-line shortcut, timestamps cut off.
fn text_lines(fast: bool, emit: fn()) -> Vec<String> {
    let cut = |line: &String| line.split_once(' ').map(|(_, rest)| rest.to_owned());
    timed_text_lines(fast, emit)
        .iter()
        .filter_map(cut)
        .collect()
}

/// [`text_lines`] with their timestamps.
fn timed_text_lines(fast: bool, emit: fn()) -> Vec<String> {
    use tracing_subscriber::layer::SubscriberExt;
    let capture = Capture::default();
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(false)
        .with_writer(capture.clone());
    let plain = tracing_subscriber::fmt::format().with_target(false);
    type Boxed = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;
    let layer: Boxed = if fast {
        Box::new(layer.event_format(output::AccessLines(plain)))
    } else {
        Box::new(layer.event_format(plain))
    };
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, emit);
    capture.lines()
}

#[test]
fn access_line_timestamps_are_spelled_as_the_default_format_spells_them() {
    fn emit() {
        for status in 0..3u16 {
            tracing::info!(target: TARGET, status, body = "complete");
        }
    }
    let spelled = |fast| -> Vec<(String, std::time::SystemTime)> {
        timed_text_lines(fast, emit)
            .iter()
            .map(|line| {
                let (at, _) = line.split_once(' ').expect("a timestamp first");
                let parsed = humantime::parse_rfc3339(at).expect(at);
                // Digits where the default has digits, its separators elsewhere.
                let shape: String = at
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '9' } else { c })
                    .collect();
                (shape, parsed)
            })
            .collect()
    };
    let (fast, slow) = (spelled(true), spelled(false));
    assert_eq!(fast.len(), 3);
    assert_eq!(fast[0].0, "9999-99-99T99:99:99.999999Z");
    for ((shape, at), (slow_shape, slow_at)) in fast.iter().zip(&slow) {
        assert_eq!(shape, slow_shape);
        let apart = slow_at.duration_since(*at).unwrap_or_default();
        assert!(
            apart < std::time::Duration::from_secs(5),
            "{at:?} {slow_at:?}"
        );
    }
    assert!(fast.windows(2).all(|w| w[0].1 <= w[1].1), "{fast:?}");
}

#[test]
fn access_lines_are_the_bytes_the_default_format_writes() {
    fn emit() {
        let odd = "a \"quoted\" \\ back\tslash\nnew line \u{1b}[31m é 中 \u{7f}";
        for value in [
            "GET /a.jpg HTTP/1.1",
            "",
            "-",
            "Mozilla/5.0 (X11)",
            odd,
            "'",
        ] {
            tracing::info!(
                target: TARGET,
                id = %"5e1f-1",
                client = %"127.0.0.1",
                request = value,
                status = 200u16,
                bytes = 4096u64,
                rt = %"0.001",
                stored = None::<u64>,
                upload = Some(7u64),
                body = "complete",
                ok = true,
                error = value,
            );
        }
        // Left to the default format: a message, an error value, a span.
        tracing::warn!(target: TARGET, id = "x", "too many {}", "requests");
        let e = std::io::Error::other("broken");
        tracing::info!(target: TARGET, error = &e as &dyn std::error::Error);
        let span = tracing::info_span!("request", id = "r1");
        span.in_scope(|| tracing::info!(target: TARGET, status = 200u16, body = "complete"));
        tracing::info!(target: "other", status = 200u16, body = "complete");
    }
    let fast = text_lines(true, emit);
    assert_eq!(fast.len(), 10, "{fast:#?}");
    assert_eq!(fast, text_lines(false, emit));
    assert!(fast[0].starts_with(" INFO id=5e1f-1 client=127.0.0.1 request=\"GET /a.jpg HTTP/1.1\""));
}

#[test]
fn request_lines_spell_versions_as_debug_does() {
    use axum::http::Version;
    for version in [
        Version::HTTP_09,
        Version::HTTP_10,
        Version::HTTP_11,
        Version::HTTP_2,
        Version::HTTP_3,
    ] {
        assert_eq!(version_name(version), format!("{version:?}"));
    }
}

#[test]
fn generated_request_ids_are_a_prefix_and_a_counter() {
    let ids: Vec<String> = (0..3)
        .map(|_| request_id(&request("/a", "192.0.2.7:4000", &[])))
        .collect();
    let parts: Vec<(&str, u64)> = ids
        .iter()
        .map(|id| {
            let (prefix, n) = id.split_once('-').expect("prefix-counter");
            assert_eq!(prefix.len(), 8, "{id}");
            assert!(prefix.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
            (prefix, u64::from_str_radix(n, 16).expect("hex counter"))
        })
        .collect();
    assert!(parts.iter().all(|(p, _)| *p == parts[0].0), "{ids:?}");
    // Other tests generate ids at the same time: the counter only rises.
    assert!(parts.windows(2).all(|w| w[1].1 > w[0].1), "{ids:?}");
    let given = request("/a", "192.0.2.7:4000", &[(REQUEST_ID, "abc-123")]);
    assert_eq!(request_id(&given), "abc-123");
}
