//! The status report as plain-text tables for `dfs-gateway status`.

use super::view::{ClusterView, StatusReport, UpstreamStatus};
use std::fmt::Write;

/// Columns padded to their widest cell, two spaces apart.
fn grid(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "  {}", padded.join("  ").trim_end());
    };
    line(out, &mut head.iter().copied());
    for row in rows {
        line(out, &mut row.iter().map(String::as_str));
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// Control characters from a tracker would garble the terminal: shown as `?`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The whole report.
pub fn render(report: &StatusReport) -> String {
    let g = &report.gateway;
    let mut out = format!("dfs-gateway {}\n", g.version);
    for u in &report.upstreams {
        upstream(&mut out, u);
    }
    out
}

fn upstream(out: &mut String, u: &UpstreamStatus) {
    let _ = writeln!(out, "\nupstream {} ({})", clean(&u.name), u.protocol);
    let rows: Vec<Vec<String>> = u
        .trackers
        .iter()
        .map(|t| {
            vec![
                t.address.clone(),
                if t.error.is_none() { "up" } else { "down" }.into(),
                opt(t.latency_ms.map(|l| format!("{l:.1}ms"))),
                clean(t.error.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    grid(out, &["TRACKER", "STATE", "LATENCY", "ERROR"], &rows);
    if let Some(e) = &u.error {
        let _ = writeln!(out, "  no tracker answered: {}", clean(e));
    }
    match &u.cluster {
        Some(ClusterView::Mogilefs {
            hosts,
            devices,
            domains,
        }) => {
            let _ = writeln!(out);
            let rows: Vec<Vec<String>> = hosts
                .iter()
                .map(|h| {
                    vec![
                        h.hostid.to_string(),
                        clean(&h.hostname),
                        clean(&h.address()),
                        clean(&h.status),
                    ]
                })
                .collect();
            grid(out, &["HOSTID", "HOST", "ADDRESS", "STATUS"], &rows);
            let _ = writeln!(out);
            let rows: Vec<Vec<String>> = devices
                .iter()
                .map(|d| {
                    vec![
                        format!("dev{}", d.devid),
                        d.hostid.to_string(),
                        clean(&d.status),
                        clean(&d.observed_state),
                        opt(d.mb_free),
                        opt(d.mb_used),
                        opt(d.weight),
                    ]
                })
                .collect();
            grid(
                out,
                &[
                    "DEVICE", "HOSTID", "STATUS", "OBSERVED", "FREE_MB", "USED_MB", "WEIGHT",
                ],
                &rows,
            );
            let _ = writeln!(out);
            let rows: Vec<Vec<String>> = domains
                .iter()
                .flat_map(|d| {
                    d.classes.iter().map(move |c| {
                        vec![
                            clean(&d.name),
                            clean(&c.name),
                            c.mindevcount.to_string(),
                            clean(&c.replpolicy),
                        ]
                    })
                })
                .collect();
            grid(out, &["DOMAIN", "CLASS", "MINDEVCOUNT", "POLICY"], &rows);
        }
        Some(ClusterView::Fastdfs { groups }) => {
            let now = super::unix_seconds(std::time::SystemTime::now()) as i64;
            for g in groups {
                let _ = writeln!(
                    out,
                    "\n  group {}: {}/{} writable, {} MB free of {} MB",
                    clean(&g.name),
                    g.writable,
                    g.storage_count,
                    g.free_mb,
                    g.total_mb
                );
                if let Some(e) = &g.error {
                    let _ = writeln!(out, "  {}", clean(e));
                }
                let ago = |t: i64| {
                    if t <= 0 {
                        "never".into()
                    } else {
                        format!("{}s ago", (now - t).max(0))
                    }
                };
                let rows: Vec<Vec<String>> = g
                    .storages
                    .iter()
                    .map(|s| {
                        vec![
                            clean(&s.address()),
                            s.status.into(),
                            s.free_mb.to_string(),
                            s.uploads.to_string(),
                            ago(s.last_heartbeat),
                            ago(s.last_sync_update),
                        ]
                    })
                    .collect();
                grid(
                    out,
                    &[
                        "STORAGE",
                        "STATUS",
                        "FREE_MB",
                        "UPLOADS",
                        "HEARTBEAT",
                        "SYNC",
                    ],
                    &rows,
                );
            }
        }
        None => {}
    }
}
