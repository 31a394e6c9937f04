//! One type per tracker command, each encoding both directions.
//!
//! The gateway builds a command, sends [`Command::to_args`] and reads the reply
//! with [`Command::parse_reply`]; devcluster's tracker does the mirror image
//! with [`Command::from_args`] and [`Command::reply_args`]. Using one type for
//! both sides is what keeps them in agreement.

use super::args::Args;
use super::line::Request;
use super::ProtocolError;

pub mod admin;

/// A tracker command and its reply.
pub trait Command: Sized {
    /// The command word on the wire.
    const NAME: &'static str;
    /// What a successful reply carries.
    type Reply;
    /// Whether sending the command twice does no harm, so a lost reply may be
    /// retried on another tracker.
    const IDEMPOTENT: bool = true;

    /// The request arguments.
    fn to_args(&self) -> Args;
    /// Server side: reads the arguments, or names the `ERR` code to answer.
    fn from_args(args: &Args) -> Result<Self, &'static str>;
    /// Server side: the fields of the `OK` reply.
    fn reply_args(reply: &Self::Reply) -> Args;
    /// Client side: reads the fields of an `OK` reply.
    fn parse_reply(args: &Args) -> Result<Self::Reply, ProtocolError>;

    /// The full request.
    fn request(&self) -> Request {
        Request::new(Self::NAME, self.to_args())
    }
}

fn required<'a>(args: &'a Args, name: &str, code: &'static str) -> Result<&'a str, &'static str> {
    args.get_nonempty(name).ok_or(code)
}

fn field<'a>(args: &'a Args, name: &'static str) -> Result<&'a str, ProtocolError> {
    args.get(name).ok_or(ProtocolError::MissingField(name))
}

/// Most paths a `get_paths` reply may list; a file has one per replica.
pub const MAX_PATHS: u64 = 1024;
/// Most destinations a `create_open` reply may list (the tracker sends 3).
pub const MAX_DESTINATIONS: u64 = 1024;
/// Most keys a `list_keys` reply may list (the tracker caps `limit` at 1000).
pub const MAX_KEYS: u64 = 1000;

/// A [`ProtocolError::BadField`] quoting at most 64 bytes of `value`, so a
/// hostile reply cannot put a megabyte into a log line.
fn bad_field(field: &'static str, value: &str) -> ProtocolError {
    let mut end = value.len().min(64);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    ProtocolError::BadField {
        field,
        value: value[..end].to_owned(),
    }
}

fn number(args: &Args, name: &'static str) -> Result<u64, ProtocolError> {
    let value = field(args, name)?;
    value.parse().map_err(|_| bad_field(name, value))
}

/// A count of numbered fields (`paths`, `dev_count`, `key_count`): at most
/// `max`, and at most the number of fields the reply carries, so that reading
/// the numbered fields takes time bounded by the reply's length whatever
/// number a tracker sends.
fn count(args: &Args, name: &'static str, max: u64) -> Result<u64, ProtocolError> {
    let n = number(args, name)?;
    if n > max || n > args.len() as u64 {
        return Err(bad_field(name, field(args, name)?));
    }
    Ok(n)
}

fn flag(args: &Args, name: &str) -> bool {
    args.get(name).is_some_and(|v| v != "0" && !v.is_empty())
}

/// `noop`: a liveness probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Noop;

impl Command for Noop {
    const NAME: &'static str = "noop";
    type Reply = ();
    fn to_args(&self) -> Args {
        Args::new()
    }
    fn from_args(_: &Args) -> Result<Self, &'static str> {
        Ok(Noop)
    }
    fn reply_args(_: &()) -> Args {
        Args::new()
    }
    fn parse_reply(_: &Args) -> Result<(), ProtocolError> {
        Ok(())
    }
}

/// `get_paths`: where the replicas of a key can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetPaths {
    /// Namespace of the key.
    pub domain: String,
    /// The key.
    pub key: String,
    /// Skip the tracker's HEAD check of the first path.
    pub noverify: bool,
    /// How many paths at most (the tracker uses at least 2).
    pub pathcount: Option<u32>,
}

impl Command for GetPaths {
    const NAME: &'static str = "get_paths";
    type Reply = Vec<String>;

    fn to_args(&self) -> Args {
        let mut args = Args::new()
            .with("domain", &*self.domain)
            .with("key", &*self.key)
            .with("noverify", if self.noverify { "1" } else { "0" });
        if let Some(n) = self.pathcount {
            args.push("pathcount", n.to_string());
        }
        args
    }

    fn from_args(args: &Args) -> Result<Self, &'static str> {
        Ok(GetPaths {
            domain: required(args, "domain", "no_domain")?.to_owned(),
            key: required(args, "key", "no_key")?.to_owned(),
            noverify: flag(args, "noverify"),
            pathcount: args.get("pathcount").and_then(|v| v.parse().ok()),
        })
    }

    fn reply_args(paths: &Vec<String>) -> Args {
        let mut args = Args::new().with("paths", paths.len().to_string());
        for (i, path) in paths.iter().enumerate() {
            args.push(&format!("path{}", i + 1), &**path);
        }
        args
    }

    /// Paths in the tracker's order (`path1` first); empty paths are skipped.
    /// A `paths` count above [`MAX_PATHS`] or above the number of fields is
    /// an error.
    fn parse_reply(args: &Args) -> Result<Vec<String>, ProtocolError> {
        let count = count(args, "paths", MAX_PATHS)?;
        Ok((1..=count)
            .filter_map(|i| args.get_nonempty(&format!("path{i}")).map(str::to_owned))
            .collect())
    }
}

/// `create_open`: reserve a fid and choose destination devices for a new file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOpen {
    /// Namespace of the key.
    pub domain: String,
    /// The key the file will have once closed.
    pub key: String,
    /// Replication class; the domain's default class when `None`.
    pub class: Option<String>,
    /// Ask for several destinations (up to 3) to fall back on.
    pub multi_dest: bool,
    /// Expected size, a hint for choosing devices with room.
    pub size: Option<u64>,
}

/// One place a new file may be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Device id.
    pub devid: u64,
    /// Full URL to PUT the bytes to.
    pub path: String,
}

/// The reply to `create_open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFile {
    /// The reserved file id.
    pub fid: u64,
    /// Destinations in the tracker's order of preference.
    pub destinations: Vec<Destination>,
    /// The reply used the `multi_dest` form (`dev_count`, `devid_N`, `path_N`),
    /// as a tracker does whenever the request asked for `multi_dest=1`.
    pub multi_dest: bool,
}

impl Command for CreateOpen {
    const NAME: &'static str = "create_open";
    type Reply = OpenFile;

    fn to_args(&self) -> Args {
        let mut args = Args::new()
            .with("domain", &*self.domain)
            .with("key", &*self.key)
            .with("fid", "0")
            .with("multi_dest", if self.multi_dest { "1" } else { "0" });
        if let Some(class) = &self.class {
            args.push("class", &**class);
        }
        if let Some(size) = self.size {
            args.push("size", size.to_string());
        }
        args
    }

    fn from_args(args: &Args) -> Result<Self, &'static str> {
        Ok(CreateOpen {
            domain: required(args, "domain", "no_domain")?.to_owned(),
            key: args.get("key").unwrap_or_default().to_owned(),
            class: args.get_nonempty("class").map(str::to_owned),
            multi_dest: flag(args, "multi_dest"),
            size: args.get("size").and_then(|v| v.parse().ok()),
        })
    }

    fn reply_args(open: &OpenFile) -> Args {
        let mut args = Args::new().with("fid", open.fid.to_string());
        if let (false, [only, ..]) = (open.multi_dest, open.destinations.as_slice()) {
            args.push("devid", only.devid.to_string());
            args.push("path", &*only.path);
            return args;
        }
        args.push("dev_count", open.destinations.len().to_string());
        for (i, dest) in open.destinations.iter().enumerate() {
            args.push(&format!("devid_{}", i + 1), dest.devid.to_string());
            args.push(&format!("path_{}", i + 1), &*dest.path);
        }
        args
    }

    fn parse_reply(args: &Args) -> Result<OpenFile, ProtocolError> {
        let fid = number(args, "fid")?;
        let multi_dest = args.get("dev_count").is_some();
        let destinations = if multi_dest {
            let count = count(args, "dev_count", MAX_DESTINATIONS)?;
            (1..=count)
                .map(|i| {
                    let devid = args
                        .get(&format!("devid_{i}"))
                        .and_then(|v| v.parse().ok())
                        .ok_or(ProtocolError::MissingField("devid_N"))?;
                    let path = args
                        .get_nonempty(&format!("path_{i}"))
                        .ok_or(ProtocolError::MissingField("path_N"))?;
                    Ok(Destination {
                        devid,
                        path: path.to_owned(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        } else {
            let path = field(args, "path")?;
            if path.is_empty() {
                return Err(ProtocolError::MissingField("path"));
            }
            vec![Destination {
                devid: number(args, "devid")?,
                path: path.to_owned(),
            }]
        };
        if destinations.is_empty() {
            return Err(ProtocolError::MissingField("path"));
        }
        Ok(OpenFile {
            fid,
            destinations,
            multi_dest,
        })
    }
}

/// `create_close`: commit a written file under its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateClose {
    /// Namespace of the key.
    pub domain: String,
    /// The key; an empty key discards the file.
    pub key: String,
    /// The fid from `create_open`.
    pub fid: u64,
    /// The device actually written.
    pub devid: u64,
    /// The URL actually written.
    pub path: String,
    /// Bytes written; the tracker compares it with the stored file.
    pub size: u64,
    /// `MD5:<hex>` or `SHA-1:<hex>`, when known.
    pub checksum: Option<String>,
}

impl Command for CreateClose {
    const IDEMPOTENT: bool = false;
    const NAME: &'static str = "create_close";
    type Reply = ();

    fn to_args(&self) -> Args {
        let mut args = Args::new()
            .with("domain", &*self.domain)
            .with("key", &*self.key)
            .with("fid", self.fid.to_string())
            .with("devid", self.devid.to_string())
            .with("path", &*self.path)
            .with("size", self.size.to_string());
        if let Some(sum) = &self.checksum {
            args.push("checksum", &**sum);
        }
        args
    }

    fn from_args(args: &Args) -> Result<Self, &'static str> {
        let num = |name, code| -> Result<u64, &'static str> {
            required(args, name, code)?
                .parse()
                .map_err(|_| "bogus_args")
        };
        Ok(CreateClose {
            domain: required(args, "domain", "no_domain")?.to_owned(),
            key: args.get("key").unwrap_or_default().to_owned(),
            fid: num("fid", "no_fid")?,
            devid: num("devid", "no_devid")?,
            path: required(args, "path", "no_path")?.to_owned(),
            size: args.get("size").and_then(|v| v.parse().ok()).unwrap_or(0),
            checksum: args.get_nonempty("checksum").map(str::to_owned),
        })
    }

    fn reply_args(_: &()) -> Args {
        Args::new()
    }

    fn parse_reply(_: &Args) -> Result<(), ProtocolError> {
        Ok(())
    }
}

/// `delete`: remove a key (its files are removed later by the tracker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    /// Namespace of the key.
    pub domain: String,
    /// The key.
    pub key: String,
}

impl Command for Delete {
    const IDEMPOTENT: bool = false;
    const NAME: &'static str = "delete";
    type Reply = ();

    fn to_args(&self) -> Args {
        Args::new()
            .with("domain", &*self.domain)
            .with("key", &*self.key)
    }

    fn from_args(args: &Args) -> Result<Self, &'static str> {
        Ok(Delete {
            domain: required(args, "domain", "no_domain")?.to_owned(),
            key: required(args, "key", "no_key")?.to_owned(),
        })
    }

    fn reply_args(_: &()) -> Args {
        Args::new()
    }

    fn parse_reply(_: &Args) -> Result<(), ProtocolError> {
        Ok(())
    }
}

/// `rename`: give a key another name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    /// Namespace of the keys.
    pub domain: String,
    /// Current key.
    pub from_key: String,
    /// New key; must not exist yet.
    pub to_key: String,
}

impl Command for Rename {
    const IDEMPOTENT: bool = false;
    const NAME: &'static str = "rename";
    type Reply = ();

    fn to_args(&self) -> Args {
        Args::new()
            .with("domain", &*self.domain)
            .with("from_key", &*self.from_key)
            .with("to_key", &*self.to_key)
    }

    fn from_args(args: &Args) -> Result<Self, &'static str> {
        Ok(Rename {
            domain: required(args, "domain", "no_domain")?.to_owned(),
            from_key: required(args, "from_key", "no_key")?.to_owned(),
            to_key: required(args, "to_key", "no_key")?.to_owned(),
        })
    }

    fn reply_args(_: &()) -> Args {
        Args::new()
    }

    fn parse_reply(_: &Args) -> Result<(), ProtocolError> {
        Ok(())
    }
}

/// `file_info`: what the tracker knows of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Namespace of the key.
    pub domain: String,
    /// The key.
    pub key: String,
    /// Also list the device ids holding it.
    pub devices: bool,
}

/// The reply to `file_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDetails {
    /// File id.
    pub fid: u64,
    /// Domain name.
    pub domain: String,
    /// Class name.
    pub class: String,
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub length: u64,
    /// Number of replicas.
    pub devcount: u64,
    /// Devices holding a replica, when asked for.
    pub devids: Option<Vec<u64>>,
}

impl Command for FileInfo {
    const NAME: &'static str = "file_info";
    type Reply = FileDetails;

    fn to_args(&self) -> Args {
        let mut args = Args::new()
            .with("domain", &*self.domain)
            .with("key", &*self.key);
        if self.devices {
            args.push("devices", "1");
        }
        args
    }

    fn from_args(args: &Args) -> Result<Self, &'static str> {
        Ok(FileInfo {
            domain: required(args, "domain", "no_domain")?.to_owned(),
            key: required(args, "key", "no_key")?.to_owned(),
            devices: flag(args, "devices"),
        })
    }

    fn reply_args(d: &FileDetails) -> Args {
        let mut args = Args::new()
            .with("fid", d.fid.to_string())
            .with("domain", &*d.domain)
            .with("class", &*d.class)
            .with("key", &*d.key)
            .with("length", d.length.to_string())
            .with("devcount", d.devcount.to_string());
        if let Some(devids) = &d.devids {
            let list: Vec<String> = devids.iter().map(u64::to_string).collect();
            args.push("devids", list.join(","));
        }
        args
    }

    fn parse_reply(args: &Args) -> Result<FileDetails, ProtocolError> {
        let devids = match args.get("devids") {
            None => None,
            Some(list) => Some(
                list.split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().map_err(|_| bad_field("devids", list)))
                    .collect::<Result<Vec<u64>, _>>()?,
            ),
        };
        Ok(FileDetails {
            fid: number(args, "fid")?,
            domain: field(args, "domain")?.to_owned(),
            class: field(args, "class")?.to_owned(),
            key: field(args, "key")?.to_owned(),
            length: number(args, "length")?,
            devcount: number(args, "devcount")?,
            devids,
        })
    }
}

/// `list_keys`: keys of a domain in byte order, optionally under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListKeys {
    /// Namespace.
    pub domain: String,
    /// Only keys starting with this.
    pub prefix: Option<String>,
    /// Only keys after this one (must start with `prefix`).
    pub after: Option<String>,
    /// At most this many (the tracker caps it at 1000).
    pub limit: Option<u32>,
}

/// The reply to `list_keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys, in order.
    pub keys: Vec<String>,
    /// Pass as `after` to get the next page.
    pub next_after: String,
}

impl Command for ListKeys {
    const NAME: &'static str = "list_keys";
    type Reply = KeyPage;

    fn to_args(&self) -> Args {
        let mut args = Args::new().with("domain", &*self.domain);
        if let Some(p) = &self.prefix {
            args.push("prefix", &**p);
        }
        if let Some(a) = &self.after {
            args.push("after", &**a);
        }
        if let Some(l) = self.limit {
            args.push("limit", l.to_string());
        }
        args
    }

    fn from_args(args: &Args) -> Result<Self, &'static str> {
        Ok(ListKeys {
            domain: required(args, "domain", "no_domain")?.to_owned(),
            prefix: args.get_nonempty("prefix").map(str::to_owned),
            after: args.get_nonempty("after").map(str::to_owned),
            limit: args.get("limit").and_then(|v| v.parse().ok()),
        })
    }

    fn reply_args(page: &KeyPage) -> Args {
        let mut args = Args::new().with("key_count", page.keys.len().to_string());
        for (i, key) in page.keys.iter().enumerate() {
            args.push(&format!("key_{}", i + 1), &**key);
        }
        args.push("next_after", &*page.next_after);
        args
    }

    fn parse_reply(args: &Args) -> Result<KeyPage, ProtocolError> {
        let count = count(args, "key_count", MAX_KEYS)?;
        let keys = (1..=count)
            .map(|i| {
                args.get(&format!("key_{i}"))
                    .map(str::to_owned)
                    .ok_or(ProtocolError::MissingField("key_N"))
            })
            .collect::<Result<_, _>>()?;
        Ok(KeyPage {
            keys,
            next_after: args.get("next_after").unwrap_or_default().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests;
