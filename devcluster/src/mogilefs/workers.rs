//! The tracker's background work: replication, deletion of file copies, and
//! the monitor that probes devices.
//!
//! Each runs as one task owning a `JoinSet` of jobs, so aborting the task
//! (when the cluster is dropped) stops every job too.

use super::meta::CopyPlan;
use super::state::{Queues, Shared};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;

/// Pause between attempts of a failed or impossible copy.
const RETRY_DELAY: Duration = Duration::from_millis(250);
/// Attempts per replication job (about 5 s); a device coming back up
/// queues under-replicated files again.
const ATTEMPTS: u32 = 20;
/// Attempts to DELETE one copy.
const DELETE_ATTEMPTS: u32 = 5;
/// How often the monitor probes every device.
pub(crate) const MONITOR_INTERVAL: Duration = Duration::from_millis(500);

/// Starts the replicator, the deleter and the monitor.
pub(crate) fn spawn(shared: &Arc<Shared>, queues: Queues) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(replicator(shared.clone(), queues.replicate)),
        tokio::spawn(deleter(shared.clone(), queues.delete)),
        tokio::spawn(monitor(shared.clone())),
    ]
}

/// Runs one job per fid at a time; a fid queued again while its job runs is
/// run once more afterwards.
async fn replicator(shared: Arc<Shared>, mut queue: UnboundedReceiver<u64>) {
    let mut jobs = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, u64> = HashMap::new();
    let mut again = HashSet::new();
    loop {
        tokio::select! {
            Some(fid) = queue.recv() => {
                if running.values().any(|f| *f == fid) {
                    again.insert(fid);
                } else {
                    let handle = jobs.spawn(replicate(shared.clone(), fid));
                    running.insert(handle.id(), fid);
                }
            }
            Some(done) = jobs.join_next_with_id(), if !jobs.is_empty() => {
                let id = done.map_or_else(|e| e.id(), |(id, ())| id);
                if let Some(fid) = running.remove(&id).filter(|f| again.remove(f)) {
                    let handle = jobs.spawn(replicate(shared.clone(), fid));
                    running.insert(handle.id(), fid);
                }
            }
        }
    }
}

/// Copies `fid` until its class has enough copies, a bounded number of tries.
async fn replicate(shared: Arc<Shared>, fid: u64) {
    for _ in 0..ATTEMPTS {
        while shared.replication_paused() {
            tokio::time::sleep(RETRY_DELAY).await;
        }
        let plan = shared.meta().plan_copy(fid);
        let CopyPlan::Copy {
            src,
            dst,
            devid,
            length,
        } = plan
        else {
            if plan == CopyPlan::Done {
                return;
            }
            tokio::time::sleep(RETRY_DELAY).await;
            continue;
        };
        match shared.http.copy(&src, &dst, length).await {
            Ok(()) if shared.meta().add_replica(fid, devid) => {}
            // The file was deleted while being copied: remove the copy too.
            Ok(()) => shared.delete_later([dst]),
            Err(error) => {
                tracing::debug!(fid, %error, "replication copy failed");
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
    }
    tracing::warn!(fid, "replication gave up for now");
}

async fn deleter(shared: Arc<Shared>, mut queue: UnboundedReceiver<String>) {
    let mut jobs = JoinSet::new();
    loop {
        tokio::select! {
            Some(url) = queue.recv() => {
                jobs.spawn(delete(shared.clone(), url));
            }
            Some(_) = jobs.join_next(), if !jobs.is_empty() => {}
        }
    }
}

async fn delete(shared: Arc<Shared>, url: String) {
    for _ in 0..DELETE_ATTEMPTS {
        match shared.http.delete(&url).await {
            Ok(()) => return,
            Err(error) => tracing::debug!(%url, %error, "delete failed"),
        }
        tokio::time::sleep(RETRY_DELAY * 2).await;
    }
    tracing::warn!(%url, "delete gave up: the copy stays on its node");
}

async fn monitor(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(MONITOR_INTERVAL).await;
        probe_all(&shared).await;
    }
}

/// Probes every device once; a device coming up queues the files that lack
/// copies, since earlier replication attempts may have given up.
pub(crate) async fn probe_all(shared: &Shared) {
    let targets = shared.meta().topology.probe_targets();
    let probes = targets
        .into_iter()
        .map(|(devid, url)| async move { (devid, shared.http.usage(&url).await.ok()) });
    let results = futures_util::future::join_all(probes).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let under = {
        let mut meta = shared.meta();
        let mut came_up = false;
        for (devid, usage) in results {
            came_up |= meta.topology.observe(devid, usage, now);
        }
        if came_up {
            meta.under_replicated()
        } else {
            Vec::new()
        }
    };
    under.into_iter().for_each(|fid| shared.replicate(fid));
}
