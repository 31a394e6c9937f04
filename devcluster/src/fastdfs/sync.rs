//! Push sync: a storage copies each new file, and each delete, to the other
//! storages of its group.
//!
//! Real storages replay a binlog to their peers over the network; here the
//! source copies straight between the store paths, which is what clients can
//! observe of it. Three modes, per source storage:
//! - sync on, no delay (the default): pushed before the upload's reply, so a
//!   file is on every storage once its ID is known;
//! - sync on with a delay: pushed in the background after the delay, so the
//!   file exists only on its source for that long;
//! - sync off: held back until sync is turned on again.
//!
//! Stopped peers receive copies too: a restarted storage catches up.

use super::state::lock;
use super::storage::StorageCtx;
use super::upload::temp_path;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// One change to push, by path relative to the store path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SyncOp {
    /// A new file: `data/XX/YY/name`.
    Create(PathBuf),
    /// A deleted file.
    Delete(PathBuf),
}

/// Pushes `op` according to the source storage's sync mode.
pub(crate) async fn push(ctx: &StorageCtx, op: SyncOp) {
    let me = ctx.me();
    if !me.sync.load(Ordering::Relaxed) {
        lock(&me.pending).push(op);
        return;
    }
    let delay = me.sync_delay();
    if delay.is_zero() {
        apply(ctx, &op).await;
        return;
    }
    let ctx = ctx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        apply(&ctx, &op).await;
    });
}

/// Pushes everything held back while sync was off.
pub(crate) async fn flush(ctx: &StorageCtx) {
    let held = std::mem::take(&mut *lock(&ctx.me().pending));
    for op in held {
        apply(ctx, &op).await;
    }
}

async fn apply(ctx: &StorageCtx, op: &SyncOp) {
    let source = &ctx.me().store_path;
    let peers = ctx.group().storages.iter().filter(|s| s.index != ctx.index);
    for peer in peers {
        let result = match op {
            SyncOp::Create(rel) => copy(&source.join(rel), &peer.store_path, rel).await,
            SyncOp::Delete(rel) => remove(&peer.store_path.join(rel)).await,
        };
        if let Err(error) = result {
            // E.g. the file was deleted before a delayed push, or the cluster
            // is shutting down.
            tracing::debug!(%error, ?op, peer = peer.index, "sync push failed");
        }
    }
}

/// Copies to a temporary file, then renames, so a peer never serves a
/// partial copy.
async fn copy(from: &Path, peer_store: &Path, rel: &Path) -> io::Result<()> {
    let tmp = temp_path(peer_store);
    tokio::fs::create_dir_all(tmp.parent().expect("tmp dir")).await?;
    tokio::fs::copy(from, &tmp).await?;
    let target = peer_store.join(rel);
    tokio::fs::create_dir_all(target.parent().expect("data/XX/YY")).await?;
    let renamed = tokio::fs::rename(&tmp, &target).await;
    if renamed.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    renamed
}

async fn remove(path: &Path) -> io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
