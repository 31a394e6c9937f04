//! Cluster overview commands, as `mogadm check` uses them: `get_hosts`,
//! `get_devices`, `get_domains`.
//!
//! Their replies number the records from 1 and carry a count:
//!
//! ```text
//! hosts=N    hostI_{hostid,status,hostname,hostip,http_port,http_get_port,altip,altmask}
//! devices=N  devI_{devid,hostid,status,observed_state,mb_total,mb_used,mb_free,
//!            mb_asof,utilization,weight,reject_bad_md5}
//! domains=N  domainI, domainIclasses=M,
//!            domainIclassJ{name,mindevcount,replpolicy,hashtype}
//! ```
//!
//! Fields come in any order (a Perl hash) and unset ones are empty. Counts
//! are trusted only as far as the reply has fields to back them: a count
//! larger than the number of fields is cut to it, so a hostile reply cannot
//! make the parser loop or allocate beyond its own size.

use super::super::args::Args;
use super::super::ProtocolError;
use super::{flag, Command};

/// A count field, bounded by the fields actually present.
fn count(args: &Args, name: &'static str) -> Result<usize, ProtocolError> {
    let value = args.get(name).ok_or(ProtocolError::MissingField(name))?;
    let n: u64 = value.parse().map_err(|_| ProtocolError::BadField {
        field: name,
        value: value.to_owned(),
    })?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX).min(args.len()))
}

/// An optional number: absent or empty is `None`, anything else must parse.
fn optional<T: std::str::FromStr>(
    args: &Args,
    name: &str,
    what: &'static str,
) -> Result<Option<T>, ProtocolError> {
    match args.get_nonempty(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ProtocolError::BadField {
            field: what,
            value: format!("{name}={v}"),
        }),
    }
}

/// A required number of a numbered record.
fn required<T: std::str::FromStr>(
    args: &Args,
    name: &str,
    what: &'static str,
) -> Result<T, ProtocolError> {
    optional(args, name, what)?.ok_or(ProtocolError::BadField {
        field: what,
        value: format!("{name} missing"),
    })
}

fn text(args: &Args, name: &str) -> String {
    args.get(name).unwrap_or_default().to_owned()
}

/// A storage host of `get_hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Host id.
    pub hostid: u64,
    /// `alive`, `down`, `dead`, `readonly`...
    pub status: String,
    /// Host name.
    pub hostname: String,
    /// IP address.
    pub hostip: String,
    /// HTTP port of its storage daemon.
    pub http_port: Option<u16>,
    /// Separate port for reads, if any.
    pub http_get_port: Option<u16>,
    /// Alternative IP address, if any.
    pub altip: String,
    /// Network mask selecting clients of the alternative address.
    pub altmask: String,
}

/// `get_hosts`: every host, or the one with `hostid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetHosts {
    /// Only this host.
    pub hostid: Option<u64>,
}

impl Command for GetHosts {
    const NAME: &'static str = "get_hosts";
    type Reply = Vec<Host>;

    fn to_args(&self) -> Args {
        let mut args = Args::new();
        if let Some(id) = self.hostid {
            args.push("hostid", id.to_string());
        }
        args
    }

    fn from_args(args: &Args) -> Result<Self, &'static str> {
        Ok(GetHosts {
            hostid: args.get_nonempty("hostid").and_then(|h| h.parse().ok()),
        })
    }

    fn reply_args(hosts: &Vec<Host>) -> Args {
        let mut args = Args::new().with("hosts", hosts.len().to_string());
        for (i, h) in hosts.iter().enumerate() {
            let p = format!("host{}_", i + 1);
            let port = |p: Option<u16>| p.map(|p| p.to_string()).unwrap_or_default();
            args.push(&format!("{p}hostid"), h.hostid.to_string());
            args.push(&format!("{p}status"), &*h.status);
            args.push(&format!("{p}hostname"), &*h.hostname);
            args.push(&format!("{p}hostip"), &*h.hostip);
            args.push(&format!("{p}http_port"), port(h.http_port));
            args.push(&format!("{p}http_get_port"), port(h.http_get_port));
            args.push(&format!("{p}altip"), &*h.altip);
            args.push(&format!("{p}altmask"), &*h.altmask);
        }
        args
    }

    fn parse_reply(args: &Args) -> Result<Vec<Host>, ProtocolError> {
        (1..=count(args, "hosts")?)
            .map(|i| {
                let f = |name: &str| format!("host{i}_{name}");
                Ok(Host {
                    hostid: required(args, &f("hostid"), "hostid")?,
                    status: text(args, &f("status")),
                    hostname: text(args, &f("hostname")),
                    hostip: text(args, &f("hostip")),
                    http_port: optional(args, &f("http_port"), "http_port")?,
                    http_get_port: optional(args, &f("http_get_port"), "http_get_port")?,
                    altip: text(args, &f("altip")),
                    altmask: text(args, &f("altmask")),
                })
            })
            .collect()
    }
}

/// A device of `get_devices`.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Device id.
    pub devid: u64,
    /// Its host.
    pub hostid: u64,
    /// Administrative state: `alive`, `down`, `readonly`, `drain`, `dead`.
    pub status: String,
    /// What the monitor saw: `writeable`, `readable`, `unreachable` (empty: not yet).
    pub observed_state: String,
    /// Disk size, MB (unknown until the monitor measured it).
    pub mb_total: Option<u64>,
    /// Used, MB.
    pub mb_used: Option<u64>,
    /// Free, MB.
    pub mb_free: Option<u64>,
    /// When the sizes were measured (Unix seconds).
    pub mb_asof: Option<u64>,
    /// I/O utilisation in percent, when reported.
    pub utilization: Option<f64>,
    /// Weight for new files.
    pub weight: Option<i64>,
    /// The device refuses uploads whose Content-MD5 does not match.
    pub reject_bad_md5: bool,
}

/// `get_devices`: every device, or the one with `devid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetDevices {
    /// Only this device.
    pub devid: Option<u64>,
}

impl Command for GetDevices {
    const NAME: &'static str = "get_devices";
    type Reply = Vec<Device>;

    fn to_args(&self) -> Args {
        let mut args = Args::new();
        if let Some(id) = self.devid {
            args.push("devid", id.to_string());
        }
        args
    }

    fn from_args(args: &Args) -> Result<Self, &'static str> {
        Ok(GetDevices {
            devid: args.get_nonempty("devid").and_then(|d| d.parse().ok()),
        })
    }

    fn reply_args(devices: &Vec<Device>) -> Args {
        let mut args = Args::new().with("devices", devices.len().to_string());
        let opt = |v: Option<String>| v.unwrap_or_default();
        for (i, d) in devices.iter().enumerate() {
            let p = format!("dev{}_", i + 1);
            args.push(&format!("{p}devid"), d.devid.to_string());
            args.push(&format!("{p}hostid"), d.hostid.to_string());
            args.push(&format!("{p}status"), &*d.status);
            args.push(&format!("{p}observed_state"), &*d.observed_state);
            args.push(
                &format!("{p}mb_total"),
                opt(d.mb_total.map(|v| v.to_string())),
            );
            args.push(
                &format!("{p}mb_used"),
                opt(d.mb_used.map(|v| v.to_string())),
            );
            args.push(
                &format!("{p}mb_free"),
                opt(d.mb_free.map(|v| v.to_string())),
            );
            args.push(
                &format!("{p}mb_asof"),
                opt(d.mb_asof.map(|v| v.to_string())),
            );
            let util = d.utilization.map(|v| v.to_string());
            args.push(&format!("{p}utilization"), opt(util));
            args.push(&format!("{p}weight"), opt(d.weight.map(|v| v.to_string())));
            let md5 = if d.reject_bad_md5 { "1" } else { "0" };
            args.push(&format!("{p}reject_bad_md5"), md5);
        }
        args
    }

    fn parse_reply(args: &Args) -> Result<Vec<Device>, ProtocolError> {
        (1..=count(args, "devices")?)
            .map(|i| {
                let f = |name: &str| format!("dev{i}_{name}");
                Ok(Device {
                    devid: required(args, &f("devid"), "devid")?,
                    hostid: required(args, &f("hostid"), "hostid")?,
                    status: text(args, &f("status")),
                    observed_state: text(args, &f("observed_state")),
                    mb_total: optional(args, &f("mb_total"), "mb_total")?,
                    mb_used: optional(args, &f("mb_used"), "mb_used")?,
                    mb_free: optional(args, &f("mb_free"), "mb_free")?,
                    mb_asof: optional(args, &f("mb_asof"), "mb_asof")?,
                    utilization: optional(args, &f("utilization"), "utilization")?,
                    weight: optional(args, &f("weight"), "weight")?,
                    reject_bad_md5: flag(args, &f("reject_bad_md5")),
                })
            })
            .collect()
    }
}

/// A replication class of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    /// Class name (`default` always exists).
    pub name: String,
    /// Copies the tracker keeps of each file.
    pub mindevcount: u32,
    /// Replication policy, e.g. `MultipleHosts()`.
    pub replpolicy: String,
    /// Checksum kept for files, e.g. `NONE`, `MD5`.
    pub hashtype: String,
}

/// A domain of `get_domains` with its classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// Domain name.
    pub name: String,
    /// Its classes.
    pub classes: Vec<Class>,
}

/// `get_domains`: every domain and class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetDomains;

impl Command for GetDomains {
    const NAME: &'static str = "get_domains";
    type Reply = Vec<Domain>;

    fn to_args(&self) -> Args {
        Args::new()
    }

    fn from_args(_: &Args) -> Result<Self, &'static str> {
        Ok(GetDomains)
    }

    fn reply_args(domains: &Vec<Domain>) -> Args {
        let mut args = Args::new().with("domains", domains.len().to_string());
        for (i, d) in domains.iter().enumerate() {
            let p = format!("domain{}", i + 1);
            args.push(&p, &*d.name);
            args.push(&format!("{p}classes"), d.classes.len().to_string());
            for (j, c) in d.classes.iter().enumerate() {
                let q = format!("{p}class{}", j + 1);
                args.push(&format!("{q}name"), &*c.name);
                args.push(&format!("{q}mindevcount"), c.mindevcount.to_string());
                args.push(&format!("{q}replpolicy"), &*c.replpolicy);
                args.push(&format!("{q}hashtype"), &*c.hashtype);
            }
        }
        args
    }

    fn parse_reply(args: &Args) -> Result<Vec<Domain>, ProtocolError> {
        (1..=count(args, "domains")?)
            .map(|i| parse_domain(args, &format!("domain{i}")))
            .collect()
    }
}

fn parse_domain(args: &Args, p: &str) -> Result<Domain, ProtocolError> {
    let name = args.get_nonempty(p).ok_or(ProtocolError::BadField {
        field: "domain",
        value: format!("{p} missing"),
    })?;
    let classes = match args.get_nonempty(&format!("{p}classes")) {
        None => 0,
        Some(_) => {
            let n: u64 = required(args, &format!("{p}classes"), "classes")?;
            usize::try_from(n).unwrap_or(usize::MAX).min(args.len())
        }
    };
    let classes = (1..=classes)
        .map(|j| {
            let f = |name: &str| format!("{p}class{j}{name}");
            Ok(Class {
                name: text(args, &f("name")),
                mindevcount: required(args, &f("mindevcount"), "mindevcount")?,
                replpolicy: text(args, &f("replpolicy")),
                hashtype: text(args, &f("hashtype")),
            })
        })
        .collect::<Result<_, ProtocolError>>()?;
    Ok(Domain {
        name: name.to_owned(),
        classes,
    })
}

#[cfg(test)]
mod tests;
