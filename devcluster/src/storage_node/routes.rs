//! Request dispatch of a storage node: monitor probes, faults, then the method.

use super::{get, put, NodeState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, USER_AGENT};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The node's router: one fallback, since every path is a file path.
pub(crate) fn app(state: Arc<NodeState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<Arc<NodeState>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if let Some(devid) = usage_devid(&path).filter(|d| state.has_device(*d)) {
        return usage(&state, devid);
    }
    let from_tracker = is_tracker(request.headers());
    state.counters.request(request.method(), from_tracker);
    let faults = state.faults.take(from_tracker);
    if let Some(delay) = faults.latency {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = faults.fail {
        return html(status, "");
    }
    let Some(segments) = segments(&path) else {
        return html(StatusCode::BAD_REQUEST, "Invalid filename");
    };
    match *request.method() {
        Method::GET | Method::HEAD => {
            let read = get::Read::of(&request, from_tracker);
            get::serve(&state, &segments, read, faults).await
        }
        Method::PUT => put::store(&state, &segments, request, &faults).await,
        Method::DELETE => delete(&state, &segments).await,
        // Perlbal does not implement MKCOL; trackers then skip it for the device.
        _ => html(StatusCode::BAD_REQUEST, ""),
    }
}

fn is_tracker(headers: &HeaderMap) -> bool {
    headers
        .get(USER_AGENT)
        .is_some_and(|ua| ua.as_bytes() == super::TRACKER_USER_AGENT.as_bytes())
}

/// The path's segments, or `None` when one of them is `..` (or `.`).
pub(super) fn segments(path: &str) -> Option<Vec<String>> {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect();
    (!segments.iter().any(|s| s == ".." || s == ".")).then_some(segments)
}

/// The device of a `/devN/...` path.
pub(super) fn devid_of(segments: &[String]) -> Option<u64> {
    segments.first()?.strip_prefix("dev")?.parse().ok()
}

fn usage_devid(path: &str) -> Option<u64> {
    let rest = path.strip_prefix("/dev")?.strip_suffix("/usage")?;
    rest.parse().ok()
}

/// Nominal capacity reported by `/devN/usage`, in KiB (100 GiB).
const TOTAL_KIB: u64 = 100 * 1024 * 1024;

/// The disk-usage file mogstored keeps in every device directory
/// (vectors/wire/06). The figures are nominal: nothing here measures a disk.
fn usage(state: &NodeState, devid: u64) -> Response {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let disk = state.root.join(format!("dev{devid}"));
    let text = format!(
        "available: {TOTAL_KIB}\ndevice: devcluster\ndisk: {}\ntime: {now}\ntotal: {TOTAL_KIB}\nuse: 0%\nused: 0\n",
        disk.display()
    );
    Response::builder()
        .header(CONTENT_TYPE, "text/plain")
        .body(Body::from(text))
        .unwrap_or_default()
}

async fn delete(state: &NodeState, segments: &[String]) -> Response {
    let path = state.root.join(segments.join("/"));
    match tokio::fs::remove_file(&path).await {
        Ok(()) => Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::empty())
            .unwrap_or_default(),
        Err(_) => html(StatusCode::NOT_FOUND, ""),
    }
}

/// Perlbal's error and status pages: `<h1>404 - Not Found</h1>\n` + detail.
pub(super) fn html(status: StatusCode, detail: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("");
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/html")
        .body(Body::from(format!(
            "<h1>{} - {reason}</h1>\n{detail}",
            status.as_u16()
        )))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_dot_segments_are_refused() {
        assert!(segments("/dev1/../x.fid").is_none());
        assert!(segments("/dev1/./x.fid").is_none());
        let ok = segments("/dev1/0/000/000/0000000001.fid").unwrap();
        assert_eq!(devid_of(&ok), Some(1));
    }

    #[test]
    fn usage_paths_name_a_device() {
        assert_eq!(usage_devid("/dev12/usage"), Some(12));
        assert_eq!(usage_devid("/dev1/0/usage"), None);
        assert_eq!(usage_devid("/devx/usage"), None);
    }
}
