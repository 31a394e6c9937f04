//! Walking the directive tree (`http` → `server` → `location`, nested
//! locations too) to find the module locations, each with the settings it
//! inherits from the levels above, plus the `upstream {}` blocks by name.
//!
//! The top level is read like `http {}`, so a lone `server {}` file (a
//! `sites-enabled/` entry) imports as well as a whole `nginx.conf`.

use super::syntax::Directive;
use std::collections::HashMap;

/// Directives that a location inherits from `http`, `server` and outer locations.
const INHERITED: &[&str] = &[
    "mogilefs_tracker",
    "mogilefs_domain",
    "mogilefs_class",
    "mogilefs_methods",
    "mogilefs_noverify",
    "mogilefs_connect_timeout",
    "mogilefs_send_timeout",
    "mogilefs_read_timeout",
    "client_max_body_size",
];

/// Which nginx module serves a location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    /// nginx_mogilefs_module: the location has `mogilefs_pass`.
    MogileFs,
    /// fastdfs-nginx-module: the location has `ngx_fastdfs_module`.
    FastDfs,
}

/// The inheritable directives in force at some level, by name.
#[derive(Debug, Clone, Default)]
pub struct Scope<'a> {
    settings: HashMap<&'static str, &'a Directive>,
}

impl<'a> Scope<'a> {
    /// This scope overridden by the inheritable directives among `directives`.
    fn enter(&self, directives: &'a [Directive]) -> Scope<'a> {
        let mut inner = self.clone();
        for d in directives {
            if let Some(name) = INHERITED.iter().find(|n| **n == d.name) {
                inner.settings.insert(name, d);
            }
        }
        inner
    }

    /// The directive named `name` in force here.
    pub fn get(&self, name: &str) -> Option<&'a Directive> {
        self.settings.get(name).copied()
    }
}

/// A location served by one of the modules.
#[derive(Debug)]
pub struct Found<'a> {
    /// The `location` directive.
    pub location: &'a Directive,
    /// Which module.
    pub module: Module,
    /// Inherited settings, the location's own included.
    pub scope: Scope<'a>,
    /// The enclosing `server`, if any.
    pub server: Option<&'a Directive>,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Scan<'a> {
    /// Module locations, in file order.
    pub found: Vec<Found<'a>>,
    /// `upstream NAME {}` blocks.
    pub upstreams: HashMap<String, &'a Directive>,
}

/// Walks the whole tree.
pub fn scan(tree: &[Directive]) -> Scan<'_> {
    let mut result = Scan::default();
    visit(tree, &Scope::default(), None, &mut result);
    result
}

fn visit<'a>(
    directives: &'a [Directive],
    outer: &Scope<'a>,
    server: Option<&'a Directive>,
    out: &mut Scan<'a>,
) {
    let scope = outer.enter(directives);
    for d in directives {
        let Some(block) = &d.block else { continue };
        match d.name.as_str() {
            "http" => visit(block, &scope, None, out),
            "server" => visit(block, &scope, Some(d), out),
            "upstream" if d.args.len() == 1 => {
                out.upstreams.entry(d.args[0].clone()).or_insert(d);
            }
            "location" => {
                if let Some(module) = module_of(block) {
                    out.found.push(Found {
                        location: d,
                        module,
                        scope: scope.enter(block),
                        server,
                    });
                }
                // Nested locations inherit from this one.
                visit(block, &scope, server, out);
            }
            _ => {}
        }
    }
}

fn module_of(block: &[Directive]) -> Option<Module> {
    block.iter().find_map(|d| match d.name.as_str() {
        "mogilefs_pass" => Some(Module::MogileFs),
        "ngx_fastdfs_module" => Some(Module::FastDfs),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import_nginx::syntax::parse_config;
    use std::path::Path;

    #[test]
    fn locations_inherit_from_http_server_and_outer_locations() {
        let conf = r#"
            http {
                mogilefs_domain outer;
                upstream trackers { server 10.0.0.1:7001; }
                server {
                    mogilefs_tracker trackers;
                    location /a/ { mogilefs_pass { proxy_pass $mogilefs_path; } }
                    location /b/ {
                        mogilefs_domain inner;
                        location /b/c/ { mogilefs_pass { proxy_pass $mogilefs_path; } }
                    }
                    location ~ /group[0-9]+/M00 { ngx_fastdfs_module; }
                    location / { proxy_pass http://app; }
                }
            }
        "#;
        let tree = parse_config(conf, "nginx.conf", Path::new("."), &mut Vec::new()).unwrap();
        let scan = scan(&tree);
        assert!(scan.upstreams.contains_key("trackers"));
        let found: Vec<(&str, Module, &str)> = scan
            .found
            .iter()
            .map(|f| {
                let domain = f
                    .scope
                    .get("mogilefs_domain")
                    .map_or("", |d| d.args[0].as_str());
                (f.location.args.last().unwrap().as_str(), f.module, domain)
            })
            .collect();
        assert_eq!(
            found,
            [
                ("/a/", Module::MogileFs, "outer"),
                ("/b/c/", Module::MogileFs, "inner"),
                ("/group[0-9]+/M00", Module::FastDfs, "outer")
            ]
        );
        assert!(scan.found.iter().all(|f| f.server.is_some()));
        assert_eq!(
            scan.found[0].scope.get("mogilefs_tracker").unwrap().args,
            ["trackers"]
        );
    }
}
