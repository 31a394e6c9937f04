//! The `/_status` page: server-rendered HTML with inline CSS and no script.
//! Every string from a tracker or the config goes through [`escape`].

use super::view::{
    ClusterView, DeviceRow, DomainRow, GatewayFigures, GroupRow, HostRow, StatusReport,
    TrackerStatus, UpstreamStatus,
};
use std::fmt::Write;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}\
header{background:#1d2330;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}\
main{padding:8px 24px 32px}section{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin:16px 0;padding:12px 16px}\
h2{font-size:17px;margin:4px 0 8px}h3{font-size:14px;margin:14px 0 6px;color:#4a5366}\
table{border-collapse:collapse;width:100%;margin-bottom:6px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2;vertical-align:top}\
th{font-weight:600;color:#4a5366;background:#fafbfc}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.figs{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.fig{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:8px 14px;min-width:120px}\
.fig b{display:block;font-size:18px}.fig span{color:#4a5366;font-size:12px}\
.ok{color:#137333;font-weight:600}.bad{color:#b3261e;font-weight:600}.err{color:#b3261e}.muted{color:#7a8294}\
.bar{display:inline-block;width:80px;height:8px;background:#e3e6ec;border-radius:4px;vertical-align:middle;margin-right:6px}\
.bar i{display:block;height:8px;background:#3b7ddd;border-radius:4px}";

/// HTML-escapes `s` for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page.
pub fn render(report: &StatusReport) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(
        out,
        "<title>dfs-gateway status</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        out,
        "<header><h1>dfs-gateway {} — cluster status</h1></header><main>",
        escape(report.gateway.version)
    );
    figures(&mut out, &report.gateway, report.generated_at);
    for upstream in &report.upstreams {
        upstream_section(&mut out, upstream, report.generated_at);
    }
    out.push_str(
        "<p class=\"muted\">Same data as JSON: add <code>.json</code> to this page's path.</p>",
    );
    out.push_str("</main></body></html>\n");
    out
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn figures(out: &mut String, g: &GatewayFigures, now: u64) {
    let figs = [
        (
            format!("{:.2}", g.requests_per_second),
            "requests/s (last minute)",
        ),
        (percent(g.error_rate), "5xx error rate"),
        (percent(g.cache_hit_ratio), "cache hit ratio"),
        (g.in_flight.to_string(), "in flight"),
        (duration(g.uptime_seconds), "uptime"),
    ];
    out.push_str("<div class=\"figs\" id=\"gateway\">");
    for (value, label) in figs {
        let _ = write!(
            out,
            "<div class=\"fig\"><b>{}</b><span>{label}</span></div>",
            escape(&value)
        );
    }
    let _ = write!(
        out,
        "<div class=\"fig\"><b>{}</b><span>generated</span></div></div>",
        date(now as i64)
    );
}

fn duration(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A Unix time as an HTTP date, or "never" for 0.
fn date(t: i64) -> String {
    match u64::try_from(t) {
        Ok(0) | Err(_) => "never".into(),
        Ok(s) => httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s)),
    }
}

fn state(ok: bool, text: &str) -> String {
    let class = if ok { "ok" } else { "bad" };
    format!("<span class=\"{class}\">{}</span>", escape(text))
}

fn table(out: &mut String, id: &str, head: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let _ = write!(out, "<table id=\"{}\"><thead><tr>", escape(id));
    for h in head {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn upstream_section(out: &mut String, u: &UpstreamStatus, now: u64) {
    let _ = write!(
        out,
        "<section id=\"upstream-{0}\"><h2>{0} <span class=\"muted\">({1})</span></h2><h3>Trackers</h3>",
        escape(&u.name),
        u.protocol
    );
    let rows = u.trackers.iter().map(|t| tracker_row(t, now));
    let head = ["Tracker", "State", "Latency", "This view", "Last error"];
    table(out, &format!("trackers-{}", u.name), &head, rows);
    if let Some(e) = &u.error {
        let _ = write!(
            out,
            "<p class=\"err\">No tracker answered: {}</p>",
            escape(e)
        );
    }
    match &u.cluster {
        Some(ClusterView::Mogilefs {
            hosts,
            devices,
            domains,
        }) => mogilefs(out, &u.name, hosts, devices, domains),
        Some(ClusterView::Fastdfs { groups }) => fastdfs(out, &u.name, groups),
        None => {}
    }
    out.push_str("</section>");
}

fn tracker_row(t: &TrackerStatus, now: u64) -> Vec<String> {
    let last = match (&t.last_error, t.last_error_at) {
        (Some(e), Some(at)) => format!(
            "{} <span class=\"muted\">({}s ago)</span>",
            escape(e),
            now.saturating_sub(at)
        ),
        (Some(e), None) => escape(e),
        _ => "<span class=\"muted\">none</span>".into(),
    };
    vec![
        escape(&t.address),
        state(t.up, if t.up { "up" } else { "down" }),
        t.latency_ms
            .map_or_else(|| "—".into(), |l| format!("{l:.1} ms")),
        match &t.error {
            None => state(true, "answered"),
            Some(e) => format!("<span class=\"err\">{}</span>", escape(e)),
        },
        last,
    ]
}

fn mb(v: Option<u64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v} MB"))
}

fn usage_bar(used: Option<u64>, total: Option<u64>) -> String {
    match (used, total) {
        (Some(u), Some(t)) if t > 0 => {
            let pct = (u as f64 / t as f64 * 100.0).min(100.0);
            format!("<span class=\"bar\"><i style=\"width:{pct:.0}%\"></i></span>{pct:.0}%")
        }
        _ => "—".into(),
    }
}

fn mogilefs(
    out: &mut String,
    name: &str,
    hosts: &[HostRow],
    devices: &[DeviceRow],
    domains: &[DomainRow],
) {
    out.push_str("<h3>Hosts</h3>");
    let rows = hosts.iter().map(|h| {
        vec![
            h.hostid.to_string(),
            escape(&h.hostname),
            escape(&h.address()),
            state(h.status == "alive", &h.status),
        ]
    });
    table(
        out,
        &format!("hosts-{name}"),
        &["Id", "Host", "Address", "Status"],
        rows,
    );
    out.push_str("<h3>Devices</h3>");
    let host_name = |id: u64| {
        hosts
            .iter()
            .find(|h| h.hostid == id)
            .map_or(id.to_string(), |h| h.hostname.clone())
    };
    let rows = devices.iter().map(|d| {
        vec![
            format!("dev{}", d.devid),
            escape(&host_name(d.hostid)),
            state(d.status == "alive", &d.status),
            escape(&d.observed_state),
            mb(d.mb_free),
            mb(d.mb_used),
            usage_bar(d.mb_used, d.mb_total),
            d.weight.map_or("—".into(), |w| w.to_string()),
        ]
    });
    let head = [
        "Device", "Host", "Status", "Observed", "Free", "Used", "Use", "Weight",
    ];
    table(out, &format!("devices-{name}"), &head, rows);
    out.push_str("<h3>Domains and classes</h3>");
    let rows = domains.iter().flat_map(|d| {
        d.classes.iter().map(move |c| {
            vec![
                escape(&d.name),
                escape(&c.name),
                c.mindevcount.to_string(),
                escape(&c.replpolicy),
            ]
        })
    });
    table(
        out,
        &format!("domains-{name}"),
        &["Domain", "Class", "mindevcount", "Policy"],
        rows,
    );
}

fn fastdfs(out: &mut String, name: &str, groups: &[GroupRow]) {
    for g in groups {
        let _ = write!(
            out,
            "<h3>Group {} — {} of {} storages writable, {} MB free of {} MB</h3>",
            escape(&g.name),
            g.writable,
            g.storage_count,
            g.free_mb,
            g.total_mb
        );
        if let Some(e) = &g.error {
            let _ = write!(out, "<p class=\"err\">{}</p>", escape(e));
        }
        let rows = g.storages.iter().map(|s| {
            vec![
                escape(&s.address()),
                state(s.status == "ACTIVE", s.status),
                format!("{} MB", s.free_mb),
                escape(&s.version),
                s.uploads.to_string(),
                s.downloads.to_string(),
                date(s.last_heartbeat),
                date(s.last_sync_update),
            ]
        });
        let head = [
            "Storage",
            "Status",
            "Free",
            "Version",
            "Uploads",
            "Downloads",
            "Last heartbeat",
            "Last sync",
        ];
        table(out, &format!("storages-{name}-{}", g.name), &head, rows);
    }
}
