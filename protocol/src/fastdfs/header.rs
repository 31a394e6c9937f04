//! The 10-byte packet header, command codes and status codes.
//!
//! ```text
//! offset  size  field
//!      0     8  pkg_len  body length, big-endian signed; excludes the header
//!      8     1  cmd      command code; 100 (RESP) on every reply
//!      9     1  status   0 on requests (QUERY_FILE_INFO: flags);
//!                        on replies 0 = OK, else an errno value
//! ```
//!
//! The header is decoded on its own so that a connection can read it, then
//! decide how to consume the body: parse a small one, or stream file data.

use super::ProtocolError;

/// Size of a header.
pub const HEADER_LEN: usize = 10;

/// Command codes (`tracker/tracker_proto.h`).
pub mod cmd {
    /// Every reply, from trackers and storages.
    pub const RESP: u8 = 100;
    /// Tracker: a storage to upload to, any group.
    pub const QUERY_STORE_WITHOUT_GROUP_ONE: u8 = 101;
    /// Tracker: a storage that can serve a file.
    pub const QUERY_FETCH_ONE: u8 = 102;
    /// Tracker: the storage that must apply a change to a file.
    pub const QUERY_UPDATE: u8 = 103;
    /// Tracker: a storage of one group to upload to.
    pub const QUERY_STORE_WITH_GROUP_ONE: u8 = 104;
    /// Tracker: every storage that can serve a file.
    pub const QUERY_FETCH_ALL: u8 = 105;
    /// Tracker: every storage to upload to, any group.
    pub const QUERY_STORE_WITHOUT_GROUP_ALL: u8 = 106;
    /// Tracker: every storage of one group to upload to.
    pub const QUERY_STORE_WITH_GROUP_ALL: u8 = 107;
    /// Tracker: stats of one group.
    pub const SERVER_LIST_ONE_GROUP: u8 = 90;
    /// Tracker: stats of every group.
    pub const SERVER_LIST_ALL_GROUPS: u8 = 91;
    /// Tracker: the storages of a group.
    pub const SERVER_LIST_STORAGE: u8 = 92;
    /// Both: keep-alive probe, empty OK reply.
    pub const ACTIVE_TEST: u8 = 111;
    /// Both: the server closes the connection without replying.
    pub const QUIT: u8 = 82;
    /// Storage: upload a file.
    pub const UPLOAD_FILE: u8 = 11;
    /// Storage: delete a file.
    pub const DELETE_FILE: u8 = 12;
    /// Storage: set metadata.
    pub const SET_METADATA: u8 = 13;
    /// Storage: download (part of) a file.
    pub const DOWNLOAD_FILE: u8 = 14;
    /// Storage: get metadata.
    pub const GET_METADATA: u8 = 15;
    /// Storage: upload a slave file of a master.
    pub const UPLOAD_SLAVE_FILE: u8 = 21;
    /// Storage: size, create time, crc32 and source of a file.
    pub const QUERY_FILE_INFO: u8 = 22;
    /// Storage: upload an appender file.
    pub const UPLOAD_APPENDER_FILE: u8 = 23;
    /// Storage: append to an appender file.
    pub const APPEND_FILE: u8 = 24;
    /// Storage: turn an appender file into a normal one.
    pub const REGENERATE_APPENDER_FILENAME: u8 = 38;
}

/// Status codes seen on the wire: errno values (Linux numbering).
pub mod status {
    /// Success.
    pub const OK: u8 = 0;
    /// No such group, storage, file or metadata.
    pub const ENOENT: u8 = 2;
    /// I/O error.
    pub const EIO: u8 = 5;
    /// Try again.
    pub const EAGAIN: u8 = 11;
    /// Permission denied.
    pub const EACCES: u8 = 13;
    /// Busy.
    pub const EBUSY: u8 = 16;
    /// Already exists.
    pub const EEXIST: u8 = 17;
    /// Malformed request; also a download offset at or past the end of file.
    pub const EINVAL: u8 = 22;
    /// No space left.
    pub const ENOSPC: u8 = 28;
    /// Not supported.
    pub const EOPNOTSUPP: u8 = 95;

    /// A short name for a status, for logs.
    pub fn name(status: u8) -> &'static str {
        match status {
            OK => "OK",
            ENOENT => "ENOENT",
            EIO => "EIO",
            EAGAIN => "EAGAIN",
            EACCES => "EACCES",
            EBUSY => "EBUSY",
            EEXIST => "EEXIST",
            EINVAL => "EINVAL",
            ENOSPC => "ENOSPC",
            EOPNOTSUPP => "EOPNOTSUPP",
            _ => "errno",
        }
    }
}

/// A packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Length of the body that follows.
    pub pkg_len: u64,
    /// Command code, or [`cmd::RESP`] on replies.
    pub cmd: u8,
    /// 0 or an errno value on replies; flags on QUERY_FILE_INFO requests.
    pub status: u8,
}

impl Header {
    /// A request header.
    pub fn request(cmd: u8, pkg_len: u64, status: u8) -> Self {
        Header {
            pkg_len,
            cmd,
            status,
        }
    }

    /// A reply header.
    pub fn reply(status: u8, pkg_len: u64) -> Self {
        Header {
            pkg_len,
            cmd: cmd::RESP,
            status,
        }
    }

    /// The header of an error reply: empty body, as every real server sends.
    pub fn error(status: u8) -> Self {
        Header::reply(status, 0)
    }

    /// The 10 bytes on the wire.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        // `pkg_len` never exceeds i64::MAX here: it is a byte count.
        out[..8].copy_from_slice(&self.pkg_len.to_be_bytes());
        out[8] = self.cmd;
        out[9] = self.status;
        out
    }

    /// Decodes 10 bytes; a negative length is an error.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, ProtocolError> {
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[..8]);
        let pkg_len = i64::from_be_bytes(len);
        if pkg_len < 0 {
            return Err(ProtocolError::NegativeLength(pkg_len));
        }
        Ok(Header {
            pkg_len: pkg_len as u64,
            cmd: bytes[8],
            status: bytes[9],
        })
    }

    /// True on a reply with status 0.
    pub fn is_ok(&self) -> bool {
        self.status == status::OK
    }

    /// Splits a complete packet into its header and a body of exactly
    /// `pkg_len` bytes.
    pub fn split(packet: &[u8]) -> Result<(Header, &[u8]), ProtocolError> {
        let Some((head, body)) = packet.split_first_chunk::<HEADER_LEN>() else {
            return Err(ProtocolError::BodyLength {
                cmd: "packet",
                len: packet.len() as u64,
                expected: "at least a 10-byte header",
            });
        };
        let header = Header::decode(head)?;
        if header.pkg_len != body.len() as u64 {
            return Err(ProtocolError::BodyLength {
                cmd: "packet",
                len: body.len() as u64,
                expected: "pkg_len bytes",
            });
        }
        Ok((header, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_negative_lengths() {
        let h = Header::request(cmd::QUERY_FETCH_ONE, 60, 0);
        assert_eq!(h.encode(), *b"\0\0\0\0\0\0\0\x3c\x66\0");
        assert_eq!(Header::decode(&h.encode()), Ok(h));
        let neg = [0xff; HEADER_LEN];
        assert_eq!(Header::decode(&neg), Err(ProtocolError::NegativeLength(-1)));
    }

    #[test]
    fn error_reply_has_no_body() {
        assert_eq!(
            Header::error(status::ENOENT).encode(),
            *b"\0\0\0\0\0\0\0\0\x64\x02"
        );
        assert!(!Header::error(status::EINVAL).is_ok());
    }

    #[test]
    fn split_checks_the_length() {
        let mut packet = Header::reply(0, 2).encode().to_vec();
        packet.extend_from_slice(b"ab");
        let (h, body) = Header::split(&packet).unwrap();
        assert_eq!((h.pkg_len, body), (2, &b"ab"[..]));
        assert!(Header::split(&packet[..11]).is_err());
        assert!(Header::split(&packet[..9]).is_err());
    }
}
