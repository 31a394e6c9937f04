//! [`MogClusterBuilder`]: storage nodes, a first monitor round, workers,
//! then trackers, all on ephemeral 127.0.0.1 ports.

use super::cluster::{MogCluster, Storage};
use super::meta::Meta;
use super::nginx::NginxNode;
use super::service::Service;
use super::state::Shared;
use super::{tracker, workers};
use crate::storage_node::{NodeMode, StorageNode};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// The trackers' metadata file in a data directory.
const META_FILE: &str = "tracker.sqlite3";

/// Configures a [`MogCluster`]; see [`MogCluster::builder`].
#[derive(Debug, Clone)]
pub struct MogClusterBuilder {
    trackers: usize,
    nodes: usize,
    devices_per_node: usize,
    domains: Vec<String>,
    classes: Vec<(String, String, u32)>,
    data_dir: Option<PathBuf>,
    nginx: bool,
    node_mode: NodeMode,
    advertised: Vec<(usize, Ipv4Addr)>,
}

impl Default for MogClusterBuilder {
    fn default() -> Self {
        MogClusterBuilder {
            trackers: 1,
            nodes: 2,
            devices_per_node: 1,
            domains: Vec::new(),
            classes: Vec::new(),
            data_dir: None,
            nginx: false,
            node_mode: NodeMode::Perlbal,
            advertised: Vec::new(),
        }
    }
}

impl MogClusterBuilder {
    /// Number of trackers, all sharing one metadata store (default 1).
    pub fn trackers(mut self, n: usize) -> Self {
        self.trackers = n;
        self
    }

    /// Number of storage nodes, one host each (default 2).
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n;
        self
    }

    /// Devices per node (default 1). Device ids count from 1 across nodes:
    /// with 2 per node, node 0 holds dev1 and dev2, node 1 dev3 and dev4.
    pub fn devices_per_node(mut self, n: usize) -> Self {
        self.devices_per_node = n.max(1);
        self
    }

    /// A domain, with its class `default` (mindevcount 2).
    pub fn domain(mut self, name: &str) -> Self {
        self.domains.push(name.to_owned());
        self
    }

    /// A class of `domain` (the domain is created when not declared).
    pub fn class(mut self, domain: &str, class: &str, mindevcount: u32) -> Self {
        self.classes
            .push((domain.to_owned(), class.to_owned(), mindevcount.max(1)));
        self
    }

    /// Where the nodes keep their files (`<dir>/node1`, ...) and the trackers
    /// their metadata (`<dir>/tracker.sqlite3`: domains, classes, keys and
    /// where each file's copies are), so a cluster started again on the same
    /// directory serves the same keys. By default an owned temporary
    /// directory removed when the cluster is dropped, and metadata in memory.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// How the in-process storage nodes speak HTTP (default
    /// [`NodeMode::Perlbal`], as mogstored does).
    pub fn node_mode(mut self, mode: NodeMode) -> Self {
        self.node_mode = mode;
        self
    }

    /// Serve storage with real `nginx` processes (WebDAV PUT/DELETE) instead
    /// of in-process nodes, when an `nginx` binary is found on `PATH`
    /// ([`MogCluster::uses_nginx`] tells). Such nodes have no fault
    /// injection: [`MogCluster::nodes`] is empty.
    pub fn nginx_storage(mut self, yes: bool) -> Self {
        self.nginx = yes;
        self
    }

    /// Registers node `node` (from 0) with the trackers under `ip` (its
    /// port kept) instead of the address it listens on, as a mogstored in a
    /// container registers an address only the cluster's own network
    /// reaches: `get_paths` and `create_open` name `ip`, and the trackers'
    /// own requests (monitor, size checks, replication) reach the node as
    /// that network would. Clients outside meet an address nothing answers
    /// on (pick a 127.x address no node listens on).
    pub fn advertise_ip(mut self, node: usize, ip: Ipv4Addr) -> Self {
        self.advertised.push((node, ip));
        self
    }

    /// Starts everything.
    pub async fn build(self) -> io::Result<MogCluster> {
        let (temp, root) = match &self.data_dir {
            Some(dir) => (None, dir.clone()),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("devcluster-mogilefs-")
                    .tempdir()?;
                let root = temp.path().to_owned();
                (Some(temp), root)
            }
        };
        let meta = match &self.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                Meta::persistent(&dir.join(META_FILE))?
            }
            None => Meta::default(),
        };
        let mut meta = self.namespace(meta)?;
        let storage = self.storage(&root).await?;
        let mut inside = Vec::new();
        for (node, (addr, devids)) in storage.addrs.iter().zip(&storage.devids).enumerate() {
            let registered = self.registered(node, *addr);
            meta.topology.add_host(registered, devids);
            if registered != *addr {
                inside.push((registered, *addr));
            }
        }
        let (shared, queues) = Shared::new(meta, inside);
        // Like mogilefsd's wait_for_monitor: know the devices before answering.
        workers::probe_all(&shared).await;
        let tasks = workers::spawn(&shared, queues);
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let trackers = (0..self.trackers)
            .map(|_| Service::bind(any_port, tracker::handler(shared.clone())))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(MogCluster::new(
            shared, trackers, storage, tasks, root, temp,
        ))
    }

    /// The address node `node`, listening on `addr`, registers.
    fn registered(&self, node: usize, addr: SocketAddr) -> SocketAddr {
        let ip = self.advertised.iter().rev().find(|(n, _)| *n == node);
        ip.map_or(addr, |(_, ip)| SocketAddr::from((*ip, addr.port())))
    }

    /// Starts the storage nodes: in process, or nginx when asked and found.
    async fn storage(&self, root: &Path) -> io::Result<Storage> {
        let binary = self.nginx.then(NginxNode::binary).flatten();
        if self.nginx && binary.is_none() {
            tracing::warn!("nginx not found: using in-process storage nodes");
        }
        let mut storage = Storage::default();
        for i in 0..self.nodes {
            let first = (i * self.devices_per_node) as u64 + 1;
            let devids: Vec<u64> = (first..first + self.devices_per_node as u64).collect();
            let node_root = root.join(format!("node{}", i + 1));
            let addr = match &binary {
                Some(binary) => {
                    let work = root.join(format!("nginx{}", i + 1));
                    storage.push_nginx(NginxNode::start(binary, &node_root, work, &devids).await?)
                }
                None => storage
                    .push_node(StorageNode::bind_with(&node_root, &devids, self.node_mode).await?),
            };
            storage.addrs.push(addr);
            storage.roots.push(node_root);
            storage.devids.push(devids);
        }
        Ok(storage)
    }

    /// Adds the declared domains and classes; on metadata read back from a
    /// data directory, existing ones are kept (a class takes the declared
    /// mindevcount).
    fn namespace(&self, mut meta: Meta) -> io::Result<Meta> {
        let declared = self.classes.iter().map(|(d, _, _)| d);
        for domain in self.domains.iter().chain(declared) {
            // Declaring a domain twice is harmless.
            let _ = meta.create_domain(domain);
        }
        for (domain, class, mindevcount) in &self.classes {
            let exists = meta
                .domains
                .get(domain)
                .is_some_and(|d| d.classes.contains_key(class));
            meta.set_class(domain, class, *mindevcount, exists)
                .map_err(|code| io::Error::other(format!("class {domain}/{class}: {code}")))?;
        }
        Ok(meta)
    }
}
