//! The throughput part: start the gateway and the proxy, load the object set,
//! then measure every read target per size class, the two write targets and
//! the FastDFS rows.

use crate::error::{BenchError, Result};
use crate::fastdfs::FdfsSetup;
use crate::gateway::{GatewayProcess, CACHED, HOT, UNCACHED, UPLOAD};
use crate::measure::{Bench, Target};
use crate::objects::{self, SizeClass};
use crate::proxy::{NginxProxy, Site};
use crate::report::{Row, DIRECT, GATEWAY, GATEWAY_NOCACHE, GATEWAY_OBJCACHE, PROXY};
use crate::{Plan, DOMAIN};
use devcluster::mogilefs::MogCluster;
use std::path::Path;

/// Keys cycled through by each write target: enough to spread the writes,
/// few enough that wrk's prepared requests (one body each) stay small.
const WRITE_KEYS: usize = 32;

/// What the throughput part works with.
pub struct Setup<'a> {
    pub plan: &'a Plan,
    pub bench: &'a Bench,
    pub cluster: &'a MogCluster,
    pub binary: &'a Path,
    pub nginx: &'a Path,
}

/// The servers under load.
struct Servers {
    storage: String,
    gateway: GatewayProcess,
    proxy: NginxProxy,
}

impl Setup<'_> {
    /// Every read and write row, plus the FastDFS rows; the gateway and the
    /// proxy are stopped on return.
    pub async fn throughput(&self) -> Result<Vec<Row>> {
        let servers = self.start().await?;
        eprintln!("dfs-bench: loading the object set through the gateway");
        let client = crate::client();
        objects::load(&client, &servers.gateway.base(), &self.plan.read_sizes).await?;
        let mut rows = Vec::new();
        for class in &self.plan.read_sizes {
            for target in self.read_targets(&servers, class)? {
                rows.push(self.bench.row("GET", &target, class).await);
            }
        }
        for class in &self.plan.write_sizes {
            for target in write_targets(&servers, class) {
                rows.push(self.bench.row("PUT", &target, class).await);
            }
        }
        if let Some(class) = self.plan.read_sizes.iter().find(|c| c.size == 4096) {
            let fdfs = FdfsSetup {
                bench: self.bench,
                binary: self.binary,
                nginx: self.nginx,
                mog_tracker: self.cluster.tracker_addrs()[0],
            };
            rows.extend(fdfs.rows(class).await);
        }
        Ok(rows)
    }

    async fn start(&self) -> Result<Servers> {
        let tracker = self.cluster.tracker_addrs()[0];
        let storage = self.cluster.node_addrs()[0];
        let work = &self.bench.work;
        let gateway = GatewayProcess::start(self.binary, tracker, "", work, "gateway").await?;
        let site = Site::proxy(storage);
        let proxy =
            NginxProxy::start(self.nginx, &site, &work.join("proxy"), crate::cpus()).await?;
        Ok(Servers {
            storage: format!("http://{storage}"),
            gateway,
            proxy,
        })
    }

    /// direct, nginx-proxy, gateway, gateway-nocache and gateway-objcache for
    /// one size class.
    fn read_targets(&self, servers: &Servers, class: &SizeClass) -> Result<Vec<Target>> {
        let keys = class.keys();
        let storage_paths = keys
            .iter()
            .map(|k| self.storage_path(k))
            .collect::<Result<Vec<_>>>()?;
        let gateway_pid = servers.gateway.pid()?;
        let via = |prefix: &str| keys.iter().map(|k| format!("{prefix}{k}")).collect();
        Ok(vec![
            Target::new(DIRECT, &servers.storage, storage_paths.clone(), vec![]),
            Target::new(
                PROXY,
                &servers.proxy.base(),
                storage_paths,
                servers.proxy.pids(),
            ),
            Target::new(
                GATEWAY,
                &servers.gateway.base(),
                via(CACHED),
                vec![gateway_pid],
            ),
            Target::new(
                GATEWAY_NOCACHE,
                &servers.gateway.base(),
                via(UNCACHED),
                vec![gateway_pid],
            ),
            Target::new(
                GATEWAY_OBJCACHE,
                &servers.gateway.base(),
                via(HOT),
                vec![gateway_pid],
            ),
        ])
    }

    /// The storage node's path of `key`, as the tracker knows it.
    fn storage_path(&self, key: &str) -> Result<String> {
        let file = self.cluster.file(DOMAIN, key);
        let url = file.and_then(|f| f.urls.into_iter().next());
        let path = url.and_then(|u| {
            let rest = u.strip_prefix("http://")?;
            rest.find('/').map(|i| rest[i..].to_owned())
        });
        path.ok_or_else(|| BenchError::Failed(format!("the tracker has no path for {key}")))
    }
}

/// WebDAV PUT to the storage node, and PUT through the gateway.
fn write_targets(servers: &Servers, class: &SizeClass) -> Vec<Target> {
    let paths = |prefix: &str| -> Vec<String> {
        (0..WRITE_KEYS)
            .map(|i| format!("{prefix}put/{}/{i:02}.bin", class.label))
            .collect()
    };
    let gateway_pid = servers.gateway.pid().into_iter().collect();
    vec![
        Target::new(DIRECT, &servers.storage, paths("/"), vec![]),
        Target::new(GATEWAY, &servers.gateway.base(), paths(UPLOAD), gateway_pid),
    ]
}
