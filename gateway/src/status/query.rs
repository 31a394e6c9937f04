//! The tracker conversations of a status report: every tracker of an
//! upstream is asked on a fresh connection, all at once, each under a
//! deadline of the upstream's connect time-out plus four reply time-outs.
//!
//! ```text
//! MogileFS  get_hosts, get_devices, get_domains
//! FastDFS   SERVER_LIST_ALL_GROUPS, then SERVER_LIST_STORAGE per group
//! ```
//!
//! Outcomes feed the upstream's [`TrackerSet`](crate::clients::TrackerSet)
//! like any other call: a failure marks the tracker down and is its last
//! error; an answer marks it up and measures its latency.

use super::view::{
    ClusterView, DeviceRow, DomainRow, GroupRow, HostRow, TrackerStatus, UpstreamStatus,
};
use super::{unix_seconds, Source};
use crate::clients::{fastdfs, mogilefs, CallError};
use crate::config::Protocol;
use dfs_protocol::fastdfs::monitor::{ListAllGroups, ListStorage};
use dfs_protocol::mogilefs::cmd::admin::{GetDevices, GetDomains, GetHosts};
use dfs_protocol::mogilefs::{Command, Reply};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Groups listed at most per FastDFS tracker: bounds the questions asked.
const MAX_GROUPS: usize = 64;

/// Why a tracker gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The exchange failed.
    #[error("{command}: {source}")]
    Call {
        /// The command.
        command: &'static str,
        /// How.
        #[source]
        source: CallError,
    },
    /// The tracker refused the command.
    #[error("{command}: tracker answered {answer}")]
    Refused {
        /// The command.
        command: &'static str,
        /// Its error code or status.
        answer: String,
    },
    /// The whole conversation took too long.
    #[error("no complete answer within {0:?}")]
    Deadline(Duration),
}

/// Asks every tracker of `source`; the cluster view is the first answer.
pub async fn upstream(source: &Source) -> UpstreamStatus {
    let indexes = 0..source.trackers.len();
    let answers = futures_util::future::join_all(indexes.map(|i| tracker(source, i))).await;
    let mut trackers = Vec::new();
    let mut cluster = None;
    let mut errors = Vec::new();
    for (status, answer) in answers {
        match answer {
            Ok(view) if cluster.is_none() => cluster = Some(view),
            Ok(_) => {}
            Err(e) => errors.push(format!("{}: {e}", status.address)),
        }
        trackers.push(status);
    }
    let error = match (&cluster, errors.is_empty()) {
        (Some(_), _) => None,
        (None, true) => Some("no trackers configured".to_owned()),
        (None, false) => Some(errors.join("; ")),
    };
    UpstreamStatus {
        name: source.name.clone(),
        protocol: match source.protocol {
            Protocol::Mogilefs => "mogilefs",
            Protocol::Fastdfs => "fastdfs",
        },
        trackers,
        cluster,
        error,
    }
}

/// Asks tracker `index`, records the outcome in the set, reports both.
async fn tracker(
    source: &Source,
    index: usize,
) -> (TrackerStatus, Result<ClusterView, QueryError>) {
    let addr = source.trackers.addr(index);
    let deadline = source.connect_timeout + source.reply_timeout * 4;
    let started = Instant::now();
    let mut first_reply = None;
    let talk = async {
        match source.protocol {
            Protocol::Mogilefs => ask_mogilefs(addr, source, &mut first_reply).await,
            Protocol::Fastdfs => ask_fastdfs(addr, source, &mut first_reply).await,
        }
    };
    let answer = tokio::time::timeout(deadline, talk)
        .await
        .unwrap_or(Err(QueryError::Deadline(deadline)));
    let set = &source.trackers;
    match &answer {
        Ok(_) => set.mark_ok(index),
        Err(e) => {
            set.mark_failed(index);
            set.record_error(index, e);
        }
    }
    let latency = first_reply.map(|at: Instant| at - started);
    if let Some(l) = latency {
        set.record_latency(index, l);
    }
    let health = set.health(index);
    let status = TrackerStatus {
        address: addr.to_string(),
        up: health.up,
        latency_ms: latency.map(|l| l.as_secs_f64() * 1000.0),
        error: answer.as_ref().err().map(ToString::to_string),
        last_error_at: health.last_error.as_ref().map(|(_, at)| unix_seconds(*at)),
        last_error: health.last_error.map(|(e, _)| e),
    };
    (status, answer)
}

async fn mog_call<C: Command>(
    conn: &mut mogilefs::Connection,
    cmd: &C,
    timeout: Duration,
) -> Result<C::Reply, QueryError> {
    let call = |source| QueryError::Call {
        command: C::NAME,
        source,
    };
    match conn.call(&cmd.request(), timeout).await.map_err(call)? {
        Reply::Ok(args) => {
            C::parse_reply(&args).map_err(|e| call(CallError::BadReply(e.to_string())))
        }
        Reply::Err { code, .. } => Err(QueryError::Refused {
            command: C::NAME,
            answer: code,
        }),
    }
}

async fn ask_mogilefs(
    addr: SocketAddr,
    source: &Source,
    first_reply: &mut Option<Instant>,
) -> Result<ClusterView, QueryError> {
    let reply = source.reply_timeout;
    let mut conn = mogilefs::Connection::connect(addr, source.connect_timeout)
        .await
        .map_err(|source| QueryError::Call {
            command: "connect",
            source,
        })?;
    let hosts = mog_call(&mut conn, &GetHosts::default(), reply).await?;
    *first_reply = Some(Instant::now());
    let devices = mog_call(&mut conn, &GetDevices::default(), reply).await?;
    let domains = mog_call(&mut conn, &GetDomains, reply).await?;
    let mut hosts: Vec<HostRow> = hosts.into_iter().map(HostRow::from).collect();
    hosts.iter_mut().for_each(|h| h.map_address(&source.map));
    Ok(ClusterView::Mogilefs {
        hosts,
        devices: devices.into_iter().map(DeviceRow::from).collect(),
        domains: domains.into_iter().map(DomainRow::from).collect(),
    })
}

async fn fdfs_call<C: dfs_protocol::fastdfs::Command>(
    conn: &mut fastdfs::connection::Connection,
    cmd: &C,
    timeout: Duration,
) -> Result<C::Reply, QueryError> {
    match conn.call(cmd, timeout).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(status)) => Err(QueryError::Refused {
            command: C::NAME,
            answer: format!(
                "status {status} ({})",
                dfs_protocol::fastdfs::status::name(status)
            ),
        }),
        Err(source) => Err(QueryError::Call {
            command: C::NAME,
            source,
        }),
    }
}

async fn ask_fastdfs(
    addr: SocketAddr,
    source: &Source,
    first_reply: &mut Option<Instant>,
) -> Result<ClusterView, QueryError> {
    let reply = source.reply_timeout;
    let mut conn = fastdfs::connection::Connection::connect(addr, source.connect_timeout)
        .await
        .map_err(|source| QueryError::Call {
            command: "connect",
            source,
        })?;
    let groups = fdfs_call(&mut conn, &ListAllGroups, reply).await?.0;
    *first_reply = Some(Instant::now());
    let mut rows = Vec::new();
    for group in groups.into_iter().take(MAX_GROUPS) {
        let list = ListStorage {
            group: group.name.clone(),
            storage_id: None,
        };
        // One group's failure (e.g. removed meanwhile) is shown on its row;
        // a broken connection ends the conversation.
        let storages = match fdfs_call(&mut conn, &list, reply).await {
            Ok(s) => Ok(s.0),
            Err(e @ QueryError::Refused { .. }) => Err(e.to_string()),
            Err(e) => return Err(e),
        };
        let mut row = GroupRow::new(group, storages);
        row.storages
            .iter_mut()
            .for_each(|s| s.map_address(&source.map));
        rows.push(row);
    }
    Ok(ClusterView::Fastdfs { groups: rows })
}
