//! FastDFS wire protocol (tracker port 22122, storage port 23000), file IDs and
//! anti-steal tokens, as FastDFS 6.x speaks them.
//!
//! Every request and every reply is one packet: a 10-byte [`Header`] and a body
//! of exactly `pkg_len` bytes. A reply's `cmd` is always 100; its `status` is 0
//! or an errno value, and an error reply has an empty body:
//!
//! ```text
//! C> 000000000000003c 66 00 | group1\0.. M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt
//! S< 0000000000000027 64 00 | group1\0.. 127.0.0.2\0.. 00000000000059d8
//! S< 0000000000000000 64 02                       (ENOENT, no body)
//! ```
//!
//! Upload and download bodies carry file data after (or instead of) the fixed
//! fields. Those bytes are never part of a type here: the command types encode
//! and parse the fixed part and say how many data bytes follow, and the caller
//! streams them on the socket.
//!
//! # Layout
//! - [`header`]: the 10-byte header, command codes and status codes.
//! - [`fields`]: fixed-width strings, 8-byte integers and the group + file name pair.
//! - [`tracker`]: one type per tracker command, both directions.
//! - [`storage`]: one type per storage command, both directions.
//! - [`monitor`]: the tracker's group and storage listings (`fdfs_monitor`).
//! - [`file_name`]: the 27-character base64 block of a file name and what it encodes.
//! - [`file_id`]: strict parsing of `group/Mxx/XX/YY/name`, minting, on-disk path.
//! - [`token`]: the anti-steal token of fastdfs-nginx-module.

pub mod fields;
pub mod file_id;
pub mod file_name;
pub mod header;
pub mod monitor;
pub mod storage;
pub mod token;
pub mod tracker;

#[cfg(test)]
mod replay;

pub use fields::FileRef;
pub use file_id::{FileId, FileIdError, FileKind};
pub use file_name::{NameInfo, NewName, Source, TrunkSlot};
pub use header::{cmd, status, Header, HEADER_LEN};

use bytes::BytesMut;

/// Width of a group name field.
pub const GROUP_LEN: usize = 16;
/// Width of an IPv4 address field in tracker replies (101-107).
pub const TRACKER_IP_LEN: usize = 15;
/// Width of the source address field in a QUERY_FILE_INFO reply.
pub const FILE_INFO_IP_LEN: usize = 16;
/// Width of a file extension field (no dot).
pub const EXT_LEN: usize = 6;
/// Width of a slave prefix field.
pub const PREFIX_LEN: usize = 16;
/// Width of an integer in a body.
pub const N8: usize = 8;

/// A body whose shape is wrong for its command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The header's length field is negative.
    #[error("packet length {0} is negative")]
    NegativeLength(i64),
    /// The body length does not fit the command.
    #[error("{cmd}: body of {len} bytes, expected {expected}")]
    BodyLength {
        /// Command name.
        cmd: &'static str,
        /// Length received.
        len: u64,
        /// What the command accepts, in words.
        expected: &'static str,
    },
    /// A field holds a value the command cannot accept.
    #[error("{cmd}: field `{field}` is invalid")]
    BadField {
        /// Command name.
        cmd: &'static str,
        /// Field name.
        field: &'static str,
    },
    /// The header is not the one this command expects.
    #[error("expected command {expected}, got {got}")]
    UnexpectedCommand {
        /// Expected code.
        expected: u8,
        /// Code received.
        got: u8,
    },
}

/// A body that is encoded and parsed on its own: reply bodies, and the fixed
/// parts shared by several commands.
pub trait Payload: Sized {
    /// Appends the encoded body to `out`.
    fn encode(&self, out: &mut BytesMut);
    /// Parses a whole body.
    fn parse(body: &[u8]) -> Result<Self, ProtocolError>;
}

/// One command: its request body (fixed part) and its reply, in both
/// directions, so the gateway's client and devcluster's servers share it.
pub trait Command: Sized {
    /// Command code.
    const CMD: u8;
    /// Name for logs and errors.
    const NAME: &'static str;
    /// What an OK reply carries.
    type Reply: Payload;

    /// Appends the fixed part of the request body.
    fn encode_body(&self, out: &mut BytesMut);
    /// Server side: parses the fixed part of a request body; `header` is the
    /// request's header (flags in `status`, the total length for uploads).
    fn parse_body(header: &Header, body: &[u8]) -> Result<Self, ProtocolError>;

    /// The request header's status byte (only QUERY_FILE_INFO uses it).
    fn status(&self) -> u8 {
        0
    }

    /// File data bytes the caller streams after the fixed part.
    fn data_len(&self) -> u64 {
        0
    }

    /// Header and fixed part of the request; `data_len()` bytes follow.
    fn encode_request(&self) -> BytesMut {
        let mut body = BytesMut::new();
        self.encode_body(&mut body);
        let pkg_len = body.len() as u64 + self.data_len();
        let mut out = BytesMut::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&Header::request(Self::CMD, pkg_len, self.status()).encode());
        out.extend_from_slice(&body);
        out
    }

    /// Server side: parses a whole request (header + fixed part), as in tests.
    fn parse_request(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let (header, body) = Header::split(bytes)?;
        if header.cmd != Self::CMD {
            return Err(ProtocolError::UnexpectedCommand {
                expected: Self::CMD,
                got: header.cmd,
            });
        }
        Self::parse_body(&header, body)
    }

    /// Server side: a complete OK reply packet.
    fn encode_reply(reply: &Self::Reply) -> BytesMut {
        let mut body = BytesMut::new();
        reply.encode(&mut body);
        let mut out = BytesMut::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&Header::reply(status::OK, body.len() as u64).encode());
        out.extend_from_slice(&body);
        out
    }

    /// Client side: parses the body of an OK reply.
    fn parse_reply(body: &[u8]) -> Result<Self::Reply, ProtocolError> {
        Self::Reply::parse(body)
    }
}

/// An empty body (ACTIVE_TEST, DELETE_FILE, ... replies).
impl Payload for () {
    fn encode(&self, _: &mut BytesMut) {}
    fn parse(body: &[u8]) -> Result<(), ProtocolError> {
        fields::expect_len("empty reply", body, 0, "0")
    }
}
