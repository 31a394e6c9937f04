//! UPLOAD_SLAVE_FILE (command 21): a file named after an existing master,
//! e.g. the thumbnail `<master stem>_150x150.jpg` of `<master stem>.jpg`.
//!
//! As on the real storage: the slave's name is the master's remote name up
//! to its extension, then the prefix, then `.` and the request's extension
//! (none when that field is empty — the master's is not reused). The master
//! must be on this storage (ENOENT otherwise) and the slave must not exist
//! yet (EEXIST); both are checked before any data is taken, and the error is
//! answered the way [`super::upload`] answers refusals.

use super::state::Counters;
use super::storage::StorageCtx;
use super::sync::{self, SyncOp};
use super::upload::{receive, refuse, temp_path};
use super::wire::ServerConn;
use dfs_protocol::fastdfs::storage::appender::SLAVE_FIXED_LEN;
use dfs_protocol::fastdfs::storage::UploadSlaveFile;
use dfs_protocol::fastdfs::{status, Command, FileId, FileRef, Header};
use std::io;

/// Longest master name accepted (the real storage's `FDFS_REMOTE_NAME_MAX_SIZE` is 128).
const MAX_MASTER_LEN: u64 = 128;

/// Serves one UPLOAD_SLAVE_FILE whose header was read.
pub(crate) async fn upload_slave(
    conn: &mut ServerConn,
    ctx: &StorageCtx,
    header: &Header,
) -> io::Result<()> {
    let mut fixed = conn
        .read_exact_vec(header.pkg_len.min(SLAVE_FIXED_LEN as u64))
        .await?;
    let master_len = fixed
        .get(..8)
        .map_or(0, |b| u64::from_be_bytes(b.try_into().expect("8 bytes")));
    let room = header.pkg_len.saturating_sub(fixed.len() as u64);
    if fixed.len() == SLAVE_FIXED_LEN && master_len <= MAX_MASTER_LEN.min(room) {
        fixed.extend(conn.read_exact_vec(master_len).await?);
    }
    let checked = UploadSlaveFile::parse_body(header, &fixed)
        .map_err(|_| status::EINVAL)
        .and_then(|request| slave_id(ctx, &request).map(|id| (request, id)));
    let failure = ctx.me().faults.take_failure();
    let (request, id) = match (checked, failure) {
        (Ok(ok), None) => ok,
        (Err(status), _) | (_, Some(status)) => {
            return refuse(conn, header, fixed.len() as u64, status).await
        }
    };
    let tmp = temp_path(&ctx.me().store_path);
    if let Err(e) = receive(conn, &tmp, request.size).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    match place(ctx, &tmp, &id).await {
        Ok(()) => {
            Counters::bump(&ctx.me().counters.uploads);
            conn.reply::<UploadSlaveFile>(&FileRef::new(id.group(), id.remote_name()))
                .await
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            tracing::warn!(error = %e, slave = %id, "devcluster storage could not store a slave upload");
            conn.error(status::EIO).await
        }
    }
}

/// The slave's ID, or the status the real storage answers: EINVAL for a bad
/// name, prefix or extension, ENOENT for a missing master, EEXIST for a
/// slave that exists already.
fn slave_id(ctx: &StorageCtx, request: &UploadSlaveFile) -> Result<FileId, u8> {
    let me = ctx.me();
    let prefix_ok = request
        .prefix
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    let ext_ok = request.ext.bytes().all(|c| c.is_ascii_alphanumeric());
    if request.prefix.is_empty() || !prefix_ok || !ext_ok {
        return Err(status::EINVAL);
    }
    let master = FileId::from_parts(&me.group, &request.master).map_err(|_| status::EINVAL)?;
    if !me.store_path.join(master.relative_path()).is_file() {
        return Err(status::ENOENT);
    }
    let slave = master
        .slave(&request.prefix, Some(&request.ext))
        .map_err(|_| status::EINVAL)?;
    if me.store_path.join(slave.relative_path()).exists() {
        return Err(status::EEXIST);
    }
    Ok(slave)
}

/// Moves the received data into place, unless a concurrent upload of the
/// same slave got there first, and pushes it to the group.
async fn place(ctx: &StorageCtx, tmp: &std::path::Path, id: &FileId) -> io::Result<()> {
    let me = ctx.me();
    let target = me.store_path.join(id.relative_path());
    tokio::fs::create_dir_all(target.parent().expect("data/XX/YY")).await?;
    // hard_link fails if the target exists, so two racing uploads of one
    // slave cannot overwrite each other.
    tokio::fs::hard_link(tmp, &target).await?;
    tokio::fs::remove_file(tmp).await?;
    ctx.group().record_origin(id.file_name(), ctx.index);
    sync::push(ctx, SyncOp::Create(id.relative_path())).await;
    Ok(())
}
