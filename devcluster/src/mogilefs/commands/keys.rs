//! Commands on keys that only touch metadata: `delete`, `rename`,
//! `file_info`, `list_keys`, `updateclass`.

use super::{check_domain, refuse, Outcome};
use crate::mogilefs::state::Shared;
use dfs_protocol::mogilefs::cmd::{Delete, FileDetails, FileInfo, KeyPage, ListKeys, Rename};
use dfs_protocol::mogilefs::{Args, Command};

/// The most keys one `list_keys` returns.
const MAX_KEYS: usize = 1000;

/// Forgets the key at once; its copies are deleted in the background.
pub(super) fn delete(shared: &Shared, args: &Args) -> Outcome {
    let domain = check_domain(shared, args)?;
    let request = Delete::from_args(args).map_err(refuse)?;
    let urls = shared.meta().remove(&domain, &request.key);
    shared.delete_later(urls.ok_or_else(|| refuse("unknown_key"))?);
    Ok(Args::new())
}

pub(super) fn rename(shared: &Shared, args: &Args) -> Outcome {
    let domain = check_domain(shared, args)?;
    let request = Rename::from_args(args).map_err(refuse)?;
    let renamed = shared
        .meta()
        .rename(&domain, &request.from_key, &request.to_key);
    renamed.map_err(refuse)?;
    Ok(Args::new())
}

pub(super) fn file_info(shared: &Shared, args: &Args) -> Outcome {
    let domain = check_domain(shared, args)?;
    let request = FileInfo::from_args(args).map_err(refuse)?;
    let meta = shared.meta();
    let (fid, row) = meta
        .lookup(&domain, &request.key)
        .ok_or_else(|| refuse("unknown_key"))?;
    let details = FileDetails {
        fid,
        domain,
        class: row.class.clone(),
        key: row.key.clone(),
        length: row.length,
        devcount: row.devids.len() as u64,
        devids: request.devices.then(|| row.devids.clone()),
    };
    Ok(FileInfo::reply_args(&details))
}

/// Keys in byte order after `after`, under `prefix`; an empty page is
/// `none_match`, and `after` outside `prefix` is `after_mismatch`.
pub(super) fn list_keys(shared: &Shared, args: &Args) -> Outcome {
    let domain = check_domain(shared, args)?;
    let request = ListKeys::from_args(args).map_err(refuse)?;
    let prefix = request.prefix.as_deref().unwrap_or_default();
    let after = request.after.as_deref();
    if after.is_some_and(|a| !a.starts_with(prefix)) {
        return Err(refuse("after_mismatch"));
    }
    let limit = match request.limit {
        None | Some(0) => MAX_KEYS,
        Some(n) => (n as usize).min(MAX_KEYS),
    };
    let keys = shared.meta().list_keys(&domain, prefix, after, limit);
    let next_after = keys.last().cloned().ok_or_else(|| refuse("none_match"))?;
    Ok(ListKeys::reply_args(&KeyPage { keys, next_after }))
}

/// Moves a key's file to another class and replicates it as that class needs.
pub(super) fn updateclass(shared: &Shared, args: &Args) -> Outcome {
    let domain = check_domain(shared, args)?;
    let key = args.get_nonempty("key").ok_or_else(|| refuse("no_key"))?;
    let class = args
        .get_nonempty("class")
        .ok_or_else(|| refuse("no_class"))?;
    let fid = shared.meta().set_file_class(&domain, key, class);
    shared.replicate(fid.map_err(refuse)?);
    Ok(Args::new())
}
