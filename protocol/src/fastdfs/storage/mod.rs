//! Storage commands: upload, download, delete, file info.
//!
//! ```text
//! cmd  request                                         reply (OK)
//!  11  store_path_index 1 + size n8 + ext 6 | data     g16 + remote name
//!  14  offset n8 + bytes n8 (0 = to end) + g16 + name  the file bytes
//!  12  g16 + name                                      (empty)
//!  22  g16 + name; flags in the header status byte     size n8 + ctime n8
//!                                                      + crc32 n8 + ip 16 = 40
//! ```
//!
//! `| data` marks file bytes that follow the fixed part inside the same body:
//! the header's `pkg_len` counts them, the types here do not hold them.
//! [`appender`] has the appender, slave and metadata commands.

pub mod appender;

use super::fields::{body_length, expect_len, put_fixed, put_n8, Fields, FileRef};
use super::{cmd, Command, Header, Payload, ProtocolError, EXT_LEN, FILE_INFO_IP_LEN, N8};
use bytes::{BufMut, Bytes, BytesMut};

pub use appender::{
    AppendFile, GetMetadata, Metadata, RegenerateAppenderFilename, SetMetadata, UploadAppenderFile,
    UploadSlaveFile,
};

/// `store_path_index` value that lets the storage choose.
pub const ANY_STORE_PATH: u8 = 0xff;
/// QUERY_FILE_INFO flag: do not compute the crc32 of appender and slave files.
pub const FLAG_NOT_CALC_CRC32: u8 = 1;
/// QUERY_FILE_INFO flag: do not log a missing file.
pub const FLAG_KEEP_SILENCE: u8 = 2;

/// Raw file bytes: the reply body of DOWNLOAD_FILE, for tests and small
/// reads. Real downloads stream the body instead of parsing it.
impl Payload for Bytes {
    fn encode(&self, out: &mut BytesMut) {
        out.put_slice(self);
    }
    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        Ok(Bytes::copy_from_slice(body))
    }
}

/// The fixed part of UPLOAD_FILE and UPLOAD_APPENDER_FILE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    /// Store path (`M<index>`), from the tracker; [`ANY_STORE_PATH`] lets the storage choose.
    pub store_path_index: u8,
    /// Bytes of file data that follow.
    pub size: u64,
    /// Extension without the dot, at most 6 bytes; may be empty.
    pub ext: String,
}

impl UploadFile {
    /// Bytes of the fixed part, which a server reads before the data.
    pub const FIXED_LEN: usize = 1 + N8 + EXT_LEN;

    pub(crate) fn encode_fixed(&self, out: &mut BytesMut) {
        out.put_u8(self.store_path_index);
        put_n8(out, self.size);
        put_fixed(out, &self.ext, EXT_LEN);
    }

    pub(crate) fn parse_fixed(
        name: &'static str,
        header: &Header,
        body: &[u8],
    ) -> Result<Self, ProtocolError> {
        expect_len(name, body, Self::FIXED_LEN, "15 before the data")?;
        let mut f = Fields::new(name, body);
        let upload = UploadFile {
            store_path_index: f.u8("store_path_index")?,
            size: f.n8("file_size")?,
            ext: f.fixed(EXT_LEN, "file_ext_name")?,
        };
        if header.pkg_len != Self::FIXED_LEN as u64 + upload.size {
            return Err(ProtocolError::BodyLength {
                cmd: name,
                len: header.pkg_len,
                expected: "15 + file_size",
            });
        }
        Ok(upload)
    }
}

impl Command for UploadFile {
    const CMD: u8 = cmd::UPLOAD_FILE;
    const NAME: &'static str = "UPLOAD_FILE";
    /// The new file: group and remote name.
    type Reply = FileRef;

    fn encode_body(&self, out: &mut BytesMut) {
        self.encode_fixed(out);
    }
    fn parse_body(header: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        Self::parse_fixed(Self::NAME, header, body)
    }
    fn data_len(&self) -> u64 {
        self.size
    }
}

/// DOWNLOAD_FILE: `length` bytes from `offset` (0 = to the end). The server
/// answers EINVAL when `offset` is at or past the end of the file, so a
/// 0-byte file cannot be downloaded this way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadFile {
    /// First byte.
    pub offset: u64,
    /// How many bytes; 0 = to the end, more than the rest is clamped.
    pub length: u64,
    /// The file.
    pub file: FileRef,
}

impl Command for DownloadFile {
    const CMD: u8 = cmd::DOWNLOAD_FILE;
    const NAME: &'static str = "DOWNLOAD_FILE";
    type Reply = Bytes;

    fn encode_body(&self, out: &mut BytesMut) {
        put_n8(out, self.offset);
        put_n8(out, self.length);
        self.file.encode(out);
    }
    fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        let mut f = Fields::new(Self::NAME, body);
        let offset = f.n8("file_offset")?;
        let length = f.n8("download_bytes")?;
        let file = FileRef::read(&mut f)?;
        Ok(DownloadFile {
            offset,
            length,
            file,
        })
    }
}

/// DELETE_FILE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFile {
    /// The file.
    pub file: FileRef,
}

impl Command for DeleteFile {
    const CMD: u8 = cmd::DELETE_FILE;
    const NAME: &'static str = "DELETE_FILE";
    type Reply = ();

    fn encode_body(&self, out: &mut BytesMut) {
        self.file.encode(out);
    }
    fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        Ok(DeleteFile {
            file: FileRef::read(&mut Fields::new(Self::NAME, body))?,
        })
    }
}

/// QUERY_FILE_INFO: size, create time, crc32 and source of a file, as the
/// storage sees it (the real values for appender and slave files, whose
/// names do not tell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFileInfo {
    /// The file.
    pub file: FileRef,
    /// [`FLAG_NOT_CALC_CRC32`] | [`FLAG_KEEP_SILENCE`], sent in the header's status byte.
    pub flags: u8,
}

impl Command for QueryFileInfo {
    const CMD: u8 = cmd::QUERY_FILE_INFO;
    const NAME: &'static str = "QUERY_FILE_INFO";
    type Reply = FileInfo;

    fn encode_body(&self, out: &mut BytesMut) {
        self.file.encode(out);
    }
    fn parse_body(header: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        Ok(QueryFileInfo {
            file: FileRef::read(&mut Fields::new(Self::NAME, body))?,
            flags: header.status,
        })
    }
    fn status(&self) -> u8 {
        self.flags
    }
}

/// The reply of QUERY_FILE_INFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// File size in bytes.
    pub size: u64,
    /// Create time, unix seconds.
    pub create_time: u64,
    /// CRC32 of the content (0 when not computed).
    pub crc32: u32,
    /// Address of the storage the file was uploaded to; may be empty.
    pub source_ip: String,
}

impl Payload for FileInfo {
    fn encode(&self, out: &mut BytesMut) {
        put_n8(out, self.size);
        put_n8(out, self.create_time);
        put_n8(out, u64::from(self.crc32));
        put_fixed(out, &self.source_ip, FILE_INFO_IP_LEN);
    }

    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let name = "QUERY_FILE_INFO reply";
        if body.len() != 3 * N8 + FILE_INFO_IP_LEN {
            return Err(body_length(name, body, "40"));
        }
        let mut f = Fields::new(name, body);
        let size = f.n8("file_size")?;
        let create_time = f.n8("create_timestamp")?;
        // The storage sends the crc32 as a signed 32-bit value widened to 8 bytes.
        let crc32 = f.n8_raw("crc32")? as u32;
        let source_ip = f.fixed(FILE_INFO_IP_LEN, "source_ip_addr")?;
        Ok(FileInfo {
            size,
            create_time,
            crc32,
            source_ip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileRef {
        FileRef::new("group1", "M00/00/01/fwAAAmsBrrSASMa9AAAAFmVJxbk451.txt")
    }

    #[test]
    fn upload_header_counts_the_data() {
        let up = UploadFile {
            store_path_index: 0,
            size: 22,
            ext: "txt".into(),
        };
        let req = up.encode_request();
        assert_eq!(req.len(), 10 + 15);
        let header = Header::decode(req[..10].try_into().unwrap()).unwrap();
        assert_eq!(header.pkg_len, 37);
        assert_eq!(UploadFile::parse_body(&header, &req[10..]), Ok(up));
        let short = Header {
            pkg_len: 30,
            ..header
        };
        assert!(UploadFile::parse_body(&short, &req[10..]).is_err());
    }

    #[test]
    fn download_refuses_negative_offsets() {
        let dl = DownloadFile {
            offset: 6,
            length: 7,
            file: file(),
        };
        let mut req = dl.encode_request();
        assert_eq!(DownloadFile::parse_request(&req), Ok(dl));
        req[10] = 0xff;
        assert!(DownloadFile::parse_request(&req).is_err());
    }

    #[test]
    fn file_info_flags_travel_in_the_status_byte() {
        let q = QueryFileInfo {
            file: file(),
            flags: FLAG_NOT_CALC_CRC32,
        };
        let req = q.encode_request();
        assert_eq!(req[9], 1);
        assert_eq!(QueryFileInfo::parse_request(&req), Ok(q));
        assert!(FileInfo::parse(&[0; 39]).is_err());
    }
}
