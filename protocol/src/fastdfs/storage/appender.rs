//! Appender files, slave files and metadata.
//!
//! ```text
//! cmd  request                                                reply (OK)
//!  23  as UPLOAD_FILE | data                                  g16 + remote name
//!  21  master_len n8 + size n8 + prefix 16 + ext 6
//!      + master name | data                                   g16 + slave name
//!  24  name_len n8 + size n8 + appender name | data           (empty)
//!  38  appender name                                          g16 + new name
//!  13  name_len n8 + meta_len n8 + op 1 ('O'/'M') + g16
//!      + name + meta                                          (empty)
//!  15  g16 + name                                             meta
//! meta = name 0x02 value, records joined by 0x01
//! ```
//!
//! The gateway serves such files but does not create them; these types exist
//! so every captured exchange replays, and for devcluster to grow into.

use super::super::fields::{body_length, put_fixed, put_n8, Fields, FileRef};
use super::super::{
    cmd, Command, Header, Payload, ProtocolError, EXT_LEN, GROUP_LEN, N8, PREFIX_LEN,
};
use super::UploadFile;
use bytes::{BufMut, BytesMut};

/// UPLOAD_APPENDER_FILE: like UPLOAD_FILE, but the file may grow later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadAppenderFile(pub UploadFile);

impl Command for UploadAppenderFile {
    const CMD: u8 = cmd::UPLOAD_APPENDER_FILE;
    const NAME: &'static str = "UPLOAD_APPENDER_FILE";
    type Reply = FileRef;

    fn encode_body(&self, out: &mut BytesMut) {
        self.0.encode_fixed(out);
    }
    fn parse_body(header: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        UploadFile::parse_fixed(Self::NAME, header, body).map(UploadAppenderFile)
    }
    fn data_len(&self) -> u64 {
        self.0.size
    }
}

/// UPLOAD_SLAVE_FILE: a file named after a master, e.g. a thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSlaveFile {
    /// The master's remote name (`M00/...`).
    pub master: String,
    /// Bytes of file data that follow.
    pub size: u64,
    /// Prefix added to the master's name, e.g. `_150x150`.
    pub prefix: String,
    /// Extension without the dot; empty keeps the master's.
    pub ext: String,
}

impl Command for UploadSlaveFile {
    const CMD: u8 = cmd::UPLOAD_SLAVE_FILE;
    const NAME: &'static str = "UPLOAD_SLAVE_FILE";
    type Reply = FileRef;

    fn encode_body(&self, out: &mut BytesMut) {
        put_n8(out, self.master.len() as u64);
        put_n8(out, self.size);
        put_fixed(out, &self.prefix, PREFIX_LEN);
        put_fixed(out, &self.ext, EXT_LEN);
        out.put_slice(self.master.as_bytes());
    }
    fn parse_body(header: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        let mut f = Fields::new(Self::NAME, body);
        let master_len = f.n8("master_filename_len")?;
        let size = f.n8("file_size")?;
        let prefix = f.fixed(PREFIX_LEN, "prefix_name")?;
        let ext = f.fixed(EXT_LEN, "file_ext_name")?;
        if master_len != f.remaining() as u64 || header.pkg_len != body.len() as u64 + size {
            return Err(body_length(Self::NAME, body, "38 + master_len + file_size"));
        }
        let master = f.rest_str("master_filename")?;
        Ok(UploadSlaveFile {
            master,
            size,
            prefix,
            ext,
        })
    }
    fn data_len(&self) -> u64 {
        self.size
    }
}

/// APPEND_FILE: add bytes at the end of an appender file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendFile {
    /// The appender file's remote name.
    pub appender: String,
    /// Bytes of data that follow.
    pub size: u64,
}

impl Command for AppendFile {
    const CMD: u8 = cmd::APPEND_FILE;
    const NAME: &'static str = "APPEND_FILE";
    type Reply = ();

    fn encode_body(&self, out: &mut BytesMut) {
        put_n8(out, self.appender.len() as u64);
        put_n8(out, self.size);
        out.put_slice(self.appender.as_bytes());
    }
    fn parse_body(header: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        let mut f = Fields::new(Self::NAME, body);
        let name_len = f.n8("appender_filename_len")?;
        let size = f.n8("append_size")?;
        if name_len != f.remaining() as u64 || header.pkg_len != body.len() as u64 + size {
            return Err(body_length(Self::NAME, body, "16 + name_len + append_size"));
        }
        let appender = f.rest_str("appender_filename")?;
        Ok(AppendFile { appender, size })
    }
    fn data_len(&self) -> u64 {
        self.size
    }
}

/// REGENERATE_APPENDER_FILENAME: turn an appender file into a normal one; the
/// reply carries its new name (final size and crc32 encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegenerateAppenderFilename {
    /// The appender file's remote name.
    pub appender: String,
}

impl Command for RegenerateAppenderFilename {
    const CMD: u8 = cmd::REGENERATE_APPENDER_FILENAME;
    const NAME: &'static str = "REGENERATE_APPENDER_FILENAME";
    type Reply = FileRef;

    fn encode_body(&self, out: &mut BytesMut) {
        out.put_slice(self.appender.as_bytes());
    }
    fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        let appender = Fields::new(Self::NAME, body).rest_str("appender_filename")?;
        Ok(RegenerateAppenderFilename { appender })
    }
}

/// Metadata of a file: `(name, value)` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata(pub Vec<(String, String)>);

impl Payload for Metadata {
    fn encode(&self, out: &mut BytesMut) {
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.put_u8(0x01);
            }
            out.put_slice(name.as_bytes());
            out.put_u8(0x02);
            out.put_slice(value.as_bytes());
        }
    }

    fn parse(body: &[u8]) -> Result<Self, ProtocolError> {
        let bad = ProtocolError::BadField {
            cmd: "metadata",
            field: "record",
        };
        if body.is_empty() {
            return Ok(Metadata::default());
        }
        let text = std::str::from_utf8(body).map_err(|_| bad.clone())?;
        let pairs = text.split('\x01').map(|record| {
            let (name, value) = record.split_once('\x02').ok_or(bad.clone())?;
            Ok((name.to_owned(), value.to_owned()))
        });
        pairs.collect::<Result<_, _>>().map(Metadata)
    }
}

/// SET_METADATA: replace (`op = b'O'`) or merge (`op = b'M'`) a file's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetMetadata {
    /// The file.
    pub file: FileRef,
    /// `b'O'` overwrite or `b'M'` merge.
    pub op: u8,
    /// The metadata.
    pub meta: Metadata,
}

impl Command for SetMetadata {
    const CMD: u8 = cmd::SET_METADATA;
    const NAME: &'static str = "SET_METADATA";
    type Reply = ();

    fn encode_body(&self, out: &mut BytesMut) {
        let mut meta = BytesMut::new();
        self.meta.encode(&mut meta);
        put_n8(out, self.file.remote_name.len() as u64);
        put_n8(out, meta.len() as u64);
        out.put_u8(self.op);
        put_fixed(out, &self.file.group, GROUP_LEN);
        out.put_slice(self.file.remote_name.as_bytes());
        out.put_slice(&meta);
    }
    fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        let mut f = Fields::new(Self::NAME, body);
        let name_len = f.n8("filename_len")?;
        let meta_len = f.n8("meta_size")?;
        let op = f.u8("op_flag")?;
        let group = f.fixed(GROUP_LEN, "group_name")?;
        if name_len.checked_add(meta_len) != Some(f.remaining() as u64) {
            return Err(body_length(
                Self::NAME,
                body,
                "33 + filename_len + meta_size",
            ));
        }
        let name = f.bytes(name_len as usize, "filename")?;
        let name = Fields::new(Self::NAME, name).rest_str("filename")?;
        let meta = Metadata::parse(f.rest_bytes())?;
        Ok(SetMetadata {
            file: FileRef::new(group, name),
            op,
            meta,
        })
    }
}

/// GET_METADATA: ENOENT when the file has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetMetadata {
    /// The file.
    pub file: FileRef,
}

impl Command for GetMetadata {
    const CMD: u8 = cmd::GET_METADATA;
    const NAME: &'static str = "GET_METADATA";
    type Reply = Metadata;

    fn encode_body(&self, out: &mut BytesMut) {
        self.file.encode(out);
    }
    fn parse_body(_: &Header, body: &[u8]) -> Result<Self, ProtocolError> {
        Ok(GetMetadata {
            file: FileRef::read(&mut Fields::new(Self::NAME, body))?,
        })
    }
}

/// Bytes of the fixed fields before the master name in UPLOAD_SLAVE_FILE.
pub const SLAVE_FIXED_LEN: usize = 2 * N8 + PREFIX_LEN + EXT_LEN;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_and_rejects_records_without_a_value() {
        let meta = Metadata(vec![
            ("width".into(), "160".into()),
            ("ext".into(), "".into()),
        ]);
        let mut out = BytesMut::new();
        meta.encode(&mut out);
        assert_eq!(&out[..], b"width\x02160\x01ext\x02");
        assert_eq!(Metadata::parse(&out), Ok(meta));
        assert!(Metadata::parse(b"width").is_err());
    }

    #[test]
    fn slave_upload_checks_the_master_length() {
        let slave = UploadSlaveFile {
            master: "M00/00/02/fwAABGsBrsWAd7qBAAAAFmVJxbk796.txt".into(),
            size: 3,
            prefix: "_big".into(),
            ext: "txt".into(),
        };
        let req = slave.encode_request();
        assert_eq!(req.len(), 10 + SLAVE_FIXED_LEN + 44);
        assert_eq!(
            UploadSlaveFile::parse_request(&req[..]).ok(),
            None,
            "data is missing"
        );
        let header = Header::decode(req[..10].try_into().unwrap()).unwrap();
        assert_eq!(UploadSlaveFile::parse_body(&header, &req[10..]), Ok(slave));
    }
}
