//! The gateway rows: the sample stored in a MogileFS devcluster (one nginx
//! storage node, as the main bench's), its `?w=150&h=150` thumbnail (fit
//! inside, as `image_filter resize 150 150`) asked for through a gateway
//! process under the same wrk load as nginx: once with the object cache off,
//! so that every request reads the source and transforms it, once with it
//! on, so that every request after the first is served from memory.

use super::{wrk_row, LoadRow};
use crate::error::{BenchError, IoContext, Result};
use crate::gateway::{GatewayProcess, UPLOAD};
use crate::procs;
use crate::wrk::Load;
use serde::Serialize;
use std::path::Path;

/// The row with the object cache off.
pub const COLD: &str = "gateway, object cache off";
/// The row with the object cache on.
pub const HOT: &str = "gateway, object cache on";

/// The key the sample is stored under.
const KEY: &str = "thumbs/photo.jpg";

/// What the gateway rows measured.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayRows {
    /// [`COLD`] and [`HOT`].
    pub rows: Vec<LoadRow>,
    /// The gateway's peak resident memory (VmHWM) after both loads, MiB.
    pub peak_rss_mib: f64,
}

/// The locations: over the bench config's `cached` and `hot` upstreams
/// (object cache off and on), each with a thumbnail table that allows
/// 150x150 at the engine's default quality (80, as nginx is set).
fn locations() -> String {
    let domain = crate::DOMAIN;
    let table = |prefix: &str, upstream: &str| {
        format!(
            "\n[[location]]\nprefix = \"{prefix}\"\nupstream = \"{upstream}\"\n\
             domain = \"{domain}\"\nmethods = [\"GET\", \"HEAD\"]\n\
             thumbnails = {{ sizes = [\"150x150\"] }}\n"
        )
    };
    table("/t-cold/", "cached") + &table("/t-hot/", "hot")
}

/// Loads the gateway `binary`'s thumbnails of `source` with wrk; `None`
/// (with a note on stderr) when wrk is missing.
pub async fn measure(binary: &Path, source: &[u8], load: &Load) -> Result<Option<GatewayRows>> {
    let Some(wrk_bin) = procs::find_tool("wrk") else {
        eprintln!("wrk not installed: no gateway rows");
        return Ok(None);
    };
    let work = tempfile::tempdir().context(|| "creating a work dir".into())?;
    let cluster = crate::cluster().await?;
    let tracker = cluster.tracker_addrs()[0];
    let extra = locations();
    let gateway = GatewayProcess::start(binary, tracker, &extra, work.path(), "thumbs").await?;
    let base = gateway.base();
    store(&format!("{base}{UPLOAD}{KEY}"), source).await?;
    let mut rows = Vec::new();
    for (what, prefix) in [(COLD, "/t-cold/"), (HOT, "/t-hot/")] {
        let path = format!("{prefix}{KEY}?w=150&h=150");
        rows.push(wrk_row(what, &wrk_bin, &base, &path, work.path(), load).await?);
    }
    let peak = procs::status_bytes(gateway.pid()?, "VmHWM").unwrap_or(0);
    drop(gateway);
    cluster.shutdown().await;
    Ok(Some(GatewayRows {
        rows,
        peak_rss_mib: peak as f64 / crate::objects::MIB_F,
    }))
}

/// PUTs the sample to `url`.
async fn store(url: &str, source: &[u8]) -> Result<()> {
    let response = crate::client()
        .put(url)
        .body(source.to_vec())
        .send()
        .await
        .map_err(|source| BenchError::Http {
            what: format!("PUT {url}"),
            source,
        })?;
    match response.status() {
        s if s.is_success() => Ok(()),
        s => Err(BenchError::Failed(format!("PUT {url}: status {s}"))),
    }
}
