//! The composition root: from a validated config, build every upstream's
//! tracker set, protocol client, storage node client and look-up cache,
//! then one store per location, and hand the routes a ready
//! [`AppState`]. Nothing else in the gateway constructs clients or stores.

use crate::cache::ObjectCache;
use crate::clients::fastdfs::{FdfsClient, FdfsTimeouts};
use crate::clients::mogilefs::{MogClient, TrackerTimeouts};
use crate::clients::{AddressMap, TrackerSet};
use crate::config::{Config, DiskReads, LocationConfig, Protocol, UpstreamConfig};
use crate::routes::fastdfs::FdfsNaming;
use crate::routes::mogilefs::MogNaming;
use crate::routes::naming::Naming;
use crate::routes::{AppState, Location};
use crate::storage::cached::{self, CachedStore};
use crate::storage::fastdfs::failover::FdfsUpstream;
use crate::storage::fastdfs::{FdfsStore, LocalDisk};
use crate::storage::mogilefs::node::NodeClient;
use crate::storage::mogilefs::{MogStore, MogUpstream, Namespace};
use crate::storage::SharedStore;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// An upstream, built: what its locations' stores are made from.
enum Upstream {
    Mogilefs(Arc<MogUpstream>),
    Fastdfs(Arc<FdfsUpstream>),
}

/// An upstream and its hot-object cache, shared by its locations.
struct Built {
    upstream: Upstream,
    cache: ObjectCache,
}

/// Builds clients (one set per upstream, shared by its locations), stores
/// and locations for `config`.
pub fn build(config: &Config) -> Result<AppState, String> {
    let mut built: HashMap<&str, Built> = HashMap::new();
    let mut upstreams = Vec::new();
    let mut status = Vec::new();
    for upstream in config.upstreams.iter().map(|u| u.get_ref()) {
        let mut addrs = Vec::new();
        for t in &upstream.trackers {
            addrs.extend(crate::config::resolve_tracker(t, upstream.protocol)?);
        }
        let trackers = Arc::new(TrackerSet::with_health(addrs, upstream.health_policy()));
        upstreams.push((upstream.name.clone(), trackers.clone()));
        let map = Arc::new(upstream.address_map(&config.listeners())?);
        let source = crate::status::Source::new(upstream, trackers.clone());
        status.push(source.with_address_map(map.clone()));
        let cache = ObjectCache::new(
            &upstream.object_cache,
            &upstream.name,
            &crate::metrics::metrics().object_cache,
        );
        let up = upstream_of(config, upstream, trackers, map);
        built.insert(
            &upstream.name,
            Built {
                upstream: up,
                cache,
            },
        );
    }
    let thumbs = crate::routes::thumbnail::shared_pool(config);
    let mut locations: Vec<Location> = config
        .locations
        .iter()
        .map(|l| l.get_ref())
        .map(|l| {
            let b = &built[l.upstream.as_str()];
            let (store, naming) = store_of(&b.upstream, l);
            let store = cached(store, &b.cache, &b.upstream, l);
            Ok(Location {
                store,
                naming,
                max_body_size: l.max_body_size.unwrap_or(config.server.max_body_size).0,
                label: Arc::from(l.prefix.as_str()),
                access: crate::access::Policy::new(l, &config.server.access)?,
                mime: config.mime.clone(),
                thumbs: thumbs.clone(),
                cache: b.cache.clone(),
                variants: variant_store(&b.upstream, l),
                config: l.clone(),
            })
        })
        .collect::<Result<_, String>>()?;
    locations.sort_by_key(|l| std::cmp::Reverse(l.config.prefix.len()));
    Ok(AppState {
        locations,
        upstreams,
        limiter: Arc::new(Semaphore::new(config.server.max_concurrent_requests.max(1))),
        status,
        status_path: config.server.status_path.clone(),
        admin_access: crate::access::admin::AdminPolicy::new(&config.server.access),
        admin_here: config.server.admin_listen.is_none(),
        body_timeout: config.server.client_body_timeout.0,
        access_format: config.server.access_log_format,
        landing: crate::landing::Page::from_config(config).map(Arc::new),
    })
}

/// The clients and caches of one upstream, its prober started.
fn upstream_of(
    config: &Config,
    upstream: &UpstreamConfig,
    trackers: Arc<TrackerSet>,
    map: Arc<AddressMap>,
) -> Upstream {
    let probe = upstream.probe_interval.0;
    let (ttl, size) = (upstream.cache_ttl(), upstream.cache_size);
    match upstream.protocol {
        Protocol::Mogilefs => {
            let timeouts = TrackerTimeouts {
                connect: upstream.connect_timeout.0,
                reply: upstream.reply_timeout.0,
            };
            let client = MogClient::new(trackers, upstream.pool_limits(), timeouts);
            let client = Arc::new(client.with_address_map(map));
            crate::clients::spawn_prober(&client, probe);
            // One storage connection pool per server worker thread, so that
            // a request and its storage connection share a thread.
            let pools = (
                config.server.workers,
                crate::server::worker_index as fn() -> usize,
            );
            let nodes = NodeClient::new(
                upstream.storage_connect_timeout.0,
                upstream.storage_timeout.0,
                upstream.health_policy(),
                pools,
            );
            let up = MogUpstream::new(&upstream.name, client, nodes, ttl, size);
            Upstream::Mogilefs(Arc::new(up))
        }
        Protocol::Fastdfs => {
            let timeouts = FdfsTimeouts {
                connect: upstream.connect_timeout.0,
                reply: upstream.reply_timeout.0,
                io: upstream.storage_timeout.0,
            };
            let client = FdfsClient::new(trackers, upstream.pool_limits(), timeouts);
            let client = Arc::new(client.with_address_map(map));
            crate::clients::spawn_prober(&client, probe);
            Upstream::Fastdfs(Arc::new(FdfsUpstream::new(
                &upstream.name,
                client,
                ttl,
                size,
            )))
        }
    }
}

/// A location's store over its upstream, and its URL scheme.
fn store_of(upstream: &Upstream, l: &LocationConfig) -> (SharedStore, Arc<dyn Naming>) {
    match upstream {
        Upstream::Mogilefs(up) => {
            let ns = Namespace {
                domain: l.domain.clone().unwrap_or_default(),
                class: l.class.clone(),
                noverify: l.noverify,
                pathcount: l.pathcount,
            };
            (Arc::new(MogStore::new(up.clone(), ns)), Arc::new(MogNaming))
        }
        Upstream::Fastdfs(up) => {
            let local = l.store_paths.clone().map(|roots| LocalDisk {
                roots,
                inline: l.disk_reads == DiskReads::Inline,
            });
            let store = FdfsStore::new(up.clone(), l.group.clone(), local);
            (Arc::new(store), Arc::new(FdfsNaming))
        }
    }
}

/// The store a location's thumbnails are written back to under derived
/// keys: for MogileFS with `thumbnails.store`, `store_domain` (default the
/// location's domain) and `store_class` on the same upstream. FastDFS keeps
/// them as slave files of the source instead ([`crate::storage::Store::write_variant`]).
fn variant_store(upstream: &Upstream, l: &LocationConfig) -> Option<SharedStore> {
    let thumbs = l.thumbnails.as_ref().filter(|t| t.enabled && t.store)?;
    let Upstream::Mogilefs(up) = upstream else {
        return None;
    };
    let ns = Namespace {
        domain: thumbs
            .store_domain
            .clone()
            .or_else(|| l.domain.clone())
            .unwrap_or_default(),
        class: thumbs.store_class.clone(),
        noverify: l.noverify,
        pathcount: l.pathcount,
    };
    Some(Arc::new(MogStore::new(up.clone(), ns)))
}

/// `store` behind the upstream's hot-object cache, unless that is off.
fn cached(
    store: SharedStore,
    cache: &ObjectCache,
    up: &Upstream,
    l: &LocationConfig,
) -> SharedStore {
    if !cache.enabled() {
        return store;
    }
    let naming = match up {
        Upstream::Mogilefs(_) => cached::Naming::Mogilefs {
            domain: Arc::from(l.domain.as_deref().unwrap_or_default()),
        },
        Upstream::Fastdfs(_) => cached::Naming::Fastdfs,
    };
    Arc::new(CachedStore::new(store, cache.clone(), naming))
}
