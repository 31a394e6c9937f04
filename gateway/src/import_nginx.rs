//! `dfs-gateway import-nginx`: reads an nginx configuration that uses
//! nginx_mogilefs_module or fastdfs-nginx-module and writes the equivalent
//! gateway TOML, with one warning per directive it cannot carry over.
//!
//! The pipeline: [`syntax`] reads nginx's grammar (includes spliced in),
//! [`scan`] finds the module locations and what they inherit, [`mogilefs`]
//! and [`fastdfs`] turn each into a location plus the upstream it needs, and
//! this module shares equal upstreams, checks prefixes and renders the file
//! through [`emit`].

mod access;
mod emit;
mod fastdfs;
mod mogilefs;
mod scan;
mod syntax;
mod tokens;
mod values;

use emit::{Line, Table};
use scan::Module;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use syntax::{Directive, Origin};

/// Where fastdfs-nginx-module reads its settings unless built otherwise.
pub const DEFAULT_FASTDFS_CONF: &str = "/etc/fdfs/mod_fastdfs.conf";

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The gateway configuration, as TOML text with comments.
    pub toml: String,
    /// One line per directive or setting that could not be carried over.
    pub warnings: Vec<String>,
}

/// Why nothing could be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The nginx configuration does not parse.
    #[error("{origin}: {message}")]
    Syntax {
        /// File and line.
        origin: Origin,
        /// What is wrong.
        message: String,
    },
    /// It parses, but no location uses either module.
    #[error("no location uses mogilefs_pass or ngx_fastdfs_module: nothing to import")]
    NothingToImport,
}

/// Settings of an import beyond the nginx text.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The nginx file's name in warnings and comments (default `nginx.conf`).
    pub source_name: Option<String>,
    /// The `mod_fastdfs.conf` to read (default [`DEFAULT_FASTDFS_CONF`]).
    pub fastdfs_conf: Option<PathBuf>,
}

/// Imports `nginx_conf_text`; relative `include`s are read from `base_dir`
/// (nginx resolves them against its configuration directory).
pub fn import(nginx_conf_text: &str, base_dir: &Path) -> Result<Imported, ImportError> {
    import_with(nginx_conf_text, base_dir, &ImportOptions::default())
}

/// [`import`] with options.
pub fn import_with(
    nginx_conf_text: &str,
    base_dir: &Path,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let source = options.source_name.as_deref().unwrap_or("nginx.conf");
    let mut warnings = Vec::new();
    let tree = syntax::parse_config(nginx_conf_text, source, base_dir, &mut warnings)?;
    let scan = scan::scan(&tree);
    if scan.found.is_empty() {
        return Err(ImportError::NothingToImport);
    }
    let fdfs = scan
        .found
        .iter()
        .any(|f| f.module == Module::FastDfs)
        .then(|| {
            let path = options
                .fastdfs_conf
                .clone()
                .unwrap_or_else(|| DEFAULT_FASTDFS_CONF.into());
            fastdfs::settings(&path, &mut warnings)
        });
    let zones = access::zones(&tree, &mut warnings);
    let mut specs = Vec::new();
    for found in &scan.found {
        let converted: Vec<LocationSpec> = match (found.module, &fdfs) {
            (Module::MogileFs, _) => mogilefs::convert(found, &scan.upstreams, &mut warnings)
                .into_iter()
                .collect(),
            (Module::FastDfs, Some(settings)) => fastdfs::convert(found, settings, &mut warnings),
            (Module::FastDfs, None) => Vec::new(),
        };
        let access_lines = access::lines(found.location, &zones, &mut warnings);
        specs.extend(converted.into_iter().map(|mut s| {
            s.lines.extend(access_lines.iter().cloned());
            s
        }));
    }
    let servers: Vec<&Directive> = scan.found.iter().filter_map(|f| f.server).collect();
    let mut tables = vec![server_table(&servers)];
    tables.extend(assemble(specs, &mut warnings));
    let preamble = [
        format!("dfs-gateway configuration imported from {source} by `dfs-gateway import-nginx`."),
        "Review it (and the warnings), then: dfs-gateway check-config --config FILE".to_owned(),
    ];
    Ok(Imported {
        toml: emit::render(&preamble, &tables),
        warnings: dedup(warnings),
    })
}

/// An `[[upstream]]` a converted location needs; locations whose upstreams
/// are equal (protocol, trackers, settings) share one.
#[derive(Debug, Clone)]
struct UpstreamSpec {
    /// Suggested name: the nginx `upstream {}` name, or `mog` / `fdfs`.
    name_hint: String,
    protocol: &'static str,
    trackers: Vec<String>,
    /// Further `key = value` lines, values rendered.
    settings: Vec<(String, String)>,
    comments: Vec<String>,
}

impl UpstreamSpec {
    fn same_cluster(&self, other: &UpstreamSpec) -> bool {
        (self.protocol, &self.trackers, &self.settings)
            == (other.protocol, &other.trackers, &other.settings)
    }
}

/// A converted location.
#[derive(Debug, Clone)]
struct LocationSpec {
    origin: Origin,
    /// How nginx wrote it, for the comment above the table.
    summary: String,
    prefix: String,
    upstream: UpstreamSpec,
    /// The lines after `prefix` and `upstream`.
    lines: Vec<Line>,
}

/// A warning about directive `d`.
fn not_carried(d: &Directive, why: &str) -> String {
    format!("{}: `{}`: {why}", d.origin, d.text())
}

/// `[server]`: the gateway listens locally; the comment says where nginx listened.
fn server_table(servers: &[&Directive]) -> Table {
    let mut table = Table::new("[server]");
    let mut seen = HashSet::new();
    for server in servers.iter().filter(|s| seen.insert(s.origin.clone())) {
        let listens: Vec<String> = server
            .children()
            .iter()
            .filter(|d| d.name == "listen")
            .map(|d| d.args.join(" "))
            .collect();
        let listens = if listens.is_empty() {
            "80 (nginx's default)".to_owned()
        } else {
            listens.join(", ")
        };
        table.comment(format!("nginx ({}) listened on {listens}", server.origin));
    }
    table.comment("Behind nginx keep a local address (see nginx/dfs-gateway-proxy.conf);");
    table.comment("to replace nginx, listen on its address instead.");
    table.field("listen", emit::string("127.0.0.1:8080"));
    table
}

/// Upstream tables (shared where equal) followed by location tables; a
/// second location with the same prefix is dropped with a warning.
fn assemble(specs: Vec<LocationSpec>, warnings: &mut Vec<String>) -> Vec<Table> {
    let mut upstreams: Vec<(String, UpstreamSpec)> = Vec::new();
    let mut locations: Vec<(LocationSpec, Table)> = Vec::new();
    for spec in specs {
        if let Some((first, _)) = locations.iter().find(|(l, _)| l.prefix == spec.prefix) {
            // Equal FastDFS locations (/group1/M00, /group2/M00) merge silently.
            if first.lines != spec.lines || !first.upstream.same_cluster(&spec.upstream) {
                let (here, prefix, there) = (&spec.origin, &spec.prefix, &first.origin);
                warnings.push(format!(
                    "{here}: {}: prefix {prefix:?} was already imported from {there}; skipped",
                    spec.summary
                ));
            }
            continue;
        }
        let name = match upstreams
            .iter()
            .find(|(_, u)| u.same_cluster(&spec.upstream))
        {
            Some((name, _)) => name.clone(),
            None => {
                let name = unique_name(&spec.upstream.name_hint, &upstreams);
                upstreams.push((name.clone(), spec.upstream.clone()));
                name
            }
        };
        let table = location_table(&spec, &name);
        locations.push((spec, table));
    }
    let mut tables: Vec<Table> = upstreams
        .iter()
        .map(|(name, u)| upstream_table(name, u))
        .collect();
    tables.extend(locations.into_iter().map(|(_, t)| t));
    tables
}

fn unique_name(hint: &str, taken: &[(String, UpstreamSpec)]) -> String {
    let base: String = hint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let free = |n: &str| taken.iter().all(|(t, _)| t != n);
    if free(&base) {
        return base;
    }
    (2..)
        .map(|i| format!("{base}{i}"))
        .find(|n| free(n))
        .expect("some name is free")
}

fn upstream_table(name: &str, u: &UpstreamSpec) -> Table {
    let mut table = Table::new("[[upstream]]");
    table.comments = u.comments.clone();
    table.field("name", emit::string(name));
    table.field("protocol", emit::string(u.protocol));
    table.field("trackers", emit::strings(&u.trackers));
    for (key, value) in &u.settings {
        table.field(key, value.clone());
    }
    table
}

fn location_table(spec: &LocationSpec, upstream: &str) -> Table {
    let mut table = Table::new("[[location]]");
    table
        .comments
        .push(format!("{}: {}", spec.origin, spec.summary));
    table.field("prefix", emit::string(&spec.prefix));
    table.field("upstream", emit::string(upstream));
    table.lines.extend(spec.lines.iter().cloned());
    table
}

/// Warnings in order, each once (an upstream used by several locations
/// would otherwise be reported for each), control characters copied from
/// the input escaped so they cannot act on a terminal.
fn dedup(warnings: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    warnings
        .into_iter()
        .map(|w| emit::escape_controls(&w))
        .filter(|w| seen.insert(w.clone()))
        .collect()
}

#[cfg(test)]
mod tests;
