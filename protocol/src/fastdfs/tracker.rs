//! Tracker commands: where to upload, where to read, where to change.
//!
//! ```text
//! cmd  request                reply (OK)
//! 101  (empty)                g16 + ip15 + port n8 + store_path_index 1   = 40
//! 104  g16                    same 40 bytes
//! 106  (empty)                g16 + k x (ip15 + port n8) + store_path_index 1
//! 107  g16                    same as 106
//! 102  g16 + remote name      g16 + ip15 + port n8                        = 39
//! 103  g16 + remote name      same 39 bytes (the storage that takes changes)
//! 105  g16 + remote name      g16 + k x (ip15 + port n8)
//! 111  (empty)                (empty)
//!  82  (empty)                none: the server closes the connection
//! ```
//!
//! Addresses are IPv4 only (the 15-byte field of `response_ip_addr_size =
//! IPv4`); a tracker configured for IPv6 replies would fail to parse.

use super::fields::{body_length, expect_len, put_fixed, put_n8, Fields, FileRef};
use super::{cmd, Command, Header, Payload, ProtocolError, GROUP_LEN, TRACKER_IP_LEN};
use bytes::{BufMut, BytesMut};
use std::net::{Ipv4Addr, SocketAddrV4};

/// Bytes of one address entry in a tracker reply.
const ADDR_LEN: usize = TRACKER_IP_LEN + 8;

fn put_addr(out: &mut BytesMut, addr: &SocketAddrV4) {
    put_fixed(out, &addr.ip().to_string(), TRACKER_IP_LEN);
    put_n8(out, u64::from(addr.port()));
}

fn read_addr(f: &mut Fields<'_>) -> Result<SocketAddrV4, ProtocolError> {
    let ip = f.fixed(TRACKER_IP_LEN, "ip_addr")?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| ProtocolError::BadField {
        cmd: "tracker reply",
        field: "ip_addr",
    })?;
    Ok(SocketAddrV4::new(ip, f.port("port")?))
}

/// Where to upload: reply of QUERY_STORE_*_ONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreTarget {
    /// Group the file will belong to.
    pub group: String,
    /// Storage server to send UPLOAD_FILE to.
    pub addr: SocketAddrV4,
    /// Store path to put in the upload request.
    pub store_path_index: u8,
}

impl Payload for StoreTarget {
    fn encode(&self, out: &mut BytesMut) {
        put_fixed(out, &self.group, GROUP_LEN);
        put_addr(out, &self.addr);
        out.put_u8(self.store_path_index);
    }

    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        expect_len(
            "QUERY_STORE_ONE reply",
            body,
            GROUP_LEN + ADDR_LEN + 1,
            "40",
        )?;
        let mut f = Fields::new("QUERY_STORE_ONE reply", body);
        Ok(StoreTarget {
            group: f.fixed(GROUP_LEN, "group_name")?,
            addr: read_addr(&mut f)?,
            store_path_index: f.u8("store_path_index")?,
        })
    }
}

/// Every storage to upload to: reply of QUERY_STORE_*_ALL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreTargets {
    /// Group the file will belong to.
    pub group: String,
    /// The group's writable storages.
    pub addrs: Vec<SocketAddrV4>,
    /// Store path to put in the upload request.
    pub store_path_index: u8,
}

impl Payload for StoreTargets {
    fn encode(&self, out: &mut BytesMut) {
        put_fixed(out, &self.group, GROUP_LEN);
        self.addrs.iter().for_each(|a| put_addr(out, a));
        out.put_u8(self.store_path_index);
    }

    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let cmd = "QUERY_STORE_ALL reply";
        let k = body
            .len()
            .checked_sub(GROUP_LEN + 1)
            .filter(|n| n % ADDR_LEN == 0 && *n > 0);
        let Some(k) = k.map(|n| n / ADDR_LEN) else {
            return Err(body_length(cmd, body, "16 + k x 23 + 1"));
        };
        let mut f = Fields::new(cmd, body);
        let group = f.fixed(GROUP_LEN, "group_name")?;
        let addrs = (0..k)
            .map(|_| read_addr(&mut f))
            .collect::<Result<_, _>>()?;
        Ok(StoreTargets {
            group,
            addrs,
            store_path_index: f.u8("store_path_index")?,
        })
    }
}

/// A storage that can serve or change a file: reply of QUERY_FETCH_ONE and
/// QUERY_UPDATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageLocation {
    /// The file's group.
    pub group: String,
    /// The storage server.
    pub addr: SocketAddrV4,
}

impl Payload for StorageLocation {
    fn encode(&self, out: &mut BytesMut) {
        put_fixed(out, &self.group, GROUP_LEN);
        put_addr(out, &self.addr);
    }

    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        expect_len("QUERY_FETCH_ONE reply", body, GROUP_LEN + ADDR_LEN, "39")?;
        let mut f = Fields::new("QUERY_FETCH_ONE reply", body);
        Ok(StorageLocation {
            group: f.fixed(GROUP_LEN, "group_name")?,
            addr: read_addr(&mut f)?,
        })
    }
}

/// Every storage that can serve a file: reply of QUERY_FETCH_ALL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageLocations {
    /// The file's group.
    pub group: String,
    /// The storages, the tracker's preferred one first.
    pub addrs: Vec<SocketAddrV4>,
}

impl Payload for StorageLocations {
    fn encode(&self, out: &mut BytesMut) {
        put_fixed(out, &self.group, GROUP_LEN);
        self.addrs.iter().for_each(|a| put_addr(out, a));
    }

    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let cmd = "QUERY_FETCH_ALL reply";
        let k = body
            .len()
            .checked_sub(GROUP_LEN)
            .filter(|n| n % ADDR_LEN == 0 && *n > 0);
        let Some(k) = k.map(|n| n / ADDR_LEN) else {
            return Err(body_length(cmd, body, "16 + k x 23"));
        };
        let mut f = Fields::new(cmd, body);
        let group = f.fixed(GROUP_LEN, "group_name")?;
        let addrs = (0..k)
            .map(|_| read_addr(&mut f))
            .collect::<Result<_, _>>()?;
        Ok(StorageLocations { group, addrs })
    }
}

/// Declares a tracker command with an empty request body.
macro_rules! empty_request {
    ($(#[$doc:meta])* $name:ident, $code:expr, $reply:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl Command for $name {
            const CMD: u8 = $code;
            const NAME: &'static str = stringify!($name);
            type Reply = $reply;
            fn encode_body(&self, _: &mut BytesMut) {}
            fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
                expect_len(Self::NAME, body, 0, "0")?;
                Ok($name)
            }
        }
    };
}

/// Declares a tracker command whose request body is a group name.
macro_rules! group_request {
    ($(#[$doc:meta])* $name:ident, $code:expr, $reply:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The group.
            pub group: String,
        }

        impl Command for $name {
            const CMD: u8 = $code;
            const NAME: &'static str = stringify!($name);
            type Reply = $reply;
            fn encode_body(&self, out: &mut BytesMut) {
                put_fixed(out, &self.group, GROUP_LEN);
            }
            fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
                expect_len(Self::NAME, body, GROUP_LEN, "16")?;
                let group = Fields::new(Self::NAME, body).fixed(GROUP_LEN, "group_name")?;
                Ok($name { group })
            }
        }
    };
}

/// Declares a tracker command whose request body is a group + file name.
macro_rules! file_request {
    ($(#[$doc:meta])* $name:ident, $code:expr, $reply:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// The file.
            pub file: FileRef,
        }

        impl Command for $name {
            const CMD: u8 = $code;
            const NAME: &'static str = stringify!($name);
            type Reply = $reply;
            fn encode_body(&self, out: &mut BytesMut) {
                self.file.encode(out);
            }
            /// The tracker's own bounds: a name of 22 to 127 bytes.
            fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
                if body.len() < GROUP_LEN + 22 || body.len() >= GROUP_LEN + 128 {
                    return Err(body_length(Self::NAME, body, "16 + 22..128"));
                }
                Ok($name { file: FileRef::parse(body)? })
            }
        }
    };
}

empty_request!(
    /// QUERY_STORE_WITHOUT_GROUP_ONE: a storage to upload to, group chosen by the tracker.
    QueryStoreWithoutGroupOne,
    cmd::QUERY_STORE_WITHOUT_GROUP_ONE,
    StoreTarget
);
group_request!(
    /// QUERY_STORE_WITH_GROUP_ONE: a storage of `group` to upload to.
    QueryStoreWithGroupOne,
    cmd::QUERY_STORE_WITH_GROUP_ONE,
    StoreTarget
);
empty_request!(
    /// QUERY_STORE_WITHOUT_GROUP_ALL: every storage of the chosen group.
    QueryStoreWithoutGroupAll,
    cmd::QUERY_STORE_WITHOUT_GROUP_ALL,
    StoreTargets
);
group_request!(
    /// QUERY_STORE_WITH_GROUP_ALL: every storage of `group`.
    QueryStoreWithGroupAll,
    cmd::QUERY_STORE_WITH_GROUP_ALL,
    StoreTargets
);
file_request!(
    /// QUERY_FETCH_ONE: a storage that can serve the file. The tracker does not
    /// check that the file exists.
    QueryFetchOne,
    cmd::QUERY_FETCH_ONE,
    StorageLocation
);
file_request!(
    /// QUERY_UPDATE: the storage that must apply a delete or other change.
    QueryUpdate,
    cmd::QUERY_UPDATE,
    StorageLocation
);
file_request!(
    /// QUERY_FETCH_ALL: every storage that can serve the file.
    QueryFetchAll,
    cmd::QUERY_FETCH_ALL,
    StorageLocations
);
empty_request!(
    /// ACTIVE_TEST: a keep-alive probe, for trackers and storages alike.
    ActiveTest,
    cmd::ACTIVE_TEST,
    ()
);
empty_request!(
    /// QUIT: the server closes the connection and sends no reply.
    Quit,
    cmd::QUIT,
    ()
);

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, last), port)
    }

    #[test]
    fn store_targets_round_trip() {
        let all = StoreTargets {
            group: "group1".into(),
            addrs: vec![addr(2, 23000), addr(3, 23001)],
            store_path_index: 1,
        };
        let mut out = BytesMut::new();
        all.encode(&mut out);
        assert_eq!(out.len(), 16 + 2 * 23 + 1);
        assert_eq!(StoreTargets::parse(&out), Ok(all));
        assert!(StoreTargets::parse(&out[..17]).is_err());
    }

    #[test]
    fn fetch_requests_keep_the_trackers_length_bounds() {
        let short = QueryFetchOne {
            file: FileRef::new("group1", "M00/00/00/abc"),
        };
        assert!(QueryFetchOne::parse_request(&short.encode_request()).is_err());
        let long = QueryFetchAll {
            file: FileRef::new("group1", format!("M00/00/00/{}", "a".repeat(118))),
        };
        assert!(QueryFetchAll::parse_request(&long.encode_request()).is_err());
    }

    #[test]
    fn replies_reject_bad_addresses() {
        let mut out = BytesMut::new();
        put_fixed(&mut out, "group1", GROUP_LEN);
        put_fixed(&mut out, "not-an-ip", TRACKER_IP_LEN);
        put_n8(&mut out, 23000);
        assert!(StorageLocation::parse(&out).is_err());
        assert!(StorageLocations::parse(&out[..16]).is_err());
    }
}
