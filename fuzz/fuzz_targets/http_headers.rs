//! HTTP request headers the gateway evaluates itself: `Range` (parse,
//! resolve against a size, print back), `Content-Range` of storage replies,
//! and the conditionals (`If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since`, `If-Range`). Input lines: the Range value, the
//! Content-Range value, then the five conditional values, the ETag and a
//! size/mtime line. Properties: nothing panics; a resolved range lies inside
//! the representation and prints to a value that parses back to itself.
#![no_main]

use dfs_gateway::web::conditional::{evaluate, if_range_allows, Validators};
use dfs_gateway::web::range::{parse_content_range, RangeSpec};
use http::header::{IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, UNIX_EPOCH};

fn ranges(value: &str, content_range: &str, total: u64) {
    if let Some(spec) = RangeSpec::parse(value) {
        assert_eq!(RangeSpec::parse(&spec.header_value()), Some(spec));
        if let Some(range) = spec.resolve(total) {
            assert!(range.first <= range.last && range.last < total);
            assert_eq!(range.len(), range.last - range.first + 1);
            let printed = RangeSpec::parse(&range.header_value()).expect("a range");
            assert_eq!(printed.resolve(total), Some(range));
            assert_eq!(
                parse_content_range(&range.content_range(total)),
                Ok((range.first, range.last, total))
            );
        }
    }
    if let Ok((first, last, total)) = parse_content_range(content_range) {
        assert!(first <= last && last < total);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').collect();
    let line = |i: usize| lines.get(i).copied().unwrap_or_default();
    let numbers: Vec<u64> = line(8).split(' ').filter_map(|n| n.parse().ok()).collect();
    let total = numbers.first().copied().unwrap_or(27);
    ranges(line(0), line(1), total);

    let mut headers = HeaderMap::new();
    let names = [
        IF_MATCH,
        IF_NONE_MATCH,
        IF_MODIFIED_SINCE,
        IF_UNMODIFIED_SINCE,
        IF_RANGE,
    ];
    for (i, name) in names.into_iter().enumerate() {
        if let Ok(value) = HeaderValue::from_str(line(2 + i)) {
            if !line(2 + i).is_empty() {
                headers.insert(name, value);
            }
        }
    }
    let mtime = numbers
        .get(1)
        .and_then(|&s| UNIX_EPOCH.checked_add(Duration::from_secs(s)));
    let v = Validators {
        etag: Some(line(7)).filter(|e| !e.is_empty()).map(str::to_owned),
        last_modified: mtime,
    };
    let _ = evaluate(&headers, &v);
    let _ = if_range_allows(&headers, &v);
});
