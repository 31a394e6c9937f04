//! Cluster administration and overview commands: `create_domain`,
//! `create_class`/`update_class`, `get_domains`, `get_hosts`, `get_devices`.

use super::{refuse, Outcome};
use crate::mogilefs::state::Shared;
use dfs_protocol::mogilefs::Args;

pub(super) fn create_domain(shared: &Shared, args: &Args) -> Outcome {
    let domain = args
        .get_nonempty("domain")
        .ok_or_else(|| refuse("no_domain"))?;
    shared.meta().create_domain(domain).map_err(refuse)?;
    Ok(Args::new().with("domain", domain))
}

pub(super) fn create_class(shared: &Shared, args: &Args, update: bool) -> Outcome {
    let domain = args
        .get_nonempty("domain")
        .ok_or_else(|| refuse("no_domain"))?;
    let class = args
        .get_nonempty("class")
        .ok_or_else(|| refuse("no_class"))?;
    let mindevcount = args
        .get("mindevcount")
        .and_then(|m| m.parse::<u32>().ok())
        .filter(|m| *m > 0)
        .ok_or_else(|| refuse("invalid_mindevcount"))?;
    let under = {
        let mut meta = shared.meta();
        meta.set_class(domain, class, mindevcount, update)
            .map_err(refuse)?;
        meta.under_replicated()
    };
    // A higher mindevcount makes existing files short of copies.
    under.into_iter().for_each(|fid| shared.replicate(fid));
    Ok(Args::new()
        .with("class", class)
        .with("mindevcount", mindevcount.to_string())
        .with("domain", domain))
}

/// `domains=N`, `domainI=name`, `domainIclasses=M`,
/// `domainIclassJ{name,mindevcount,replpolicy,hashtype}`.
pub(super) fn get_domains(shared: &Shared) -> Args {
    let meta = shared.meta();
    let mut fields = Args::new().with("domains", meta.domains.len().to_string());
    for (i, (name, domain)) in meta.domains.iter().enumerate() {
        let d = format!("domain{}", i + 1);
        fields.push(&d, &**name);
        fields.push(&format!("{d}classes"), domain.classes.len().to_string());
        for (j, (class, mindevcount)) in domain.classes.iter().enumerate() {
            let c = format!("{d}class{}", j + 1);
            fields.push(&format!("{c}name"), &**class);
            fields.push(&format!("{c}mindevcount"), mindevcount.to_string());
            fields.push(&format!("{c}replpolicy"), "MultipleHosts()");
            fields.push(&format!("{c}hashtype"), "NONE");
        }
    }
    fields
}

/// `hosts=N`, `hostI_{hostid,status,hostname,hostip,http_port,http_get_port,altip,altmask}`.
pub(super) fn get_hosts(shared: &Shared, args: &Args) -> Args {
    let wanted: Option<u64> = args.get("hostid").and_then(|h| h.parse().ok());
    let meta = shared.meta();
    let hosts = meta
        .topology
        .hosts
        .iter()
        .filter(|h| wanted.unwrap_or(h.hostid) == h.hostid);
    let mut fields = Args::new();
    let mut n = 0;
    for host in hosts {
        n += 1;
        let p = format!("host{n}_");
        fields.push(&format!("{p}hostid"), host.hostid.to_string());
        fields.push(&format!("{p}status"), "alive");
        fields.push(&format!("{p}hostname"), format!("host{}", host.hostid));
        fields.push(&format!("{p}hostip"), host.addr.ip().to_string());
        fields.push(&format!("{p}http_port"), host.addr.port().to_string());
        for empty in ["http_get_port", "altip", "altmask"] {
            fields.push(&format!("{p}{empty}"), "");
        }
    }
    fields.push("hosts", n.to_string());
    fields
}

/// `devices=N`, `devI_{devid,hostid,status,observed_state,mb_total,mb_used,
/// mb_free,mb_asof,utilization,weight,reject_bad_md5}`.
pub(super) fn get_devices(shared: &Shared, args: &Args) -> Args {
    let wanted: Option<u64> = args.get("devid").and_then(|d| d.parse().ok());
    let meta = shared.meta();
    let devices = meta
        .topology
        .devices
        .values()
        .filter(|d| wanted.unwrap_or(d.devid) == d.devid);
    let mut fields = Args::new();
    let mut n = 0;
    for device in devices {
        n += 1;
        let p = format!("dev{n}_");
        let observed = match device.reachable {
            None => "",
            Some(true) => "writeable",
            Some(false) => "unreachable",
        };
        let mb = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        fields.push(&format!("{p}devid"), device.devid.to_string());
        fields.push(&format!("{p}hostid"), device.hostid.to_string());
        fields.push(&format!("{p}status"), device.state.as_str());
        fields.push(&format!("{p}observed_state"), observed);
        fields.push(
            &format!("{p}mb_total"),
            mb(device.usage.map(|u| u.total_mb)),
        );
        fields.push(&format!("{p}mb_used"), mb(device.usage.map(|u| u.used_mb)));
        fields.push(&format!("{p}mb_free"), mb(device.mb_free()));
        fields.push(&format!("{p}mb_asof"), mb(device.probed_at));
        fields.push(&format!("{p}utilization"), "");
        fields.push(&format!("{p}weight"), "100");
        // Storage nodes check Content-MD5, as mogstored does.
        fields.push(&format!("{p}reject_bad_md5"), "1");
    }
    fields.push("devices", n.to_string());
    fields
}
