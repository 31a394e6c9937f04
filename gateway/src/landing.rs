//! The page on `GET /` when `[server].landing_page` is set (the demo sets
//! it): the locations and what they serve, links to example files, the
//! status page and metrics, and commands to paste. Plain HTML, no scripts.
//! Without the key `/` is routed to the locations like any other path.

use crate::config::{Config, LocationConfig};
use crate::routes::{AppState, LocationLabel};
use axum::extract::Request;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// `[server].landing_page = { links = [...], commands = [...] }`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandingConfig {
    /// Paths or URLs listed as example links, e.g. `"/images/sample.png"`.
    #[serde(default)]
    pub links: Vec<String>,
    /// Lines shown as commands to paste (comments start with `#`).
    #[serde(default)]
    pub commands: Vec<String>,
}

/// The rendered page.
#[derive(Debug, Clone)]
pub struct Page {
    html: String,
}

impl Page {
    /// The page `config` asks for, if it asks for one.
    pub fn from_config(config: &Config) -> Option<Page> {
        let landing = config.server.landing_page.as_ref()?;
        let admin_here = config.server.admin_listen.is_none();
        let locations: Vec<&LocationConfig> =
            config.locations.iter().map(|l| l.get_ref()).collect();
        Some(Page {
            html: render(
                landing,
                &locations,
                admin_here.then_some(&config.server.status_path[..]),
                config,
            ),
        })
    }

    /// The HTML.
    pub fn html(&self) -> &str {
        &self.html
    }
}

/// The page for `request` when it is `GET /` or `HEAD /` and `state` has
/// one; `None` lets it go on to the locations.
pub fn answer(state: &AppState, request: &Request) -> Option<Response> {
    let wanted =
        request.uri().path() == "/" && matches!(*request.method(), Method::GET | Method::HEAD);
    let html = state.landing().filter(|_| wanted)?.html().to_owned();
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response();
    response
        .extensions_mut()
        .insert(LocationLabel(Arc::from("landing")));
    Some(response)
}

fn render(
    landing: &LandingConfig,
    locations: &[&LocationConfig],
    status_path: Option<&str>,
    config: &Config,
) -> String {
    let mut html = String::from(HEAD);
    html.push_str("<h1>dfs-gateway</h1>\n<h2>Locations</h2>\n<table>\n");
    html.push_str("<tr><th>Prefix</th><th>Upstream</th><th>Protocol</th><th>Methods</th></tr>\n");
    for location in locations {
        let protocol = config
            .upstreams
            .iter()
            .map(|u| u.get_ref())
            .find(|u| u.name == location.upstream)
            .map_or_else(String::new, |u| u.protocol.to_string());
        let methods: Vec<&str> = location.methods.iter().map(|m| m.as_str()).collect();
        let _ = writeln!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&location.prefix),
            escape(&location.upstream),
            protocol,
            methods.join(", ")
        );
    }
    html.push_str("</table>\n");
    if !landing.links.is_empty() {
        html.push_str("<h2>Examples</h2>\n<ul>\n");
        for link in &landing.links {
            let link = escape(link);
            let _ = writeln!(html, "<li><a href=\"{link}\">{link}</a></li>");
        }
        html.push_str("</ul>\n");
    }
    if let Some(status) = status_path {
        let status = escape(status);
        let _ = writeln!(
            html,
            "<h2>Operations</h2>\n<ul>\n<li><a href=\"{status}\">cluster status</a> \
             (<a href=\"{status}.json\">JSON</a>)</li>\n<li><a href=\"/metrics\">metrics</a></li>\n\
             <li><a href=\"/healthz\">health</a></li>\n</ul>"
        );
    }
    if !landing.commands.is_empty() {
        html.push_str("<h2>Try</h2>\n<pre>");
        for command in &landing.commands {
            let _ = writeln!(html, "{}", escape(command));
        }
        html.push_str("</pre>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<title>dfs-gateway</title>\n<style>\n\
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}\n\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}\n\
pre{background:#f4f4f4;padding:.8rem;overflow-x:auto}\n\
</style>\n</head>\n<body>\n";

/// Text safe inside HTML elements and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

#[cfg(test)]
mod tests;
