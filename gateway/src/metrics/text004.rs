//! The OpenMetrics text that prometheus-client writes, turned into the
//! Prometheus text format 0.0.4 for scrapers (and `promtool check metrics`)
//! that ask for it.
//!
//! The two differ, for what this registry emits, only in the comment lines:
//!
//! ```text
//! OpenMetrics                               0.0.4
//! # TYPE x counter / # HELP x ...           # TYPE x_total counter / # HELP x_total ...
//! x_created ... (counters)                  dropped
//! # TYPE x info, sample x_info{..} 1        # TYPE x_info gauge
//! # TYPE x unknown                          # TYPE x untyped
//! # UNIT x ..., # EOF, exemplars " # {..}"  dropped
//! ```
//!
//! Samples, label escaping and histogram series are the same in both.

use std::collections::HashMap;

/// The 0.0.4 form of `openmetrics`.
pub fn from_openmetrics(openmetrics: &str) -> String {
    let types: HashMap<&str, &str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if let Some(converted) = convert(line, &types) {
            out.push_str(&converted);
            out.push('\n');
        }
    }
    out
}

/// The 0.0.4 family name and type of OpenMetrics family `name` of type `kind`.
fn family(name: &str, kind: &str) -> (String, &'static str) {
    match kind {
        "counter" if !name.ends_with("_total") => (format!("{name}_total"), "counter"),
        "counter" => (name.to_owned(), "counter"),
        "info" => (format!("{name}_info"), "gauge"),
        "gauge" => (name.to_owned(), "gauge"),
        "histogram" => (name.to_owned(), "histogram"),
        "summary" => (name.to_owned(), "summary"),
        _ => (name.to_owned(), "untyped"),
    }
}

fn convert(line: &str, types: &HashMap<&str, &str>) -> Option<String> {
    if line == "# EOF" || line.starts_with("# UNIT ") || line.is_empty() {
        return None;
    }
    if let Some(rest) = line.strip_prefix("# TYPE ") {
        let (name, kind) = rest.split_once(' ')?;
        let (name, kind) = family(name, kind);
        return Some(format!("# TYPE {name} {kind}"));
    }
    if let Some(rest) = line.strip_prefix("# HELP ") {
        let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
        let kind = types.get(name).copied().unwrap_or("unknown");
        return Some(format!("# HELP {} {help}", family(name, kind).0));
    }
    if line.starts_with('#') {
        return Some(line.to_owned());
    }
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    if let Some(base) = line[..name_end].strip_suffix("_created") {
        if types.get(base) == Some(&"counter") {
            return None;
        }
    }
    // An exemplar follows the value after " # ", outside any label value.
    let sample = match line.rfind(" # {") {
        Some(at) if line[..at].matches('"').count().is_multiple_of(2) => &line[..at],
        _ => line,
    };
    Some(sample.to_owned())
}

#[cfg(test)]
mod tests {
    //! Each OpenMetrics-only construct is converted or dropped; samples pass.
    use super::*;

    #[test]
    fn converts_comment_lines_and_keeps_samples() {
        let om = "# HELP a_requests Requests.\n# TYPE a_requests counter\n\
                  a_requests_total{location=\"/x # {y}\"} 3\n\
                  a_requests_created 1700000000.0\n\
                  # HELP b Build.\n# TYPE b info\nb_info{version=\"1\"} 1\n\
                  # HELP c_seconds Time.\n# TYPE c_seconds histogram\n# UNIT c_seconds seconds\n\
                  c_seconds_bucket{le=\"+Inf\"} 1\nc_seconds_sum 0.5\nc_seconds_count 1\n\
                  # HELP d Odd.\n# TYPE d unknown\nd 1 # {trace=\"t\"} 1\n# EOF\n";
        let text = from_openmetrics(om);
        let expected = "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\n\
                        a_requests_total{location=\"/x # {y}\"} 3\n\
                        # HELP b_info Build.\n# TYPE b_info gauge\nb_info{version=\"1\"} 1\n\
                        # HELP c_seconds Time.\n# TYPE c_seconds histogram\n\
                        c_seconds_bucket{le=\"+Inf\"} 1\nc_seconds_sum 0.5\nc_seconds_count 1\n\
                        # HELP d Odd.\n# TYPE d untyped\nd 1\n";
        assert_eq!(text, expected);
    }
}
