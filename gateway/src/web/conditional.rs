//! Conditional requests (RFC 9110 §13.2.2), evaluated by the gateway itself:
//! storage nodes differ (mogstored ignores `If-Modified-Since` entirely), so
//! the answer must not depend on which replica was chosen.

use axum::http::header::{
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE,
};
use axum::http::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a response is identified by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// Strong entity tag, quoted (`"123-27"`).
    pub etag: Option<String>,
    /// Modification time, whole seconds.
    pub last_modified: Option<SystemTime>,
}

/// Outcome of the preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve normally.
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

fn header<'a>(headers: &'a HeaderMap, name: &axum::http::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn date(value: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(value.trim()).ok()
}

/// Truncates to whole seconds, the resolution of HTTP dates.
fn seconds(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Whether `list` (an `If-Match`/`If-None-Match` value) names `etag`.
/// `weak` compares ignoring `W/` prefixes.
fn etag_listed(list: &str, etag: Option<&str>, weak: bool) -> bool {
    if list.trim() == "*" {
        return etag.is_some();
    }
    let Some(etag) = etag else { return false };
    let opaque = |t: &str| -> String {
        let t = t.trim();
        match (weak, t.strip_prefix("W/")) {
            (true, Some(rest)) => rest.to_owned(),
            _ => t.to_owned(),
        }
    };
    if !weak && list.split(',').all(|t| t.trim().starts_with("W/")) {
        return false;
    }
    list.split(',')
        .any(|t| opaque(t) == opaque(etag) && (weak || !t.trim().starts_with("W/")))
}

/// Evaluates the preconditions of a GET or HEAD.
pub fn evaluate(headers: &HeaderMap, v: &Validators) -> Precondition {
    let modified = v.last_modified.map(seconds);
    if let Some(list) = header(headers, &IF_MATCH) {
        if !etag_listed(list, v.etag.as_deref(), false) {
            return Precondition::Failed;
        }
    } else if let (Some(since), Some(modified)) = (
        header(headers, &IF_UNMODIFIED_SINCE).and_then(date),
        modified,
    ) {
        if modified > since {
            return Precondition::Failed;
        }
    }
    if let Some(list) = header(headers, &IF_NONE_MATCH) {
        if etag_listed(list, v.etag.as_deref(), true) {
            return Precondition::NotModified;
        }
    } else if let (Some(since), Some(modified)) =
        (header(headers, &IF_MODIFIED_SINCE).and_then(date), modified)
    {
        if modified <= since {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// Whether a `Range` may be honoured given `If-Range` (absent = yes).
pub fn if_range_allows(headers: &HeaderMap, v: &Validators) -> bool {
    let Some(value) = header(headers, &IF_RANGE) else {
        return true;
    };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        // Only a strong match counts for If-Range.
        return !value.starts_with("W/") && v.etag.as_deref() == Some(value);
    }
    match (date(value), v.last_modified) {
        (Some(d), Some(m)) => seconds(m) == d,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().unwrap());
        }
        h
    }

    fn validators() -> Validators {
        Validators {
            etag: Some("\"472-27\"".into()),
            last_modified: Some(UNIX_EPOCH + Duration::from_secs(1_795_272_377)),
        }
    }

    const LM: &str = "Sat, 21 Nov 2026 14:46:17 GMT";
    const EARLIER: &str = "Sat, 21 Nov 2026 14:46:16 GMT";

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        let v = validators();
        assert_eq!(
            evaluate(&headers(&[("if-none-match", "\"472-27\"")]), &v),
            Precondition::NotModified
        );
        assert_eq!(
            evaluate(&headers(&[("if-none-match", "W/\"472-27\"")]), &v),
            Precondition::NotModified
        );
        assert_eq!(
            evaluate(&headers(&[("if-none-match", "\"x\", \"472-27\"")]), &v),
            Precondition::NotModified
        );
        assert_eq!(
            evaluate(&headers(&[("if-none-match", "*")]), &v),
            Precondition::NotModified
        );
        // A non-matching If-None-Match makes If-Modified-Since irrelevant.
        let h = headers(&[("if-none-match", "\"other\""), ("if-modified-since", LM)]);
        assert_eq!(evaluate(&h, &v), Precondition::Proceed);
    }

    #[test]
    fn if_modified_since_compares_dates() {
        let v = validators();
        assert_eq!(
            evaluate(&headers(&[("if-modified-since", LM)]), &v),
            Precondition::NotModified
        );
        assert_eq!(
            evaluate(&headers(&[("if-modified-since", EARLIER)]), &v),
            Precondition::Proceed
        );
        assert_eq!(
            evaluate(&headers(&[("if-modified-since", "garbage")]), &v),
            Precondition::Proceed
        );
        assert_eq!(evaluate(&HeaderMap::new(), &v), Precondition::Proceed);
    }

    #[test]
    fn if_match_and_if_unmodified_since_fail_with_412() {
        let v = validators();
        assert_eq!(
            evaluate(&headers(&[("if-match", "\"other\"")]), &v),
            Precondition::Failed
        );
        assert_eq!(
            evaluate(&headers(&[("if-match", "W/\"472-27\"")]), &v),
            Precondition::Failed
        );
        assert_eq!(
            evaluate(&headers(&[("if-match", "\"472-27\"")]), &v),
            Precondition::Proceed
        );
        assert_eq!(
            evaluate(&headers(&[("if-unmodified-since", EARLIER)]), &v),
            Precondition::Failed
        );
        assert_eq!(
            evaluate(&headers(&[("if-unmodified-since", LM)]), &v),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_range_needs_an_exact_validator() {
        let v = validators();
        assert!(if_range_allows(&HeaderMap::new(), &v));
        assert!(if_range_allows(&headers(&[("if-range", "\"472-27\"")]), &v));
        assert!(!if_range_allows(&headers(&[("if-range", "\"old\"")]), &v));
        assert!(!if_range_allows(
            &headers(&[("if-range", "W/\"472-27\"")]),
            &v
        ));
        assert!(if_range_allows(&headers(&[("if-range", LM)]), &v));
        assert!(!if_range_allows(&headers(&[("if-range", EARLIER)]), &v));
    }
}
