//! Where a fastdfs-nginx-module location's file IDs start and which groups
//! it serves, from its `location` match:
//!
//! ```text
//! location ~ /group[0-9]+/M00      prefix "/"            every group
//! location ~ /group[1-3]/M00       prefixes "/group1/", "/group2/", "/group3/",
//!                                  each with group = "groupN" (only those groups)
//! location /group1/M00             prefix "/group1/", group = "group1"
//! location ~ ^/(img|doc)/M00       prefixes "/img/", "/doc/"
//! location /M00                    prefix "/" (URLs without a group name)
//! ```
//!
//! A group part that names a handful of groups (a literal, a class such as
//! `[1-3]`, an alternation) becomes one location per group, so the gateway
//! serves what nginx served and no more; one that matches without bound
//! (`[0-9]+`) keeps a single location for every group. The local store
//! paths go to the location of the group they hold (or to the catch-all).

use super::super::emit::{self, Line};
use super::super::scan::Found;
use super::super::values::{
    expand_regex, regex_literal, regex_segments, through_last_slash, LocationMatch,
};
use super::super::{not_carried, LocationSpec};
use super::{FdfsSettings, BUILT_IN};

/// Most groups one location is split into.
const MAX_GROUPS: usize = 32;

/// FastDFS group names are at most 16 bytes (`FDFS_GROUP_NAME_MAX_LEN`).
const MAX_GROUP_NAME: usize = 16;

/// One gateway location for a module location.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// `/` or `/group1/`.
    prefix: String,
    /// The only group served, when the location names its groups.
    group: Option<String>,
}

/// A part of the location's path between two `/`.
#[derive(Debug)]
struct Piece {
    /// The literal text it starts with.
    literal: String,
    /// Every string it matches, when they are few.
    exact: Option<Vec<String>>,
}

impl Piece {
    /// True for `M00`, `M0[0-9]`, `M\d\d`: the store-path part of a file ID.
    fn is_store_path(&self) -> bool {
        self.literal
            .strip_prefix('M')
            .is_some_and(|r| r.chars().all(|c| c.is_ascii_digit()))
    }

    /// The one string it matches.
    fn single(&self) -> Option<&str> {
        match self.exact.as_deref() {
            Some([one]) => Some(one),
            _ => None,
        }
    }
}

/// Converts one `ngx_fastdfs_module` location into one location per target.
pub fn convert(
    found: &Found<'_>,
    settings: &FdfsSettings,
    warnings: &mut Vec<String>,
) -> Vec<LocationSpec> {
    let location = found.location;
    let Some(targets) = targets(found, settings.url_have_group_name, warnings) else {
        return Vec::new();
    };
    for d in location.children() {
        let access = super::super::access::DIRECTIVES.contains(&d.name.as_str());
        if !BUILT_IN.contains(&d.name.as_str()) && !access {
            warnings.push(not_carried(d, "not carried over"));
        }
    }
    let summary = format!("location {} (ngx_fastdfs_module)", location.args.join(" "));
    targets
        .into_iter()
        .map(|target| LocationSpec {
            origin: location.origin.clone(),
            summary: summary.clone(),
            lines: lines_for(&target, settings),
            prefix: target.prefix,
            upstream: settings.upstream.clone(),
        })
        .collect()
}

/// The location's lines: methods, its group, the shared settings, and the
/// store paths when its group is the one on this machine's disks.
fn lines_for(target: &Target, settings: &FdfsSettings) -> Vec<Line> {
    let mut lines = vec![Line::Field(
        "methods".into(),
        emit::strings(&["GET", "HEAD"]),
    )];
    if let Some(group) = &target.group {
        lines.push(Line::Comment(format!(
            "only {group}, one of the groups the nginx location names"
        )));
        lines.push(Line::Field("group".into(), emit::string(group)));
    }
    lines.extend(settings.lines.iter().cloned());
    let local = match &target.group {
        None => true,
        Some(g) => settings.local_group.as_ref() == Some(g),
    };
    if local {
        lines.extend(settings.store_paths.iter().cloned());
    }
    lines.extend(settings.tail.iter().cloned());
    lines
}

/// The targets of a location: before `groupN/` (or `Mxx/` when URLs carry no
/// group name), one per group when the location names a few.
fn targets(found: &Found<'_>, with_group: bool, warnings: &mut Vec<String>) -> Option<Vec<Target>> {
    let location = found.location;
    let (pieces, literal, regex) = match LocationMatch::from_args(&location.args) {
        Some(LocationMatch::Prefix(p)) => (literal_pieces(&p), p, false),
        Some(LocationMatch::Regex { pattern, .. }) => {
            let body = pattern.strip_prefix('^').unwrap_or(&pattern);
            (regex_pieces(body), regex_literal(&pattern).0, true)
        }
        _ => {
            let text = location.args.join(" ");
            warnings.push(format!(
                "{}: location {text}: only prefix and regex locations can be imported; skipped",
                location.origin
            ));
            return None;
        }
    };
    if let Some(found) = from_pieces(&pieces, with_group) {
        return Some(found);
    }
    let guess = through_last_slash(&literal).filter(|p| p.starts_with('/'))?;
    let kind = if regex { "regex" } else { "prefix" };
    warnings.push(format!(
        "{}: location {}: no group or Mxx part found in the {kind}; imported as prefix {guess:?} (the path after it must be the file ID); check it",
        location.origin,
        location.args.join(" ")
    ));
    Some(vec![Target {
        prefix: guess,
        group: None,
    }])
}

fn literal_pieces(prefix: &str) -> Vec<Piece> {
    prefix
        .split('/')
        .map(|s| Piece {
            literal: s.to_owned(),
            exact: Some(vec![s.to_owned()]),
        })
        .collect()
}

fn regex_pieces(body: &str) -> Vec<Piece> {
    regex_segments(body)
        .into_iter()
        .map(|s| Piece {
            literal: regex_literal(&s).0,
            exact: expand_regex(&s, MAX_GROUPS),
        })
        .collect()
}

/// The targets when the path shows where the file ID starts: at the group
/// part (before `M00` when URLs carry a group, or a part starting `group`),
/// else at the store path part (`M00`).
fn from_pieces(pieces: &[Piece], with_group: bool) -> Option<Vec<Target>> {
    let dir = |end: usize| -> Option<String> {
        let parts: Option<Vec<&str>> = pieces[..end].iter().map(Piece::single).collect();
        parts.map(|p| format!("{}/", p.join("/")))
    };
    let store_path = pieces
        .iter()
        .skip(1)
        .position(Piece::is_store_path)
        .map(|i| i + 1);
    let group_at = match store_path {
        Some(m) if with_group && m >= 2 => Some(m - 1),
        Some(_) => None,
        None if with_group => pieces
            .iter()
            .skip(1)
            .position(|p| p.literal.starts_with("group"))
            .map(|i| i + 1),
        None => return None,
    };
    let Some(g) = group_at else {
        let prefix = dir(store_path?)?;
        return Some(vec![Target {
            prefix,
            group: None,
        }]);
    };
    let dir = dir(g)?;
    // A group part that ends in `/` and names a few groups: one each.
    let named = pieces[g]
        .exact
        .as_ref()
        .filter(|names| g + 1 < pieces.len() && names.iter().all(|n| is_group_name(n)));
    Some(match named {
        Some(names) => names
            .iter()
            .map(|n| Target {
                prefix: format!("{dir}{n}/"),
                group: Some(n.clone()),
            })
            .collect(),
        None => vec![Target {
            prefix: dir,
            group: None,
        }],
    })
}

fn is_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_GROUP_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
